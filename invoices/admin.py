from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from . import services
from .models import CreditNote, CreditNoteStatus, Invoice, InvoiceLine, Payment, PaymentAllocation

# Amount paid, credited and due are kept by invoices.services (payments, credit notes); the admin
# shows them but never edits them, so `manage.py check_consistency` stays clean.
KEPT_BY_SERVICES = ["amount_paid", "amount_credited", "amount_due"]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = ["position", "description", "quantity", "unit_price", "tax_rate", "amount", "tax_amount"]


class InvoiceAllocationInline(ReadOnlyInline):
    model = PaymentAllocation
    fields = ["payment", "amount"]
    readonly_fields = fields
    verbose_name = "payment allocated"
    verbose_name_plural = "payments allocated"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment")


class InvoiceForm(forms.ModelForm):
    class Meta:
        model = Invoice
        fields = [
            "number",
            "customer",
            "status",
            "source",
            "external_id",
            "reference",
            "issue_date",
            "due_date",
            "currency",
            "exchange_rate",
            "subtotal",
            "tax",
            "total",
        ]

    def clean(self):
        cleaned = super().clean()
        total = cleaned.get("total")
        settled = self.instance.amount_paid + self.instance.amount_credited
        if total is not None and total < settled:
            raise ValidationError(
                {"total": f"The total cannot be less than what is already paid and credited ({settled})."}
            )
        return cleaned


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    form = InvoiceForm
    list_display = [
        "number",
        "customer",
        "issue_date",
        "due_date",
        "currency",
        "total",
        "amount_due",
        "status",
        "source",
    ]
    list_select_related = ["customer"]
    list_filter = ["status", "currency", "source", "customer__account_manager", "due_date"]
    search_fields = ["number", "reference", "external_id", "customer__code", "customer__name"]
    autocomplete_fields = ["customer"]
    date_hierarchy = "due_date"
    readonly_fields = [*KEPT_BY_SERVICES, "created_at", "updated_at"]
    inlines = [InvoiceLineInline, InvoiceAllocationInline]
    show_full_result_count = False  # a COUNT(*) per page is slow at a million invoices
    fieldsets = [
        (None, {"fields": ["number", "customer", "status", "source", "external_id", "reference"]}),
        ("Dates", {"fields": ["issue_date", "due_date"]}),
        ("Amounts", {"fields": ["currency", "exchange_rate", "subtotal", "tax", "total", *KEPT_BY_SERVICES]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        obj.amount_due = obj.total - obj.amount_paid - obj.amount_credited
        super().save_model(request, obj, form, change)


@admin.register(InvoiceLine)
class InvoiceLineAdmin(admin.ModelAdmin):
    list_display = ["invoice", "position", "description", "quantity", "unit_price", "tax_rate", "amount"]
    list_select_related = ["invoice"]
    search_fields = ["description", "invoice__number"]
    autocomplete_fields = ["invoice"]
    show_full_result_count = False


class PaymentAllocationInline(ReadOnlyInline):
    model = PaymentAllocation
    fields = ["invoice", "amount"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invoice")


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Payments are recorded through invoices.services.record_payment; here they are read and annotated."""

    list_display = ["date", "customer", "amount", "currency", "method", "reference", "source", "created_by"]
    list_select_related = ["customer", "created_by"]
    list_filter = ["method", "source", "currency", "date"]
    search_fields = ["reference", "external_id", "customer__code", "customer__name"]
    date_hierarchy = "date"
    readonly_fields = ["customer", "date", "amount", "currency", "source", "created_by", "created_at"]
    fields = [*readonly_fields[:4], "method", "reference", "external_id", *readonly_fields[4:]]
    inlines = [PaymentAllocationInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False


@admin.register(PaymentAllocation)
class PaymentAllocationAdmin(admin.ModelAdmin):
    list_display = ["payment", "invoice", "amount"]
    list_select_related = ["payment", "invoice"]
    search_fields = ["invoice__number", "payment__reference"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CreditNote)
class CreditNoteAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "customer",
        "invoice",
        "date",
        "amount",
        "currency",
        "status",
        "created_by",
        "approved_by",
    ]
    list_select_related = ["customer", "invoice", "created_by", "approved_by"]
    list_filter = ["status", "currency", "source", "date"]
    search_fields = ["number", "reason", "external_id", "customer__code", "customer__name", "invoice__number"]
    autocomplete_fields = ["customer", "invoice"]
    readonly_fields = ["status", "created_by", "approved_by", "approved_at", "created_at"]
    actions = ["approve"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != CreditNoteStatus.PENDING_APPROVAL:
            # an approved or void credit note has already moved its invoice's amounts
            return [f.name for f in self.model._meta.fields if f.name != "id"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Approve the selected credit notes")
    def approve(self, request, queryset):
        approved = 0
        for credit_note in queryset.filter(status=CreditNoteStatus.PENDING_APPROVAL):
            try:
                services.approve_credit_note(credit_note=credit_note, approver=request.user)
                approved += 1
            except (ValidationError, PermissionDenied) as error:
                self.message_user(
                    request, "; ".join(getattr(error, "messages", [str(error)])), messages.ERROR
                )
        if approved:
            self.message_user(request, f"Approved {approved} credit note(s).", messages.SUCCESS)
