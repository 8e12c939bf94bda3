"""Writes on customers that record the timeline."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from . import timeline
from .models import ActivityKind, Customer


@transaction.atomic
def record_promise_to_pay(*, customer, amount, date, actor=None, at=None):
    """The customer promised to pay `amount` by `date`; `actor` is the user or contact who took it."""
    amount = Decimal(amount)
    if amount <= 0:
        raise ValidationError({"promise_amount": "A promise to pay must be more than zero."})
    Customer.objects.filter(pk=customer.pk).update(promise_amount=amount, promise_date=date)
    customer.promise_amount, customer.promise_date = amount, date
    timeline.record(
        customer,
        ActivityKind.PROMISE_TO_PAY,
        actor=actor,
        data={"amount": str(amount), "currency": customer.currency, "date": date.isoformat()},
        at=at,
    )
    return customer


@transaction.atomic
def add_note(*, customer, text, actor):
    """A private note on the customer's timeline: internal users see it, the payer portal never does."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write something before saving the note."})
    return timeline.record(customer, ActivityKind.NOTE, actor=actor, data={"text": text})


@transaction.atomic
def attach_file(*, customer, upload, actor, description="", invoice=None):
    """Keep a file with the customer (checked by content and size) and show it on the timeline."""
    from peakflo.uploads import check_upload

    from .models import CustomerFile

    content_type = check_upload(upload)
    kept = CustomerFile.objects.create(
        customer=customer,
        invoice=invoice,
        file=upload,
        name=upload.name[:255],
        content_type=content_type,
        size=upload.size,
        description=description.strip()[:300],
        uploaded_by=actor,
    )
    timeline.record(
        customer,
        ActivityKind.FILE,
        invoice=invoice,
        actor=actor,
        data={"file_id": kept.pk, "name": kept.name, "content_type": content_type, "size": kept.size,
              "description": kept.description},  # fmt: skip
    )
    return kept


@transaction.atomic
def update_contact(*, contact, actor, **fields):
    """Change a contact in place; making it the main contact demotes the previous one."""
    changed = {name: value for name, value in fields.items() if getattr(contact, name) != value}
    if not changed:
        return contact
    if changed.get("is_main"):
        contact.customer.contacts.exclude(pk=contact.pk).filter(is_main=True).update(is_main=False)
    for name, value in changed.items():
        setattr(contact, name, value)
    contact.full_clean()
    contact.save()
    timeline.record(
        contact.customer,
        ActivityKind.CUSTOMER_CHANGED,
        actor=actor,
        data={"contact": contact.name, "changed": sorted(changed)},
    )
    return contact
