from django.conf import settings
from django.db import models
from django.db.models import Q


class Workflow(models.Model):
    """A reminder schedule that customers follow; customers without one follow the default."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False, help_text="Customers without a workflow follow this one.")
    from_email = models.EmailField(
        "from address", blank=True, help_text="Empty: the company's sender address."
    )
    reply_to = models.EmailField("reply-to address", blank=True, help_text="Empty: the account manager.")
    contact_delay_days = models.PositiveSmallIntegerField(
        "contact delay (days)",
        default=3,
        help_text="The fewest days between two automatic reminders to the same customer.",
    )
    business_days_only = models.BooleanField(
        default=True, help_text="Send only on the company's send weekdays, never on a company holiday."
    )
    credit_limit_amount = models.DecimalField(
        "credit limit (amount)",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="A customer owing more than this, in the company's base currency, is put on credit hold.",
    )
    credit_limit_days = models.PositiveSmallIntegerField(
        "credit limit (days overdue)",
        null=True,
        blank=True,
        help_text="A customer with an invoice overdue longer than this is put on credit hold.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_workflow",
                violation_error_message="Another workflow is already the default.",
            )
        ]

    def __str__(self):
        return self.name


class Trigger(models.TextChoices):
    BEFORE_DUE = "before_due", "Days before the due date"
    AFTER_DUE = "after_due", "Days after the due date"
    AFTER_ISSUE = "after_issue", "Days after the issue date"
    BEFORE_PROMISE = "before_promise", "Days before the promise-to-pay date"
    AFTER_PROMISE = "after_promise", "Days after the promise-to-pay date"
    MONTHLY = "monthly", "Every month on a given day"
    ON_DATES = "on_dates", "On specific dates"


class ActionType(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"
    LINE = "line", "LINE"
    INTERNAL_EMAIL = "internal_email", "Internal notification email"
    WEBHOOK = "webhook", "Webhook"
    PHONE_CALL = "phone_call", "Phone call"
    OFFICE_VISIT = "office_visit", "Office visit"
    LETTER = "letter", "Letter"
    STATEMENT = "statement", "Send statement by hand"
    ESCALATION = "escalation", "Escalate to manager"
    LEGAL = "legal", "Legal / collection agency referral"


MANUAL_ACTION_TYPES = frozenset(
    {
        ActionType.PHONE_CALL,
        ActionType.OFFICE_VISIT,
        ActionType.LETTER,
        ActionType.STATEMENT,
        ActionType.ESCALATION,
        ActionType.LEGAL,
    }
)


class Action(models.Model):
    """One step of a workflow: when it falls due for an invoice, and what it does then."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="actions")
    name = models.CharField(max_length=120)
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.AFTER_DUE)
    days = models.PositiveSmallIntegerField(default=0, help_text="N for the before/after triggers.")
    day_of_month = models.PositiveSmallIntegerField(null=True, blank=True)
    dates = models.JSONField(default=list, blank=True, help_text="ISO dates for 'on specific dates'.")
    repeat_every_days = models.PositiveSmallIntegerField(null=True, blank=True)
    repeat_max = models.PositiveSmallIntegerField(null=True, blank=True)
    action_type = models.CharField(max_length=20, choices=ActionType.choices, default=ActionType.EMAIL)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty: the customer's account manager.",
    )
    to_main_contact = models.BooleanField(default=True)
    to_other_contacts = models.BooleanField(default=False)
    internal_recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    cc = models.CharField(max_length=500, blank=True)
    bcc = models.CharField(max_length=500, blank=True)
    attach_invoice_pdf = models.BooleanField(default=False)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "trigger", "days", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(day_of_month__isnull=True) | Q(day_of_month__gte=1, day_of_month__lte=28),
                name="action_day_of_month_1_28",
                violation_error_message="Choose a day of the month from 1 to 28.",
            ),
        ]

    def __str__(self):
        return f"{self.workflow}: {self.name}"

    @property
    def is_manual(self):
        return self.action_type in MANUAL_ACTION_TYPES

    @property
    def offset_days(self):
        """Days from the anchor date (due, issue or promise) to the trigger date."""
        before = self.trigger in (Trigger.BEFORE_DUE, Trigger.BEFORE_PROMISE)
        return -self.days if before else self.days


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SKIPPED = "skipped", "Skipped"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ActionRun(models.Model):
    """One occurrence of an action for one invoice; the unique key makes scheduling idempotent."""

    # The first tick writes a run for every due step of every open invoice (1.6 million at the scale
    # of DESIGN.md), so every index and constraint here is paid for on each of them. Hence: one unique
    # key that leads with the invoice (it serves the per-invoice lookups too), message and task
    # indexed only where set, and no database foreign keys — PostgreSQL checks those with a trigger
    # per row, which doubled the first tick. Runs are written only by the engine, from rows that
    # exist; Django still cascades deletes (on_delete), and check_consistency reports orphans.
    action = models.ForeignKey(
        Action, on_delete=models.CASCADE, related_name="runs", db_index=False, db_constraint=False
    )
    invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.CASCADE,
        related_name="action_runs",
        db_index=False,
        db_constraint=False,
    )
    occurrence = models.PositiveIntegerField(default=1)
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    reason = models.CharField(max_length=200, blank=True)
    message = models.ForeignKey(
        "Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
        db_index=False,
        db_constraint=False,
    )
    task = models.ForeignKey(
        "Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
        db_index=False,
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-due_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "action", "occurrence"], name="one_run_per_occurrence")
        ]
        indexes = [
            models.Index(fields=["due_on"], condition=Q(status="pending"), name="actionrun_pending_due_idx"),
            models.Index(
                fields=["message"], condition=Q(message__isnull=False), name="actionrun_message_idx"
            ),
            models.Index(fields=["task"], condition=Q(task__isnull=False), name="actionrun_task_idx"),
        ]

    def __str__(self):
        return f"{self.action.name} for {self.invoice} (#{self.occurrence}, {self.status})"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"
    LINE = "line", "LINE"
    WEBHOOK = "webhook", "Webhook"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # claimed by a dispatch, not yet handed to the provider
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown: check by hand"


class Message(models.Model):
    """One outbound message on one channel. `sending` is committed before the provider is called.

    A dispatch writes its batch `queued` and hands it to the provider a few at a time, each few made
    `sending` first: a crash leaves unknown only those few, and the queued ones go out later.
    """

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    action = models.ForeignKey(
        Action, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The person who sent it by hand; empty for the engine.",
    )
    to = models.CharField(max_length=1000)
    cc = models.CharField(max_length=1000, blank=True)
    bcc = models.CharField(max_length=1000, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.SENDING)
    provider_id = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="message_customer_idx")]

    def __str__(self):
        return f"{self.get_channel_display()} to {self.to} ({self.status})"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"


class Task(models.Model):
    """Manual work for a person: a call, a visit, a letter; from an action or made by hand."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="tasks")
    invoice = models.ForeignKey(
        "invoices.Invoice", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    kind = models.CharField(max_length=20, choices=ActionType.choices, default=ActionType.PHONE_CALL)
    title = models.CharField(max_length=200)
    details = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    outcome = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["owner", "status", "due_on"], name="task_owner_due_idx")]

    def __str__(self):
        return self.title
