"""Payments and credit notes keep invoice amounts right; anything refused changes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from customers.models import Activity, ActivityKind
from invoices.models import CreditNote, CreditNoteStatus, Invoice, InvoiceStatus, Payment, PaymentAllocation
from invoices.selectors import inconsistent_invoices
from invoices.services import (
    LineInput,
    approve_credit_note,
    create_credit_note,
    issue_invoice,
    record_payment,
)

TODAY = dt.date(2026, 3, 1)
D = Decimal


def pay(customer, allocations, amount=None, user=None, currency=None):
    return record_payment(
        customer=customer,
        date=TODAY,
        amount=amount if amount is not None else sum(a for _, a in allocations),
        currency=currency or customer.currency,
        reference="TT-1",
        allocations=allocations,
        created_by=user,
    )


def amounts(invoice):
    invoice.refresh_from_db()
    return invoice.amount_paid, invoice.amount_credited, invoice.amount_due, invoice.status


def test_issue_invoice_sums_its_lines(book, am_alice):
    invoice = issue_invoice(
        customer=book["acme"],
        number="INV-9000",
        issue_date=TODAY,
        due_date=TODAY + dt.timedelta(days=30),
        lines=[
            LineInput("Widgets", D("3"), D("19.99"), D("9")),
            LineInput("Freight", D("1"), D("50"), D("9")),
        ],
        issued_by=am_alice,
    )
    assert (invoice.subtotal, invoice.tax, invoice.total, invoice.amount_due) == (
        D("109.97"),
        D("9.90"),
        D("119.87"),
        D("119.87"),
    )
    assert invoice.lines.count() == 2
    assert Activity.objects.get(invoice=invoice).kind == ActivityKind.INVOICE_ISSUED


def test_partial_then_full_payment(book, ar_admin):
    invoice = book["invoices"][0]
    pay(book["acme"], [(invoice, D("40.00"))], user=ar_admin)
    assert amounts(invoice) == (D("40.00"), D("0.00"), D("69.00"), InvoiceStatus.OPEN)
    pay(book["acme"], [(invoice, D("69.00"))], user=ar_admin)
    assert amounts(invoice) == (D("109.00"), D("0.00"), D("0.00"), InvoiceStatus.PAID)
    kinds = list(Activity.objects.filter(customer=book["acme"]).values_list("kind", flat=True))
    assert kinds.count(ActivityKind.PAYMENT) == 2
    assert kinds.count(ActivityKind.INVOICE_PAID) == 1
    assert not inconsistent_invoices().exists()


def test_one_payment_over_two_invoices_with_money_left_on_account(book):
    acme = book["acme"]
    second = Invoice.objects.create(
        number="INV-0100",
        customer=acme,
        currency="SGD",
        issue_date=TODAY,
        due_date=TODAY,
        subtotal=D("50.00"),
        total=D("50.00"),
        amount_due=D("50.00"),
    )
    payment = pay(acme, [(book["invoices"][0], D("109.00")), (second, D("20.00"))], amount=D("200.00"))
    assert payment.allocations.count() == 2
    assert amounts(book["invoices"][0])[3] == InvoiceStatus.PAID
    assert amounts(second) == (D("20.00"), D("0.00"), D("30.00"), InvoiceStatus.OPEN)
    assert not inconsistent_invoices().exists()


def assert_nothing_changed(book):
    assert Payment.objects.count() == 0
    assert PaymentAllocation.objects.count() == 0
    assert not Activity.objects.exists()
    for invoice in book["invoices"]:
        assert amounts(invoice) == (D("0.00"), D("0.00"), D("109.00"), InvoiceStatus.OPEN)


def test_over_allocation_is_refused_naming_the_invoice(book):
    with pytest.raises(ValidationError, match="INV-0001"):
        pay(book["acme"], [(book["invoices"][0], D("109.01"))])
    assert_nothing_changed(book)


def test_over_allocation_on_a_later_invoice_rolls_back_the_earlier(book):
    acme = book["acme"]
    bigger = Invoice.objects.create(
        number="INV-0200",
        customer=acme,
        currency="SGD",
        issue_date=TODAY,
        due_date=TODAY,
        subtotal=D("10.00"),
        total=D("10.00"),
        amount_due=D("10.00"),
    )
    with pytest.raises(ValidationError, match="INV-0200"):
        pay(acme, [(book["invoices"][0], D("50.00")), (bigger, D("11.00"))])
    assert amounts(book["invoices"][0])[0] == D("0.00")
    assert Payment.objects.count() == 0


def test_allocations_beyond_the_payment_are_refused(book):
    with pytest.raises(ValidationError, match="exceed the payment"):
        pay(book["acme"], [(book["invoices"][0], D("100.00"))], amount=D("50.00"))
    assert_nothing_changed(book)


@pytest.mark.parametrize(
    "case, message",
    [
        ("other_customer", "belongs to another customer"),
        ("currency", "is in SGD"),
        ("zero", "more than zero"),
        ("twice", "allocated twice"),
    ],
)
def test_bad_allocations_are_refused(book, case, message):
    acme, invoice = book["acme"], book["invoices"][0]
    allocations = {
        "other_customer": [(book["invoices"][1], D("10.00"))],
        "currency": [(invoice, D("10.00"))],
        "zero": [(invoice, D("0.00"))],
        "twice": [(invoice, D("10.00")), (invoice, D("5.00"))],
    }[case]
    with pytest.raises(ValidationError, match=message):
        pay(acme, allocations, amount=D("50.00"), currency="USD" if case == "currency" else "SGD")
    assert_nothing_changed(book)


def test_a_paid_invoice_takes_no_more_payments(book):
    invoice = book["invoices"][0]
    pay(book["acme"], [(invoice, D("109.00"))])
    with pytest.raises(ValidationError, match="INV-0001 is paid"):
        pay(book["acme"], [(invoice, D("1.00"))])
    assert amounts(invoice)[0] == D("109.00")


def credit(book, amount, user, invoice=None):
    invoice = invoice or book["invoices"][0]
    return create_credit_note(
        customer=invoice.customer,
        number=f"CN-{CreditNote.objects.count() + 1}",
        date=TODAY,
        amount=amount,
        invoice=invoice,
        reason="Damaged goods",
        created_by=user,
    )


def test_credit_note_changes_nothing_until_approved(book, am_alice, ar_admin):
    credit_note = credit(book, D("9.00"), am_alice)
    assert credit_note.status == CreditNoteStatus.PENDING_APPROVAL
    assert amounts(book["invoices"][0]) == (D("0.00"), D("0.00"), D("109.00"), InvoiceStatus.OPEN)

    approve_credit_note(credit_note=credit_note, approver=ar_admin)
    credit_note.refresh_from_db()
    assert credit_note.status == CreditNoteStatus.APPROVED
    assert credit_note.approved_by == ar_admin and credit_note.approved_at
    assert amounts(book["invoices"][0]) == (D("0.00"), D("9.00"), D("100.00"), InvoiceStatus.OPEN)
    assert not inconsistent_invoices().exists()


def test_credit_note_and_payment_together_settle_the_invoice(book, am_alice, admin_user):
    approve_credit_note(credit_note=credit(book, D("9.00"), am_alice), approver=admin_user)
    pay(book["acme"], [(book["invoices"][0], D("100.00"))])
    assert amounts(book["invoices"][0]) == (D("100.00"), D("9.00"), D("0.00"), InvoiceStatus.PAID)
    assert not inconsistent_invoices().exists()


def test_creator_cannot_approve_their_own_credit_note(book, ar_admin):
    credit_note = credit(book, D("9.00"), ar_admin)
    with pytest.raises(ValidationError, match="person who created it"):
        approve_credit_note(credit_note=credit_note, approver=ar_admin)
    credit_note.refresh_from_db()
    assert credit_note.status == CreditNoteStatus.PENDING_APPROVAL
    assert amounts(book["invoices"][0])[1] == D("0.00")


def test_account_manager_cannot_approve(book, am_alice, am_bob):
    credit_note = credit(book, D("9.00"), am_alice)
    with pytest.raises(PermissionDenied):
        approve_credit_note(credit_note=credit_note, approver=am_bob)
    assert amounts(book["invoices"][0])[1] == D("0.00")


def test_credit_beyond_the_amount_due_is_refused(book, am_alice, ar_admin):
    pay(book["acme"], [(book["invoices"][0], D("100.00"))])
    credit_note = credit(book, D("9.01"), am_alice)
    with pytest.raises(ValidationError, match="INV-0001"):
        approve_credit_note(credit_note=credit_note, approver=ar_admin)
    credit_note.refresh_from_db()
    assert credit_note.status == CreditNoteStatus.PENDING_APPROVAL
    assert amounts(book["invoices"][0]) == (D("100.00"), D("0.00"), D("9.00"), InvoiceStatus.OPEN)


def test_approving_twice_is_refused(book, am_alice, ar_admin, admin_user):
    credit_note = credit(book, D("9.00"), am_alice)
    approve_credit_note(credit_note=credit_note, approver=ar_admin)
    with pytest.raises(ValidationError, match="not pending approval"):
        approve_credit_note(credit_note=credit_note, approver=admin_user)
    assert amounts(book["invoices"][0])[1] == D("9.00")
