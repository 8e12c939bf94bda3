"""The dashboard in a real browser with the demo company: laptop and phone, an admin narrowing to one AM."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from disputes.models import DisputeReason
from disputes.services import raise_dispute
from invoices.models import Invoice
from invoices.services import record_invoice_promise
from peakflo.management.commands.seed_demo import DEMO_PASSWORD
from peakflo.models import Company, User
from workflows.models import ActionType
from workflows.task_services import create_task

from .conftest import LAPTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_company(transactional_db):
    call_command("seed_demo", stdout=io.StringIO())
    today = Company.load().today()
    maya = User.objects.get(email="maya.tan@demo.peakflo.test")
    reason = DisputeReason.objects.order_by("position").first()
    mayas_open = Invoice.objects.overdue(today).filter(customer__account_manager=maya).order_by("due_date")
    for invoice in mayas_open[:2]:
        raise_dispute(invoice=invoice, reason=reason, actor=maya, comment="Goods arrived damaged.")
    promised = mayas_open[3]
    record_invoice_promise(
        invoice=promised,
        amount=promised.amount_due,
        date=today + dt.timedelta(days=2),
        actor=maya,
        today=today,
    )
    create_task(
        customer=promised.customer,
        kind=ActionType.PHONE_CALL,
        title="Call about the overdue balance",
        due_on=today,
        actor=maya,
        owner=maya,
    )
    daniel = User.objects.get(email="daniel.wong@demo.peakflo.test")
    for invoice, title in zip(
        mayas_open[4:6], ["Escalate the oldest balance", "Approve the write-off request"], strict=True
    ):
        create_task(
            customer=invoice.customer,
            invoice=invoice,
            kind=ActionType.ESCALATION,
            title=title,
            due_on=today - dt.timedelta(days=2) if "oldest" in title else today,
            actor=daniel,
            owner=daniel,
        )
    return {"maya": maya, "today": today}


def test_dashboard_with_the_demo_company(live_server, new_page, screenshot, demo_company):
    page = new_page(LAPTOP)
    log_in(page, live_server, "daniel.wong@demo.peakflo.test", DEMO_PASSWORD)
    assert page.url == f"{live_server.url}/"
    for card in [
        "#stat-receivables",
        "#stat-overdue",
        "#stat-dso",
        "#stat-cei",
        "#stat-time-to-pay",
        "#stat-cash",
    ]:
        assert page.locator(f"{card} .stat-value").inner_text().strip() not in ("", "—")
    assert page.locator("#dash-aging svg rect").count() == 5
    assert page.locator("#dash-trend svg polyline").count() == 1
    assert page.locator("#dash-debtors li").count() == 5
    assert "2 open disputes" in page.locator("#dash-disputes").inner_text()
    assert "DSO = receivables ÷ credit sales" in page.locator("#stat-dso").get_attribute("title")
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    assert page.locator("#my-tasks li").count() == 2
    page.locator("#stat-dso").hover()
    expect(page.locator("#stat-dso .dash-tip")).to_be_visible()  # it fades in (0.15 s transition)
    screenshot(page, "dashboard-dso-formula-laptop")
    page.mouse.move(0, 0)
    screenshot(page, "dashboard-admin-laptop")

    # Narrowing to Maya swaps the page in place (HTMX) and puts her id in the address.
    everyone = page.locator("#stat-receivables .stat-value").inner_text()
    page.select_option("#narrow-account-manager", label="Maya Tan")
    page.wait_for_url(f"**/?account_manager={demo_company['maya'].pk}")
    page.wait_for_function(
        "text => document.querySelector('#stat-receivables .stat-value').innerText !== text", arg=everyone
    )
    assert "The portfolio of Maya Tan" in page.locator("#dashboard-scope").inner_text()
    assert page.locator("#narrow-account-manager").input_value() == str(demo_company["maya"].pk)

    phone = new_page(PHONE)
    log_in(phone, live_server, "maya.tan@demo.peakflo.test", DEMO_PASSWORD)
    assert phone.locator("#narrow-account-manager").count() == 0
    assert "Call about the overdue balance" in phone.locator("#dash-tasks").inner_text()
    assert phone.locator("#promises-due-count").inner_text() == "1"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "dashboard-account-manager-phone")

    laptop = new_page(LAPTOP)
    log_in(laptop, live_server, "maya.tan@demo.peakflo.test", DEMO_PASSWORD)
    screenshot(laptop, "dashboard-account-manager-laptop")
