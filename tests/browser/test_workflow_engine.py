"""Issue 4 end to end in a real browser: an AR admin creates an email action with a template, sees the
live preview fill its placeholders, saves it, the engine runs (a real SMTP server receives the email),
and the message is on the customer's timeline."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import Contact, Customer
from invoices.models import Invoice
from peakflo.models import Company
from tests.conftest import PASSWORD
from workflows.dispatch import dispatch_due_runs
from workflows.engine import schedule_due_runs
from workflows.models import Action, Message, MessageStatus, Workflow

from .conftest import LAPTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUBJECT = "Invoice {{ invoiceNumber }} is {{ invoiceDaysOverdue }} days overdue"
BODY = (
    "Dear {{ recipientName }},\n\n"
    "Invoice {{ invoiceNumber }} for {{ invoiceAmountDue }} was due on {{ invoiceDueDate }}.\n\n"
    "{{ table_outstanding_invoices }}\n\n"
    "Kind regards,\n{{ accountManagerName }}"
)


@pytest.fixture
def overdue_customer(am_alice):
    company = Company.load()
    # Any hour, any day: the test must not depend on when it runs.
    company.send_window_start, company.send_window_end = dt.time(0, 0), dt.time(23, 59, 59)
    company.send_weekdays = [0, 1, 2, 3, 4, 5, 6]
    company.sender_email = "ar@seller.test"
    company.save()
    workflow = Workflow.objects.create(name="Key accounts", business_days_only=False)
    customer = Customer.objects.create(
        code="MBT-01", name="Marina Bay Traders", currency="SGD", account_manager=am_alice, workflow=workflow
    )
    Contact.objects.create(customer=customer, name="Mei Lin", email="mei@marinabay.test", is_main=True)
    today = company.today()
    Invoice.objects.create(
        number="MBT-INV-7",
        customer=customer,
        currency="SGD",
        issue_date=today - dt.timedelta(days=33),
        due_date=today - dt.timedelta(days=3),
        subtotal=Decimal("1200.00"),
        tax=Decimal("108.00"),
        total=Decimal("1308.00"),
        amount_due=Decimal("1308.00"),
    )
    return customer


def test_ar_admin_creates_an_email_action_previews_it_and_the_engine_sends_it(
    live_server, new_page, screenshot, smtp, ar_admin, overdue_customer
):
    workflow = overdue_customer.workflow
    page = new_page(LAPTOP)
    log_in(page, live_server, ar_admin.email, PASSWORD)

    # Open the workflow and create an email action 3 days after the due date.
    page.goto(f"{live_server.url}/settings/workflows/")
    page.get_by_role("link", name="Key accounts").click()
    page.wait_for_url(f"**/settings/workflows/{workflow.pk}/")
    page.get_by_role("link", name="Create action").click()
    page.wait_for_url("**/actions/add/")
    page.fill("input[name=name]", "Friendly reminder")
    page.select_option("select[name=action_type]", "email")
    page.select_option("select[name=trigger]", "after_due")
    page.fill("input[name=days]", "3")
    page.fill("input[name=subject]", SUBJECT)
    page.fill("textarea[name=body]", BODY)

    # The live preview fills the placeholders from a sample customer.
    preview = page.locator("#preview")
    preview.get_by_text("Dear Priya Raman,").wait_for()
    assert "Invoice INV-2026-0187 is 14 days overdue" in preview.inner_text()
    assert "INV-2026-0203" in preview.inner_text()  # the table of outstanding invoices
    assert "Mei Tan" in preview.inner_text()
    screenshot(page, "workflow-engine-1-action-preview")

    page.get_by_role("button", name="Create action").click()
    page.wait_for_url(f"**/settings/workflows/{workflow.pk}/")
    assert page.get_by_text("Friendly reminder").first.is_visible()
    action = Action.objects.get(workflow=workflow, name="Friendly reminder")
    assert (action.action_type, action.trigger, action.days) == ("email", "after_due", 3)
    screenshot(page, "workflow-engine-2-workflow-with-action")

    # The engine: one tick schedules the run, one dispatch sends it to the local SMTP server.
    schedule_due_runs()
    dispatch_due_runs()

    [received] = smtp.messages
    assert received["rcpt"] == ["mei@marinabay.test"]
    mail = received["message"]
    assert mail["Subject"] == "Invoice MBT-INV-7 is 3 days overdue"
    assert "Dear Mei Lin," in mail.get_body(("plain",)).get_content()
    message = Message.objects.get(customer=overdue_customer)
    assert message.status == MessageStatus.SENT

    # The customer's page shows the message on the timeline.
    page.goto(f"{live_server.url}/customers/{overdue_customer.pk}/")
    timeline = page.locator("#timeline")
    timeline.get_by_text("Invoice MBT-INV-7 is 3 days overdue").first.wait_for()
    assert "Message sent" in timeline.inner_text()
    screenshot(page, "workflow-engine-3-customer-timeline")

    phone = new_page(PHONE)
    log_in(phone, live_server, ar_admin.email, PASSWORD)
    phone.goto(f"{live_server.url}/customers/{overdue_customer.pk}/")
    phone.get_by_text("Invoice MBT-INV-7 is 3 days overdue").first.wait_for()
    screenshot(phone, "workflow-engine-4-customer-timeline-phone")


def test_holidays_credit_hold_and_a_promise_in_the_browser(
    live_server, new_page, screenshot, ar_admin, overdue_customer
):
    from peakflo.models import Holiday
    from workflows.credit import update_credit_holds

    today = Company.load().today()
    for viewport, name in [(LAPTOP, "laptop"), (PHONE, "phone")]:
        page = new_page(viewport)
        log_in(page, live_server, ar_admin.email, PASSWORD)

        # Settings → Company holidays: add one with the keyboard, then ask to delete it.
        page.goto(f"{live_server.url}/settings/")
        page.get_by_role("link", name="Company holidays").click()
        page.wait_for_url("**/settings/holidays/")
        if name == "laptop":
            screenshot(page, "holidays-1-empty")
            page.fill("input[name=date]", "2026-12-25")
            page.fill("input[name=name]", "Christmas Day")
            page.keyboard.press("Enter")
            page.get_by_text("Christmas Day on 25 Dec 2026 is a company holiday.").wait_for()
            page.fill("input[name=name]", "Christmas again")
            page.fill("input[name=date]", "2026-12-25")
            page.get_by_role("button", name="Add holiday").click()
            page.get_by_text("25 Dec 2026 is already a holiday: Christmas Day.").wait_for()
        screenshot(page, f"holidays-2-list-{name}")
        page.get_by_role("link", name="Delete Christmas Day on 25 Dec 2026").click()
        page.get_by_role("heading", name="Delete Christmas Day?").wait_for()
        screenshot(page, f"holidays-3-confirm-delete-{name}")
        assert Holiday.objects.filter(name="Christmas Day").exists()

        # A credit limit on the customer's workflow puts them on hold: the badge on the list and the page.
        workflow = overdue_customer.workflow
        workflow.credit_limit_amount = Decimal("1000.00")
        workflow.save()
        update_credit_holds()
        page.goto(f"{live_server.url}/customers/")
        page.get_by_text("Credit hold").first.wait_for()
        screenshot(page, f"credit-hold-1-list-{name}")

        # A promise to pay on the invoice: reminders wait, said where they would be.
        invoice = overdue_customer.invoices.get()
        page.goto(f"{live_server.url}/invoices/{invoice.pk}/")
        if name == "laptop":
            page.fill("#promise-amount", "500")
            page.fill("#promise-date", (today + dt.timedelta(days=10)).isoformat())
            page.get_by_role("button", name="Record promise").click()
        wait = page.locator("#promise-wait")
        wait.wait_for()
        promised = today + dt.timedelta(days=10)
        assert wait.inner_text() == (
            f"Reminders wait until {promised:%-d %b %Y}: promise to pay SGD\u00a0500.00."
        )
        page.locator("#promise").scroll_into_view_if_needed()
        screenshot(page, f"promise-1-invoice-{name}")
        page.goto(f"{live_server.url}/customers/{overdue_customer.pk}/")
        page.get_by_text("Reminders wait until").first.wait_for()
        assert page.locator("h1 .badge", has_text="Credit hold").is_visible()
        screenshot(page, f"credit-hold-2-customer-{name}")
