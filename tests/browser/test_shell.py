"""The page shell in a real browser: log in as an account manager, on a laptop and on a phone."""

import pytest

from tests.conftest import PASSWORD

from .conftest import LAPTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_account_manager_logs_in_and_sees_the_shell(live_server, new_page, screenshot, book, am_alice):
    page = new_page(LAPTOP)
    log_in(page, live_server, am_alice.email, PASSWORD)

    assert page.url == f"{live_server.url}/"
    sidebar = page.locator("#sidebar")
    for label in ["Dashboard", "Customers", "Invoices", "Actions", "Disputes", "Reports", "Settings"]:
        assert sidebar.get_by_role("link", name=label, exact=True).is_visible()
    assert sidebar.locator("[aria-current=page]").inner_text() == "Dashboard"
    assert sidebar.get_by_text("Alice", exact=True).is_visible()
    assert sidebar.get_by_text("Account manager").is_visible()
    assert "3 customers" in page.locator("#stat-receivables .stat-hint").inner_text()
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    screenshot(page, "shell-dashboard-laptop")

    phone = new_page(PHONE)
    log_in(phone, live_server, am_alice.email, PASSWORD)
    menu = phone.locator("[data-nav-toggle]")
    assert menu.is_visible()
    assert not phone.locator("#sidebar").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "shell-dashboard-phone")

    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    phone.locator("#sidebar").get_by_role("link", name="Settings", exact=True).click()
    phone.wait_for_url(f"{live_server.url}/settings/")
    assert phone.get_by_role("heading", name="Settings", exact=True).is_visible()
    screenshot(phone, "shell-settings-phone")

    phone.locator("[data-nav-toggle]").click()
    phone.get_by_role("button", name="Log out").click()
    phone.wait_for_load_state()
    phone.goto(f"{live_server.url}/")
    assert "/login/" in phone.url
