"""The access helpers every invoice page starts from (DESIGN.md's visibility rule)."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from ..models import Invoice


def visible_invoice(user, pk):
    """An invoice of a customer outside the user's visibility answers 404."""
    invoices = Invoice.objects.visible_to(user).select_related("customer", "customer__account_manager")
    return get_object_or_404(invoices, pk=pk)


def require_write(user):
    if getattr(user, "is_read_only", False):
        raise PermissionDenied("Auditors can look but not change anything.")
