"""Dispatch: the send window, checks again before sending, grouping, the contact delay, tasks, failures."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Activity, ActivityKind, Contact, Customer
from invoices.models import Invoice
from peakflo.models import Company
from tests.workflows.local_servers import HttpServer
from workflows.dispatch import (
    SKIPPED_INVOICE_PAUSED,
    SKIPPED_PAUSED,
    SKIPPED_PROMISE,
    SKIPPED_TASK,
    dispatch_due_runs,
)
from workflows.engine import SKIPPED_SETTLED
from workflows.models import (
    Action,
    ActionRun,
    ActionType,
    Channel,
    Message,
    MessageStatus,
    RunStatus,
    Task,
    Workflow,
)


@pytest.fixture
def company(db):
    company, _ = Company.objects.update_or_create(
        pk=1,
        defaults={
            "name": "Seller Pte Ltd",
            "time_zone": "Asia/Singapore",
            "send_window_start": dt.time(0, 0),
            "send_window_end": dt.time.max,
            "send_weekdays": [0, 1, 2, 3, 4, 5, 6],
            "sender_email": "ar@seller.test",
        },
    )
    return company


@pytest.fixture
def workflow(db):
    Workflow.objects.update(is_default=False)
    return Workflow.objects.create(name="Dispatch flow", is_default=True, contact_delay_days=3)


@pytest.fixture
def email_action(workflow):
    return Action.objects.create(
        workflow=workflow,
        name="Overdue reminder",
        action_type=ActionType.EMAIL,
        subject="Invoice {{ invoiceNumber }} is overdue",
        body="Dear {{ recipientName }},\n{{ table_outstanding_invoices }}\nIn all: {{ totalAmountDue }}.",
    )


def make_customer(code, manager=None, email="ap@customer.test", **fields):
    customer = Customer.objects.create(
        code=code, name=f"Customer {code}", currency="SGD", account_manager=manager, **fields
    )
    Contact.objects.create(
        customer=customer, name=f"Ann {code}", email=email, phone="+6591234567", is_main=True
    )
    return customer


def make_invoice(customer, number, due, amount="100.00", status="open"):
    return Invoice.objects.create(
        number=number,
        customer=customer,
        currency="SGD",
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        subtotal=Decimal("100.00"),
        total=Decimal("100.00"),
        amount_paid=Decimal("100.00") - Decimal(amount),
        amount_due=Decimal(amount),
        status=status,
    )


def due_run(action, invoice, today):
    return ActionRun.objects.create(action=action, invoice=invoice, due_on=today)


def test_the_runs_of_one_customer_and_action_make_one_message_carried_by_the_oldest_invoice(
    smtp, company, email_action, am_alice
):
    today = company.today()
    acme, globex = make_customer("A-1", am_alice), make_customer("G-1", email="pay@globex.test")
    newer = make_invoice(acme, "INV-NEW", today - dt.timedelta(days=3))
    oldest = make_invoice(acme, "INV-OLD", today - dt.timedelta(days=20))
    middle = make_invoice(acme, "INV-MID", today - dt.timedelta(days=10))
    other = make_invoice(globex, "INV-G", today - dt.timedelta(days=5))
    runs = [due_run(email_action, inv, today) for inv in (newer, oldest, middle, other)]

    summary = dispatch_due_runs()

    assert (summary.sent, summary.failed, summary.skipped) == (2, 0, 0)
    by_rcpt = {tuple(m["rcpt"]): m["message"] for m in smtp.messages}
    assert set(by_rcpt) == {("ap@customer.test",), ("pay@globex.test",)}
    mail = by_rcpt[("ap@customer.test",)]
    assert mail["Subject"] == "Invoice INV-OLD is overdue"
    text = mail.get_body(("plain",)).get_content()
    assert text.index("INV-OLD") < text.index("INV-MID") < text.index("INV-NEW")
    assert "In all: SGD\xa0300.00." in text
    assert "<table" in mail.get_body(("html",)).get_content()
    assert mail["Reply-To"] == "alice@example.com"

    message = Message.objects.get(customer=acme)
    assert message.status == MessageStatus.SENT
    assert message.provider_id == mail["Message-ID"]
    assert message.attempts == 1
    for run in runs:
        run.refresh_from_db()
        assert run.status == RunStatus.DONE
    assert set(message.runs.values_list("invoice__number", flat=True)) == {"INV-NEW", "INV-OLD", "INV-MID"}
    entry = Activity.objects.get(customer=acme, kind=ActivityKind.MESSAGE_SENT)
    assert entry.invoice == oldest
    assert entry.data["invoices"] == "INV-OLD, INV-MID, INV-NEW"

    assert dispatch_due_runs().sent == 0  # nothing left: never twice
    assert len(smtp.messages) == 2


def test_runs_are_checked_again_before_sending(smtp, company, email_action):
    today = company.today()
    payer = make_customer("P-1")
    paid = make_invoice(payer, "INV-PAID", today - dt.timedelta(days=4))
    paused = make_customer("Z-1", workflow_paused=True, workflow_pause_reason="Talking to their CFO")
    on_hold = make_invoice(paused, "INV-HOLD", today - dt.timedelta(days=4))
    voided_customer = make_customer("V-1")
    voided = make_invoice(voided_customer, "INV-VOID", today - dt.timedelta(days=4))
    quiet = make_invoice(make_customer("Q-1"), "INV-QUIET", today - dt.timedelta(days=4))
    promised = make_invoice(make_customer("PR-1"), "INV-PROMISED", today - dt.timedelta(days=4))
    tasked_customer = make_customer("TK-1")
    tasked = make_invoice(tasked_customer, "INV-TASKED", today - dt.timedelta(days=4))
    runs = [due_run(email_action, inv, today) for inv in (paid, on_hold, voided, quiet, promised, tasked)]
    Invoice.objects.filter(pk=quiet.pk).update(
        reminders_paused=True, reminders_pause_reason="Disputed by phone"
    )
    Invoice.objects.filter(pk=promised.pk).update(
        promise_date=today + dt.timedelta(days=2), promise_amount=100
    )
    Task.objects.create(customer=tasked_customer, title="Follow up", due_on=today + dt.timedelta(days=1))
    # Paid in full and voided between the tick and the dispatch.
    Invoice.objects.filter(pk=paid.pk).update(amount_paid=Decimal("100.00"), amount_due=0, status="paid")
    Invoice.objects.filter(pk=voided.pk).update(status="void")

    summary = dispatch_due_runs()

    assert (summary.sent, summary.skipped) == (0, 6)
    assert smtp.messages == []
    assert not Message.objects.exists()
    reasons = {
        run.invoice.number: (run.status, run.reason)
        for run in ActionRun.objects.filter(pk__in=[r.pk for r in runs])
    }
    assert reasons == {
        "INV-PAID": (RunStatus.SKIPPED, SKIPPED_SETTLED),
        "INV-HOLD": (RunStatus.SKIPPED, SKIPPED_PAUSED),
        "INV-VOID": (RunStatus.SKIPPED, SKIPPED_SETTLED),
        "INV-QUIET": (RunStatus.SKIPPED, SKIPPED_INVOICE_PAUSED),
        "INV-PROMISED": (RunStatus.SKIPPED, SKIPPED_PROMISE),
        "INV-TASKED": (RunStatus.SKIPPED, SKIPPED_TASK),
    }


@pytest.mark.parametrize(
    ("utc", "opens"),
    [
        # Singapore is UTC+8: Monday 23 Nov 2026 23:30 UTC is Tuesday 07:30 there, before the window.
        (dt.datetime(2026, 11, 23, 23, 30, tzinfo=dt.UTC), False),
        (dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC), True),  # Tuesday 08:30 in Singapore
        (dt.datetime(2026, 11, 24, 9, 59, tzinfo=dt.UTC), True),  # Tuesday 17:59
        (dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC), False),  # Tuesday 18:00: closed
        # Friday 20:00 UTC is Saturday 04:00 in Singapore; Saturday 02:00 UTC is Saturday 10:00.
        (dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC), False),
        (dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC), True),  # Friday 09:00
    ],
)
def test_the_send_window_is_read_in_the_companys_time_zone(smtp, company, email_action, utc, opens):
    Company.objects.filter(pk=1).update(
        send_window_start=dt.time(8), send_window_end=dt.time(18), send_weekdays=[0, 1, 2, 3, 4]
    )
    local_day = utc.astimezone(company.tz).date()
    run = due_run(
        email_action, make_invoice(make_customer("W-1"), "INV-W", local_day - dt.timedelta(days=1)), local_day
    )

    summary = dispatch_due_runs(now=utc)

    run.refresh_from_db()
    if opens:
        assert summary.closed == ""
        assert summary.sent == 1
        assert run.status == RunStatus.DONE
    else:
        assert summary.closed, "a closed window says why"
        assert "Nothing dispatched" in str(summary)
        assert run.status == RunStatus.PENDING
        assert smtp.messages == []


def test_the_closed_window_says_when_it_opens(company):
    Company.objects.filter(pk=1).update(send_window_start=dt.time(8), send_window_end=dt.time(18))
    summary = dispatch_due_runs(now=dt.datetime(2026, 11, 23, 23, 30, tzinfo=dt.UTC))
    assert summary.closed == "it is 07:30 in Asia/Singapore; reminders go out between 08:00 and 18:00."


def test_a_message_sent_by_hand_holds_reminders_for_the_contact_delay(smtp, company, email_action, am_alice):
    today = company.today()
    customer = make_customer("D-1", am_alice)
    run = due_run(email_action, make_invoice(customer, "INV-D", today - dt.timedelta(days=2)), today)
    by_hand = Message.objects.create(
        customer=customer,
        channel=Channel.EMAIL,
        to="ap@customer.test",
        body="Hi",
        status=MessageStatus.SENT,
        sent_by=am_alice,
    )
    Message.objects.filter(pk=by_hand.pk).update(created_at=timezone.now() - dt.timedelta(days=2))

    assert dispatch_due_runs().sent == 0
    run.refresh_from_db()
    assert run.status == RunStatus.PENDING  # waits, not skipped
    assert smtp.messages == []

    # Three days (the workflow's delay) after the message by hand, the reminder goes out.
    Message.objects.filter(pk=by_hand.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    assert dispatch_due_runs().sent == 1
    run.refresh_from_db()
    assert run.status == RunStatus.DONE


def test_two_actions_due_the_same_day_send_one_reminder_the_other_waits(
    smtp, company, workflow, email_action
):
    today = company.today()
    second = Action.objects.create(
        workflow=workflow, name="Second", action_type=ActionType.EMAIL, subject="Again", body="Please pay."
    )
    customer = make_customer("T-1")
    first_run = due_run(email_action, make_invoice(customer, "INV-T1", today - dt.timedelta(days=9)), today)
    second_run = due_run(second, make_invoice(customer, "INV-T2", today - dt.timedelta(days=1)), today)

    summary = dispatch_due_runs()

    assert (summary.sent, summary.waiting) == (1, 1)
    assert len(smtp.messages) == 1
    first_run.refresh_from_db()
    second_run.refresh_from_db()
    assert (first_run.status, second_run.status) == (RunStatus.DONE, RunStatus.PENDING)
    assert dispatch_due_runs().sent == 0  # and it keeps waiting on later dispatches


@pytest.mark.parametrize("kind", [ActionType.PHONE_CALL, ActionType.LETTER, ActionType.ESCALATION])
def test_manual_action_types_become_a_task_for_the_owner(smtp, company, workflow, am_alice, am_bob, kind):
    today = company.today()
    call = Action.objects.create(
        workflow=workflow, name="Call them", action_type=kind, body="Ask about {{ invoiceNumber }}."
    )
    customer = make_customer("M-1", am_alice)
    runs = [
        due_run(call, make_invoice(customer, f"INV-M{i}", today - dt.timedelta(days=10 - i)), today)
        for i in range(2)
    ]

    summary = dispatch_due_runs()

    assert (summary.tasks, summary.sent) == (1, 0)
    task = Task.objects.get()
    assert (task.kind, task.owner, task.due_on, task.invoice.number) == (kind, am_alice, today, "INV-M0")
    assert task.title == "Call them: Customer M-1"
    assert "Ask about INV-M0." in task.details and "INV-M1" in task.details
    assert {run.status for run in ActionRun.objects.filter(pk__in=[r.pk for r in runs])} == {RunStatus.DONE}
    assert set(task.runs.all()) == set(runs)
    assert Activity.objects.filter(customer=customer, kind=ActivityKind.TASK).count() == 1
    assert smtp.messages == []

    # A named owner wins over the account manager.
    call.owner = am_bob
    call.save()
    due_run(call, make_invoice(make_customer("M-2", am_alice), "INV-M9", today), today)
    dispatch_due_runs()
    assert Task.objects.get(invoice__number="INV-M9").owner == am_bob


@pytest.fixture
def twilio(settings):
    server = HttpServer(default=(503, {"message": "Service unavailable"})).start()
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC1", "token"
    settings.TWILIO_FROM_NUMBER, settings.TWILIO_BASE_URL = "+6560000000", server.url
    settings.DISPATCH_MAX_ATTEMPTS, settings.DISPATCH_RETRY_BACKOFF_SECONDS = 3, 0.01
    yield server
    server.stop()


def test_a_provider_error_is_retried_then_failed_with_a_task_for_the_owner(
    twilio, company, workflow, am_alice
):
    today = company.today()
    sms = Action.objects.create(
        workflow=workflow, name="SMS nudge", action_type=ActionType.SMS, body="{{ invoiceNumber }} is due."
    )
    customer = make_customer("F-1", am_alice)
    run = due_run(sms, make_invoice(customer, "INV-F", today - dt.timedelta(days=1)), today)

    summary = dispatch_due_runs()

    assert (summary.sent, summary.failed) == (0, 1)
    assert len(twilio.requests) == 3
    message = Message.objects.get()
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 3)
    assert message.error == "Twilio refused the message (HTTP 503): Service unavailable"
    run.refresh_from_db()
    assert (run.status, run.reason) == (RunStatus.FAILED, message.error)
    entry = Activity.objects.get(customer=customer, kind=ActivityKind.MESSAGE_FAILED)
    assert entry.data["reason"] == message.error
    task = Task.objects.get(customer=customer)
    assert task.owner == am_alice and task.due_on == today
    assert task.title == "Reminder did not go out: SMS nudge to Customer F-1"


def test_a_retry_that_succeeds_sends_once(twilio, company, workflow):
    twilio.replies = [(500, {"message": "oops"})]
    twilio.default = (201, {"sid": "SM42"})
    sms = Action.objects.create(
        workflow=workflow, name="SMS", action_type=ActionType.SMS, body="Pay {{ invoiceNumber }}."
    )
    due_run(sms, make_invoice(make_customer("R-1"), "INV-R", company.today()), company.today())

    assert dispatch_due_runs().sent == 1
    message = Message.objects.get()
    assert (message.status, message.attempts, message.provider_id, message.body) == (
        MessageStatus.SENT,
        2,
        "SM42",
        "Pay INV-R.",
    )


def test_a_channel_without_a_provider_fails_the_message_with_that_reason(settings, company, workflow):
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""
    sms = Action.objects.create(workflow=workflow, name="SMS", action_type=ActionType.SMS, body="Pay.")
    run = due_run(sms, make_invoice(make_customer("N-1"), "INV-N", company.today()), company.today())

    assert dispatch_due_runs().failed == 1

    message = Message.objects.get()
    assert message.status == MessageStatus.FAILED
    assert message.error.startswith("SMS is not configured: set TWILIO_ACCOUNT_SID")
    assert message.attempts == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED


def test_a_customer_without_an_address_fails_clearly(smtp, company, email_action):
    customer = Customer.objects.create(code="E-1", name="No Email Co")
    due_run(email_action, make_invoice(customer, "INV-E", company.today()), company.today())

    assert dispatch_due_runs().failed == 1
    assert (
        Message.objects.get().error
        == "No Email Co has no recipient with an email address for “Overdue reminder”."
    )
    assert smtp.messages == []


def test_the_invoice_pdf_is_attached_when_the_action_asks(smtp, company, email_action):
    pytest.importorskip("weasyprint")
    email_action.attach_invoice_pdf = True
    email_action.save()
    due_run(email_action, make_invoice(make_customer("PDF-1"), "INV-PDF", company.today()), company.today())

    assert dispatch_due_runs().sent == 1

    [attachment] = list(smtp.messages[0]["message"].iter_attachments())
    assert attachment.get_filename() == "INV-PDF.pdf"
    assert attachment.get_content().startswith(b"%PDF")
