"""A customer who has just paid in Xero is not chased: dispatch reads stale books first, and if
they cannot be read, reminders for synced invoices wait (issue #7)."""

import datetime as dt

import pytest
from django.utils import timezone

from accounting.connectors import connector_for
from accounting.models import Connection, Provider, SyncRun, SyncStatus, SyncTrigger
from accounting.sync import sync
from customers.models import Contact
from invoices.models import Invoice, InvoiceStatus
from tests.workflows import test_dispatch as dispatch_tests
from workflows.dispatch import dispatch_due_runs
from workflows.engine import SKIPPED_SETTLED
from workflows.models import ActionRun, RunStatus

pytestmark = pytest.mark.django_db(transaction=True)

# the dispatch tests' company (send window always open), default workflow and email reminder
company, workflow, email_action = dispatch_tests.company, dispatch_tests.workflow, dispatch_tests.email_action
due_run, make_customer, make_invoice = (
    dispatch_tests.due_run,
    dispatch_tests.make_customer,
    dispatch_tests.make_invoice,
)


@pytest.fixture
def synced(xero, company, email_action):
    """A Xero customer with an overdue invoice, synced 10 minutes ago, and its reminder due today."""
    today = company.today()
    contact = xero.add_contact("Acme Pte Ltd", EmailAddress="ap@acme.test")
    invoice_id = xero.add_invoice(
        contact,
        100,
        number="X-100",
        date=today - dt.timedelta(days=40),
        due_date=today - dt.timedelta(days=10),
    )
    tokens = xero.issue_tokens()
    connection = Connection.objects.create(
        provider=Provider.XERO,
        tenant_id=xero.tenant_id,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        token_expires_at=timezone.now() + dt.timedelta(minutes=30),
    )
    assert (
        sync(connection, connector=connector_for(connection), trigger=SyncTrigger.COMMAND).status
        == "succeeded"
    )
    SyncRun.objects.update(finished_at=timezone.now() - dt.timedelta(minutes=10))
    invoice = Invoice.objects.get(external_id=invoice_id)
    Contact.objects.filter(customer=invoice.customer).update(is_main=True)
    return {"invoice_id": invoice_id, "run": due_run(email_action, invoice, today), "connection": connection}


def test_a_payment_made_in_xero_a_minute_ago_is_not_chased(smtp, xero, synced):
    xero.add_payment(synced["invoice_id"], 100, date=dt.date.today())
    summary = dispatch_due_runs()
    assert summary.sent == 0 and smtp.messages == []
    run = ActionRun.objects.get(pk=synced["run"].pk)
    assert (run.status, run.reason) == (RunStatus.SKIPPED, SKIPPED_SETTLED)
    assert Invoice.objects.get(external_id=synced["invoice_id"]).status == InvoiceStatus.PAID
    assert SyncRun.objects.filter(trigger=SyncTrigger.DISPATCH, status=SyncStatus.SUCCEEDED).count() == 1


def test_books_that_cannot_be_read_hold_synced_reminders_but_not_the_others(
    smtp, xero, synced, company, email_action
):
    today = company.today()
    own = make_invoice(make_customer("OWN-1"), "OWN-1", today - dt.timedelta(days=10))
    own_run = due_run(email_action, own, today)
    xero.fail_next(50, status=503)
    summary = dispatch_due_runs()
    assert summary.sent == 1, "the invoice made here is chased"
    assert [m["message"]["To"] for m in smtp.messages] == ["ap@customer.test"]
    assert ActionRun.objects.get(pk=synced["run"].pk).status == RunStatus.PENDING, "the Xero one waits"
    assert ActionRun.objects.get(pk=own_run.pk).status != RunStatus.PENDING
    xero.faults.clear()
    assert dispatch_due_runs().sent == 1, "and goes once Xero answers again"
    assert len(smtp.messages) == 2


def test_fresh_books_are_not_read_again(smtp, xero, synced):
    SyncRun.objects.update(finished_at=timezone.now())
    calls = len(xero.requests)
    assert dispatch_due_runs().sent == 1
    assert len(xero.requests) == calls
