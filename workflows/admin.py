from django.contrib import admin
from django.db.models import Count

from .models import Action, ActionRun, Message, Task, Workflow


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default", "customer_count", "created_at"]
    list_filter = ["is_default"]
    search_fields = ["name", "description"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(customer_count=Count("customers"))

    @admin.display(description="customers", ordering="customer_count")
    def customer_count(self, obj):
        return obj.customer_count


class ActionInline(admin.StackedInline):
    model = Action
    extra = 0
    fields = [
        ("name", "action_type", "is_active"),
        ("trigger", "days", "day_of_month", "dates"),
        ("repeat_every_days", "repeat_max"),
        ("owner", "to_main_contact", "to_other_contacts", "attach_invoice_pdf"),
        ("cc", "bcc"),
        "subject",
        "body",
    ]
    autocomplete_fields = ["owner"]


WorkflowAdmin.inlines = [ActionInline]


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ["name", "workflow", "action_type", "trigger", "days", "is_active"]
    list_filter = ["action_type", "trigger", "is_active", "workflow"]
    list_select_related = ["workflow"]
    search_fields = ["name", "subject"]
    autocomplete_fields = ["owner"]


@admin.register(ActionRun)
class ActionRunAdmin(admin.ModelAdmin):
    list_display = ["action", "invoice", "occurrence", "due_on", "status", "reason"]
    list_filter = ["status", "action__action_type"]
    list_select_related = ["action__workflow", "invoice"]
    search_fields = ["invoice__number", "action__name"]
    date_hierarchy = "due_on"
    raw_id_fields = ["invoice", "message", "task"]
    show_full_result_count = False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "customer", "channel", "to", "subject", "status"]
    list_filter = ["status", "channel"]
    list_select_related = ["customer"]
    search_fields = ["to", "subject", "customer__name", "provider_id"]
    raw_id_fields = ["customer", "action"]
    show_full_result_count = False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "customer", "kind", "owner", "due_on", "status"]
    list_filter = ["status", "kind"]
    list_select_related = ["customer", "owner"]
    search_fields = ["title", "customer__name"]
    raw_id_fields = ["customer", "invoice"]
    autocomplete_fields = ["owner"]
