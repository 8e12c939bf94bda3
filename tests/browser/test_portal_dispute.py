"""The issue's browser test: a customer signs in to the portal and disputes an invoice; the account
manager sees the yellow alert on the dashboard, answers and resolves it; the customer reads the answer
and the resolution; the engine's next tick schedules that invoice's reminders again. Plus the portal
action pages (promise, upload, messages, pay) and the staff Portal messages panel at laptop and phone size."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import Contact, Customer
from disputes.models import Dispute, DisputeReason, DisputeStatus
from invoices.models import Invoice
from peakflo.models import Company
from portal.links import make_link
from portal.models import LinkPurpose, PortalMessage
from tests.conftest import PASSWORD
from workflows.dispatch import dispatch_due_runs
from workflows.engine import schedule_due_runs
from workflows.models import Action, ActionRun, ActionType, RunStatus, Trigger, Workflow

from .conftest import LAPTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASONS = ["Delivery not made", "Double charged", "Incorrect amount charged", "Product was damaged or lost"]
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def book(settings, tmp_path, am_alice):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STRIPE_SECRET_KEY = ""
    # A transactional test empties the tables after each test, the migrations' rows included.
    for position, name in enumerate(REASONS, start=1):
        DisputeReason.objects.get_or_create(name=name, defaults={"position": position})
    Company.objects.filter(pk=Company.load().pk).update(
        name="Northwind Supplies",
        # Reminders may go out at any hour of any day, so dispatch runs whenever the test does.
        send_window_start=dt.time(0, 0),
        send_window_end=dt.time(23, 59, 59),
        send_weekdays=[0, 1, 2, 3, 4, 5, 6],
        bank_transfer_instructions="DBS Bank Singapore\nAccount: Northwind Supplies Pte Ltd\nNo. 072-123456-7\n"
        "Reference: your invoice numbers",
    )
    Workflow.objects.update(is_default=False)
    flow = Workflow.objects.create(name="Portal test reminders", is_default=True, business_days_only=False)
    for name, days in (("Gentle reminder", 1), ("Second reminder", 4), ("Final notice", 30)):
        Action.objects.create(
            workflow=flow, name=name, trigger=Trigger.AFTER_DUE, days=days, action_type=ActionType.EMAIL
        )
    customer = Customer.objects.create(
        code="MBT-01", name="Marina Bay Traders", currency="SGD", account_manager=am_alice
    )
    contact = Contact.objects.create(
        customer=customer, name="Mei Lin", email="mei@marinabay.test", is_main=True
    )
    today = Company.load().today()

    def invoice(number, days_overdue, total):
        return Invoice.objects.create(
            number=number,
            customer=customer,
            currency="SGD",
            issue_date=today - dt.timedelta(days=30 + days_overdue),
            due_date=today - dt.timedelta(days=days_overdue),
            subtotal=Decimal(total),
            total=Decimal(total),
            amount_due=Decimal(total),
        )

    return {
        "customer": customer,
        "contact": contact,
        "disputed": invoice("MBT-INV-7", 6, "1090.00"),
        "other": invoice("MBT-INV-8", 2, "240.50"),
    }


def portal_sign_in(page, live_server, contact):
    link = make_link(customer=contact.customer, contact=contact, purpose=LinkPurpose.SIGN_IN)
    page.goto(live_server.url + "/" + link.split("://", 1)[1].split("/", 1)[1])
    page.get_by_role("button", name="Sign in to your account").click()
    page.wait_for_url(f"{live_server.url}/portal/")


def no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def pending_runs(invoice):
    return ActionRun.objects.filter(invoice=invoice, status=RunStatus.PENDING)


def test_customer_disputes_in_the_portal_and_reminders_resume_after_resolution(
    live_server, new_page, screenshot, am_alice, book, tmp_path
):
    invoice = book["disputed"]

    # The customer signs in and disputes the invoice from its page: the message icon, a reason, a file.
    customer_page = new_page(LAPTOP)
    portal_sign_in(customer_page, live_server, book["contact"])
    customer_page.goto(f"{live_server.url}/portal/invoices/{invoice.pk}/")
    screenshot(customer_page, "portal-actions-invoice-laptop")
    customer_page.locator("#dispute-invoice").click()
    customer_page.wait_for_url(f"**/portal/invoices/{invoice.pk}/dispute/")
    customer_page.select_option("select[name=reason]", label="Product was damaged or lost")
    customer_page.fill("textarea[name=comment]", "Two of the ten crates arrived broken.")
    photo = tmp_path / "broken-crates.png"
    photo.write_bytes(PNG)
    customer_page.set_input_files("input[name=file]", str(photo))
    screenshot(customer_page, "portal-actions-dispute-form-laptop")
    customer_page.get_by_role("button", name="Raise dispute").click()
    dispute = Dispute.objects.get(invoice=invoice)
    customer_page.wait_for_url(f"**/portal/disputes/{dispute.pk}/")
    assert dispute.raised_by_contact == book["contact"] and dispute.status == DisputeStatus.OPEN
    assert "Two of the ten crates arrived broken." in customer_page.inner_text("#thread")
    assert customer_page.locator("#thread").get_by_role("link", name="broken-crates.png").is_visible()

    # The engine holds back: the tick and dispatch send the other invoice's reminder, none for this one.
    schedule_due_runs()
    dispatch_due_runs()
    assert ActionRun.objects.filter(invoice=book["other"], status=RunStatus.DONE).exists()
    assert not ActionRun.objects.filter(
        invoice=invoice, status__in=[RunStatus.PENDING, RunStatus.DONE]
    ).exists()

    # The account manager sees the yellow alert on the dashboard, answers in the thread and resolves.
    staff = new_page(LAPTOP)
    log_in(staff, live_server, am_alice.email, PASSWORD)
    staff.goto(f"{live_server.url}/")
    alert = staff.locator("#dash-disputes")
    assert alert.is_visible() and "MBT-INV-7" in alert.inner_text()
    assert alert.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(254, 252, 232)"  # yellow
    screenshot(staff, "portal-actions-dashboard-dispute-alert-laptop")
    alert.get_by_role("link", name="MBT-INV-7").click()
    staff.wait_for_url(f"**/disputes/{dispute.pk}/")
    assert "Mei Lin" in staff.inner_text("main")
    staff.fill("#comment-form textarea[name=body]", "Sorry Mei — we will credit the two broken crates.")
    staff.get_by_role("button", name="Add to thread").click()
    staff.wait_for_url(f"**/disputes/{dispute.pk}/**")
    staff.get_by_role("link", name="Resolve dispute…").click()
    staff.wait_for_url("**/resolve/")
    staff.fill("textarea[name=resolution]", "Credit note for two crates agreed with Mei.")
    staff.get_by_role("button", name="Resolve dispute").click()
    staff.wait_for_url(f"**/disputes/{dispute.pk}/")
    assert Dispute.objects.get(pk=dispute.pk).status == DisputeStatus.RESOLVED

    # The customer reads the answer and the resolution; the thread takes no more answers.
    customer_page.reload()
    thread = customer_page.inner_text("#thread")
    assert "we will credit the two broken crates" in thread
    assert "Credit note for two crates agreed with Mei." in customer_page.inner_text("#dispute-resolution")
    assert customer_page.locator("textarea[name=body]").count() == 0
    screenshot(customer_page, "portal-actions-dispute-resolved-laptop")

    # Reminders resume with the next step that falls due (day 30 past due): one run pending for the
    # invoice, the steps that fell due during the dispute never sent late.
    resumes_on = invoice.due_date + dt.timedelta(days=30)
    schedule_due_runs(today=resumes_on)
    assert [run.action.name for run in pending_runs(invoice)] == ["Final notice"]
    assert not ActionRun.objects.filter(invoice=invoice, status=RunStatus.DONE).exists()


def test_portal_action_pages_at_laptop_and_phone_size(live_server, new_page, screenshot, am_alice, book):
    invoice = book["disputed"]
    PortalMessage.objects.create(
        customer=book["customer"],
        author_contact=book["contact"],
        invoice=invoice,
        body="Can we pay in two parts?",
    )
    PortalMessage.objects.create(
        customer=book["customer"], author_user=am_alice, body="Yes: half by the 30th, the rest next month."
    )
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page = new_page(viewport)
        portal_sign_in(page, live_server, book["contact"])
        assert page.get_by_role("link", name="How to pay").is_visible()
        screenshot(page, f"portal-actions-home-{size}")
        for name, path in (
            ("invoice", f"/portal/invoices/{invoice.pk}/"),
            ("dispute-form", f"/portal/invoices/{invoice.pk}/dispute/"),
            ("promise", f"/portal/invoices/{invoice.pk}/promise/"),
            ("upload", f"/portal/invoices/{invoice.pk}/documents/"),
            ("messages", "/portal/messages/"),
            ("pay", "/portal/pay/"),
        ):
            page.goto(live_server.url + path)
            assert no_sideways_scroll(page), (name, size)
            screenshot(page, f"portal-actions-{name}-{size}")

    # Promise to pay from the phone; the invoice then says so.
    page.goto(f"{live_server.url}/portal/invoices/{invoice.pk}/promise/")
    by = Company.load().today() + dt.timedelta(days=10)
    page.fill("input[name=amount]", "500.00")
    page.fill("input[name=date]", by.isoformat())
    page.get_by_role("button", name="Promise to pay").click()
    page.wait_for_url(f"**/portal/invoices/{invoice.pk}/")
    assert "You promised to pay SGD\u00a0500.00 by" in page.inner_text("#invoice-promise")
    screenshot(page, "portal-actions-invoice-promised-phone")

    # The account manager's panel on the customer page, and an answer sent from it.
    staff = new_page(LAPTOP)
    log_in(staff, live_server, am_alice.email, PASSWORD)
    staff.goto(f"{live_server.url}/customers/{book['customer'].pk}/")
    panel = staff.locator("#portal-messages")
    assert "Can we pay in two parts?" in panel.inner_text()
    panel.locator("textarea[name=body]").fill("We have noted your plan, thank you.")
    panel.get_by_role("button", name="Send answer").click()
    staff.wait_for_function(
        "document.querySelector('#portal-messages').innerText.includes('noted your plan')"
    )
    assert PortalMessage.objects.filter(author_user=am_alice).count() == 2
    screenshot(staff, "portal-actions-staff-panel-laptop")
