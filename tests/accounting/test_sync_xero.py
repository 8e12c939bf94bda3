"""The two-way sync against the local Xero: whatever goes wrong on the way, the books on both sides
end equal, with no duplicate and nothing lost (issue #7)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounting.connectors import connector_for
from accounting.models import Connection, Provider, SyncRun, SyncStatus, SyncTrigger
from accounting.sync import sync
from customers.models import Activity, Customer
from invoices import services as invoice_services
from invoices.models import CreditNote, CreditNoteStatus, Invoice, InvoiceStatus, Payment
from tests.accounting.runs import run_sync

pytestmark = pytest.mark.django_db(transaction=True)

XERO_STATUS = {"AUTHORISED": InvoiceStatus.OPEN, "PAID": InvoiceStatus.PAID, "VOIDED": InvoiceStatus.VOID}


@pytest.fixture
def connection(xero, admin_user):
    tokens = xero.issue_tokens()
    return Connection.objects.create(
        provider=Provider.XERO,
        tenant_id=xero.tenant_id,
        tenant_name="Demo Company (SG)",
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        token_expires_at=timezone.now() + dt.timedelta(seconds=tokens["expires_in"]),
        connected_by=admin_user,
    )


def a_book(xero, invoices=3):
    """Two customers in Xero with open, part-paid, paid and void invoices and a credit note."""
    acme = xero.add_contact("Acme Pte Ltd", EmailAddress="ap@acme.test", AccountNumber="ACME")
    zen = xero.add_contact("Zen Trading", EmailAddress="billing@zen.test")
    ids = [xero.add_invoice(acme, 100 * (n + 1), number=f"INV-{n + 1:04d}") for n in range(invoices)]
    paid = xero.add_invoice(zen, 250, number="INV-PAID")
    xero.add_payment(paid, 250, date=dt.date(2026, 11, 12), reference="BANK 1")
    part = xero.add_invoice(zen, 400, number="INV-PART")
    xero.add_payment(part, 150, date=dt.date(2026, 11, 14))
    void = xero.add_invoice(zen, 90, number="INV-VOID")
    xero.void("invoice", void)
    credit = xero.add_credit_note(acme, 30)
    xero.allocate(credit, ids[0], 30)
    return {
        "acme": acme,
        "zen": zen,
        "invoices": ids,
        "paid": paid,
        "part": part,
        "void": void,
        "credit": credit,
    }


def assert_books_equal(xero):
    """Every Xero sales invoice, payment and contact is here once, with Xero's amounts, and every
    customer, payment and approved credit note made here is in Xero."""
    theirs = {
        i["InvoiceID"]: i for i in xero.all("invoice") if i["Type"] == "ACCREC" and i["Status"] != "DRAFT"
    }
    ours = {i.external_id: i for i in Invoice.objects.exclude(external_id=None)}
    assert set(ours) == set(theirs), "the same invoices on both sides"
    for external_id, invoice in theirs.items():
        mine = ours[external_id]
        assert mine.number == invoice["InvoiceNumber"]
        assert mine.total == Decimal(str(invoice["Total"]))
        if invoice["Status"] not in ("VOIDED", "DELETED"):
            assert mine.amount_due == Decimal(str(invoice["AmountDue"])), invoice["InvoiceNumber"]
        assert mine.status == XERO_STATUS.get(invoice["Status"], InvoiceStatus.VOID), invoice["InvoiceNumber"]
        assert mine.customer.external_id == invoice["Contact"]["ContactID"]
    live_payments = {p["PaymentID"] for p in xero.all("payment") if p.get("Status") != "DELETED"}
    pulled = set(Payment.objects.exclude(external_id=None).values_list("external_id", flat=True))
    pushed = set(
        Payment.objects.filter(external_id=None)
        .exclude(allocations__external_id=None)
        .values_list("allocations__external_id", flat=True)
    )
    assert pulled | pushed == live_payments, "every payment once, on both sides"
    assert not pulled & pushed
    contacts = {c["ContactID"] for c in xero.all("contact")}
    assert set(Customer.objects.values_list("external_id", flat=True)) <= contacts
    assert Customer.objects.filter(external_id=None).count() == 0, "every customer made here is in Xero"
    credits = {c["CreditNoteID"] for c in xero.all("credit_note") if c["Status"] in ("AUTHORISED", "PAID")}
    assert (
        set(CreditNote.objects.filter(status=CreditNoteStatus.APPROVED).values_list("external_id", flat=True))
        == credits
    )


def test_a_first_full_sync_brings_every_customer_invoice_payment_and_credit(xero, connection):
    book = a_book(xero)
    run = run_sync(connection)
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert_books_equal(xero)
    acme = Customer.objects.get(external_id=book["acme"])
    assert acme.name == "Acme Pte Ltd" and acme.main_contact.email == "ap@acme.test"
    part = Invoice.objects.get(external_id=book["part"])
    assert (part.amount_paid, part.amount_due, part.status) == (
        Decimal("150"),
        Decimal("250"),
        InvoiceStatus.OPEN,
    )
    assert part.is_read_only, "an invoice from Xero is read-only here"
    assert Invoice.objects.get(external_id=book["void"]).status == InvoiceStatus.VOID
    credited = Invoice.objects.get(external_id=book["invoices"][0])
    assert credited.amount_credited == Decimal("30") and credited.amount_due == Decimal("70")
    # what happened is on each customer's timeline
    assert Activity.objects.filter(customer=acme, kind="invoice_issued").count() == 3
    assert run.created >= 2 + 6 + 2 and run.failed == 0


def test_an_incremental_sync_after_changes_on_both_sides(xero, connection, ar_admin):
    book = a_book(xero)
    assert run_sync(connection).status == SyncStatus.SUCCEEDED
    # In Xero: a new invoice, a payment, a void, a renamed contact.
    new = xero.add_invoice(book["zen"], 75, number="INV-NEW")
    xero.add_payment(book["invoices"][1], 200, date=dt.date(2026, 11, 18))
    xero.void("invoice", book["invoices"][2])
    xero.update("contact", book["acme"], Name="Acme Holdings Pte Ltd")
    # Here: a new customer, a payment by hand on a Xero invoice, a credit note approved.
    customer = Customer.objects.create(code="NEWCO", name="Newco Ltd", currency="SGD")
    part = Invoice.objects.get(external_id=book["part"])
    invoice_services.record_payment(
        customer=part.customer,
        date=dt.date(2026, 11, 20),
        amount=Decimal("50"),
        currency="SGD",
        allocations=[(part, Decimal("50"))],
        created_by=ar_admin,
    )
    run = run_sync(connection)
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert run.pushed == 2, "the customer and the payment went to Xero"
    customer.refresh_from_db()
    assert xero.record("contact", customer.external_id)["Name"] == "Newco Ltd"
    assert Decimal(str(xero.record("invoice", book["part"])["AmountDue"])) == Decimal("200")
    assert Invoice.objects.get(external_id=new).total == Decimal("75")
    assert Invoice.objects.get(external_id=book["invoices"][2]).status == InvoiceStatus.VOID
    assert Customer.objects.get(external_id=book["acme"]).name == "Acme Holdings Pte Ltd"
    assert_books_equal(xero)
    # and nothing more to do
    again = run_sync(connection)
    assert (again.created, again.updated, again.pushed, again.failed) == (0, 0, 0, 0)


def test_a_429_storm_waits_as_retry_after_says_and_finishes(xero, connection):
    a_book(xero)
    xero.fail_next(4, status=429, retry_after=1)
    run = run_sync(connection)
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert run.waits[:4] == [1, 1, 1, 1]
    assert_books_equal(xero)


def test_a_500_in_the_middle_is_retried_with_backoff(xero, connection):
    book = a_book(xero)
    for n in range(150):
        xero.add_invoice(book["zen"], 10 + n, number=f"BULK-{n:04d}")
    assert run_sync(connection, kinds=("contact",)).status == SyncStatus.SUCCEEDED
    xero.fail_next(2, status=500)
    run = run_sync(connection)
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert run.waits[:2] == [1.0, 2.0], "backoff doubles"
    assert Invoice.objects.filter(number__startswith="BULK-").count() == 150
    assert_books_equal(xero)


def test_a_token_that_expires_during_a_run_is_refreshed_once_and_saved(xero, connection):
    a_book(xero)
    old_refresh = connection.refresh_token
    xero.expire_access_token()
    run = run_sync(connection)
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    connection.refresh_from_db()
    assert connection.refresh_token != old_refresh, (
        "the new pair is saved (Xero's refresh tokens are single-use)"
    )
    assert_books_equal(xero)


def test_the_same_pages_read_twice_change_nothing(xero, connection):
    a_book(xero)
    run_sync(connection)
    entries = Activity.objects.count()
    again = run_sync(connection, full=True)
    assert again.status == SyncStatus.SUCCEEDED
    assert (again.created, again.updated, again.failed) == (0, 0, 0)
    assert Activity.objects.count() == entries, "no timeline entry for what did not change"
    assert_books_equal(xero)


def test_a_run_that_dies_half_way_resumes_where_it_stopped(xero, connection):
    book = a_book(xero)
    for n in range(250):
        xero.add_invoice(book["acme"], 5 + n, number=f"MANY-{n:04d}")
    assert run_sync(connection, kinds=("contact",)).status == SyncStatus.SUCCEEDED
    connection.refresh_from_db()

    class XeroGoesDownAfterOnePage:
        def __init__(self, connector):
            self.connector = connector

        def __getattr__(self, name):
            return getattr(self.connector, name)

        def changes(self, kind, **kwargs):
            page = self.connector.changes(kind, **kwargs)
            if kind == "invoice":
                xero.fail_next(50, status=503)
            return page

    died = sync(
        connection,
        connector=XeroGoesDownAfterOnePage(connector_for(connection)),
        trigger=SyncTrigger.COMMAND,
        sleep=lambda seconds: None,
    )
    assert died.status == SyncStatus.FAILED and died.errors
    assert Invoice.objects.count() == 100, "the page that committed stays, with its cursor"
    connection.refresh_from_db()
    assert connection.cursors.get("invoice")
    xero.faults.clear()
    resumed = run_sync(connection)
    assert resumed.status == SyncStatus.SUCCEEDED, resumed.errors
    assert Invoice.objects.filter(number__startswith="MANY-").count() == 250
    assert_books_equal(xero)


def test_only_one_run_at_a_time_per_connection(xero, connection):
    from accounting.sync import Busy

    Connection.objects.filter(pk=connection.pk).update(locked_until=timezone.now() + dt.timedelta(minutes=5))
    with pytest.raises(Busy):
        run_sync(connection)
    assert not SyncRun.objects.exists()


def test_manage_py_sync_accounting(xero, connection, capsys):
    a_book(xero)
    call_command("sync_accounting")
    out = capsys.readouterr().out
    assert "succeeded" in out
    assert_books_equal(xero)


def test_the_token_bucket_keeps_a_run_under_the_calls_a_minute():
    from accounting.sync import TokenBucket

    now = [0.0]
    waited = []

    def sleep(seconds):
        waited.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(60, sleep=sleep, clock=lambda: now[0])
    for _ in range(60):
        bucket.take()
    assert waited == [], "a burst of 60 goes at once"
    for _ in range(30):
        bucket.take()
    assert sum(waited) == pytest.approx(30.0), "then one a second"
    now[0] += 120
    bucket.take()
    assert len(waited) == 30, "a quiet spell refills the bucket"


def test_what_peakflo_owns_survives_a_sync_and_tokens_are_encrypted_at_rest(xero, connection, am_alice):
    from django.db import connection as database

    from customers.models import Tag

    book = a_book(xero)
    run_sync(connection)
    acme = Customer.objects.get(external_id=book["acme"])
    acme.account_manager = am_alice
    acme.promise_amount, acme.promise_date = Decimal("100"), dt.date(2026, 12, 1)
    acme.workflow_paused = True
    acme.save()
    acme.tags.add(Tag.objects.create(name="Key account"))
    first = Invoice.objects.get(external_id=book["invoices"][0])
    Invoice.objects.filter(pk=first.pk).update(reminders_paused=True, reminders_pause_reason="Agreed")
    # Xero changes the contact and the invoice's amounts
    xero.update("contact", book["acme"], Name="Acme Group")
    xero.add_payment(book["invoices"][0], 20, date=dt.date(2026, 11, 19))
    assert run_sync(connection).status == SyncStatus.SUCCEEDED
    acme.refresh_from_db()
    first.refresh_from_db()
    assert acme.name == "Acme Group" and first.amount_paid == Decimal("20")
    assert acme.account_manager == am_alice and acme.workflow_paused
    assert (acme.promise_amount, list(acme.tags.values_list("name", flat=True))) == (
        Decimal("100"),
        ["Key account"],
    )
    assert first.reminders_paused and first.reminders_pause_reason == "Agreed"
    # the tokens are not in the database as they are
    connection.refresh_from_db()
    with database.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM accounting_connection WHERE id = %s", [connection.pk]
        )
        stored = cursor.fetchone()
    assert connection.access_token not in stored and connection.refresh_token not in stored
    assert all(value.startswith("gAAAA") for value in stored), "Fernet tokens"


def test_customers_made_here_are_matched_to_xero_on_number_then_name_never_duplicated(xero, connection):
    by_number = Customer.objects.create(code="ACME", name="ACME (old name)", currency="SGD")
    by_name = Customer.objects.create(code="Z-9", name="  zen   TRADING ", currency="SGD")
    book = a_book(xero)  # Xero's Acme has account number ACME; Zen Trading has none
    run = run_sync(connection)
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    by_number.refresh_from_db()
    by_name.refresh_from_db()
    assert (by_number.external_id, by_number.name) == (book["acme"], "Acme Pte Ltd")
    assert by_name.external_id == book["zen"]
    assert Customer.objects.count() == 2 and len(xero.all("contact")) == 2, "nothing pushed twice"
    assert_books_equal(xero)


def test_a_merged_contact_is_followed(xero, connection):
    book = a_book(xero)
    run_sync(connection)
    xero.merge_contacts(book["zen"], book["acme"])
    assert run_sync(connection).status == SyncStatus.SUCCEEDED
    part = Invoice.objects.get(external_id=book["part"])
    assert part.customer.external_id == book["acme"], "Zen's invoices now belong to Acme"
    assert Payment.objects.get(external_id__isnull=False, allocations__invoice=part).customer == part.customer
    assert_books_equal(xero)


def test_an_approved_credit_note_made_here_goes_to_xero_and_is_allocated(
    xero, connection, ar_admin, admin_user
):
    book = a_book(xero)
    run_sync(connection)
    invoice = Invoice.objects.get(external_id=book["invoices"][1])  # 200 due
    note = invoice_services.create_credit_note(
        customer=invoice.customer,
        number="CN-HERE-1",
        date=dt.date(2026, 11, 21),
        amount=Decimal("40"),
        invoice=invoice,
        reason="Damaged goods",
        created_by=ar_admin,
    )
    invoice_services.approve_credit_note(credit_note=note, approver=admin_user)
    run = run_sync(connection)
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    note.refresh_from_db()
    theirs = xero.record("credit_note", note.external_id)
    assert Decimal(str(theirs["Total"])) == Decimal("40")
    assert Decimal(str(xero.record("invoice", book["invoices"][1])["AmountDue"])) == Decimal("160")
    assert Invoice.objects.get(pk=invoice.pk).amount_due == Decimal("160")
    assert_books_equal(xero)
    assert run_sync(connection).pushed == 0, "pushed once"


def test_a_call_that_times_out_is_retried(xero, connection, settings):
    a_book(xero)
    settings.ACCOUNTING_HTTP_TIMEOUT_SECONDS = 1
    xero.slow_next(1, seconds=2.5)
    run = run_sync(connection)
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert run.waits and run.waits[0] == 1.0, "backed off once"
    assert_books_equal(xero)


def test_a_record_that_cannot_be_applied_is_named_kept_for_next_run_and_holds_nothing_back(xero, connection):
    book = a_book(xero)
    too_long = xero.add_contact("Z" * 250)  # Xero allows 255 characters, a customer's name here 200
    run = run_sync(connection)
    assert run.status == SyncStatus.SUCCEEDED
    assert run.failed == 1
    [error] = run.errors
    assert error["external_id"] == too_long and "could not be applied" in error["error"]
    assert Customer.objects.filter(external_id=book["acme"]).exists(), "the rest of the page went in"
    connection.refresh_from_db()
    assert connection.cursors["retry"] == {"contact": [too_long]}
    # Renamed in Xero, it goes in by id at the start of the next run, and the retry list empties.
    xero.update("contact", too_long, Name="Zed Ltd")
    again = run_sync(connection)
    assert again.status == SyncStatus.SUCCEEDED and again.failed == 0, again.errors
    assert Customer.objects.get(external_id=too_long).name == "Zed Ltd"
    connection.refresh_from_db()
    assert "contact" not in connection.cursors.get("retry", {})
    assert_books_equal(xero)
