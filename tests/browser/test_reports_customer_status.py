"""The Customer Status Tracking Report in a real browser: filter by account manager, edit a tag inline."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import Customer, Tag
from invoices.models import Invoice
from peakflo.models import Company, Role
from tests.conftest import PASSWORD, make_user

from .conftest import LAPTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def report_data(transactional_db):
    today = Company.load().today()
    admin = make_user("ada.admin@example.com", Role.ADMIN)
    maya = make_user("maya@example.com", Role.ACCOUNT_MANAGER)
    raj = make_user("raj@example.com", Role.ACCOUNT_MANAGER)
    key = Tag.objects.create(name="Key account", color="#2563eb")
    Tag.objects.create(name="Slow payer", color="#d97706")
    rows = [("Acme Pte Ltd", maya, 45), ("Globex Asia", maya, 5), ("Initech", raj, 100), ("Hooli", raj, -10)]
    for i, (name, manager, days_past_due) in enumerate(rows, start=1):
        customer = Customer.objects.create(code=f"C-{i:03d}", name=name, account_manager=manager)
        Invoice.objects.create(
            number=f"INV-{i:04d}",
            customer=customer,
            currency=customer.currency,
            issue_date=today - dt.timedelta(days=days_past_due + 30),
            due_date=today - dt.timedelta(days=days_past_due),
            subtotal=Decimal("1000.00") * i,
            tax=Decimal("0"),
            total=Decimal("1000.00") * i,
            amount_due=Decimal("1000.00") * i,
        )
        if i == 3:
            customer.tags.add(key)
    return {"admin": admin, "maya": maya}


def test_filter_by_account_manager_and_edit_a_tag_inline(new_page, live_server, report_data, screenshot):
    page = new_page(LAPTOP)
    log_in(page, live_server, report_data["admin"].email, PASSWORD)
    page.goto(f"{live_server.url}/reports/customers/")
    table = page.locator("#customer-status")
    assert table.locator("tbody tr").count() == 4

    page.select_option("select[name=account_manager]", str(report_data["maya"].pk))
    page.wait_for_url("**account_manager=*")
    page.wait_for_function("document.querySelectorAll('#customer-status tbody tr').length === 2")
    assert "Initech" not in table.inner_text() and "Acme Pte Ltd" in table.inner_text()

    acme = Customer.objects.get(name="Acme Pte Ltd")
    page.click(f"#customer-{acme.pk} button[aria-label='Edit the tags of Acme Pte Ltd']")
    form = page.locator(f"#tags-form-{acme.pk}")
    form.get_by_label("Slow payer").check()
    form.locator("input[name=new_tags]").fill("Called twice")
    screenshot(page, "reports-customer-status-tag-edit-laptop")
    form.get_by_role("button", name="Save tags").click()
    cell = page.locator(f"#tags-{acme.pk}")
    cell.wait_for()
    assert "Slow payer" in cell.inner_text() and "Called twice" in cell.inner_text()
    assert set(acme.tags.values_list("name", flat=True)) == {"Slow payer", "Called twice"}
    # The whole row fits a 1366 px laptop: nothing to scroll sideways.
    card = page.locator(".table-card")
    assert card.evaluate("card => card.scrollWidth <= card.clientWidth"), "the table scrolls sideways"
    screenshot(page, "reports-customer-status-laptop")

    # The Columns menu works from the keyboard, and the choice survives filtering.
    page.locator("#cs-columns summary").focus()
    page.keyboard.press("Enter")
    tags_box = page.locator("#cs-columns input[value=tags]")
    tags_box.focus()
    page.keyboard.press("Space")
    assert not page.locator(f"#customer-{acme.pk} td.col-tags").is_visible()
    page.fill("input[name=q]", "Acme")
    page.wait_for_function("document.querySelectorAll('#customer-status tbody tr').length === 1")
    assert not page.locator(f"#customer-{acme.pk} td.col-tags").is_visible()
    assert page.locator(f"#customer-{acme.pk} td.col-behaviour").is_visible()

    phone = new_page(PHONE)
    log_in(phone, live_server, report_data["admin"].email, PASSWORD)
    phone.goto(f"{live_server.url}/reports/customers/")
    assert phone.locator("#customer-status tbody tr").count() == 4
    # Each customer is a card: nothing wider than the screen.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(phone, "reports-customer-status-phone")


def test_drawn_as_of_a_past_date(new_page, live_server, report_data, screenshot):
    """Thirty days ago Acme was 15 days past due, Globex not yet due, and Hooli not yet invoiced."""
    past = Company.load().today() - dt.timedelta(days=30)
    page = new_page(LAPTOP)
    log_in(page, live_server, report_data["admin"].email, PASSWORD)
    page.goto(f"{live_server.url}/reports/customers/")
    assert page.locator("button[aria-label^='Edit the tags']").count() == 4

    page.fill("input[name=as_of]", past.isoformat())
    page.locator("#as-of-note").wait_for()
    assert "Drawn as of" in page.locator("#as-of-note").inner_text()
    acme = Customer.objects.get(name="Acme Pte Ltd")
    hooli = Customer.objects.get(name="Hooli")
    assert "1–30" in page.locator(f"#customer-{acme.pk} td.col-aging").inner_text()
    assert page.locator(f"#customer-{hooli.pk} td.col-balance").inner_text().startswith("0.00")
    # today's tags, promises and tasks cannot be changed from the past
    assert page.locator("button[aria-label^='Edit the tags']").count() == 0
    assert page.locator("a[aria-label^='Create a task']").count() == 0
    export = page.locator("#export-link").get_attribute("href")
    assert f"as_of={past.isoformat()}" in export
    screenshot(page, "reports-customer-status-as-of-laptop")

    # a date in the future (typed into the address, past the field's max) is refused, naming the field
    future = Company.load().today() + dt.timedelta(days=3)
    page.goto(f"{live_server.url}/reports/customers/?as_of={future.isoformat()}")
    assert "As of:" in page.locator(".alert-error").inner_text()
    assert page.locator("button[aria-label^='Edit the tags']").count() == 4  # today's report instead
