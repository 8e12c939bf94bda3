"""The one way to write a customer's timeline."""

from django.utils import timezone

from .models import Activity, ActivityKind, Contact


def record(customer, kind, *, invoice=None, actor=None, data=None, at=None):
    """Append what happened to the customer's timeline.

    `actor` is the User or Contact who did it, or None for peakflo itself.
    `data` holds plain JSON values a person will want to read later (amounts as strings).
    """
    if kind not in ActivityKind.values:
        raise ValueError(f"Unknown timeline kind {kind!r}.")
    if invoice is not None and invoice.customer_id != customer.pk:
        raise ValueError(f"Invoice {invoice.number} does not belong to {customer}.")
    actor_user = actor_contact = None
    if isinstance(actor, Contact):
        actor_contact = actor
    elif actor is not None:
        actor_user = actor
    return Activity.objects.create(
        customer=customer,
        invoice=invoice,
        kind=kind,
        actor_user=actor_user,
        actor_contact=actor_contact,
        data=data or {},
        created_at=at or timezone.now(),
    )
