"""Never twice (DESIGN.md): real Celery workers on Redis and Postgres, a real SMTP server.

Two workers dispatching the same due runs at once send every reminder exactly once; a worker killed
between `sending` and `sent` leaves the message `unknown` after the sweep, and it is never sent again.
"""

import asyncio
import datetime as dt
import os
import signal
import time
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.utils import timezone

from customers.models import Contact, Customer
from invoices.models import Invoice
from peakflo.models import Company
from tests.workflows.local_servers import SmtpServer
from workflows.dispatch import HANDOVER, dispatch_due_runs, release_stale_queued, sweep_stale_sending
from workflows.models import Action, ActionRun, ActionType, Message, MessageStatus, RunStatus, Task, Workflow
from workflows.tasks import dispatch


@pytest.fixture
def open_window(transactional_db):
    Company.objects.update_or_create(
        pk=1,
        defaults={
            "send_window_start": dt.time(0, 0),
            "send_window_end": dt.time.max,
            "send_weekdays": [0, 1, 2, 3, 4, 5, 6],
            "sender_email": "ar@seller.test",
        },
    )
    return Company.load()


@pytest.fixture
def action(transactional_db):
    Workflow.objects.update(is_default=False)
    workflow = Workflow.objects.create(name="Never twice", is_default=True, contact_delay_days=3)
    return Action.objects.create(
        workflow=workflow,
        name="Reminder",
        action_type=ActionType.EMAIL,
        subject="{{ invoiceNumber }} is due",
        body="Dear {{ recipientName }}, please pay {{ invoiceAmountDue }}.",
    )


def due_customer(action, code, today, invoices=1):
    customer = Customer.objects.create(code=code, name=f"Customer {code}", currency="SGD")
    Contact.objects.create(customer=customer, name=code, email=f"{code.lower()}@customer.test", is_main=True)
    for i in range(invoices):
        invoice = Invoice.objects.create(
            number=f"{code}-INV-{i}",
            customer=customer,
            currency="SGD",
            issue_date=today - dt.timedelta(days=40),
            due_date=today - dt.timedelta(days=10 - i),
            subtotal=Decimal("50.00"),
            total=Decimal("50.00"),
            amount_due=Decimal("50.00"),
        )
        ActionRun.objects.create(action=action, invoice=invoice, due_on=today)
    return customer


# Our own queue: other tests' workers on the same Redis database never take these tasks, nor ours theirs.
QUEUE = f"never-twice-{uuid.uuid4().hex[:8]}"


def send_dispatch(**kwargs):
    dispatch.apply_async(kwargs=kwargs, queue=QUEUE)


def start_worker(processes, name, smtp):
    processes.env.update(
        {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_TIMEOUT": "120",
        }
    )
    return processes.start(
        name,
        "worker",
        "--pool=solo",
        "--loglevel=INFO",
        "--without-heartbeat",
        "-n",
        f"{name}@%h",
        "-Q",
        QUEUE,
    )


def wait_for(condition, processes, seconds=90, *, again=None):
    """Wait until `condition()`; every 5 s call `again()` (queue the dispatch once more).

    Another test run on the same Redis may empty it (tests/celery_processes.py flushes the database
    when it starts workers), taking our queued tasks with it. Queuing another dispatch only adds
    to the race: a reminder must still arrive exactly once.
    """
    deadline = time.monotonic() + seconds
    next_again = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, processes.logs()[-4000:]
        if again is not None and time.monotonic() > next_again:
            again()
            next_again = time.monotonic() + 5
        time.sleep(0.2)


def test_two_workers_dispatching_at_once_send_every_reminder_exactly_once(
    celery_processes, open_window, action
):
    today = open_window.today()
    customers = [due_customer(action, f"C{n:03d}", today, invoices=1 + n % 3) for n in range(60)]
    smtp = SmtpServer().start()
    try:
        start_worker(celery_processes, "worker1", smtp)
        start_worker(celery_processes, "worker2", smtp)
        # Many small batches from both workers at once, racing for the same due runs.
        for _ in range(16):
            send_dispatch(limit=4)

        wait_for(
            lambda: not ActionRun.objects.filter(status=RunStatus.PENDING).exists(),
            celery_processes,
            again=lambda: send_dispatch(limit=4),
        )
        time.sleep(1)  # any late duplicate would have arrived by now

        received = sorted(rcpt for m in smtp.messages for rcpt in m["rcpt"])
        assert received == sorted(f"{c.code.lower()}@customer.test" for c in customers)
        assert Message.objects.filter(status=MessageStatus.SENT).count() == 60
        assert not Message.objects.exclude(status=MessageStatus.SENT).exists()
        assert set(ActionRun.objects.values_list("status", flat=True)) == {RunStatus.DONE}
        logs = celery_processes.logs()
        assert "worker1@" in logs and "worker2@" in logs
    finally:
        smtp.stop()


class SlowAfterAccepting:
    """Keeps the first message, then never answers: the provider has it, the sender never learns so."""

    def __init__(self, mailbox):
        self.mailbox = mailbox
        self.slow = True

    async def handle_DATA(self, server, session, envelope):
        await self.mailbox.handle_DATA(server, session, envelope)
        if self.slow:
            self.slow = False
            await asyncio.sleep(60)
        return "250 OK"


def test_a_worker_killed_between_sending_and_sent_leaves_unknown_never_a_second_copy(
    celery_processes, open_window, action
):
    today = open_window.today()
    first = due_customer(action, "K001", today)
    smtp = SmtpServer()
    smtp.controller.handler = SlowAfterAccepting(smtp.mailbox)
    smtp.start()
    try:
        worker = start_worker(celery_processes, "doomed", smtp)
        send_dispatch()
        wait_for(lambda: len(smtp.messages) == 1, celery_processes, again=send_dispatch)
        message = Message.objects.get(customer=first)
        assert message.status == MessageStatus.SENDING  # committed before the provider was called
        os.kill(worker.pid, signal.SIGKILL)  # the crash: between `sending` and `sent`
        worker.wait(timeout=10)

        assert sweep_stale_sending(older_than=dt.timedelta(0)) == 1
        message.refresh_from_db()
        assert message.status == MessageStatus.UNKNOWN
        assert "check by hand" in message.error
        assert ActionRun.objects.get(invoice__customer=first).status == RunStatus.FAILED
        assert Task.objects.filter(
            customer=first, title__startswith="Reminder may not have gone out"
        ).exists()

        # A fresh worker dispatches again (the killed task may come back too): the next customer's
        # reminder goes out; the first customer's never a second time.
        second = due_customer(action, "K002", today)
        start_worker(celery_processes, "survivor", smtp)
        send_dispatch()
        wait_for(
            lambda: Message.objects.filter(customer=second, status=MessageStatus.SENT).exists(),
            celery_processes,
            again=send_dispatch,
        )
        time.sleep(1)
        assert sorted(rcpt for m in smtp.messages for rcpt in m["rcpt"]) == [
            "k001@customer.test",
            "k002@customer.test",
        ]
        assert Message.objects.filter(customer=first).count() == 1
    finally:
        smtp.stop()


def test_the_sweep_leaves_recent_sending_alone(transactional_db, action):
    customer = Customer.objects.create(code="S-1", name="Sweep Co")
    Message.objects.create(customer=customer, channel="email", to="a@b.test", body="x", action=action)
    assert sweep_stale_sending(older_than=dt.timedelta(minutes=30)) == 0
    assert Message.objects.get().status == MessageStatus.SENDING


def claim_and_stop(action, today, n):
    """A dispatch that claimed `n` customers' reminders and died before handing any over: `queued`."""
    from workflows.dispatch import DispatchSummary, _claim

    customers = [due_customer(action, f"Q{i:03d}", today) for i in range(n)]
    outgoing, _ = _claim(DispatchSummary(), Company.load(), today, timezone.now(), 500, True)
    assert {item.message.status for item in outgoing} == {MessageStatus.QUEUED}
    return customers


def test_reminders_a_stopped_dispatch_never_handed_over_are_released_and_sent_once(open_window, action, smtp):
    today = open_window.today()
    customers = claim_and_stop(action, today, 3)
    # Claimed, so no other dispatch takes them, and the contact delay counts them; nobody has them.
    assert str(dispatch_due_runs()).startswith("Sent 0 messages")
    assert smtp.messages == []

    assert release_stale_queued(older_than=dt.timedelta(minutes=30)) == 0  # a live dispatch's, maybe
    assert release_stale_queued(older_than=dt.timedelta(0)) == 3
    assert not Message.objects.exists()
    assert set(ActionRun.objects.values_list("message", flat=True)) == {None}

    summary = dispatch_due_runs()
    assert summary.sent == 3
    assert sorted(rcpt for m in smtp.messages for rcpt in m["rcpt"]) == [
        f"{c.code.lower()}@customer.test" for c in customers
    ]
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert release_stale_queued(older_than=dt.timedelta(0)) == 0  # sent ones are never released
    assert sweep_stale_sending(older_than=dt.timedelta(0)) == 0
    assert dispatch_due_runs().sent == 0
    assert len(smtp.messages) == 3


def test_a_dispatch_hands_its_batch_over_a_window_at_a_time(open_window, action, smtp):
    """Only the window with the provider is `sending`: what a crash could leave unknown is bounded."""
    today = open_window.today()
    for i in range(2 * HANDOVER + 5):
        due_customer(action, f"W{i:03d}", today)
    seen = []
    original = smtp.mailbox.handle_DATA

    def statuses_now():
        try:
            return Counter(Message.objects.values_list("status", flat=True))
        finally:
            connection.close()  # the SMTP server's thread's own connection

    async def note_statuses(server, session, envelope):
        seen.append(await sync_to_async(statuses_now)())
        return await original(server, session, envelope)

    smtp.mailbox.handle_DATA = note_statuses
    assert dispatch_due_runs(connections=1).sent == 2 * HANDOVER + 5
    assert max(counts[MessageStatus.SENDING] for counts in seen) <= 2 * HANDOVER
    assert seen[0][MessageStatus.QUEUED] > 0  # the rest of the batch waited, claimed but not handed over
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
