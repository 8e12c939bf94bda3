"""Dispatch sends over a few SMTP connections at once, each reused, and records every outcome.

Against a real SMTP server (aiosmtpd): every reminder arrives once, a refusal for now is retried,
a final refusal fails only its own message, a connection lost mid-message leaves `unknown` (never
sent again), and the database work does not grow with the number of messages.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Activity, ActivityKind, Contact, Customer
from invoices.models import Invoice
from peakflo.models import Company
from tests.workflows.local_servers import Mailbox, SmtpServer
from workflows.dispatch import dispatch_due_runs
from workflows.models import Action, ActionRun, ActionType, Message, MessageStatus, RunStatus, Task, Workflow


class Recording(Mailbox):
    """Keeps the messages and the connection (client port) each came over; answers RCPT and DATA
    by rule: `refuse` {address: [replies, …]} are RCPT answers, one per attempt, then "250 OK";
    a message to an address in `drop` is taken, and then the connection is cut without an answer."""

    def __init__(self):
        super().__init__()
        self.refuse, self.drop = {}, set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        replies = self.refuse.get(address)
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await super().handle_DATA(server, session, envelope)
        with self.lock:
            self.messages[-1]["peer"] = session.peer
        if self.drop & set(envelope.rcpt_tos):
            server.transport.close()  # the server has it; the sender never hears so
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    server.mailbox = server.controller.handler = Recording()
    server.start()
    server.use_in(settings)
    settings.DISPATCH_RETRY_BACKOFF_SECONDS = 0.01
    yield server
    server.stop()


@pytest.fixture
def company(db):
    company, _ = Company.objects.update_or_create(
        pk=1,
        defaults={
            "name": "Seller Pte Ltd",
            "send_window_start": dt.time(0),
            "send_window_end": dt.time.max,
            "send_weekdays": list(range(7)),
            "sender_email": "ar@seller.test",
        },
    )
    return company


@pytest.fixture
def action(db):
    Workflow.objects.update(is_default=False)
    workflow = Workflow.objects.create(name="Many", is_default=True, contact_delay_days=3)
    return Action.objects.create(
        workflow=workflow,
        name="Reminder",
        action_type=ActionType.EMAIL,
        subject="{{ invoiceNumber }} is overdue",
        body="Dear {{ recipientName }},\n{{ table_outstanding_invoices }}\n{{ totalAmountDue }}",
    )


def due_customers(action, count, today, prefix="C"):
    customers = []
    for n in range(count):
        code = f"{prefix}{n:03d}"
        customer = Customer.objects.create(code=code, name=f"Customer {code}", currency="SGD")
        Contact.objects.create(customer=customer, name=code, email=f"{code.lower()}@pay.test", is_main=True)
        invoice = Invoice.objects.create(
            number=f"INV-{code}",
            customer=customer,
            currency="SGD",
            issue_date=today - dt.timedelta(days=40),
            due_date=today - dt.timedelta(days=10),
            subtotal=Decimal("80.00"),
            total=Decimal("80.00"),
            amount_due=Decimal("80.00"),
        )
        ActionRun.objects.create(action=action, invoice=invoice, due_on=today)
        customers.append(customer)
    return customers


@pytest.mark.parametrize("connections", [1, 4])
def test_every_reminder_goes_out_once_over_at_most_that_many_reused_connections(
    smtp, company, action, connections
):
    customers = due_customers(action, 30, company.today())

    summary = dispatch_due_runs(connections=connections, limit=12)  # three batches

    assert (summary.sent, summary.failed, summary.unknown) == (30, 0, 0)
    received = sorted(rcpt for m in smtp.messages for rcpt in m["rcpt"])
    assert received == sorted(f"{c.code.lower()}@pay.test" for c in customers)
    assert 1 <= len({m["peer"] for m in smtp.messages}) <= connections
    ids = {m["message"]["Message-ID"] for m in smtp.messages}
    assert set(Message.objects.values_list("provider_id", flat=True)) == ids
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert set(ActionRun.objects.values_list("status", flat=True)) == {RunStatus.DONE}
    assert Activity.objects.filter(kind=ActivityKind.MESSAGE_SENT).count() == 30

    assert dispatch_due_runs(connections=connections).sent == 0  # nothing left: never twice
    assert len(smtp.messages) == 30


def test_a_refusal_for_now_is_retried_and_a_final_one_fails_only_its_own_reminder(smtp, company, action):
    smtp.mailbox.refuse = {
        "c001@pay.test": ["451 4.3.0 Mailbox busy, try later"],
        "c002@pay.test": ["550 5.1.1 No such user"],
    }
    due_customers(action, 8, company.today())

    summary = dispatch_due_runs(connections=4)

    assert (summary.sent, summary.failed, summary.unknown) == (7, 1, 0)
    assert sorted(rcpt for m in smtp.messages for rcpt in m["rcpt"]).count("c001@pay.test") == 1
    retried = Message.objects.get(to="c001@pay.test")
    assert (retried.status, retried.attempts) == (MessageStatus.SENT, 2)
    refused = Message.objects.get(to="c002@pay.test")
    assert refused.status == MessageStatus.FAILED
    assert refused.error == "The mail server refused c002@pay.test (550 5.1.1 No such user)."
    assert ActionRun.objects.get(message=refused).status == RunStatus.FAILED
    assert Task.objects.get(customer=refused.customer).title.startswith("Reminder did not go out")


def test_a_connection_cut_after_the_message_was_handed_over_leaves_it_unknown_and_never_resent(
    smtp, company, action
):
    smtp.mailbox.drop = {"c003@pay.test"}
    due_customers(action, 10, company.today())

    summary = dispatch_due_runs(connections=4)

    assert (summary.sent, summary.unknown) == (9, 1)
    cut = Message.objects.get(to="c003@pay.test")
    assert cut.status == MessageStatus.UNKNOWN
    assert "check by hand" in cut.error
    assert ActionRun.objects.get(message=cut).status == RunStatus.FAILED
    assert Task.objects.get(customer=cut.customer).title.startswith("Reminder may not have gone out")

    dispatch_due_runs(connections=4)
    received = [rcpt for m in smtp.messages for rcpt in m["rcpt"]]
    assert received.count("c003@pay.test") == 1  # the server got it once; nobody sends it again
    assert len(received) == 10


def test_the_queries_of_a_dispatch_do_not_grow_with_its_messages(smtp, company, action):
    today = company.today()
    due_customers(action, 3, today, prefix="A")
    with CaptureQueriesContext(connection) as few:
        assert dispatch_due_runs(connections=1).sent == 3
    due_customers(action, 15, today, prefix="B")
    with CaptureQueriesContext(connection) as many:
        assert dispatch_due_runs(connections=1).sent == 15

    assert len(many.captured_queries) == len(few.captured_queries)
