from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q

from peakflo.models import User, validate_currency


class Source(models.TextChoices):
    MANUAL = "manual", "Entered by hand"
    IMPORT = "import", "Imported"
    ACCOUNTING = "accounting", "Accounting system"


class CustomerQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The visibility rule of DESIGN.md, the one place it is written.

        Admins, AR admins, collections and auditors see every customer; an account manager sees
        the customers they manage and those where they are a default viewer; nobody else sees any.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.sees_all_customers:
            return self
        managed = Q(account_manager=user)
        viewing = Q(pk__in=Customer.default_viewers.through.objects.filter(user=user).values("customer"))
        return self.filter(managed | viewing)


def managers_visible_to(user):
    """The account managers of the customers `user` may see: a filter's choices, no names from elsewhere.

    The same rule as `visible_to`, split so that each half reads an index: a subquery over the
    visible customers reads the whole table (35 ms at 100,000 customers, on every report page).
    """
    manages = Exists(Customer.objects.filter(account_manager=OuterRef("pk")))
    if not user.is_authenticated or not user.is_active:
        return User.objects.none()
    if user.sees_all_customers:
        return User.objects.filter(manages)
    viewed = Customer.default_viewers.through.objects.filter(user=user).values("customer__account_manager")
    return User.objects.filter((Q(pk=user.pk) & manages) | Q(pk__in=viewed))


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)
    color = models.CharField(max_length=7, default="#64748b")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Customer(models.Model):
    code = models.CharField("customer ID", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="SGD", validators=[validate_currency])
    payment_terms_days = models.PositiveSmallIntegerField("payment terms (days)", default=30)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_customers",
    )
    default_viewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="viewed_customers"
    )
    workflow = models.ForeignKey(
        "workflows.Workflow", null=True, blank=True, on_delete=models.PROTECT, related_name="customers"
    )
    workflow_paused = models.BooleanField(default=False)
    workflow_pause_reason = models.CharField(max_length=200, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers")
    promise_amount = models.DecimalField(
        "promise to pay: amount", max_digits=14, decimal_places=2, null=True, blank=True
    )
    promise_date = models.DateField("promise to pay: date", null=True, blank=True)
    # db_default: bulk COPY writers (seed_demo, imports) leave these columns out.
    credit_hold = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Set when the customer passes their workflow's credit limit.",
    )
    credit_hold_since = models.DateTimeField(null=True, blank=True)
    portal_generation = models.PositiveIntegerField(
        default=0,
        db_default=0,
        help_text="Raised to revoke every portal link and session of the customer at once.",
    )
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["account_manager", "name"]),
            # the currency filter's choices, read through it (peakflo.queries.distinct_values)
            models.Index(fields=["currency"], name="customer_currency_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(promise_amount__isnull=True) | Q(promise_amount__gt=0),
                name="customer_promise_amount_positive",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def main_contact(self):
        return next((c for c in self.contacts.all() if c.is_main), None)


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=150)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    whatsapp = models.CharField("WhatsApp number", max_length=32, blank=True)
    line_id = models.CharField("LINE id", max_length=64, blank=True)
    is_main = models.BooleanField("main contact", default=False)

    class Meta:
        ordering = ["-is_main", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_main=True),
                name="one_main_contact_per_customer",
                violation_error_message="This customer already has a main contact.",
            )
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>" if self.email else self.name


class ActivityKind(models.TextChoices):
    CUSTOMER_CREATED = "customer_created", "Customer created"
    CUSTOMER_CHANGED = "customer_changed", "Customer changed"
    ASSIGNMENT = "assignment", "Assignment changed"
    INVOICE_ISSUED = "invoice_issued", "Invoice issued"
    INVOICE_CHANGED = "invoice_changed", "Invoice changed"
    INVOICE_PAID = "invoice_paid", "Invoice paid"
    INVOICE_VOIDED = "invoice_voided", "Invoice voided"
    PAYMENT = "payment", "Payment"
    CREDIT_NOTE = "credit_note", "Credit note"
    NOTE = "note", "Note"
    FILE = "file", "File"
    MESSAGE_SENT = "message_sent", "Message sent"
    MESSAGE_DELIVERED = "message_delivered", "Message delivered"
    MESSAGE_FAILED = "message_failed", "Message failed"
    DISPUTE_RAISED = "dispute_raised", "Dispute raised"
    DISPUTE_RESOLVED = "dispute_resolved", "Dispute resolved"
    DISPUTE_COMMENT = "dispute_comment", "Dispute comment"
    PORTAL_MESSAGE = "portal_message", "Message from the payer portal"
    CREDIT_HOLD = "credit_hold", "Credit hold"
    TASK = "task", "Task"
    PROMISE_TO_PAY = "promise_to_pay", "Promise to pay"
    WORKFLOW = "workflow", "Workflow paused or resumed"


class Activity(models.Model):
    """One entry of a customer's timeline; written only through customers.timeline.record()."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="activities")
    invoice = models.ForeignKey(
        "invoices.Invoice", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    kind = models.CharField(max_length=32, choices=ActivityKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["customer", "-created_at", "-id"], name="activity_timeline_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(actor_user__isnull=True) | Q(actor_contact__isnull=True),
                name="activity_one_actor",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.customer}"

    @property
    def actor_label(self):
        if self.actor_user_id:
            return str(self.actor_user)
        if self.actor_contact_id:
            return str(self.actor_contact)
        return "peakflo"


class CustomerFile(models.Model):
    """A file kept with a customer: a screenshot of a WhatsApp chat, a remittance advice, a signed form."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="files")
    invoice = models.ForeignKey(
        "invoices.Invoice", null=True, blank=True, on_delete=models.SET_NULL, related_name="files"
    )
    file = models.FileField(upload_to="customers/%Y/%m/")
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    description = models.CharField(max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self):
        return self.name

    @property
    def is_image(self):
        return self.content_type.startswith("image/")
