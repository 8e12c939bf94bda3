"""manage.py check_consistency: clean on consistent data, reports tampered rows and exits 1."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from invoices.models import CreditNote, CreditNoteStatus, Payment, PaymentAllocation
from invoices.selectors import inconsistent_invoices, overallocated_payments
from invoices.services import approve_credit_note, create_credit_note, record_payment

TODAY = dt.date(2026, 3, 1)


def run():
    out = io.StringIO()
    call_command("check_consistency", stdout=out)
    return out.getvalue()


def run_expecting_problems():
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("check_consistency", stdout=out)
    assert raised.value.returncode == 1
    return out.getvalue(), str(raised.value)


@pytest.fixture
def settled_book(book, am_alice, ar_admin):
    """The book, with a partial payment on INV-0001 and an approved credit note on INV-0002."""
    record_payment(
        customer=book["acme"],
        date=TODAY,
        amount=Decimal("50.00"),
        currency="SGD",
        allocations=[(book["invoices"][0], Decimal("40.00"))],
        created_by=ar_admin,
    )
    note = create_credit_note(
        customer=book["globex"],
        number="CN-1",
        date=TODAY,
        amount=Decimal("9.00"),
        invoice=book["invoices"][1],
        created_by=am_alice,
    )
    approve_credit_note(credit_note=note, approver=ar_admin)
    create_credit_note(  # pending: counts for nothing yet
        customer=book["globex"],
        number="CN-2",
        date=TODAY,
        amount=Decimal("5.00"),
        invoice=book["invoices"][1],
        created_by=am_alice,
    )
    return book


def tamper(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_clean_on_consistent_data(settled_book):
    assert "All invoice amounts agree" in run()


def test_reports_amount_paid_that_disagrees_with_allocations(settled_book):
    # paid and due move together, so the row still satisfies the database constraint
    tamper(
        "UPDATE invoices_invoice SET amount_paid = amount_paid + 10, amount_due = amount_due - 10 WHERE number = %s",
        ["INV-0001"],
    )
    out, error = run_expecting_problems()
    assert "invoice INV-0001 (SGD): amount paid 50.00 but allocations sum to 40.00" in out
    assert "1 inconsistent invoice" in error


def test_reports_amount_credited_that_disagrees_with_approved_credit_notes(settled_book):
    tamper(
        "UPDATE invoices_invoice SET amount_credited = 14, amount_due = total - amount_paid - 14 WHERE number = %s",
        ["INV-0002"],
    )
    out, _ = run_expecting_problems()
    assert "INV-0002 (USD): amount credited 14.00 but approved credit notes sum to 9.00" in out


def test_reports_status_that_disagrees_with_amount_due(settled_book):
    tamper("UPDATE invoices_invoice SET status = 'paid' WHERE number = %s", ["INV-0003"])
    tamper("UPDATE invoices_invoice SET amount_paid = total, amount_due = 0 WHERE number = %s", ["INV-0004"])
    PaymentAllocation.objects.create(
        payment=Payment.objects.create(
            customer=settled_book["hooli"], date=TODAY, amount=Decimal("109.00"), currency="IDR"
        ),
        invoice=settled_book["invoices"][3],
        amount=Decimal("109.00"),
    )
    out, error = run_expecting_problems()
    assert "invoice INV-0003 (THB): status paid but amount due is 109.00" in out
    assert "invoice INV-0004 (IDR): status open but nothing is due" in out
    assert "2 inconsistent invoice" in error


def test_reports_payment_allocated_beyond_its_amount(settled_book):
    payment = Payment.objects.get()
    tamper("UPDATE invoices_payment SET amount = 30 WHERE id = %s", [payment.pk])
    out, error = run_expecting_problems()
    assert f"payment {payment.pk} from C-001" in out
    assert "amount 30.00 SGD but allocations sum to 40.00" in out
    assert "1 over-allocated payment" in error
    assert list(overallocated_payments()) == [payment]


def test_selector_runs_one_query(settled_book, django_assert_num_queries):
    tamper("UPDATE invoices_invoice SET status = 'paid' WHERE number = %s", ["INV-0003"])
    with django_assert_num_queries(1):
        rows = list(inconsistent_invoices())
    assert [row.number for row in rows] == ["INV-0003"]
    assert rows[0].computed_due == Decimal("109.00")


def test_voiding_an_approved_credit_note_by_hand_is_caught(settled_book):
    CreditNote.objects.filter(number="CN-1").update(status=CreditNoteStatus.VOID)
    out, _ = run_expecting_problems()
    assert "INV-0002 (USD): amount credited 9.00 but approved credit notes sum to 0.00" in out
