"""The analysis reports in a real browser with the demo company: what an admin and an account manager see."""

import datetime as dt
import io

import pytest
from django.core.management import call_command

from disputes.models import DisputeReason
from disputes.services import raise_dispute, resolve_dispute
from invoices.models import Invoice
from peakflo.management.commands.seed_demo import DEMO_PASSWORD
from peakflo.models import Company, User
from workflows.models import ActionType
from workflows.task_services import complete_task, create_task

from .conftest import LAPTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_company(transactional_db):
    call_command("seed_demo", stdout=io.StringIO())
    company = Company.load()
    today = company.today()
    maya = User.objects.get(email="maya.tan@demo.peakflo.test")
    daniel = User.objects.get(email="daniel.wong@demo.peakflo.test")
    # The reasons come from a data migration, which a transactional test before this one may have flushed.
    names = ["Incorrect amount charged", "Double charged", "Delivery not made"]
    reasons = [DisputeReason.objects.get_or_create(name=name)[0] for name in names]
    overdue = list(Invoice.objects.overdue(today).filter(disputes__isnull=True).order_by("due_date")[:12])

    def moment(days_ago):
        return dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(10), tzinfo=company.tz)

    # Open disputes of every age, and some resolved over the last weeks.
    for invoice, reason, days_ago in zip(overdue[:6], reasons * 2, [2, 12, 25, 45, 120, 5], strict=True):
        raise_dispute(invoice=invoice, reason=reason, actor=daniel, comment="Checking.", at=moment(days_ago))
    for invoice, reason, (raised, resolved) in zip(
        overdue[6:10], reasons * 2, [(40, 30), (20, 17), (60, 12), (9, 8)], strict=False
    ):
        dispute = raise_dispute(
            invoice=invoice, reason=reason, actor=daniel, comment="Wrong.", at=moment(raised)
        )
        resolve_dispute(dispute=dispute, actor=daniel, resolution="Credit note issued.", at=moment(resolved))

    for invoice, kind, due, done in [
        (overdue[0], ActionType.PHONE_CALL, -3, True),
        (overdue[1], ActionType.PHONE_CALL, -2, False),
        (overdue[2], ActionType.OFFICE_VISIT, 0, True),
        (overdue[3], ActionType.LETTER, -8, False),
        (overdue[4], ActionType.ESCALATION, 3, False),
    ]:
        task = create_task(
            customer=invoice.customer,
            invoice=invoice,
            kind=kind,
            title=f"{kind.label} about {invoice.number}",
            due_on=today + dt.timedelta(days=due),
            actor=daniel,
            owner=invoice.customer.account_manager or daniel,
        )
        if done:
            complete_task(task=task, outcome="Spoke to accounts.", actor=daniel)
    return {"today": today, "maya": maya}


def _fits(page, viewport):
    return page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_analysis_reports_with_the_demo_company(live_server, new_page, screenshot, demo_company):
    page = new_page(LAPTOP)
    log_in(page, live_server, "daniel.wong@demo.peakflo.test", DEMO_PASSWORD)

    page.goto(f"{live_server.url}/reports/")
    assert page.locator("#reports-analysis li").count() == 3
    page.click("text=Aging by account manager")
    page.wait_for_url("**/reports/aging-by-manager/")
    names = page.locator("#aging-table tbody th").all_inner_texts()
    assert "Maya Tan" in names and len(names) >= 3
    today_total = page.locator("#aging-table tfoot td").last.inner_text()
    assert today_total.replace(",", "").isdigit()
    assert _fits(page, LAPTOP)
    screenshot(page, "reports-aging-by-manager-laptop")

    # A past date redraws the table in place and goes into the address (and the export link).
    as_of = (demo_company["today"] - dt.timedelta(days=60)).isoformat()
    page.fill("input[name=as_of]", as_of)
    page.dispatch_event("input[name=as_of]", "change")
    page.wait_for_url(f"**/reports/aging-by-manager/?as_of={as_of}")
    page.wait_for_function(
        "text => document.querySelector('#aging-table tfoot td:last-child').innerText !== text",
        arg=today_total,
    )
    assert f"as_of={as_of}" in page.locator("#export-link").get_attribute("href")

    page.goto(f"{live_server.url}/reports/disputes/")
    assert page.locator("#open-disputes-table tfoot td").nth(4).inner_text() == "6"
    assert page.locator("#resolution-table tbody tr").count() >= 1
    assert _fits(page, LAPTOP)
    screenshot(page, "reports-disputes-laptop")

    page.goto(f"{live_server.url}/reports/actions/")
    assert page.locator("#actions-table tbody tr").count() >= 3
    assert _fits(page, LAPTOP)
    screenshot(page, "reports-actions-laptop")

    phone = new_page(PHONE)
    log_in(phone, live_server, "maya.tan@demo.peakflo.test", DEMO_PASSWORD)
    phone.goto(f"{live_server.url}/reports/aging-by-manager/")
    # Maya's own portfolio, and the customers of others she is a default viewer of; nothing else.
    names = phone.locator("#aging-table tbody th").all_inner_texts()
    assert names[0] == "Maya Tan" and "Arjun Nair" not in names
    assert _fits(phone, PHONE)
    screenshot(phone, "reports-aging-by-manager-account-manager-phone")
