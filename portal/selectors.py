"""Read queries of the portal. Everything starts from the signed-in customer: nothing else is reachable."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from customers.selectors import aging_of
from invoices.models import ZERO, CreditNote, CreditNoteStatus, Invoice, InvoiceStatus, Payment

_MONEY = DecimalField(max_digits=16, decimal_places=2)

# Drafts are not issued yet and void invoices are owed by nobody: the customer sees neither.
SHOWN_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PAID)


def invoices_of(customer):
    return Invoice.objects.filter(customer=customer, status__in=SHOWN_STATUSES)


def open_invoices_of(customer):
    return (
        invoices_of(customer).filter(status=InvoiceStatus.OPEN, amount_due__gt=0).order_by("due_date", "pk")
    )


def paid_invoices_of(customer):
    return (
        invoices_of(customer)
        .filter(Q(status=InvoiceStatus.PAID) | Q(amount_due=0))
        .order_by("-issue_date", "-pk")
    )


def credit_notes_of(customer):
    return CreditNote.objects.filter(customer=customer, status=CreditNoteStatus.APPROVED).select_related(
        "invoice"
    )


def payments_of(customer):
    return Payment.objects.filter(customer=customer)


def customer_invoice(customer, pk):
    """One of the customer's invoices; any other id answers 404."""
    return get_object_or_404(invoices_of(customer), pk=pk)


def customer_credit_note(customer, pk):
    return get_object_or_404(credit_notes_of(customer), pk=pk)


def customer_payment(customer, pk):
    return get_object_or_404(payments_of(customer), pk=pk)


def balance_and_aging(customer, *, today):
    """The outstanding balance and its aging buckets, from one aggregate query."""
    aging = aging_of(invoices_of(customer), today=today)
    return sum((bucket["amount"] for bucket in aging), ZERO), aging


@dataclass
class StatementLine:
    date: dt.date
    kind: str  # "invoice", "payment", "credit_note"
    reference: str
    description: str
    charge: Decimal = ZERO
    credit: Decimal = ZERO
    balance: Decimal = ZERO


@dataclass
class Statement:
    customer: object
    currency: str
    start: dt.date
    end: dt.date
    opening_balance: Decimal
    lines: list = field(default_factory=list)

    @property
    def closing_balance(self):
        return self.lines[-1].balance if self.lines else self.opening_balance

    @property
    def total_charges(self):
        return sum((line.charge for line in self.lines), ZERO)

    @property
    def total_credits(self):
        return sum((line.credit for line in self.lines), ZERO)


def _sum(queryset, amount_field):
    return queryset.aggregate(total=Coalesce(Sum(amount_field), Value(ZERO), output_field=_MONEY))["total"]


def statement_of(customer, *, start, end):
    """Statement of account in the customer's currency: invoices issued, payments received and approved
    credit notes between start and end (inclusive), after the balance brought forward from before start."""
    currency = customer.currency
    invoices = invoices_of(customer).filter(currency=currency)
    payments = payments_of(customer).filter(currency=currency)
    credits = credit_notes_of(customer).filter(currency=currency)
    opening = (
        _sum(invoices.filter(issue_date__lt=start), "total")
        - _sum(payments.filter(date__lt=start), "amount")
        - _sum(credits.filter(date__lt=start), "amount")
    )
    lines = [
        StatementLine(
            invoice.issue_date,
            "invoice",
            invoice.number,
            f"Invoice, due {invoice.due_date.day} {invoice.due_date:%b %Y}",
            charge=invoice.total,
        )
        for invoice in invoices.filter(issue_date__range=(start, end))
    ]
    lines += [
        StatementLine(
            payment.date,
            "payment",
            payment.reference or "—",
            f"Payment, {payment.get_method_display().lower()}",
            credit=payment.amount,
        )
        for payment in payments.filter(date__range=(start, end))
    ]
    lines += [
        StatementLine(
            note.date,
            "credit_note",
            note.number,
            f"Credit note{f' on {note.invoice.number}' if note.invoice_id else ''}",
            credit=note.amount,
        )
        for note in credits.filter(date__range=(start, end))
    ]
    # Within a day, charges before credits, so the running balance reads as the customer expects.
    order = {"invoice": 0, "credit_note": 1, "payment": 2}
    lines.sort(key=lambda line: (line.date, order[line.kind], line.reference))
    running = opening
    for line in lines:
        running += line.charge - line.credit
        line.balance = running
    return Statement(customer, currency, start, end, opening, lines)
