"""An admin connects Xero in a real browser (the local Xero plays the consent), presses Sync now, watches
the progress until the run ends (a real Celery worker runs it), and finds Xero's invoices in the
invoice list. Screenshots of the pages, laptop and phone, go to the temporary folder."""

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounting.models import Connection, ConnectionStatus, SyncRun, SyncStatus
from invoices.models import Invoice
from peakflo.models import Role
from tests.accounting.conftest import xero, xero_spec  # noqa: F401 (the local Xero's fixtures)
from tests.conftest import PASSWORD, make_user

from .conftest import LAPTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sync_worker(celery_processes, xero, settings):  # noqa: F811
    """A Celery worker whose settings point at the local Xero, as the test's own do."""
    celery_processes.env.update(
        {
            "XERO_CLIENT_ID": xero.client_id,
            "XERO_CLIENT_SECRET": xero.client_secret,
            "XERO_LOGIN_URL": xero.url,
            "XERO_IDENTITY_URL": xero.url,
            "XERO_API_URL": xero.url,
            "SECRET_KEY": settings.SECRET_KEY,  # the tokens are encrypted with a key derived from it
            "ACCOUNTING_TOKEN_KEY": settings.ACCOUNTING_TOKEN_KEY or "",
        }
    )
    celery_processes.worker()
    return celery_processes


def screenshot(page, name):
    folder = Path(tempfile.gettempdir()) / "peakflo-screenshots"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_an_admin_connects_xero_syncs_and_sees_the_invoices(
    live_server,
    new_page,
    xero,  # noqa: F811
    sync_worker,
    settings,
):
    settings.SITE_URL = live_server.url
    settings.QUICKBOOKS_CLIENT_ID = ""  # QuickBooks shows what to set up
    admin = make_user("admin@example.com", Role.ADMIN)
    harbour = xero.add_contact("Harbour Freight Pte Ltd", ContactNumber="HF-01")
    lumen = xero.add_contact("Lumen Optics Pte Ltd")
    xero.add_invoice(harbour, "1250.00", tax="87.50", number="INV-7001")
    xero.add_invoice(harbour, "480.00", number="INV-7002")
    xero.add_invoice(lumen, "3100.00", tax="217.00", number="INV-7003")

    page = new_page(LAPTOP)
    log_in(page, live_server, admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/")
    page.get_by_role("link", name="Integrations").click()
    expect(page.get_by_role("heading", name="Integrations", level=1)).to_be_visible()
    expect(page.locator("[data-setup=quickbooks]")).to_contain_text("QUICKBOOKS_CLIENT_ID")
    expect(page.locator("[data-setup=quickbooks]")).to_contain_text(
        f"{live_server.url}/settings/integrations/callback/"
    )
    screenshot(page, "integrations-not-connected-laptop")

    # Connect: to Xero's authorization URL and back through the callback (the emulator consents).
    page.get_by_role("button", name="Connect Xero").click()
    expect(page.locator(".messages")).to_contain_text("Xero: Demo Company (SG) is connected.")
    card = page.locator("[data-connection='Demo Company (SG)']")
    expect(card.locator("[data-status]")).to_have_text("Connected")
    expect(card).to_contain_text("by Admin")
    connection = Connection.objects.get()
    assert connection.status == ConnectionStatus.CONNECTED and connection.connected_by == admin

    # Sync now: the worker runs it; the card polls the progress until the run ends.
    xero.slow_next(3, seconds=2.0)  # slow enough to watch the run going
    card.get_by_role("button", name="Sync now").click()
    progress = card.locator("[data-progress]")
    expect(progress).to_contain_text("Syncing…", timeout=30_000)
    screenshot(page, "integrations-syncing-laptop")
    expect(progress).to_have_attribute("data-run-status", "succeeded", timeout=60_000)
    expect(progress).to_contain_text("Sync finished")
    # Two customers and three invoices came in.
    expect(progress.locator("[data-counts]")).to_have_text("5 created · 0 updated · 0 pushed · 0 failed")
    run = SyncRun.objects.get()
    assert (run.trigger, run.status, run.created, run.failed) == ("manual", SyncStatus.SUCCEEDED, 5, 0)
    page.reload()
    expect(card.locator(f"[data-run='{run.pk}']")).to_contain_text("Succeeded")
    screenshot(page, "integrations-connected-laptop")

    page.goto(f"{live_server.url}/invoices/")
    for number in ("INV-7001", "INV-7002", "INV-7003"):
        expect(page.get_by_text(number, exact=True).first).to_be_visible()
    assert set(Invoice.objects.values_list("number", flat=True)) == {"INV-7001", "INV-7002", "INV-7003"}

    page.goto(f"{live_server.url}/settings/integrations/log/")
    expect(page.locator(f"tr[data-run='{run.pk}']")).to_contain_text("Sync now")
    screenshot(page, "sync-log-laptop")

    phone = new_page(PHONE)
    log_in(phone, live_server, admin.email, PASSWORD)
    phone.goto(f"{live_server.url}/settings/integrations/")
    expect(phone.locator("[data-connection='Demo Company (SG)']")).to_be_visible()
    screenshot(phone, "integrations-connected-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.goto(f"{live_server.url}/settings/integrations/log/")
    expect(phone.locator(f"tr[data-run='{run.pk}']")).to_be_visible()
    screenshot(phone, "sync-log-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_sync_log_filters_in_place_and_shows_a_failed_runs_errors(live_server, new_page):
    import datetime as dt

    from django.utils import timezone

    admin = make_user("admin@example.com", Role.ADMIN)
    connection = Connection(provider="xero", tenant_id="t-1", tenant_name="Harbour Books")
    connection.save()
    now = timezone.now()
    ok = SyncRun.objects.create(
        connection=connection,
        trigger="schedule",
        status=SyncStatus.SUCCEEDED,
        started_at=now - dt.timedelta(minutes=10),
        finished_at=now - dt.timedelta(minutes=9, seconds=48),
        created=12,
        updated=3,
    )
    failed = SyncRun.objects.create(
        connection=connection,
        trigger="manual",
        status=SyncStatus.FAILED,
        started_at=now - dt.timedelta(minutes=4),
        finished_at=now - dt.timedelta(minutes=2, seconds=45),
        created=1,
        failed=2,
        errors=[
            {
                "kind": "invoice",
                "external_id": "INV-0042",
                "error": "Another invoice here has the number INV-0042.",
            },
            {"error": "Xero answered 503 five times; the next run resumes."},
        ],
    )

    page = new_page(LAPTOP)
    log_in(page, live_server, admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/integrations/log/")
    expect(page.locator("tr[data-run]")).to_have_count(2)
    page.select_option("select[name=status]", "failed")
    expect(page.locator("tr[data-run]")).to_have_count(1)
    expect(page.locator(f"tr[data-run='{failed.pk}']")).to_contain_text("1 min 15 s")
    assert "status=failed" in page.url
    expect(page.locator("#export-link")).to_have_attribute(
        "href", re.compile(r"export\.xlsx\?.*status=failed")
    )
    errors = page.locator(f"[data-errors-of='{failed.pk}']")
    errors.get_by_text("2 errors").click()
    expect(errors).to_contain_text("invoice INV-0042: Another invoice here has the number INV-0042.")
    expect(errors).to_contain_text("Xero answered 503 five times")
    screenshot(page, "sync-log-failed-laptop")
    page.select_option("select[name=status]", "")
    expect(page.locator(f"tr[data-run='{ok.pk}']")).to_be_visible()

    phone = new_page(PHONE)
    log_in(phone, live_server, admin.email, PASSWORD)
    phone.goto(f"{live_server.url}/settings/integrations/log/?status=failed")
    phone.get_by_text("2 errors").click()
    screenshot(phone, "sync-log-failed-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
