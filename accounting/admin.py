"""The accounting connections in the Django admin, for operators: never their OAuth tokens."""

from django.contrib import admin

from .models import Connection


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Read-only: connecting and disconnecting happen in Settings → Integrations, through OAuth."""

    list_display = (
        "__str__",
        "provider",
        "tenant_id",
        "status",
        "token_expires_at",
        "connected_by",
        "updated_at",
    )
    list_filter = ("provider", "status")
    search_fields = ("tenant_name", "tenant_id")
    # The tokens are left out of every form and list; the page only says whether they are held.
    exclude = ("access_token", "refresh_token")
    readonly_fields = (
        "provider",
        "tenant_id",
        "tenant_name",
        "status",
        "tokens",
        "token_expires_at",
        "cursors",
        "locked_until",
        "connected_by",
        "connected_at",
        "updated_at",
    )

    @admin.display(description="Tokens")
    def tokens(self, connection):
        held = [name for name in ("access", "refresh") if getattr(connection, f"{name}_token")]
        return f"{' and '.join(held)} token held (encrypted, not shown)" if held else "none"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Disconnecting revokes the tokens at the provider first; deleting here would not.
        return False
