"""A Celery worker killed with SIGKILL in the middle of a dispatch of many due reminders, then a new one.

Real worker processes on a real Redis (database 11 of the shared server, our own queue), a real SMTP
server that takes its time over each message, the test database. What the design promises
(DESIGN.md, "Never twice"): no reminder ever reaches a customer twice. The ones recorded `sent` went
once; the ones the kill left `sending` (maybe sent, maybe not: nobody can know) become `unknown` for a
person to check and are never sent again — at most two hand-over windows of them, however large the
batch; the ones it left `queued` (claimed, never handed to the provider) and the ones not yet claimed
go out once with the new worker.
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
import redis

from customers.models import Contact, Customer
from invoices.models import Invoice
from peakflo.celery import app
from peakflo.models import Company
from tests.faults.processes import Processes, wait_until
from tests.workflows.local_servers import SmtpServer
from workflows.dispatch import HANDOVER
from workflows.models import Action, ActionRun, ActionType, Message, MessageStatus, RunStatus, Task, Workflow

pytestmark = pytest.mark.faults

BROKER = "redis://127.0.0.1:6379/11"  # ours alone; never the other tests' database
QUEUE = f"faults-dispatch-{uuid.uuid4().hex[:8]}"
CUSTOMERS = 100  # one batch of five hand-over windows
SMTP_SECONDS = 0.15  # each message; with two connections about 13 a second


class SlowMailbox:
    """Takes SMTP_SECONDS over each message before accepting it, so a kill lands mid-batch."""

    def __init__(self, mailbox):
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(SMTP_SECONDS)
        return await self.mailbox.handle_DATA(server, session, envelope)


@pytest.fixture
def broker():
    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def processes(transactional_db, tmp_path, broker):
    smtp = SmtpServer()
    smtp.controller.handler = SlowMailbox(smtp.mailbox)
    smtp.start()
    running = Processes(
        tmp_path,
        BROKER,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp.port),
        EMAIL_USE_TLS="false",
        EMAIL_TIMEOUT="60",
        DISPATCH_SEND_CONNECTIONS="2",
        # The sweep task below may settle at once what the killed worker left `sending` or `queued`.
        DISPATCH_STALE_SENDING_MINUTES="0",
    )
    running.smtp = smtp
    yield running
    running.stop()
    smtp.stop()


def send(task, **kwargs):
    with app.connection_for_write(BROKER) as connection:
        app.send_task(task, kwargs=kwargs, queue=QUEUE, connection=connection)


def due_book(today):
    Company.objects.update_or_create(
        pk=1,
        defaults={
            "send_window_start": dt.time(0, 0),
            "send_window_end": dt.time.max,
            "send_weekdays": [0, 1, 2, 3, 4, 5, 6],
            "sender_email": "ar@seller.test",
        },
    )
    Workflow.objects.update(is_default=False)
    workflow = Workflow.objects.create(name="Fault: killed worker", is_default=True, contact_delay_days=3)
    action = Action.objects.create(
        workflow=workflow,
        name="Reminder",
        action_type=ActionType.EMAIL,
        subject="{{ invoiceNumber }} is due",
        body="Dear {{ recipientName }}, please pay {{ invoiceAmountDue }}.",
    )
    for n in range(CUSTOMERS):
        customer = Customer.objects.create(code=f"K{n:03d}", name=f"Customer {n}", currency="SGD")
        Contact.objects.create(customer=customer, name=f"K{n}", email=f"k{n:03d}@customer.test", is_main=True)
        invoice = Invoice.objects.create(
            number=f"K{n:03d}-INV",
            customer=customer,
            currency="SGD",
            issue_date=today - dt.timedelta(days=40),
            due_date=today - dt.timedelta(days=10),
            subtotal=Decimal("50.00"),
            total=Decimal("50.00"),
            amount_due=Decimal("50.00"),
        )
        ActionRun.objects.create(action=action, invoice=invoice, due_on=today)


def statuses():
    return dict(Message.objects.values_list("to", "status"))


def test_a_worker_killed_mid_dispatch_sends_nothing_twice_and_everything_it_never_handed_over_once(processes):
    due_book(Company.load().today())
    smtp = processes.smtp
    everyone = {f"k{n:03d}@customer.test" for n in range(CUSTOMERS)}

    doomed = processes.worker("doomed", QUEUE)
    send("workflows.dispatch", limit=CUSTOMERS)  # the whole book claimed in one batch
    # Kill when some are recorded `sent`, some are with the provider and some wait their turn.
    wait_until(
        lambda: {MessageStatus.SENT, MessageStatus.SENDING, MessageStatus.QUEUED} <= set(statuses().values()),
        40,
        why=processes.logs,
    )
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    time.sleep(SMTP_SECONDS + 0.5)  # a message whose data had reached the server lands now or never

    at_kill = statuses()
    sent_at_kill = {to for to, status in at_kill.items() if status == MessageStatus.SENT}
    sending_at_kill = {to for to, status in at_kill.items() if status == MessageStatus.SENDING}
    queued_at_kill = {to for to, status in at_kill.items() if status == MessageStatus.QUEUED}
    assert sent_at_kill and sending_at_kill and queued_at_kill
    assert len(sending_at_kill) <= 2 * HANDOVER  # the uncertain few, not the batch
    received_at_kill = Counter(rcpt for m in smtp.messages for rcpt in m["rcpt"])
    # Recorded `sent` means the server took it; whatever it took had been handed over (`sending`).
    assert sent_at_kill <= set(received_at_kill)
    assert set(received_at_kill) <= sent_at_kill | sending_at_kill
    never_handed_over = queued_at_kill | (everyone - set(at_kill))

    # A new worker: the sweep (the killed dispatch's leftovers), then the dispatch, then twice more.
    processes.worker("survivor", QUEUE)
    send("workflows.sweep")
    send("workflows.dispatch", limit=CUSTOMERS)
    settled = {MessageStatus.SENT, MessageStatus.UNKNOWN}
    wait_until(
        lambda: set(statuses()) == everyone and set(statuses().values()) <= settled, 40, why=processes.logs
    )
    send("workflows.dispatch", limit=CUSTOMERS)
    send("workflows.dispatch", limit=CUSTOMERS)
    wait_until(lambda: processes.log("survivor").count("dispatch: ") >= 3, 20, why=processes.logs)
    time.sleep(SMTP_SECONDS + 0.5)  # a late duplicate would have arrived by now

    final = statuses()
    received = Counter(rcpt for m in smtp.messages for rcpt in m["rcpt"])
    sent = {to for to, status in final.items() if status == MessageStatus.SENT}
    unknown = {to for to, status in final.items() if status == MessageStatus.UNKNOWN}
    # The split: what was `sent` at the kill stays sent; what was `sending` became unknown; what was
    # never handed over was sent by the new worker. Nothing else, nothing failed.
    assert unknown == sending_at_kill
    assert sent == sent_at_kill | never_handed_over
    assert sent | unknown == everyone and not sent & unknown
    assert Message.objects.count() == CUSTOMERS  # one message per customer, never a second one
    # None twice: every sent reminder reached the server exactly once; an unknown one at most once,
    # and only before the kill (never re-sent).
    assert max(received.values()) == 1
    assert {to for to in received if to in sent} == sent
    assert {to: n for to, n in received.items() if to in unknown} == {
        to: n for to, n in received_at_kill.items() if to in unknown
    }
    assert set(received) <= everyone
    # A person is asked to check each unknown one; their runs are failed, the others done.
    assert Task.objects.filter(title__startswith="Reminder may not have gone out").count() == len(unknown)
    runs = Counter(ActionRun.objects.values_list("status", flat=True))
    assert runs == {RunStatus.DONE: len(sent), RunStatus.FAILED: len(unknown)}
