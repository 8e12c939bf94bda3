from django.conf import settings
from django.db import models
from django.db.models import Q

from customers.models import Customer


class DisputeReason(models.Model):
    """A reason customers and account managers choose when they dispute an invoice."""

    name = models.CharField(max_length=120, unique=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in the dropdowns.")
    is_retired = models.BooleanField(
        default=False, help_text="Retired reasons stay on old disputes but are no longer offered."
    )

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class DisputeQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(customer__in=Customer.objects.visible_to(user))

    def open(self):
        return self.filter(status=DisputeStatus.OPEN)


class Dispute(models.Model):
    """An invoice the customer disputes: its reminders pause while it is open (DESIGN.md)."""

    invoice = models.ForeignKey("invoices.Invoice", on_delete=models.CASCADE, related_name="disputes")
    # Denormalised from the invoice so the visibility rule and the lists filter without a join.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="disputes")
    reason = models.ForeignKey(DisputeReason, on_delete=models.PROTECT, related_name="disputes")
    comment = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    raised_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_by_contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="disputes"
    )
    raised_at = models.DateTimeField()
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    objects = DisputeQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-raised_at"], name="dispute_status_idx"),
            models.Index(fields=["invoice"], condition=Q(status="open"), name="dispute_open_invoice_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status="open"),
                name="one_open_dispute_per_invoice",
                violation_error_message="This invoice already has an open dispute.",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(resolved_at__isnull=False),
                name="resolved_dispute_has_time",
            ),
        ]

    def __str__(self):
        return f"Dispute on {self.invoice} ({self.get_status_display()})"

    @property
    def is_open(self):
        return self.status == DisputeStatus.OPEN


class DisputeComment(models.Model):
    """One entry of a dispute's thread, from either side; it may carry a file."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="comments")
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(blank=True)
    file = models.FileField(upload_to="disputes/%Y/%m/", blank=True)
    filename = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(body="") | ~Q(file=""), name="dispute_comment_not_empty")
        ]

    def __str__(self):
        return f"Comment on {self.dispute_id}"

    @property
    def from_customer(self):
        return self.author_contact_id is not None

    @property
    def shows_as_image(self):
        """Pictures are shown in the thread; the download still checks what the bytes are."""
        return bool(self.file) and self.filename.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".webp"))
