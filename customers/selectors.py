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
