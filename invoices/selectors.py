"""Read queries shared by views, reports and commands."""

from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from .models import ZERO, CreditNote, CreditNoteStatus, Invoice, InvoiceStatus, Payment, PaymentAllocation

_MONEY = DecimalField(max_digits=14, decimal_places=2)
# Sums compare within half a cent: exact on Postgres, and SQLite adds decimals in floating point.
HALF_CENT = Decimal("0.005")


def _sum_of(grouped):
    """Correlated `(SELECT SUM(amount) … GROUP BY fk)` for annotate(); `grouped` is already .values(fk)."""
    summed = grouped.order_by().annotate(s=Sum("amount")).values("s")
    return Coalesce(Subquery(summed, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


def invoices_with_computed_amounts(queryset=None):
    """Invoices annotated with what their payments and approved credit notes say they should hold."""
    queryset = Invoice.objects.all() if queryset is None else queryset
    allocations = PaymentAllocation.objects.filter(invoice=OuterRef("pk")).values("invoice")
    credits = CreditNote.objects.filter(invoice=OuterRef("pk"), status=CreditNoteStatus.APPROVED).values(
        "invoice"
    )
    return queryset.annotate(
        computed_paid=_sum_of(allocations),
        computed_credited=_sum_of(credits),
    ).annotate(computed_due=F("total") - F("computed_paid") - F("computed_credited"))


def inconsistent_invoices(queryset=None):
    """Invoices whose stored amounts or status disagree with their payments and credit notes.

    One set-based query. (amount_due = total - paid - credited is a DB constraint, so a wrong amount
    due always shows as a wrong paid or credited amount.) Each row carries the stored values and computed_paid / computed_credited /
    computed_due, so a report can print both.
    """
    return (
        invoices_with_computed_amounts(queryset)
        .annotate(
            paid_gap=F("computed_paid") - F("amount_paid"),
            credited_gap=F("computed_credited") - F("amount_credited"),
        )
        .filter(
            Q(paid_gap__gte=HALF_CENT)
            | Q(paid_gap__lte=-HALF_CENT)
            | Q(credited_gap__gte=HALF_CENT)
            | Q(credited_gap__lte=-HALF_CENT)
            | Q(status=InvoiceStatus.PAID, amount_due__gt=0)
            | Q(status=InvoiceStatus.OPEN, amount_due=0)
        )
        .order_by("number")
    )


def overallocated_payments(queryset=None):
    """Payments whose allocations add up to more than the payment itself."""
    queryset = Payment.objects.all() if queryset is None else queryset
    allocations = PaymentAllocation.objects.filter(payment=OuterRef("pk")).values("payment")
    return (
        queryset.annotate(allocated=_sum_of(allocations))
        .filter(allocated__gt=F("amount") + HALF_CENT)
        .select_related("customer")
        .order_by("id")
    )


def invoice_problems(invoice):
    """What is wrong with one annotated row of inconsistent_invoices(), in words."""
    problems = []
    if invoice.amount_paid != invoice.computed_paid:
        problems.append(f"amount paid {invoice.amount_paid} but allocations sum to {invoice.computed_paid}")
    if invoice.amount_credited != invoice.computed_credited:
        problems.append(
            f"amount credited {invoice.amount_credited} but approved credit notes sum to {invoice.computed_credited}"
        )
    if invoice.amount_due != invoice.computed_due:
        problems.append(f"amount due {invoice.amount_due} but should be {invoice.computed_due}")
    if invoice.status == InvoiceStatus.PAID and invoice.amount_due > 0:
        problems.append(f"status paid but amount due is {invoice.amount_due}")
    if invoice.status == InvoiceStatus.OPEN and invoice.amount_due == 0:
        problems.append("status open but nothing is due")
    return problems
