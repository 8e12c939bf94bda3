"""Writes for what a customer does in the payer portal (besides disputes, promises and card payments,
which go through disputes.services, invoices.services and portal.stripe): documents, questions and
the "I have paid" notice. Each records the customer's timeline with the contact as actor and emails
the account manager after commit."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from customers import timeline
from customers.models import ActivityKind, CustomerFile
from invoices.models import InvoiceStatus
from peakflo import emails, uploads
from peakflo.permissions import READ_ONLY_MESSAGE

from .models import PortalMessage

DOCUMENT_KINDS = {
    "proof_of_payment": "Proof of payment",
    "tax_certificate": "Tax certificate",
}
MAX_MESSAGE_CHARS = 4000


def _keep_file(*, customer, invoice, upload, description, contact):
    """A CustomerFile from the portal: checked by content and size like every upload."""
    content_type = uploads.check_upload(upload)
    kept = CustomerFile.objects.create(
        customer=customer,
        invoice=invoice,
        file=upload,
        name=upload.name[:255],
        content_type=content_type,
        size=upload.size,
        description=description[:300],
        uploaded_by=None,  # a contact, not a user: the timeline names them
    )
    timeline.record(
        customer,
        ActivityKind.FILE,
        invoice=invoice,
        actor=contact,
        data={
            "file_id": kept.pk,
            "name": kept.name,
            "content_type": content_type,
            "size": kept.size,
            "description": kept.description,
        },
    )
    return kept


@transaction.atomic
def upload_invoice_document(*, invoice, contact, kind, upload, note=""):
    """The customer uploads proof of payment or a tax certificate against one of their invoices."""
    if invoice.customer_id != contact.customer_id:
        raise ValidationError(f"Invoice {invoice.number} is not yours.")
    if kind not in DOCUMENT_KINDS:
        raise ValidationError({"kind": "Choose proof of payment or tax certificate."})
    if upload is None:
        raise ValidationError({"file": "Choose the file to upload."})
    label = DOCUMENT_KINDS[kind]
    note = " ".join(note.split())
    kept = _keep_file(
        customer=contact.customer,
        invoice=invoice,
        upload=upload,
        description=f"{label}: {note}" if note else label,
        contact=contact,
    )
    transaction.on_commit(
        lambda: emails.portal_document_uploaded(kept=kept, kind_label=label, contact=contact)
    )
    return kept


def _message_body(body):
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write your message first."})
    if len(body) > MAX_MESSAGE_CHARS:
        raise ValidationError(
            {"body": f"Keep it under {MAX_MESSAGE_CHARS} characters (this is {len(body)})."}
        )
    return body


@transaction.atomic
def ask_question(*, contact, body, invoice=None):
    """A question from the portal: in the customer's thread, on the timeline, emailed to the manager."""
    customer = contact.customer
    if invoice is not None and invoice.customer_id != customer.pk:
        raise ValidationError(f"Invoice {invoice.number} is not yours.")
    message = PortalMessage.objects.create(
        customer=customer, invoice=invoice, author_contact=contact, body=_message_body(body)
    )
    timeline.record(
        customer,
        ActivityKind.PORTAL_MESSAGE,
        invoice=invoice,
        actor=contact,
        data={"question": message.body, **({"invoice": invoice.number} if invoice else {})},
    )
    transaction.on_commit(lambda: emails.portal_question(message=message))
    return message


@transaction.atomic
def answer_question(*, customer, user, body, invoice=None):
    """The account manager's answer in the customer's portal thread; the contacts who asked are told."""
    if getattr(user, "is_read_only", False):
        raise PermissionDenied(READ_ONLY_MESSAGE)
    if invoice is not None and invoice.customer_id != customer.pk:
        raise ValidationError(f"Invoice {invoice.number} belongs to another customer.")
    message = PortalMessage.objects.create(
        customer=customer, invoice=invoice, author_user=user, body=_message_body(body)
    )
    timeline.record(
        customer,
        ActivityKind.PORTAL_MESSAGE,
        invoice=invoice,
        actor=user,
        data={"answer": message.body, **({"invoice": invoice.number} if invoice else {})},
    )
    # Only contacts who wrote in this thread: they know the portal; an answer never goes to strangers.
    askers = (
        PortalMessage.objects.filter(customer=customer, author_contact__isnull=False)
        .exclude(author_contact__email="")
        .values_list("author_contact__email", flat=True)
        .distinct()
    )
    for address in list(askers):
        transaction.on_commit(lambda address=address: emails.portal_answer(message=message, to=address))
    return message


@transaction.atomic
def report_bank_transfer(*, contact, amount, currency, date, reference="", invoices=(), upload=None):
    """The customer says they paid by bank transfer. Nothing is recorded as paid: the account manager
    checks the bank and records the payment; this only tells them (timeline and email)."""
    customer = contact.customer
    if amount is None or amount <= 0:
        raise ValidationError({"amount": "Give the amount you paid (more than zero)."})
    invoices = sorted(invoices, key=lambda invoice: invoice.number)
    for invoice in invoices:
        if invoice.customer_id != customer.pk:
            raise ValidationError(f"Invoice {invoice.number} is not yours.")
        if invoice.status != InvoiceStatus.OPEN:
            raise ValidationError(f"Invoice {invoice.number} is {invoice.get_status_display().lower()}.")
    reference = " ".join(reference.split())[:200]
    kept = None
    if upload is not None:
        kept = _keep_file(
            customer=customer,
            invoice=invoices[0] if len(invoices) == 1 else None,
            upload=upload,
            description=f"Proof of payment: {currency} {amount:,.2f} on {date:%d %b %Y}"
            + (f", ref. {reference}" if reference else ""),
            contact=contact,
        )
    timeline.record(
        customer,
        ActivityKind.PORTAL_MESSAGE,
        invoice=invoices[0] if len(invoices) == 1 else None,
        actor=contact,
        data={
            "says they paid": f"{currency} {amount:,.2f} by bank transfer on {date.isoformat()}",
            **({"reference": reference} if reference else {}),
            **({"invoices": ", ".join(i.number for i in invoices)} if invoices else {}),
            "recorded": "not yet: check the bank, then record the payment",
        },
    )
    transaction.on_commit(
        lambda: emails.portal_paid_notice(
            customer=customer,
            contact=contact,
            amount=f"{amount:,.2f}",
            currency=currency,
            date=date,
            reference=reference,
            invoices=invoices,
            kept=kept,
        )
    )
    return kept
