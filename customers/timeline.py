"""The one way to write a customer's timeline."""

from django.utils import timezone

from peakflo.bulk import insert_rows

from .models import Activity, ActivityKind, Contact

KINDS = frozenset(ActivityKind.values)  # .values is rebuilt on every access


def record(customer, kind, *, invoice=None, actor=None, data=None, at=None):
    """Append what happened to the customer's timeline.

    `actor` is the User or Contact who did it, or None for peakflo itself.
    `data` holds plain JSON values a person will want to read later (amounts as strings).
    """
    if kind not in KINDS:
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


def record_many(entries):
    """Append many entries at once (imports, syncs): each a dict of record()'s arguments.

    Entries name their customer by `customer_id` and invoice by `invoice_id` so that callers
    holding only ids, as bulk work does, need not load the rows. Returns how many were written.
    """
    now = timezone.now()

    def rows():
        for entry in entries:
            if entry["kind"] not in KINDS:
                raise ValueError(f"Unknown timeline kind {entry['kind']!r}.")
            actor = entry.get("actor")
            yield (
                entry["customer_id"],
                entry.get("invoice_id"),
                entry["kind"],
                None if actor is None or isinstance(actor, Contact) else actor.pk,
                actor.pk if isinstance(actor, Contact) else None,
                entry.get("data") or {},
                entry.get("at") or now,
            )

    fields = ["customer_id", "invoice_id", "kind", "actor_user_id", "actor_contact_id", "data", "created_at"]
    return insert_rows(Activity, fields, rows())
