"""Read queries about customers, shared by the list, the customer page, exports and reports."""

from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from invoices.models import ZERO, Invoice, InvoiceStatus

from .models import Customer

_MONEY = DecimalField(max_digits=16, decimal_places=2)


def _open_invoices_sum(extra=None):
    summed = (
        Invoice.objects.filter(customer=OuterRef("pk"), status=InvoiceStatus.OPEN, amount_due__gt=0)
        .filter(extra or Q())
        .order_by()
        .values("customer")
        .annotate(total=Sum("amount_due"))
        .values("total")
    )
    return Coalesce(Subquery(summed, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


def customers_with_balances(user, *, today):
    """The customers `user` may see, each with its balance, overdue amount and open invoice count.

    Amounts are in the customer's own currency (its invoices are), summed in SQL; no query per row.
    """
    open_count = (
        Invoice.objects.filter(customer=OuterRef("pk"), status=InvoiceStatus.OPEN, amount_due__gt=0)
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Customer.objects.visible_to(user)
        .select_related("account_manager", "workflow")
        .annotate(
            balance=_open_invoices_sum(),
            overdue=_open_invoices_sum(Q(due_date__lt=today)),
            open_invoices=Coalesce(Subquery(open_count), Value(0)),
        )
    )


AGING_BUCKETS = [
    ("current", "Current", None, 0),
    ("d1_30", "1–30 days", 1, 30),
    ("d31_60", "31–60 days", 31, 60),
    ("d61_90", "61–90 days", 61, 90),
    ("d90_plus", "Over 90 days", 91, None),
]


def aging_of(invoices, *, today):
    """Amount due per aging bucket (by days past due), summed in one query over `invoices`."""
    import datetime as dt

    sums = {}
    for key, _, low, high in AGING_BUCKETS:
        condition = Q()
        if low is None:
            condition &= Q(due_date__gte=today)
        else:
            condition &= Q(due_date__lte=today - dt.timedelta(days=low))
        if high is not None and low is not None:
            condition &= Q(due_date__gte=today - dt.timedelta(days=high))
        sums[key] = Coalesce(Sum("amount_due", filter=condition), Value(ZERO), output_field=_MONEY)
    totals = invoices.filter(status=InvoiceStatus.OPEN, amount_due__gt=0).aggregate(**sums)
    return [{"key": key, "label": label, "amount": totals[key]} for key, label, _, _ in AGING_BUCKETS]


def promise_state(customer, *, today):
    """'kept', 'pending' or 'broken' for the customer's promise to pay, or None without one.

    Broken: the promised date has passed and the payments since the promise was made fall short.
    """
    from invoices.models import Payment

    from .models import Activity, ActivityKind

    if not customer.promise_date or not customer.promise_amount:
        return None
    made = (
        Activity.objects.filter(customer=customer, kind=ActivityKind.PROMISE_TO_PAY)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    paid = Payment.objects.filter(customer=customer, date__lte=customer.promise_date)
    if made:
        paid = paid.filter(date__gte=made.date())
    received = paid.aggregate(total=Coalesce(Sum("amount"), Value(ZERO), output_field=_MONEY))["total"]
    if received >= customer.promise_amount:
        return "kept"
    return "broken" if customer.promise_date < today else "pending"


def timeline_of(customer, *, kinds=None):
    """The customer's timeline, newest first, with who did what loaded alongside."""
    from .models import Activity

    entries = Activity.objects.filter(customer=customer).select_related("actor_user", "actor_contact", "invoice")
    return entries.filter(kind__in=kinds) if kinds else entries
