"""Issue 3 end to end in a real browser: an account manager adds a customer, issues an invoice,
records a partial payment, posts a note and uploads a screenshot, and sees each on the timeline."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import Customer
from invoices.models import Invoice
from tests.conftest import PASSWORD

from .conftest import LAPTOP, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_account_manager_works_a_new_customer_from_the_browser(
    live_server, new_page, screenshot, am_alice, tmp_path
):
    page = new_page(LAPTOP)
    log_in(page, live_server, am_alice.email, PASSWORD)

    # Add a customer with a main contact.
    page.goto(f"{live_server.url}/customers/")
    page.click("#add-customer")
    page.fill("input[name=name]", "Marina Bay Traders")
    page.fill("input[name=code]", "MBT-01")
    page.select_option("select[name=currency]", "SGD")
    page.fill("input[name='contacts-0-name']", "Mei Lin")
    page.fill("input[name='contacts-0-email']", "mei@marinabay.test")
    page.check("input[name='contacts-0-is_main']")
    page.get_by_role("button", name="Add customer").click()
    page.wait_for_url("**/customers/*/")
    customer = Customer.objects.get(code="MBT-01")
    assert customer.account_manager == am_alice

    # Issue an invoice by hand with one line and 9% tax.
    page.get_by_role("link", name="New invoice").click()
    page.wait_for_url("**/invoices/add/**")
    page.fill("input[name=number]", "MBT-INV-1")
    page.fill("input[name=issue_date]", (dt.date.today() - dt.timedelta(days=40)).isoformat())
    page.fill("input[name=due_date]", (dt.date.today() - dt.timedelta(days=10)).isoformat())
    page.fill("input[name='lines-0-description']", "Harbour logistics, October")
    page.fill("input[name='lines-0-quantity']", "2")
    page.fill("input[name='lines-0-unit_price']", "500")
    page.fill("input[name='lines-0-tax_rate']", "9")
    page.get_by_role("button", name="Issue invoice").click()
    page.wait_for_url("**/invoices/*/")
    invoice = Invoice.objects.get(number="MBT-INV-1")
    assert invoice.total == Decimal("1090.00") and invoice.customer == customer

    # Record a partial payment against it.
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    page.get_by_role("link", name="Record payment").click()
    page.wait_for_selector("#allocation-table")
    page.fill("input[name=amount]", "400")
    page.fill(f"#allocation-table input[name$='{invoice.pk}']", "400")
    page.fill("input[name=reference]", "TT-2026-11")
    page.get_by_role("button", name="Record payment").click()
    page.wait_for_load_state()
    invoice.refresh_from_db()
    assert invoice.amount_due == Decimal("690.00")

    # A private note and a WhatsApp screenshot on the customer page.
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    page.fill("textarea[name=text]", "Mei promised the rest after their board meets.")
    page.get_by_role("button", name="Save note").click()
    page.wait_for_load_state()
    shot = tmp_path / "whatsapp-chat.png"
    shot.write_bytes(PNG)
    page.set_input_files("input[name=file]", str(shot))
    page.fill("input[name=description]", "WhatsApp chat with Mei")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()

    timeline = page.locator("#timeline")
    for text in [
        "Invoice MBT-INV-1 issued",
        "Payment of 400.00 SGD",
        "Mei promised the rest after their board meets.",
        "whatsapp-chat.png",
    ]:
        assert timeline.get_by_text(text, exact=False).first.is_visible(), text
    assert timeline.locator("img.timeline-image").count() == 1
    assert page.locator(".stat").first.inner_text().replace("\n", " ").lower().startswith("balance 690.00")
    screenshot(page, "workspace-customer-timeline")
