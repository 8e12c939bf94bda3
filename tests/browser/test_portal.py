"""The payer portal in a real browser: ask for a link, open it from the email, sign in, read the balance and
aging, open an invoice and download its PDF; on a laptop and on a phone."""

import io
import re

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from PIL import Image

from peakflo.models import Company
from tests.portal.conftest import build_portal_book

from .conftest import LAPTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def portal_book(transactional_db, am_alice, am_bob):
    return build_portal_book(am_alice, am_bob)


@pytest.fixture
def branded(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    company = Company.load()
    company.name = "Northwind Supplies"
    company.brand_color = "#0f766e"
    company.address = "12 Harbour Road\nSingapore 049123"
    logo = io.BytesIO()
    Image.new("RGB", (240, 64), "#0f766e").save(logo, format="PNG")
    company.logo.save("northwind.png", ContentFile(logo.getvalue()), save=False)
    company.save()
    return company


def sign_in_by_email(page, live_server, email):
    page.goto(f"{live_server.url}/portal/")
    assert page.url.endswith("/portal/sign-in/")
    page.fill("input[name=email]", email)
    sent_before = len(mail.outbox)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.wait_for_load_state()
    assert "If that address is known, a link is on its way." in page.inner_text("main")
    assert len(mail.outbox) == sent_before + 1
    link = re.search(r"https?://\S+/portal/link/[\w-]+/", mail.outbox[-1].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    page.goto(live_server.url + path)
    return page


def no_sideways_scroll(page, viewport):
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_customer_signs_in_and_downloads_an_invoice(live_server, new_page, screenshot, portal_book, branded):
    page = new_page(LAPTOP)
    page.goto(f"{live_server.url}/portal/")
    screenshot(page, "portal-sign-in-laptop")

    sign_in_by_email(page, live_server, "ann@acme.test")
    assert "Sign in to your account" in page.inner_text("main")
    screenshot(page, "portal-link-laptop")
    page.get_by_role("button", name="Sign in to your account").click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/portal/"

    balance = page.locator(".portal-balance-value").inner_text()
    assert balance.replace("\u00a0", " ") == "SGD 1,450.00"
    aging = page.locator(".aging-list").inner_text().replace("\u00a0", " ")
    for amount in ("SGD 100.00", "SGD 200.00", "SGD 250.00", "SGD 400.00", "SGD 500.00"):
        assert amount in aging
    assert page.locator(".aging-segment").count() == 5
    assert page.locator("img.portal-logo").evaluate("img => img.naturalWidth") == 240
    assert "Northwind Supplies" in page.inner_text("header")
    no_sideways_scroll(page, LAPTOP)
    screenshot(page, "portal-home-laptop")

    page.get_by_role("link", name="A-102", exact=True).first.click()
    page.wait_for_load_state()
    assert "Invoice A-102" in page.inner_text("h1")
    assert "Services for A-102" in page.inner_text("main")
    screenshot(page, "portal-invoice-laptop")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == "A-102.pdf"
    with open(download.path(), "rb") as pdf:
        assert pdf.read(4) == b"%PDF"

    page.get_by_role("link", name="Statement").first.click()
    page.wait_for_load_state()
    page.fill("input[name=start]", "2026-05-01")
    page.fill("input[name=end]", "2026-04-01")
    page.get_by_role("button", name="Download statement (PDF)").click()
    page.wait_for_load_state()
    assert "is before the start date" in page.inner_text("main")
    screenshot(page, "portal-statement-laptop")
    page.get_by_role("link", name="Payments").first.click()
    page.wait_for_load_state()
    assert "ACME-TT-1" in page.inner_text("main")
    screenshot(page, "portal-payments-laptop")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert "You are signed out" in page.inner_text("main")
    page.goto(f"{live_server.url}/portal/invoices/")
    assert page.url.endswith("/portal/sign-in/")


def test_the_portal_on_a_phone(live_server, new_page, screenshot, portal_book, branded):
    page = new_page(PHONE)
    sign_in_by_email(page, live_server, "ann@acme.test")
    screenshot(page, "portal-link-phone")
    page.get_by_role("button", name="Sign in to your account").click()
    page.wait_for_load_state()
    assert page.locator(".portal-balance-value").is_visible()
    no_sideways_scroll(page, PHONE)
    screenshot(page, "portal-home-phone")

    page.goto(f"{live_server.url}/portal/invoices/")
    no_sideways_scroll(page, PHONE)
    assert page.get_by_text("A-104").first.is_visible()
    screenshot(page, "portal-invoices-phone")

    invoice = portal_book["invoices"]["d45"]
    page.goto(f"{live_server.url}/portal/invoices/{invoice.pk}/")
    no_sideways_scroll(page, PHONE)
    assert page.get_by_role("link", name="Download PDF").is_visible()
    screenshot(page, "portal-invoice-phone")

    page.goto(f"{live_server.url}/portal/payments/")
    no_sideways_scroll(page, PHONE)
    screenshot(page, "portal-payments-phone")

    page.goto(f"{live_server.url}/portal/link/not-a-real-token/")
    assert "Request a new link" in page.inner_text("main")
    screenshot(page, "portal-link-invalid-phone")


def test_account_manager_revokes_access_and_the_customer_is_signed_out(
    live_server, new_page, screenshot, portal_book, branded, am_alice
):
    from tests.conftest import PASSWORD

    from .conftest import log_in

    customer_page = new_page(PHONE)
    sign_in_by_email(customer_page, live_server, "ann@acme.test")
    customer_page.get_by_role("button", name="Sign in to your account").click()
    customer_page.wait_for_load_state()
    assert customer_page.locator(".portal-balance-value").is_visible()

    staff = new_page(LAPTOP)
    log_in(staff, live_server, am_alice.email, PASSWORD)
    staff.goto(f"{live_server.url}/customers/{portal_book['acme'].pk}/")
    staff.get_by_role("link", name="Revoke portal access…").click()
    staff.wait_for_load_state()
    screenshot(staff, "portal-revoke-confirm-laptop")
    staff.get_by_role("button", name="Revoke portal access").click()
    staff.wait_for_load_state()
    assert "Portal access of Acme Pte Ltd revoked" in staff.inner_text("main")
    assert "revoked: every portal link" in staff.inner_text("#timeline")

    customer_page.goto(f"{live_server.url}/portal/invoices/")
    assert customer_page.url.endswith("/portal/sign-in/")
