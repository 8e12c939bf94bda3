"""The main pages under the Content-Security-Policy in a real browser: no violation reported, and the
behaviours that used to be inline (dialogs, select-all, the invoice totals, htmx) still work."""

import pytest
from django.urls import reverse

from peakflo import settings as production_settings
from peakflo.models import Company
from portal.links import make_link
from portal.models import LinkPurpose
from tests.conftest import PASSWORD
from tests.portal.conftest import build_portal_book

from .conftest import LAPTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Reported by the page itself as well as by Chromium's console, in case a message changes wording.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + (event.blockedURI || "inline"));
});
"""


@pytest.fixture(autouse=True)
def production_policy(settings):
    # The test settings add 'unsafe-eval' for Playwright's wait_for_function; not here.
    settings.SECURE_CSP = production_settings.SECURE_CSP
    assert "'unsafe-eval'" not in str(settings.SECURE_CSP)


@pytest.fixture
def book(transactional_db, am_alice, am_bob):
    company = Company.load()
    company.brand_color = "#0f766e"
    company.save()
    return build_portal_book(am_alice, am_bob)


@pytest.fixture
def watched(new_page):
    """A page that records every CSP violation and script error it meets."""
    problems = []

    def open_page(viewport=LAPTOP):
        page = new_page(viewport)
        page.add_init_script(REPORT_VIOLATIONS)
        page.on(
            "console",
            lambda message: (
                problems.append(message.text)
                if message.type == "error"
                and ("Content Security Policy" in message.text or "CSP" in message.text)
                else None
            ),
        )
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        return page

    open_page.problems = problems
    return open_page


def visit(page, url):
    response = page.goto(url)
    assert response.status == 200, url
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in policy and "default-src 'self'" in policy, url
    assert "unsafe-eval" not in policy and "unsafe-inline" not in policy.split("style-src-attr")[0], url
    page.wait_for_load_state("networkidle")
    return response


def test_the_staff_pages_run_under_the_policy(live_server, watched, book, admin_user):
    page = watched()
    log_in(page, live_server, admin_user.email, PASSWORD)
    acme = book["acme"]
    invoice = book["invoices"]["d15"]
    base = live_server.url

    for name, args in [
        ("dashboard", []),
        ("customer_detail", [acme.pk]),
        ("invoices", []),
        ("payments", []),
        ("disputes", []),
        ("reports", []),
        ("report_invoice_status", []),
        ("report_credit_control", []),
        ("report_team_activity", []),
        ("settings_index", []),
        ("settings_company", []),
        ("integrations", []),
        ("workflows", []),
    ]:
        visit(page, base + reverse(name, args=args))
    assert watched.problems == []

    # Customers: the select-all box (was onclick) ticks every row.
    visit(page, base + reverse("customers"))
    page.get_by_label("Select every customer on this page").check()
    boxes = page.locator("input[name=ids]")
    assert boxes.count() == 2
    assert all(boxes.nth(n).is_checked() for n in range(boxes.count()))

    # An invoice: Raise Dispute opens its dialog (was onclick); Cancel closes it (was onclick).
    visit(page, base + reverse("invoice_detail", args=[invoice.pk]))
    page.get_by_role("link", name="Raise Dispute").click()
    dialog = page.locator("dialog#raise-dispute")
    assert dialog.is_visible()
    assert page.url.endswith(reverse("invoice_detail", args=[invoice.pk])), "stayed on the invoice"
    dialog.get_by_role("button", name="Cancel").click()
    assert not dialog.is_visible()

    # The customer status report: the Task button loads its form with htmx, then opens the dialog
    # (was hx-on, which needs eval); the nonce'd script restores the hidden columns.
    visit(page, base + reverse("report_customer_status"))
    page.get_by_role("link", name=f"Create a task for {acme.name}").click()
    task = page.locator("dialog#task-dialog")
    task.wait_for(state="visible")
    assert f"New task for {acme.name}" in task.inner_text()
    task.get_by_role("button", name="Cancel").click()
    assert not task.is_visible()

    # The new invoice form: its nonce'd script adds the lines up as they are typed.
    visit(page, base + reverse("invoice_add"))
    page.locator("[name$='-quantity']").first.fill("3")
    page.locator("[name$='-unit_price']").first.fill("12.50")
    assert page.locator("[data-total=subtotal]").inner_text() == "37.50"

    assert watched.problems == []


def test_the_portal_runs_under_the_policy(live_server, watched, book):
    page = watched(PHONE)
    link = make_link(customer=book["acme"], contact=book["ann"], purpose=LinkPurpose.SIGN_IN)
    visit(page, live_server.url + "/" + link.split("://", 1)[1].split("/", 1)[1])
    page.get_by_role("button", name="Sign in to your account").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{live_server.url}/portal/"
    # The brand colour is set through a style attribute, which the policy allows (style-src-attr).
    assert page.evaluate("getComputedStyle(document.body).getPropertyValue('--brand').trim()") == "#0f766e"
    assert page.locator(".aging-segment").count() == 5

    for name in ["portal_invoices", "portal_payments", "portal_disputes", "portal_messages"]:
        visit(page, live_server.url + reverse(name))
    assert watched.problems == []


def test_a_locked_out_sign_in_shows_why_on_the_login_page(
    live_server, watched, am_alice, settings, screenshot
):
    settings.AXES_ENABLED = True  # off for the suite (client.login); this test is about it
    page = watched()
    for _ in range(5):
        log_in(page, live_server, am_alice.email, "not-the-password")
    log_in(page, live_server, am_alice.email, PASSWORD)

    alert = page.locator("#locked-out")
    assert alert.is_visible()
    assert "Sign-in paused for this account" in alert.inner_text()
    assert "locked for 15 minutes" in alert.inner_text()
    assert page.url == f"{live_server.url}/login/"
    assert page.locator("input[name=username]").input_value() == am_alice.email
    screenshot(page, "login-locked-out-laptop")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "login-locked-out-phone")
    assert watched.problems == []
