"""The portal's rows in the Django admin: mostly to look at; links and webhook events are never edited."""

from django.contrib import admin

from .models import LinkRequest, PortalLink, PortalMessage, StripeCheckout, StripeEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PortalLink)
class PortalLinkAdmin(ReadOnlyAdmin):
    list_display = ["customer", "contact", "purpose", "created_at", "expires_at", "used_at", "revoked_at"]
    list_filter = ["purpose"]
    list_select_related = ["customer", "contact"]
    search_fields = ["customer__name", "customer__code", "contact__email"]
    exclude = ["token_hash"]  # useless to a person, and nothing to show around


@admin.register(LinkRequest)
class LinkRequestAdmin(ReadOnlyAdmin):
    list_display = ["email", "client_ip", "requested_at"]
    search_fields = ["email", "client_ip"]


@admin.register(PortalMessage)
class PortalMessageAdmin(admin.ModelAdmin):
    list_display = ["customer", "invoice", "author_contact", "author_user", "created_at"]
    list_select_related = ["customer", "invoice", "author_contact", "author_user"]
    search_fields = ["customer__name", "body"]
    raw_id_fields = ["customer", "invoice", "author_contact", "author_user"]


@admin.register(StripeCheckout)
class StripeCheckoutAdmin(ReadOnlyAdmin):
    list_display = ["session_id", "customer", "amount", "currency", "status", "payment", "created_at"]
    list_filter = ["status", "currency"]
    list_select_related = ["customer", "payment"]
    search_fields = ["session_id", "customer__name"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "event_type", "received_at"]
    search_fields = ["event_id"]
