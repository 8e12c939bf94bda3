"""The account manager's side of the portal question thread: read it on the customer page, answer it.

Visibility rule as everywhere: a customer outside Customer.objects.visible_to(user) is a 404;
auditors read the thread but cannot answer.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from customers.models import Customer
from peakflo.permissions import can_write, require_write

from . import actions_services
from .models import PortalMessage

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
