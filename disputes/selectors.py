"""Read queries about disputes, shared by the dispute pages, the invoice and customer pages and exports.

Everything starts from `Dispute.objects.visible_to(user)`: a dispute is seen through its customer."""

from django.db.models import Count, OuterRef, Subquery

from .models import Dispute, DisputeComment, DisputeReason, DisputeStatus


def visible_disputes(user):
    """The disputes `user` may see, with what a list row or the dispute page prints loaded alongside."""
    return Dispute.objects.visible_to(user).select_related(
        "invoice",
        "customer",
        "customer__account_manager",
        "reason",
        "raised_by_user",
        "raised_by_contact",
        "resolved_by",
    )


def open_dispute_of(invoice):
    """The invoice's open dispute (at most one, a constraint says so), or None."""
    return (
        Dispute.objects.open()
        .filter(invoice=invoice)
        .select_related("reason", "raised_by_user", "raised_by_contact")
        .first()
    )


def open_disputes_of(customer):
    """The customer's open disputes, newest first."""
    return (
        Dispute.objects.open()
        .filter(customer=customer)
        .select_related("invoice", "reason", "raised_by_user", "raised_by_contact")
    )


def with_open_dispute(invoices):
    """Annotate `open_dispute_id` on each invoice (None without one): one subquery, no query per row."""
    open_dispute = Dispute.objects.filter(invoice=OuterRef("pk"), status=DisputeStatus.OPEN).values("pk")[:1]
    return invoices.annotate(open_dispute_id=Subquery(open_dispute))


def thread_of(dispute):
    """The dispute's comments and files, oldest first, with their authors."""
    return DisputeComment.objects.filter(dispute=dispute).select_related("author_user", "author_contact")


def active_reasons():
    """The reasons a new dispute may give, in their order."""
    return DisputeReason.objects.filter(is_retired=False)


def reasons_with_use():
    """Every reason in order, each with how many disputes give it."""
    return DisputeReason.objects.annotate(dispute_count=Count("disputes")).order_by("position", "name")
