"""The staff side of the portal: revoking a customer's portal access from the customer page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from customers.models import Customer

from . import services
from .permissions import can_revoke_portal_access


@login_required
@require_http_methods(["GET", "POST"])
def revoke_access(request, pk):
    """GET asks for confirmation (revoking signs every contact out); POST revokes."""
    customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)
    if not can_revoke_portal_access(request.user, customer):
        raise PermissionDenied(
            "Only the customer's account manager, AR admins and admins can revoke portal access."
        )
    if request.method != "POST":
        return render(request, "portal/revoke_confirm.html", {"customer": customer})
    revoked = services.revoke_portal_access(customer=customer, by=request.user)
    messages.success(
        request,
        f"Portal access of {customer.name} revoked: {revoked} link{'s' if revoked != 1 else ''} and every open "
        "portal session ended. Their contacts can ask for a new sign-in link.",
    )
    return redirect("customer_detail", pk=customer.pk)
