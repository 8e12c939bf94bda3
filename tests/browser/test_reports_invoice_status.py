"""The Invoice Status Tracking Report in a real browser with the demo company: laptop and phone,
filtering by account manager and status as you choose, then sorting, then drawn as of a month ago."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from disputes.models import DisputeReason
from disputes.services import raise_dispute
from invoices.models import Invoice
from peakflo.management.commands.seed_demo import DEMO_PASSWORD
from peakflo.models import Company, User
from workflows.models import Action, ActionRun, Channel, Message, MessageStatus, RunStatus, Workflow

from .conftest import LAPTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_company(transactional_db):
    call_command("seed_demo", stdout=io.StringIO())
    today = Company.load().today()
    now = timezone.now()
    maya = User.objects.get(email="maya.tan@demo.peakflo.test")
    mayas_overdue = list(
        Invoice.objects.overdue(today).filter(customer__account_manager=maya).order_by("due_date")[:6]
    )
    raise_dispute(
        invoice=mayas_overdue[0],
        reason=DisputeReason.objects.order_by("position").first(),
        actor=maya,
        comment="Goods arrived damaged.",
    )
    workflow = Workflow.objects.filter(is_default=True).first()
    reminder = Action.objects.create(workflow=workflow, name="Friendly reminder", days=3)
    final = Action.objects.create(workflow=workflow, name="Final notice", days=30)
    for n, invoice in enumerate(mayas_overdue):
        message = Message.objects.create(
            customer=invoice.customer, channel=Channel.EMAIL, action=reminder, to="ap@example.test",
            body="A reminder", status=MessageStatus.SENT, sent_at=now - dt.timedelta(days=n + 1),
        )  # fmt: skip
        ActionRun.objects.create(action=reminder, invoice=invoice, due_on=today - dt.timedelta(days=n + 1),
                                 status=RunStatus.DONE, message=message, finished_at=message.sent_at)  # fmt: skip
        ActionRun.objects.create(action=final, invoice=invoice, due_on=today + dt.timedelta(days=n + 2))
    return {"maya": maya, "today": today, "disputed": mayas_overdue[0]}


def test_invoice_status_report_with_the_demo_company(live_server, new_page, screenshot, demo_company):
    page = new_page(LAPTOP)
    log_in(page, live_server, "daniel.wong@demo.peakflo.test", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/reports/")
    page.click("text=Invoice status")
    page.wait_for_load_state()
    assert page.url.endswith("/reports/invoices/")
    assert page.locator("#invoice-status-rows tbody tr").count() == 50
    assert "of" in page.locator(".pagination").inner_text()

    # Account manager first: choosing Maya narrows the rows as you choose, without a page load.
    page.select_option("#invoice-status-filters select[name=account_manager]", label="Maya Tan")
    page.select_option("#invoice-status-filters select[name=status]", value="overdue")
    page.wait_for_url("**account_manager=*status=overdue*")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#invoice-status-rows tbody tr')]"
        ".every(tr => tr.children[1].innerText.includes('Maya Tan'))"
    )
    rows = page.locator("#invoice-status-rows tbody tr")
    assert rows.count() > 0
    assert all("Overdue" in text for text in rows.locator("td:nth-child(8)").all_inner_texts())
    # The export link follows the filters, so it exports these rows.
    export_href = page.locator("#export-link").get_attribute("href")
    assert f"account_manager={demo_company['maya'].pk}" in export_href and "status=overdue" in export_href

    # Sort by the last action, latest first: Maya's reminded invoices come first.
    page.click("#invoice-status-rows th >> text=Last action")
    page.wait_for_url("**sort=last_action*")
    page.click("#invoice-status-rows th >> text=Last action")
    page.wait_for_url("**sort=-last_action*")
    first = page.locator("#invoice-status-rows tbody tr").first
    assert "Friendly reminder" in first.inner_text()
    assert "Final notice" in first.inner_text()
    assert page.locator("#invoice-status-rows .badge-dispute").count() == 1
    path = screenshot(page, "reports-invoice-status-laptop")
    assert path.stat().st_size > 10_000

    # As of a month ago: the note says so, the rows are as they stood, there is no next action.
    as_of = demo_company["today"] - dt.timedelta(days=30)
    page.fill("#invoice-status-filters input[name=as_of]", as_of.isoformat())
    page.wait_for_url(f"**as_of={as_of.isoformat()}*")
    page.locator("#as-of-note").wait_for()
    assert f"As of {as_of:%-d %B %Y}" in page.locator("#as-of-note").inner_text()
    headers = page.locator("#invoice-status-rows thead").inner_text().lower()
    assert "last action" in headers and "next action" not in headers
    assert f"as_of={as_of.isoformat()}" in page.locator("#export-link").get_attribute("href")
    screenshot(page, "reports-invoice-status-as-of-laptop")
    # The date picker stops at today; a day in the future typed into the address is refused by name.
    tomorrow = demo_company["today"] + dt.timedelta(days=1)
    assert page.locator("#invoice-status-filters input[name=as_of]").get_attribute("max") == (
        demo_company["today"].isoformat()
    )
    page.goto(f"{live_server.url}/reports/invoices/?as_of={tomorrow.isoformat()}")
    assert "As of:" in page.locator("#bad-filters").inner_text()

    phone = new_page(PHONE)
    log_in(phone, live_server, "maya.tan@demo.peakflo.test", DEMO_PASSWORD)
    phone.goto(f"{live_server.url}/reports/invoices/?sort=-last_action")
    assert phone.locator("#invoice-status-rows tbody tr").count() > 0
    assert "Daniel" not in phone.locator("#invoice-status-rows").inner_text()
    # The table scrolls sideways inside its card; the page itself does not.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(phone, "reports-invoice-status-phone")
    as_of = demo_company["today"] - dt.timedelta(days=30)
    phone.goto(f"{live_server.url}/reports/invoices/?as_of={as_of.isoformat()}")
    assert phone.locator("#as-of-note").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(phone, "reports-invoice-status-as-of-phone")
