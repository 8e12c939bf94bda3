from django.contrib import admin
from django.db.models import Count

from .models import Workflow


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
