"""Credit control and Team activity in a real browser with the demo company: filter by account manager
(credit control) and by person (team activity), check the rows against the queries, laptop and phone."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from customers.models import Customer
from customers.services import add_note, record_promise_to_pay
from peakflo.management.commands.seed_demo import DEMO_PASSWORD
from peakflo.models import Company, User
from reports import team_activity
from reports.credit_control import credit_control_rows
from workflows.models import Workflow

from .conftest import LAPTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_company(transactional_db):
    call_command("seed_demo", stdout=io.StringIO())
    today = Company.load().today()
    # The demo has no credit limits: a small one in days puts the customers with late invoices over.
    Workflow.objects.filter(is_default=True).update(
        credit_limit_amount=Decimal("20000"), credit_limit_days=30
    )
    maya = User.objects.get(email="maya.tan@demo.peakflo.test")
    arjun = User.objects.get(email="arjun.nair@demo.peakflo.test")
    before = _mayas_figures(maya, today)
    for customer in Customer.objects.filter(account_manager=maya).order_by("pk")[:3]:
        add_note(customer=customer, text="Called accounts payable.", actor=maya)
        record_promise_to_pay(customer=customer, amount=100, date=today + dt.timedelta(days=7), actor=maya)
    arjuns_own = Customer.objects.filter(account_manager=arjun).exclude(default_viewers=maya).first()
    add_note(customer=arjuns_own, text="Left a voicemail.", actor=arjun)
    return {
        "today": today,
        "maya": maya,
        "before": before,
        "daniel": User.objects.get(email="daniel.wong@demo.peakflo.test"),
    }


def _mayas_figures(maya, today):
    """Maya's counts over the last 30 days as the report's query gives them (the demo records some)."""
    tz = Company.load().tz
    since, until = team_activity.day_bounds(today - dt.timedelta(days=29), today, tz)
    entries = team_activity.counted_entries(maya).filter(
        actor_user=maya, created_at__gte=since, created_at__lt=until
    )
    people = team_activity.team_activity(entries, tz=tz)["people"]
    return people[0].in_order() if people else [0] * len(team_activity.FIGURES)


def _fits(page, viewport):
    return page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_credit_control_and_team_activity_filtered(live_server, new_page, screenshot, demo_company):
    maya, daniel, today = demo_company["maya"], demo_company["daniel"], demo_company["today"]
    mayas_over = list(
        credit_control_rows(daniel, today=today)
        .filter(account_manager=maya)
        .order_by("-exposure", "name", "pk")
        .values_list("name", flat=True)[:50]
    )
    assert mayas_over, "the demo has customers of Maya's over the limit"

    page = new_page(LAPTOP)
    log_in(page, live_server, daniel.email, DEMO_PASSWORD)
    page.goto(f"{live_server.url}/reports/")
    page.click("text=Credit control")
    page.wait_for_url("**/reports/credit-control/")
    page.select_option("select[name=account_manager]", str(maya.pk))
    page.wait_for_url(f"**/reports/credit-control/?account_manager={maya.pk}*")
    rows = page.locator("#credit-control-rows tbody tr td:first-child a")
    expect(rows).to_have_count(len(mayas_over))
    assert rows.all_inner_texts() == mayas_over
    assert f"account_manager={maya.pk}" in page.locator("#export-link").get_attribute("href")
    assert _fits(page, LAPTOP)
    screenshot(page, "reports-credit-control-laptop")

    page.goto(f"{live_server.url}/reports/team-activity/")
    page.select_option("select[name=user]", str(maya.pk))
    expect(page.locator("#team-activity-people tbody tr")).to_have_count(1)
    # Three notes and three promises more than the demo had recorded.
    expected = [*demo_company["before"][:3], demo_company["before"][3] + 3, demo_company["before"][4] + 3]
    cells = page.locator("#team-activity-people tbody tr td.num").all_inner_texts()
    assert cells == [str(n) for n in [*expected, sum(expected)]]
    assert _fits(page, LAPTOP)
    screenshot(page, "reports-team-activity-laptop")

    phone = new_page(PHONE)
    log_in(phone, live_server, maya.email, DEMO_PASSWORD)
    phone.goto(f"{live_server.url}/reports/credit-control/")
    names = phone.locator("#credit-control-rows tbody tr td:first-child a").all_inner_texts()
    assert names and set(names) <= set(Customer.objects.visible_to(maya).values_list("name", flat=True))
    screenshot(phone, "reports-credit-control-phone")
    phone.goto(f"{live_server.url}/reports/team-activity/")
    # Maya sees her own work, not Arjun's note on his customer.
    assert phone.locator("#team-activity-people tbody tr").all_inner_texts()[0].startswith("Maya Tan")
    assert phone.locator("#team-activity-people tbody tr").count() == 1
    assert _fits(phone, PHONE)
    screenshot(phone, "reports-team-activity-phone")
