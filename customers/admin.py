from django.contrib import admin
from django.db.models import Count

from .models import Activity, Contact, Customer, Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color", "customer_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(customer_count=Count("customers"))

    @admin.display(description="customers", ordering="customer_count")
    def customer_count(self, obj):
        return obj.customer_count


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "email", "phone", "whatsapp", "line_id", "is_main"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "currency",
        "payment_terms_days",
        "account_manager",
        "workflow",
        "workflow_paused",
        "source",
    ]
    list_display_links = ["code", "name"]
    list_select_related = ["account_manager", "workflow"]
    list_filter = ["currency", "source", "workflow_paused", "account_manager", "workflow", "tags"]
    search_fields = ["code", "name", "external_id"]
    autocomplete_fields = ["workflow"]
    filter_horizontal = ["default_viewers", "tags"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ContactInline]
    show_full_result_count = False  # a COUNT(*) per page is slow at 100,000 customers
    fieldsets = [
        (None, {"fields": ["code", "name", "currency", "payment_terms_days", "source", "external_id"]}),
        ("Who works it", {"fields": ["account_manager", "default_viewers", "tags"]}),
        ("Reminders", {"fields": ["workflow", "workflow_paused", "workflow_pause_reason"]}),
        ("Promise to pay", {"fields": ["promise_amount", "promise_date"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "customer", "email", "phone", "whatsapp", "line_id", "is_main"]
    list_select_related = ["customer"]
    list_filter = ["is_main"]
    search_fields = ["name", "email", "phone", "whatsapp", "line_id", "customer__code", "customer__name"]
    autocomplete_fields = ["customer"]
    show_full_result_count = False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    """Read-only: the timeline is written only through customers.timeline.record()."""

    list_display = ["created_at", "customer", "kind", "invoice", "actor"]
    list_select_related = ["customer", "invoice", "actor_user", "actor_contact"]
    list_filter = ["kind"]
    search_fields = ["customer__code", "customer__name", "invoice__number"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ["created_at", "customer", "invoice", "kind", "actor_user", "actor_contact", "data"]
    readonly_fields = fields

    @admin.display(description="by")
    def actor(self, obj):
        return obj.actor_label

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
