"""The analysis reports in a real browser with the demo company: what an admin and an account manager see."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from disputes.models import DisputeReason
from disputes.services import raise_dispute, resolve_dispute
from invoices.models import Invoice
from invoices.templatetags.invoice_money import amount
from peakflo.management.commands.seed_demo import DEMO_PASSWORD
from peakflo.models import Company, User
from reports import analysis
from reports.selectors import dashboard_scope
from reports.templatetags.dashboard_format import one_decimal
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
    listed = page.locator("#reports-analysis li").all_inner_texts()
    for title in ("Aging by account manager", "Disputes", "Actions"):
        assert any(text.startswith(title) for text in listed), title
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
    # Customers of colleagues she views are labelled as such, not as the colleague's whole book.
    assert all(name.startswith("Customers you view, ") for name in names[1:])
    assert _fits(phone, PHONE)
    screenshot(phone, "reports-aging-by-manager-account-manager-phone")


def _shown(bucket, currency):
    """A bucket as the card's table prints it: the amount, then the share."""
    return f"{amount(bucket['amount'], currency)}\n{one_decimal(bucket['share'])}%"


def test_the_dashboards_aging_as_of_a_past_date(live_server, new_page, screenshot, demo_company):
    today, maya = demo_company["today"], demo_company["maya"]
    daniel = User.objects.get(email="daniel.wong@demo.peakflo.test")
    currency = Company.load().base_currency
    as_of = today - dt.timedelta(days=60)
    expected = analysis.dashboard_aging(
        dashboard_scope(daniel, today=today, account_manager_id=maya.pk), as_of=as_of
    )
    assert sum(bucket["amount"] for bucket in expected) > 0

    page = new_page(LAPTOP)
    log_in(page, live_server, daniel.email, DEMO_PASSWORD)
    page.goto(f"{live_server.url}/?account_manager={maya.pk}")
    today_current = page.locator("#aging-current").inner_text()
    page.fill("#aging-as-of", as_of.isoformat())
    page.dispatch_event("#aging-as-of", "change")
    expect(page.locator("#aging-as-of-date")).to_have_text(f"{as_of.day} {as_of:%B %Y}")
    # Only the card changed: the address and the rest of the dashboard stay as they were.
    assert page.url == f"{live_server.url}/?account_manager={maya.pk}"
    for bucket in expected:
        assert page.locator(f"#aging-{bucket['key']}").inner_text() == _shown(bucket, currency)
    assert page.locator("#dash-aging svg rect").count() == 5
    assert page.locator("#aging-as-of").input_value() == as_of.isoformat()
    assert _fits(page, LAPTOP)
    screenshot(page, "dashboard-aging-as-of-laptop")

    # Back to today: the card shows the dashboard's own figures again.
    page.fill("#aging-as-of", today.isoformat())
    page.dispatch_event("#aging-as-of", "change")
    expect(page.locator("#aging-caption")).to_contain_text("Amount due today")
    assert page.locator("#aging-current").inner_text() == today_current

    phone = new_page(PHONE)
    log_in(phone, live_server, maya.email, DEMO_PASSWORD)
    phone.fill("#aging-as-of", as_of.isoformat())
    phone.dispatch_event("#aging-as-of", "change")
    expect(phone.locator("#aging-as-of-date")).to_be_visible()
    assert _fits(phone, PHONE)
    phone.locator("#dash-aging").scroll_into_view_if_needed()
    screenshot(phone, "dashboard-aging-as-of-phone")
