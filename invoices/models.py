from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.db.models.lookups import Exact

from customers.models import Customer, Source
from peakflo.models import validate_currency

MONEY = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class InvoiceQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(customer__in=Customer.objects.visible_to(user))

    def outstanding(self):
        return self.filter(status=InvoiceStatus.OPEN, amount_due__gt=0)

    def overdue(self, today):
        return self.outstanding().filter(due_date__lt=today)


class Invoice(models.Model):
    number = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    issue_date = models.DateField()
    due_date = models.DateField(db_index=True)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    exchange_rate = models.DecimalField(
        max_digits=18, decimal_places=8, default=Decimal(1), help_text="Base currency per unit of this one."
    )
    subtotal = models.DecimalField(**MONEY, default=ZERO)
    tax = models.DecimalField(**MONEY, default=ZERO)
    total = models.DecimalField(**MONEY, default=ZERO)
    amount_paid = models.DecimalField(**MONEY, default=ZERO)
    amount_credited = models.DecimalField(**MONEY, default=ZERO)
    # Stored so lists and reports can sort and sum it in SQL; kept by services, checked by a constraint.
    amount_due = models.DecimalField(**MONEY, default=ZERO)
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    reference = models.CharField(max_length=200, blank=True)
    # db_default too: bulk loaders (COPY) that predate these columns leave them out.
    reminders_paused = models.BooleanField(
        default=False, db_default=False, help_text="No automatic reminders for this invoice."
    )
    reminders_pause_reason = models.CharField(max_length=200, blank=True, default="", db_default="")
    # A promise to pay this invoice pauses its reminders until the promised date.
    promise_amount = models.DecimalField(**MONEY, null=True, blank=True)
    promise_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-issue_date", "-id"]
        indexes = [
            models.Index(fields=["status", "due_date"], name="invoice_status_due_idx"),
            models.Index(fields=["customer", "status"], name="invoice_customer_status_idx"),
            # the invoice list's default order: its first page walks 50 entries instead of sorting
            # an account manager's third of a million invoices (580 → 150 ms under load, bench_load)
            models.Index(fields=["-issue_date", "-id"], name="invoice_newest_idx"),
            # the currency filter's choices, read through it (peakflo.queries.distinct_values)
            models.Index(fields=["currency"], name="invoice_currency_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(subtotal__gte=0)
                & Q(tax__gte=0)
                & Q(total__gte=0)
                & Q(amount_paid__gte=0)
                & Q(amount_credited__gte=0)
                & Q(amount_due__gte=0),
                name="invoice_amounts_not_negative",
                violation_error_message="Invoice amounts cannot be negative.",
            ),
            # Compared in whole cents: SQLite (the embedded default) does this arithmetic in floating
            # point, where 0.10 + 0.20 != 0.30; on Postgres' exact numeric it is plain equality.
            models.CheckConstraint(
                condition=Exact(Round(F("total") * 100), Round((F("subtotal") + F("tax")) * 100)),
                name="invoice_total_is_subtotal_plus_tax",
                violation_error_message="The total must equal subtotal plus tax.",
            ),
            models.CheckConstraint(
                condition=Exact(
                    Round(F("amount_due") * 100),
                    Round((F("total") - F("amount_paid") - F("amount_credited")) * 100),
                ),
                name="invoice_amount_due_balances",
                violation_error_message="Amount due must equal total minus paid minus credited.",
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=F("issue_date")),
                name="invoice_due_not_before_issue",
                violation_error_message="The due date cannot be before the issue date.",
            ),
            models.CheckConstraint(condition=Q(exchange_rate__gt=0), name="invoice_exchange_rate_positive"),
        ]

    def __str__(self):
        return self.number

    @property
    def is_read_only(self):
        """Invoices from the accounting system are owned there (DESIGN.md, field ownership)."""
        return self.source == Source.ACCOUNTING

    def days_overdue(self, today):
        if self.status != InvoiceStatus.OPEN or self.amount_due <= 0 or self.due_date >= today:
            return 0
        return (today - self.due_date).days

    @property
    def is_partially_paid(self):
        return self.status == InvoiceStatus.OPEN and ZERO < self.amount_due < self.total


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(1))
    unit_price = models.DecimalField(**MONEY)
    tax_rate = models.DecimalField("tax rate (%)", max_digits=5, decimal_places=2, default=ZERO)
    amount = models.DecimalField(**MONEY, help_text="Quantity × unit price, before tax.")
    tax_amount = models.DecimalField(**MONEY, default=ZERO)

    class Meta:
        ordering = ["invoice", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0)
                & Q(unit_price__gte=0)
                & Q(amount__gte=0)
                & Q(tax_amount__gte=0)
                & Q(tax_rate__gte=0),
                name="invoice_line_amounts_not_negative",
                violation_error_message="Line quantities and amounts cannot be negative.",
            )
        ]

    def __str__(self):
        return self.description


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CARD = "card", "Card"
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    OTHER = "other", "Other"


class PaymentSource(models.TextChoices):
    MANUAL = "manual", "Recorded by hand"
    PORTAL = "portal", "Payer portal"
    ACCOUNTING = "accounting", "Accounting system"


class PaymentQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(customer__in=Customer.objects.visible_to(user))


class Payment(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    date = models.DateField()
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    method = models.CharField(
        max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER
    )
    reference = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=PaymentSource.choices, default=PaymentSource.MANUAL)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="payment_amount_positive",
                violation_error_message="A payment must be more than zero.",
            )
        ]

    def __str__(self):
        return f"{self.amount} {self.currency} on {self.date}"


class PaymentAllocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(**MONEY)
    # The accounting system's payment for this part, when peakflo pushed it there: accounting
    # systems pay one invoice per payment, so a payment split over invoices becomes several.
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment", "invoice"], name="one_allocation_per_invoice"),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="allocation_amount_positive",
                violation_error_message="An allocation must be more than zero.",
            ),
        ]

    def __str__(self):
        return f"{self.amount} of {self.payment} to {self.invoice}"


class CreditNoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    VOID = "void", "Void"


class CreditNoteQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(customer__in=Customer.objects.visible_to(user))


class CreditNote(models.Model):
    number = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_notes")
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    date = models.DateField()
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    reason = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=20, choices=CreditNoteStatus.choices, default=CreditNoteStatus.PENDING_APPROVAL
    )
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CreditNoteQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="credit_note_amount_positive",
                violation_error_message="A credit note must be more than zero.",
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True)
                | Q(created_by__isnull=True)
                | ~Q(approved_by=F("created_by")),
                name="credit_note_four_eyes",
                violation_error_message="A credit note cannot be approved by the person who created it.",
            ),
        ]

    def __str__(self):
        return self.number
