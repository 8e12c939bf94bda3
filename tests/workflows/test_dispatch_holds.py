"""Dispatch holds: a disputed invoice, a company holiday, and what counts toward the contact delay."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from customers.models import Activity, ActivityKind
from disputes.models import DisputeReason
from disputes.services import raise_dispute, resolve_dispute
from peakflo.models import Company, Holiday
from tests.workflows.local_servers import HttpServer
from tests.workflows.test_dispatch import due_run, make_customer, make_invoice
from workflows.dispatch import SKIPPED_DISPUTED, dispatch_due_runs
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
            "send_window_start": dt.time(8),
            "send_window_end": dt.time(18),
            "send_weekdays": [0, 1, 2, 3, 4],
            "sender_email": "ar@seller.test",
        },
    )
    return company


@pytest.fixture
def workflow(db):
    Workflow.objects.update(is_default=False)
    return Workflow.objects.create(
        name="Business days", is_default=True, contact_delay_days=3, business_days_only=True
    )


def email_action_on(workflow, name="Overdue reminder"):
    return Action.objects.create(
        workflow=workflow,
        name=name,
        action_type=ActionType.EMAIL,
        subject="Invoice {{ invoiceNumber }} is overdue",
        body="Dear {{ recipientName }},\n{{ table_outstanding_invoices }}\nIn all: {{ totalAmountDue }}.",
    )


@pytest.fixture
def email_action(workflow):
    return email_action_on(workflow)


# Tuesday 24 Nov 2026, 10:00 in Singapore (UTC+8), and the same hour on the Wednesday.
TUESDAY_10AM = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)
WEDNESDAY_10AM = TUESDAY_10AM + dt.timedelta(days=1)
TUESDAY = dt.date(2026, 11, 24)


def open_all_week(company):
    """For the tests that dispatch now, whatever the time and day."""
    company.send_window_start, company.send_window_end = dt.time(0), dt.time.max
    company.send_weekdays = list(range(7))
    company.save()


def mail_texts(smtp):
    return [
        (m["message"].get_body(("plain",)).get_content(), m["message"].get_body(("html",)).get_content())
        for m in smtp.messages
    ]


# Disputes


def test_a_disputed_invoice_is_skipped_and_left_out_of_the_grouped_message(
    smtp, company, email_action, am_alice
):
    open_all_week(company)
    today = company.today()
    customer = make_customer("DS-1", am_alice)
    oldest = make_invoice(customer, "INV-OLD", today - dt.timedelta(days=20), amount="100.00")
    disputed = make_invoice(customer, "INV-DISPUTED", today - dt.timedelta(days=10), amount="70.00")
    newest = make_invoice(customer, "INV-NEW", today - dt.timedelta(days=3), amount="30.00")
    runs = {inv.number: due_run(email_action, inv, today) for inv in (oldest, disputed, newest)}
    raise_dispute(
        invoice=disputed, reason=DisputeReason.objects.first(), actor=am_alice, comment="Wrong quantity"
    )

    summary = dispatch_due_runs()

    assert (summary.sent, summary.skipped) == (1, 1)
    [(text, html)] = mail_texts(smtp)
    assert "INV-OLD" in text and "INV-NEW" in text and "INV-DISPUTED" not in text
    assert "INV-OLD" in html and "INV-NEW" in html and "INV-DISPUTED" not in html
    assert "In all: SGD\xa0130.00." in text  # the disputed 70.00 is not asked for
    skipped = ActionRun.objects.get(pk=runs["INV-DISPUTED"].pk)
    assert (skipped.status, skipped.reason, skipped.message) == (RunStatus.SKIPPED, SKIPPED_DISPUTED, None)
    assert skipped.reason == "The invoice is disputed; its reminders wait until the dispute is resolved."
    entry = Activity.objects.get(customer=customer, kind=ActivityKind.MESSAGE_SENT)
    assert entry.data["invoices"] == "INV-OLD, INV-NEW"


def test_a_dispute_holds_manual_steps_too_and_resolving_it_lets_the_next_step_go(
    smtp, company, workflow, email_action, am_alice
):
    open_all_week(company)
    today = company.today()
    call = Action.objects.create(workflow=workflow, name="Call them", action_type=ActionType.PHONE_CALL)
    customer = make_customer("DS-2", am_alice)
    invoice = make_invoice(customer, "INV-D2", today - dt.timedelta(days=8))
    dispute = raise_dispute(invoice=invoice, reason=DisputeReason.objects.first(), actor=am_alice)
    call_run, email_run = due_run(call, invoice, today), due_run(email_action, invoice, today)

    summary = dispatch_due_runs()

    assert (summary.sent, summary.tasks, summary.skipped) == (0, 0, 2)
    assert smtp.messages == [] and not Task.objects.exists()
    assert set(
        ActionRun.objects.filter(pk__in=[call_run.pk, email_run.pk]).values_list("status", "reason")
    ) == {(RunStatus.SKIPPED, SKIPPED_DISPUTED)}

    resolve_dispute(dispute=dispute, actor=am_alice, resolution="Credit note issued for the difference")
    ActionRun.objects.create(action=email_action, invoice=invoice, occurrence=2, due_on=today)

    assert dispatch_due_runs().sent == 1
    assert len(smtp.messages) == 1


# Company holidays


def test_nothing_automatic_goes_out_on_a_company_holiday_the_runs_wait_for_the_next_business_day(
    smtp, company, workflow, email_action, am_alice
):
    Holiday.objects.create(date=TUESDAY, name="Company retreat")
    call = Action.objects.create(workflow=workflow, name="Call them", action_type=ActionType.PHONE_CALL)
    customer = make_customer("H-1", am_alice)
    email_run = due_run(
        email_action, make_invoice(customer, "INV-H1", TUESDAY - dt.timedelta(days=5)), TUESDAY
    )
    call_run = due_run(call, make_invoice(make_customer("H-2"), "INV-H2", TUESDAY), TUESDAY)

    summary = dispatch_due_runs(now=TUESDAY_10AM)

    assert summary.closed == "Tuesday 24 Nov 2026 is a company holiday (Company retreat)."
    assert str(summary) == "Nothing dispatched: Tuesday 24 Nov 2026 is a company holiday (Company retreat)."
    assert smtp.messages == [] and not Task.objects.exists() and not Message.objects.exists()
    for run in (email_run, call_run):
        run.refresh_from_db()
        assert (run.status, run.reason) == (RunStatus.PENDING, "")  # waiting, not skipped

    # The next business day both go out: the reminder and the phone-call task.
    summary = dispatch_due_runs(now=WEDNESDAY_10AM)

    assert (summary.closed, summary.sent, summary.tasks) == ("", 1, 1)
    assert [rcpt for m in smtp.messages for rcpt in m["rcpt"]] == ["ap@customer.test"]
    email_run.refresh_from_db()
    call_run.refresh_from_db()
    assert (email_run.status, call_run.status) == (RunStatus.DONE, RunStatus.DONE)


def test_on_a_holiday_a_workflow_that_sends_every_day_still_sends(smtp, company, workflow, email_action):
    Holiday.objects.create(date=TUESDAY, name="Deepavali")
    every_day = Workflow.objects.create(name="Every day", contact_delay_days=3, business_days_only=False)
    everyday_action = email_action_on(every_day, name="Daily nudge")
    waiting_run = due_run(
        email_action, make_invoice(make_customer("HB-1", email="b@waits.test"), "INV-HB", TUESDAY), TUESDAY
    )
    daily_customer = make_customer("HD-1", email="d@daily.test", workflow=every_day)
    daily_run = due_run(everyday_action, make_invoice(daily_customer, "INV-HD", TUESDAY), TUESDAY)

    summary = dispatch_due_runs(now=TUESDAY_10AM)

    assert (summary.closed, summary.sent) == ("", 1)
    assert [rcpt for m in smtp.messages for rcpt in m["rcpt"]] == ["d@daily.test"]
    waiting_run.refresh_from_db()
    daily_run.refresh_from_db()
    assert (waiting_run.status, daily_run.status) == (RunStatus.PENDING, RunStatus.DONE)

    assert dispatch_due_runs(now=WEDNESDAY_10AM).sent == 1
    waiting_run.refresh_from_db()
    assert waiting_run.status == RunStatus.DONE


def test_a_holiday_on_another_day_changes_nothing(smtp, company, email_action):
    Holiday.objects.create(date=TUESDAY + dt.timedelta(days=1), name="Tomorrow's holiday")
    due_run(email_action, make_invoice(make_customer("HO-1"), "INV-HO", TUESDAY), TUESDAY)

    assert dispatch_due_runs(now=TUESDAY_10AM).sent == 1


# What counts toward the contact delay


@pytest.fixture
def webhook(settings):
    server = HttpServer(default=(200, {})).start()
    settings.WORKFLOW_WEBHOOK_URL, settings.WORKFLOW_WEBHOOK_SECRET = f"{server.url}/hook", "s3cret"
    yield server
    server.stop()


def earlier_message(customer, *, channel, action=None, sent_by=None, days_ago=1):
    message = Message.objects.create(
        customer=customer,
        channel=channel,
        action=action,
        sent_by=sent_by,
        to="someone@example.test",
        body="Earlier",
        status=MessageStatus.SENT,
    )
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - dt.timedelta(days=days_ago))
    return message


def test_internal_notifications_and_webhooks_sent_yesterday_do_not_hold_the_reminder(
    smtp, company, workflow, email_action, am_alice
):
    open_all_week(company)
    today = company.today()
    notify = Action.objects.create(
        workflow=workflow, name="Tell the AM", action_type=ActionType.INTERNAL_EMAIL, body="Heads up."
    )
    hook = Action.objects.create(
        workflow=workflow, name="To the ERP", action_type=ActionType.WEBHOOK, body="x"
    )
    customer = make_customer("IC-1", am_alice)
    earlier_message(customer, channel=Channel.EMAIL, action=notify)
    earlier_message(customer, channel=Channel.WEBHOOK, action=hook)
    run = due_run(email_action, make_invoice(customer, "INV-IC", today - dt.timedelta(days=4)), today)

    assert dispatch_due_runs().sent == 1
    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    assert [rcpt for m in smtp.messages for rcpt in m["rcpt"]] == ["ap@customer.test"]

    # Whereas a reminder to the customer yesterday holds the next one for the contact delay.
    other = make_customer("IC-2", am_alice, email="pay@other.test")
    earlier_message(other, channel=Channel.EMAIL, action=email_action)
    held = due_run(email_action, make_invoice(other, "INV-IC2", today - dt.timedelta(days=4)), today)
    assert dispatch_due_runs().sent == 0
    held.refresh_from_db()
    assert held.status == RunStatus.PENDING


def test_an_internal_notification_and_a_webhook_due_with_a_reminder_all_go_out_and_only_the_reminder_counts(
    smtp, webhook, company, workflow, email_action, am_alice
):
    open_all_week(company)
    today = company.today()
    notify = Action.objects.create(
        workflow=workflow,
        name="Tell the AM",
        action_type=ActionType.INTERNAL_EMAIL,
        subject="{{ customerName }} is overdue",
        body="{{ invoiceNumber }} is overdue.",
    )
    hook = Action.objects.create(
        workflow=workflow, name="To the ERP", action_type=ActionType.WEBHOOK, body="{{ invoiceNumber }}"
    )
    customer = make_customer("IN-1", am_alice)
    invoice = make_invoice(customer, "INV-IN", today - dt.timedelta(days=4))
    # The internal steps come first (oldest due), so a batch that counted them would hold the reminder.
    for action, due in ((notify, today - dt.timedelta(days=2)), (hook, today - dt.timedelta(days=1))):
        ActionRun.objects.create(action=action, invoice=invoice, due_on=due)
    reminder = due_run(email_action, invoice, today)

    summary = dispatch_due_runs()

    assert (summary.sent, summary.waiting) == (3, 0)
    assert sorted(rcpt for m in smtp.messages for rcpt in m["rcpt"]) == [
        "alice@example.com",
        "ap@customer.test",
    ]
    [request] = webhook.requests
    assert json.loads(request["body"])["body"] == "INV-IN"
    reminder.refresh_from_db()
    assert reminder.status == RunStatus.DONE

    # The next day an internal notification still goes out, but a second reminder waits for the delay.
    second = email_action_on(workflow, name="Second reminder")
    ActionRun.objects.create(action=notify, invoice=invoice, occurrence=2, due_on=today)
    held = due_run(second, invoice, today)
    summary = dispatch_due_runs()
    assert (summary.sent, summary.waiting) == (1, 0)
    held.refresh_from_db()
    assert held.status == RunStatus.PENDING
    assert len(smtp.messages) == 3
    assert smtp.messages[-1]["rcpt"] == ["alice@example.com"]
