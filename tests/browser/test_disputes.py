"""Disputes in a real browser: an account manager raises one from the invoice page's dialog, sees the
yellow alerts, answers in the thread with a screenshot and resolves it; the pages at laptop and phone size."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import Contact, Customer
from disputes.models import Dispute, DisputeReason, DisputeStatus
from disputes.services import add_comment
from invoices.models import Invoice
from tests.conftest import PASSWORD

from .conftest import LAPTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMMON = ["Delivery not made", "Double charged", "Incorrect amount charged", "Product was damaged or lost"]
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def reasons(db):
    # A transactional test empties the tables after each test, the migration's rows included.
    for position, name in enumerate(COMMON, start=1):
        DisputeReason.objects.get_or_create(name=name, defaults={"position": position})


@pytest.fixture
def invoice(am_alice, reasons):
    customer = Customer.objects.create(
        code="MBT-01", name="Marina Bay Traders", currency="SGD", account_manager=am_alice
    )
    Contact.objects.create(customer=customer, name="Mei Lin", email="mei@marinabay.test", is_main=True)
    today = dt.date.today()
    return Invoice.objects.create(
        number="MBT-INV-7",
        customer=customer,
        currency="SGD",
        issue_date=today - dt.timedelta(days=35),
        due_date=today - dt.timedelta(days=5),
        subtotal=Decimal("1000.00"),
        tax=Decimal("90.00"),
        total=Decimal("1090.00"),
        amount_due=Decimal("1090.00"),
    )


def test_raise_answer_and_resolve_a_dispute(live_server, new_page, screenshot, am_alice, invoice, tmp_path):
    page = new_page(LAPTOP)
    log_in(page, live_server, am_alice.email, PASSWORD)

    # Raise it from the invoice page's dialog.
    page.goto(f"{live_server.url}/invoices/{invoice.pk}/")
    page.get_by_role("link", name="Raise Dispute").click()
    dialog = page.locator("dialog#raise-dispute")
    assert dialog.is_visible()
    dialog.locator("select[name=reason]").select_option(label="Product was damaged or lost")
    dialog.locator("textarea[name=comment]").fill("Two of the ten crates arrived broken.")
    screenshot(page, "disputes-raise-dialog-laptop")
    dialog.get_by_role("button", name="Raise Dispute").click()
    page.wait_for_url(f"**/invoices/{invoice.pk}/")

    dispute = Dispute.objects.get(invoice=invoice)
    alert = page.locator("#dispute-alert")
    assert alert.is_visible()
    assert "Disputed: Product was damaged or lost." in alert.inner_text()
    assert "Automatic reminders are paused" in alert.inner_text()
    assert alert.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(254, 252, 232)"  # yellow
    screenshot(page, "disputes-invoice-alert-laptop")

    # The customer page and the invoice list flag it too.
    page.goto(f"{live_server.url}/customers/{invoice.customer_id}/")
    assert page.locator("#dispute-alerts .alert-dispute").count() == 1
    page.goto(f"{live_server.url}/invoices/")
    assert page.get_by_role("link", name="Disputed").is_visible()

    # The customer answers in the portal; the account manager replies with a screenshot.
    add_comment(
        dispute=dispute,
        actor=invoice.customer.contacts.get(),
        body="Photos of the crates are attached to our email.",
    )
    page.get_by_role("link", name="Disputed").click()
    page.wait_for_url(f"**/disputes/{dispute.pk}/")
    assert page.locator(".thread-entry.from-customer").count() == 1
    page.fill("textarea[name=body]", "Thanks Mei — here is the delivery note our driver signed.")
    shot = tmp_path / "signed-delivery-note.png"
    shot.write_bytes(PNG)
    page.set_input_files("#comment-form input[name=file]", str(shot))
    page.get_by_role("button", name="Add to thread").click()
    page.wait_for_url(f"**/disputes/{dispute.pk}/**")
    assert page.locator(".thread-entry").count() == 3  # the opening, the customer's, ours
    assert page.locator(".thread img.timeline-image").count() == 1
    screenshot(page, "disputes-detail-open-laptop")

    # Resolve, with a note, after confirming.
    page.get_by_role("link", name="Resolve dispute…").click()
    page.wait_for_url("**/resolve/")
    page.get_by_role("button", name="Resolve dispute").click()  # no note: refused, nothing changes
    assert Dispute.objects.get(pk=dispute.pk).status == DisputeStatus.OPEN
    page.fill("textarea[name=resolution]", "Credit note for the two broken crates agreed with Mei.")
    page.get_by_role("button", name="Resolve dispute").click()
    page.wait_for_url(f"**/disputes/{dispute.pk}/")
    assert "Resolved" in page.locator(".alert-success.page-alert").inner_text()
    assert Dispute.objects.get(pk=dispute.pk).status == DisputeStatus.RESOLVED
    assert page.locator("#timeline").get_by_text("Dispute resolved").first.is_visible()
    screenshot(page, "disputes-detail-resolved-laptop")

    page.goto(f"{live_server.url}/invoices/{invoice.pk}/")
    assert page.locator("#dispute-alert").count() == 0


def test_the_pages_at_phone_and_laptop_size(live_server, new_page, screenshot, am_alice, ar_admin, invoice):
    from disputes.services import raise_dispute

    dispute = raise_dispute(
        invoice=invoice,
        reason=DisputeReason.objects.get(name="Double charged"),
        actor=invoice.customer.contacts.get(),
        comment="We paid this twice, on 3 and 4 November.",
    )
    add_comment(
        dispute=dispute, actor=am_alice, body="Checking with finance; reminders are paused meanwhile."
    )

    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page = new_page(viewport)
        log_in(page, live_server, am_alice.email, PASSWORD)
        for name, path in (
            ("invoice", f"/invoices/{invoice.pk}/"),
            ("customer", f"/customers/{invoice.customer_id}/"),
            ("detail", f"/disputes/{dispute.pk}/"),
            ("list", "/disputes/"),
        ):
            page.goto(live_server.url + path)
            assert page.locator(".alert-dispute, .badge-dispute").first.is_visible(), name
            # Nothing spills sideways on a phone.
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
                name,
                size,
            )
            screenshot(page, f"disputes-{name}-{size}")

        admin_page = new_page(viewport)
        log_in(admin_page, live_server, ar_admin.email, PASSWORD)
        admin_page.goto(f"{live_server.url}/settings/dispute-reasons/")
        if size == "laptop":
            admin_page.get_by_role("button", name="Move “Double charged” up").click()
            admin_page.wait_for_load_state()
        first_row = admin_page.locator(".reason-list li").first
        assert first_row.locator("input[name=name]").input_value() == "Double charged"
        screenshot(admin_page, f"disputes-reasons-{size}")
    names = list(DisputeReason.objects.filter(is_retired=False).values_list("name", flat=True))
    assert names[:2] == ["Double charged", "Delivery not made"]
