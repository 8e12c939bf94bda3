"""Template helpers of the portal actions: the home page's extras and the staff "Portal messages" panel."""

from django import template

from disputes.models import Dispute, DisputeStatus

from .. import stripe
from ..models import PortalMessage
from ..selectors import open_invoices_of
from ..staff_views import thread_context

register = template.Library()


@register.simple_tag
def portal_home_actions(customer):
    """Open disputes, the latest message of the thread and whether paying online is offered."""
    return {
        "open_disputes": list(
            Dispute.objects.filter(customer=customer, status=DisputeStatus.OPEN)
            .select_related("invoice", "reason")
            .order_by("-raised_at")[:5]
        ),
        "last_message": PortalMessage.objects.filter(customer=customer)
        .select_related("author_user")
        .order_by("-created_at", "-id")
        .first(),
        "open_count": open_invoices_of(customer).count(),
        "online": stripe.is_configured(),
    }


@register.inclusion_tag("portal/actions/_staff_thread.html", takes_context=True)
def customer_portal_messages(context, customer):
    """The staff customer page's panel; the caller has already applied the visibility rule."""
    return {**thread_context(context["request"].user, customer), "request": context["request"]}
