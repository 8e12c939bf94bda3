from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpResponseRedirect
from django.urls import reverse

from .forms import CompanyForm
from .models import Company, Heartbeat, ImportJob, User


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name", "role")

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(f"{email} is already in use.")
        return email


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(f"{email} is already in use.")
        return email


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = ("email", "name", "role", "is_default_account_manager", "is_active", "last_login")
    list_display_links = ("email", "name")
    list_filter = ("role", "is_active", "is_default_account_manager", "is_superuser")
    search_fields = ("email", "name")
    ordering = ("name", "email")
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "name", "password")}),
        ("Role", {"fields": ("role", "is_default_account_manager", "is_active", "is_superuser")}),
        ("Fine-grained permissions", {"classes": ("collapse",), "fields": ("groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "role", "usable_password", "password1", "password2"),
            },
        ),
    )


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    """The single company row: the list goes straight to it, and it can be neither added nor deleted."""

    form = CompanyForm
    fieldsets = (
        (None, {"fields": ("name", "logo", "address", "brand_color", "invoice_footer")}),
        ("Money and time", {"fields": ("base_currency", "time_zone")}),
        ("Reminders", {"fields": ("send_window_start", "send_window_end", "send_weekdays", "sender_email")}),
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        company = Company.load()
        return HttpResponseRedirect(reverse("admin:peakflo_company_change", args=[company.pk]))


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("kind", "filename", "status", "rows_done", "rows_total", "created_by", "created_at")
    list_filter = ("kind", "status")
    list_select_related = ("created_by",)
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "beat_at", "hostname")
    readonly_fields = ("name", "beat_at", "hostname")

    def has_add_permission(self, request):
        return False
