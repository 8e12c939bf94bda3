"""The two-way sync against the local QuickBooks Online: Change Data Capture, SyncTokens and
requestids — whatever goes wrong on the way, the books end equal, no duplicate, nothing lost."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.connectors import connector_for
from accounting.models import Connection, Provider, SyncStatus, SyncTrigger
from accounting.sync import sync
from customers.models import Customer
from invoices import services as invoice_services
from invoices.models import Invoice, InvoiceStatus, Payment
from tests.accounting.runs import run_sync
from tests.accounting.test_quickbooks_connector import connect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connection(quickbooks, admin_user):
    connector, tokens = connect(quickbooks)
    return Connection.objects.create(
        provider=Provider.QUICKBOOKS,
        tenant_id=connector.realm_id,
        tenant_name="Sandbox Company_US_1",
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        token_expires_at=tokens.expires_at,
        connected_by=admin_user,
    )


def invoice(quickbooks, customer_id, number, amount):
    return quickbooks.qb_create(
        "Invoice",
        {
            "CustomerRef": {"value": customer_id},
            "DocNumber": number,
            "TxnDate": "2026-11-02",
            "DueDate": "2026-12-02",
            "Line": [{"Amount": amount, "DetailType": "SalesItemLineDetail", "Description": "Consulting"}],
        },
    )["Id"]


def pay(quickbooks, customer_id, invoice_id, amount):
    return quickbooks.qb_create(
        "Payment",
        {
            "CustomerRef": {"value": customer_id},
            "TotalAmt": amount,
            "TxnDate": "2026-11-10",
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
        },
    )["Id"]


def a_book(quickbooks, invoices=3):
    acme = quickbooks.qb_create(
        "Customer", {"DisplayName": "Acme Corp", "PrimaryEmailAddr": {"Address": "ap@acme.test"}}
    )["Id"]
    zen = quickbooks.qb_create("Customer", {"DisplayName": "Zen LLC"})["Id"]
    ids = [invoice(quickbooks, acme, f"Q-{n + 1:04d}", 100 * (n + 1)) for n in range(invoices)]
    part = invoice(quickbooks, zen, "Q-PART", 400)
    pay(quickbooks, zen, part, 150)
    return {"acme": acme, "zen": zen, "invoices": ids, "part": part}


def assert_books_equal(quickbooks):
    theirs = {i["Id"]: i for i in quickbooks.qb_all("Invoice")}
    ours = {
        i.external_id: i for i in Invoice.objects.exclude(external_id=None).exclude(status=InvoiceStatus.VOID)
    }
    assert set(ours) == set(theirs), "the same invoices on both sides"
    for external_id, their in theirs.items():
        mine = ours[external_id]
        assert mine.number == their["DocNumber"]
        assert mine.total == Decimal(str(their["TotalAmt"]))
        assert mine.amount_due == Decimal(str(their["Balance"])), their["DocNumber"]
    payments = {p["Id"] for p in quickbooks.qb_all("Payment")}
    pulled = set(Payment.objects.exclude(external_id=None).values_list("external_id", flat=True))
    pushed = set(
        Payment.objects.exclude(allocations__external_id=None).values_list(
            "allocations__external_id", flat=True
        )
    )
    assert pulled | pushed == payments and not pulled & pushed, "every payment once"
    customers = {c["Id"] for c in quickbooks.qb_all("Customer")}
    assert set(Customer.objects.values_list("external_id", flat=True)) <= customers


def test_a_first_sync_and_an_incremental_one_after_changes_on_both_sides(quickbooks, connection, ar_admin):
    book = a_book(quickbooks)
    first = run_sync(connection)
    assert first.status == SyncStatus.SUCCEEDED, first.errors
    assert_books_equal(quickbooks)
    part = Invoice.objects.get(external_id=book["part"])
    assert (part.amount_paid, part.amount_due, part.status) == (
        Decimal("150"),
        Decimal("250"),
        InvoiceStatus.OPEN,
    )

    # in QuickBooks: a new invoice, a payment in full, a deleted invoice; here: a customer and a payment
    quickbooks.advance(5)
    new = invoice(quickbooks, book["zen"], "Q-NEW", 75)
    pay(quickbooks, book["acme"], book["invoices"][0], 100)
    quickbooks.qb_delete("Invoice", book["invoices"][2])
    Customer.objects.create(code="NEWCO", name="Newco Inc", currency="USD")
    invoice_services.record_payment(
        customer=part.customer,
        date=dt.date(2026, 11, 20),
        amount=Decimal("50"),
        currency=part.currency,
        allocations=[(part, Decimal("50"))],
        created_by=ar_admin,
    )
    quickbooks.advance(5)
    second = run_sync(connection)
    assert second.status == SyncStatus.SUCCEEDED, second.errors
    assert second.pushed == 2
    assert Invoice.objects.get(external_id=new).total == Decimal("75")
    assert Invoice.objects.get(external_id=book["invoices"][0]).status == InvoiceStatus.PAID
    assert Invoice.objects.get(external_id=book["invoices"][2]).status == InvoiceStatus.VOID
    quickbooks.advance(5)
    third = run_sync(connection)  # reads back what the second one pushed
    assert third.status == SyncStatus.SUCCEEDED
    assert Decimal(str(quickbooks.qb_get("Invoice", book["part"])["Balance"])) == Decimal("200")
    assert Invoice.objects.get(external_id=book["part"]).amount_due == Decimal("200")
    assert_books_equal(quickbooks)


def test_429s_500s_and_an_expired_token_are_weathered(quickbooks, connection):
    a_book(quickbooks)
    quickbooks.fail_next(429, 3, retry_after=1)
    quickbooks.fail_next(500, 2)
    quickbooks.fail_next(401)
    run = run_sync(connection)
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert run.waits[:3] == [1, 1, 1]
    connection.refresh_from_db()
    assert_books_equal(quickbooks)


def test_the_same_changes_read_twice_change_nothing_and_a_dead_run_resumes(quickbooks, connection):
    quickbooks.seed(customers=20, invoices=300)
    quickbooks.fail_next(503, 50)
    died = sync(
        connection, connector=connector_for(connection), trigger=SyncTrigger.COMMAND, sleep=lambda s: None
    )
    assert died.status == SyncStatus.FAILED and died.errors
    quickbooks.faults.clear()
    resumed = run_sync(connection)
    assert resumed.status == SyncStatus.SUCCEEDED, resumed.errors
    assert Invoice.objects.count() == 300
    again = run_sync(connection, full=True)
    assert (again.created, again.updated, again.failed) == (0, 0, 0)
    assert Invoice.objects.count() == 300 and Customer.objects.count() == 20
    assert_books_equal(quickbooks)
    assert timezone.now() - connection.connected_at < dt.timedelta(minutes=10)


def test_a_customer_whose_name_quickbooks_already_has_is_linked_not_duplicated(quickbooks, connection):
    dormant = quickbooks.qb_create("Customer", {"DisplayName": "Dormant Co"})["Id"]
    quickbooks.qb_update("Customer", dormant, {"Active": False})  # not read as a live contact
    here = Customer.objects.create(code="DORM", name="Dormant Co", currency="USD")
    run = run_sync(connection)
    assert run.status == SyncStatus.SUCCEEDED and run.failed == 0, run.errors
    here.refresh_from_db()
    assert here.external_id == dormant, "QuickBooks refused a second 'Dormant Co'; the sync took its own"
    assert [c["DisplayName"] for c in quickbooks.qb_all("Customer")] == ["Dormant Co"]
