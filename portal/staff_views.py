"""The staff side of the portal, on the customer page: revoke a customer's portal access; read and
answer the customer's portal question thread.

Visibility rule as everywhere: a customer outside Customer.objects.visible_to(user) is a 404;
auditors read the thread but cannot answer.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from customers.models import Customer
from peakflo.permissions import can_write, require_write

from . import actions_services, services
from .models import PortalMessage
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


THREAD_LENGTH = 20


def thread_context(user, customer, *, form_errors=None, body=""):
    """What the panel shows: the latest messages of the customer's thread, oldest first."""
    latest = list(
        PortalMessage.objects.filter(customer=customer)
        .select_related("invoice", "author_contact", "author_user")
        .order_by("-created_at", "-id")[:THREAD_LENGTH]
    )
    latest.reverse()
    return {
        "customer": customer,
        "portal_thread": latest,
        "portal_thread_more": PortalMessage.objects.filter(customer=customer).count() - len(latest),
        "can_answer": can_write(user),
        "answer_errors": form_errors or [],
        "answer_body": body,
    }


@login_required
def portal_messages(request, pk):
    customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)
    if request.method == "POST":
        require_write(request.user)
        body = request.POST.get("body", "")
        try:
            actions_services.answer_question(customer=customer, user=request.user, body=body)
        except ValidationError as error:
            context = thread_context(request.user, customer, form_errors=error.messages, body=body)
            return render(request, _template(request), context, status=400)
        messages.success(request, f"Your answer is in {customer.name}'s portal thread.")
        if request.htmx:
            return render(request, _template(request), thread_context(request.user, customer))
        return redirect(reverse("customer_detail", args=[customer.pk]) + "#portal-messages")
    return render(request, _template(request), thread_context(request.user, customer))


def _template(request):
    # The panel alone for htmx (it swaps itself); a page of its own otherwise, so links work without JS.
    return "portal/actions/_staff_thread.html" if request.htmx else "portal/actions/staff_messages.html"
