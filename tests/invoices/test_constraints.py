"""Each database constraint refuses a bad row, and nothing of it is saved."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from customers.models import Contact
from invoices.models import CreditNote, CreditNoteStatus, Invoice, Payment, PaymentAllocation

TODAY = dt.date(2026, 3, 1)


def invoice_fields(customer, **overrides):
    fields = {
        "number": "NEW-1",
        "customer": customer,
        "currency": "SGD",
        "issue_date": TODAY,
        "due_date": TODAY + dt.timedelta(days=30),
        "subtotal": Decimal("100.00"),
        "tax": Decimal("9.00"),
        "total": Decimal("109.00"),
        "amount_due": Decimal("109.00"),
    }
    return fields | overrides


def assert_refused(model, **fields):
    before = model.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**fields)
    assert model.objects.count() == before


def test_a_valid_invoice_is_accepted(book):
    Invoice.objects.create(**invoice_fields(book["acme"]))
    assert Invoice.objects.filter(number="NEW-1").exists()


def test_duplicate_invoice_number(book):
    assert_refused(Invoice, **invoice_fields(book["acme"], number="INV-0001"))


@pytest.mark.parametrize("field", ["subtotal", "tax", "amount_paid", "amount_credited"])
def test_negative_amounts(book, field):
    # keep the sums right so only the sign is wrong
    fields = invoice_fields(book["acme"], **{field: Decimal("-1.00")})
    if field in ("subtotal", "tax"):
        fields["total"] = fields["amount_due"] = fields["subtotal"] + fields["tax"]
    else:
        fields["amount_due"] = Decimal("110.00")
    assert_refused(Invoice, **fields)


def test_negative_amount_due(book):
    fields = invoice_fields(book["acme"], amount_paid=Decimal("110.00"), amount_due=Decimal("-1.00"))
    assert_refused(Invoice, **fields)


def test_amount_due_must_balance(book):
    assert_refused(Invoice, **invoice_fields(book["acme"], amount_due=Decimal("100.00")))
    assert_refused(Invoice, **invoice_fields(book["acme"], amount_paid=Decimal("9.00")))  # due still 109


def test_amount_due_balances_with_cents_that_floats_get_wrong(book):
    # 0.30 - 0.10 - 0.20 is not 0 in binary floating point; the constraint compares cents
    fields = invoice_fields(
        book["acme"],
        subtotal=Decimal("0.30"),
        tax=Decimal("0.00"),
        total=Decimal("0.30"),
        amount_paid=Decimal("0.10"),
        amount_credited=Decimal("0.20"),
        amount_due=Decimal("0.00"),
    )
    Invoice.objects.create(**fields)


def test_total_must_be_subtotal_plus_tax(book):
    assert_refused(
        Invoice, **invoice_fields(book["acme"], total=Decimal("110.00"), amount_due=Decimal("110.00"))
    )


def test_due_date_before_issue_date(book):
    assert_refused(Invoice, **invoice_fields(book["acme"], due_date=TODAY - dt.timedelta(days=1)))


def test_exchange_rate_must_be_positive(book):
    assert_refused(Invoice, **invoice_fields(book["acme"], exchange_rate=Decimal("0")))


def test_second_main_contact(book):
    assert_refused(Contact, customer=book["acme"], name="Second main", is_main=True)
    Contact.objects.create(customer=book["acme"], name="Not main", is_main=False)  # others are fine


def test_credit_note_approved_by_its_creator(book, ar_admin):
    fields = {
        "number": "CN-1",
        "customer": book["acme"],
        "date": TODAY,
        "amount": Decimal("10.00"),
        "currency": "SGD",
        "created_by": ar_admin,
    }
    assert_refused(CreditNote, **fields, status=CreditNoteStatus.APPROVED, approved_by=ar_admin)
    assert_refused(CreditNote, **fields | {"amount": Decimal("0.00")})


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-5.00")])
def test_non_positive_payment(book, amount):
    assert_refused(Payment, customer=book["acme"], date=TODAY, amount=amount, currency="SGD")


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-5.00")])
def test_non_positive_allocation(book, amount):
    payment = Payment.objects.create(
        customer=book["acme"], date=TODAY, amount=Decimal("50.00"), currency="SGD"
    )
    assert_refused(PaymentAllocation, payment=payment, invoice=book["invoices"][0], amount=amount)


def test_one_allocation_per_invoice_and_payment(book):
    payment = Payment.objects.create(
        customer=book["acme"], date=TODAY, amount=Decimal("50.00"), currency="SGD"
    )
    PaymentAllocation.objects.create(payment=payment, invoice=book["invoices"][0], amount=Decimal("10.00"))
    assert_refused(PaymentAllocation, payment=payment, invoice=book["invoices"][0], amount=Decimal("10.00"))
