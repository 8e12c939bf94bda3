"""Writes to disputes. A dispute pauses its invoice's reminders while it is open: the engine's tick
schedules nothing for the invoice and dispatch skips its runs (workflows/engine.py, dispatch.py).
Resolving lets the next tick pick the invoice up again, without a burst of the missed steps."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers import timeline
from customers.models import ActivityKind, Contact
from invoices.models import Invoice, InvoiceStatus
from peakflo import emails, uploads

from .models import Dispute, DisputeComment, DisputeReason, DisputeStatus


def _refuse_read_only(actor):
    if actor is not None and not isinstance(actor, Contact) and getattr(actor, "is_read_only", False):
        raise PermissionDenied("Auditors can look but not change anything.")


def _authors(actor):
    """(user, contact) for an actor who is either a signed-in user or a portal contact."""
    return (None, actor) if isinstance(actor, Contact) else (actor, None)


def _attach(comment, upload):
    if upload is not None:
        uploads.check_upload(upload)
        comment.file = upload
        comment.filename = upload.name[:255]


@transaction.atomic
def raise_dispute(*, invoice, reason, actor, comment="", upload=None, at=None):
    """Open a dispute on an invoice; its reminders pause at once and its account manager is emailed.

    `actor` is the User who raised it in the dashboard or the Contact who raised it in the portal.
    """
    _refuse_read_only(actor)
    at = at or timezone.now()
    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.OPEN:
        raise ValidationError(
            f"Invoice {invoice.number} is {invoice.get_status_display().lower()}: only an open invoice can be disputed."
        )
    if isinstance(reason, DisputeReason) and reason.is_retired:
        raise ValidationError(f"“{reason.name}” is no longer offered as a reason: choose another.")
    if Dispute.objects.filter(invoice=invoice, status=DisputeStatus.OPEN).exists():
        raise ValidationError(f"Invoice {invoice.number} already has an open dispute.")
    user, contact = _authors(actor)
    comment = comment.strip()
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                invoice=invoice,
                customer=invoice.customer,
                reason=reason,
                comment=comment,
                raised_by_user=user,
                raised_by_contact=contact,
                raised_at=at,
            )
    except IntegrityError:
        if not Dispute.objects.filter(invoice=invoice, status=DisputeStatus.OPEN).exists():
            raise  # another constraint: a bug to see, not a message to show
        # raised at the same moment by someone else
        raise ValidationError(f"Invoice {invoice.number} already has an open dispute.") from None
    if upload is not None:
        entry = DisputeComment(dispute=dispute, author_user=user, author_contact=contact, body="")
        _attach(entry, upload)
        entry.save()
    timeline.record(
        invoice.customer,
        ActivityKind.DISPUTE_RAISED,
        invoice=invoice,
        actor=actor,
        at=at,
        data={"dispute": dispute.pk, "invoice": invoice.number, "reason": reason.name, "comment": comment},
    )
    transaction.on_commit(lambda: emails.dispute_raised(dispute=dispute))
    return dispute


@transaction.atomic
def add_comment(*, dispute, actor, body="", upload=None):
    """Add to a dispute's thread, from the account manager's side or the customer's."""
    _refuse_read_only(actor)
    body = body.strip()
    if not body and upload is None:
        raise ValidationError("Write a comment or attach a file.")
    user, contact = _authors(actor)
    comment = DisputeComment(dispute=dispute, author_user=user, author_contact=contact, body=body)
    _attach(comment, upload)
    comment.save()
    timeline.record(
        dispute.customer,
        ActivityKind.DISPUTE_COMMENT,
        invoice=dispute.invoice,
        actor=actor,
        data={
            "dispute": dispute.pk,
            "invoice": dispute.invoice.number,
            "comment": body,
            **({"file": comment.filename} if comment.filename else {}),
        },
    )
    return comment


@transaction.atomic
def resolve_dispute(*, dispute, actor, resolution, at=None):
    """Close a dispute with a note; the invoice's reminders resume from the next tick, no burst."""
    _refuse_read_only(actor)
    resolution = resolution.strip()
    if not resolution:
        raise ValidationError(
            {"resolution": "Say how the dispute was resolved: the customer's timeline keeps it."}
        )
    dispute = Dispute.objects.select_for_update().select_related("invoice", "customer").get(pk=dispute.pk)
    if dispute.status != DisputeStatus.OPEN:
        raise ValidationError("This dispute is already resolved.")
    dispute.status = DisputeStatus.RESOLVED
    dispute.resolved_by = actor
    dispute.resolved_at = at or timezone.now()
    dispute.resolution = resolution
    dispute.save(update_fields=["status", "resolved_by", "resolved_at", "resolution"])
    timeline.record(
        dispute.customer,
        ActivityKind.DISPUTE_RESOLVED,
        invoice=dispute.invoice,
        actor=actor,
        at=dispute.resolved_at,
        data={"dispute": dispute.pk, "invoice": dispute.invoice.number, "resolution": resolution},
    )
    return dispute


# ---------- dispute reasons (Settings → Dispute reasons) ----------

REASON_EDITOR_MESSAGE = "Only admins and AR admins can change the dispute reasons."


def can_change_reasons(user):
    from peakflo.models import Role

    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.role in {Role.ADMIN, Role.AR_ADMIN})
    )


def _refuse_reason_change(actor):
    if not can_change_reasons(actor):
        raise PermissionDenied(REASON_EDITOR_MESSAGE)


def _clean_reason_name(name, *, other_than=None):
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Give the reason a name."})
    if len(name) > DisputeReason._meta.get_field("name").max_length:
        raise ValidationError({"name": f"“{name[:40]}…” is too long: keep a reason under 120 characters."})
    taken = DisputeReason.objects.filter(name__iexact=name)
    if other_than is not None:
        taken = taken.exclude(pk=other_than.pk)
    if taken.exists():
        raise ValidationError({"name": f"“{name}” is already a reason."})
    return name


@transaction.atomic
def add_reason(*, name, actor):
    """A new reason, offered last in the dropdowns."""
    _refuse_reason_change(actor)
    name = _clean_reason_name(name)
    last = DisputeReason.objects.select_for_update().order_by("-position").values_list("position", flat=True)
    return DisputeReason.objects.create(name=name, position=(last.first() or 0) + 1)


@transaction.atomic
def rename_reason(*, reason, name, actor):
    """Rename a reason; disputes that give it show the new name."""
    _refuse_reason_change(actor)
    reason = DisputeReason.objects.select_for_update().get(pk=reason.pk)
    reason.name = _clean_reason_name(name, other_than=reason)
    reason.save(update_fields=["name"])
    return reason


@transaction.atomic
def move_reason(*, reason, direction, actor):
    """Swap a reason with its neighbour above ("up") or below ("down") among the offered ones."""
    _refuse_reason_change(actor)
    if direction not in ("up", "down"):
        raise ValidationError(f"Move a reason up or down, not {direction!r}.")
    # Renumber 1..n first: positions loaded by hand or by old data may tie.
    reasons = list(DisputeReason.objects.select_for_update().order_by("position", "name", "pk"))
    for number, each in enumerate(reasons, start=1):
        each.position = number
    offered = [each for each in reasons if not each.is_retired]
    index = next((i for i, each in enumerate(offered) if each.pk == reason.pk), None)
    if index is None:
        raise ValidationError("Restore a retired reason before moving it.")
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(offered):
        offered[index].position, offered[other].position = offered[other].position, offered[index].position
    DisputeReason.objects.bulk_update(reasons, ["position"])
    return next(each for each in reasons if each.pk == reason.pk)


@transaction.atomic
def set_reason_retired(*, reason, retired, actor):
    """Retire a reason (old disputes keep it, new ones cannot choose it) or offer it again."""
    _refuse_reason_change(actor)
    reason = DisputeReason.objects.select_for_update().get(pk=reason.pk)
    others_offered = DisputeReason.objects.filter(is_retired=False).exclude(pk=reason.pk)
    if retired and not reason.is_retired and not others_offered.exists():
        raise ValidationError(f"“{reason.name}” is the last reason offered: add another before retiring it.")
    reason.is_retired = retired
    reason.save(update_fields=["is_retired"])
    return reason
