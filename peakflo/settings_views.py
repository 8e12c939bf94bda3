"""Settings pages: users and roles, and the company (admins only); company holidays (admins and AR admins)."""

import logging
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import services
from .forms import CompanyForm, InviteForm, UserForm
from .holidays import HolidayForm, add_holiday, delete_holiday
from .models import Company, Holiday, Role, User
from .permissions import admin_required
from .spreadsheets import write_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

logger = logging.getLogger(__name__)
USERS_PAGE = 50


def _message_of(error):
    return " ".join(error.messages)


def _send_failed(request, user, error):
    logger.exception("Could not send the invitation to user %s", user.pk)
    messages.warning(
        request,
        f"The invitation email to {user.email} could not be sent ({error}). "
        "Check the email settings, then use “Resend invitation”.",
    )


@admin_required
def users(request):
    page = Paginator(User.objects.order_by("-is_active", "name", "email"), USERS_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "settings/users.html", {"page": page, "users": page.object_list})


@admin_required
def user_invite(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invite_user(**form.cleaned_data, invited_by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        except OSError as error:  # the user exists; only the email failed
            user = User.objects.get(email__iexact=form.cleaned_data["email"])
            _send_failed(request, user, error)
            return redirect("settings_users")
        else:
            messages.success(request, f"Invitation sent to {user.email}.")
            return redirect("settings_users")
    return render(request, "settings/user_invite.html", {"form": form})


@admin_required
def user_edit(request, pk):
    user = get_object_or_404(User, pk=pk)
    form = UserForm(request.POST or None, initial={"name": user.name, "role": user.role})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_user(user=user, **form.cleaned_data, by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{user.get_full_name()} is saved.")
            return redirect("settings_users")
    context = {
        "form": form,
        "person": user,
        "current_default": User.objects.filter(is_default_account_manager=True).exclude(pk=user.pk).first(),
        "invitation_pending": services.is_invitation_pending(user),
        "managed_count": user.managed_customers.count(),
    }
    return render(request, "settings/user_edit.html", context)


@admin_required
@require_POST
def user_default(request, pk):
    """Set, switch or remove the default account manager (at most one)."""
    user = get_object_or_404(User, pk=pk)
    try:
        if request.POST.get("action") == "remove":
            services.remove_default_account_manager(user=user)
            messages.success(request, f"{user.get_full_name()} is no longer the default account manager.")
        else:
            replacing_pk = request.POST.get("replacing")
            replacing = User.objects.filter(pk=replacing_pk).first() if replacing_pk else None
            services.set_default_account_manager(user=user, replacing=replacing)
            messages.success(request, f"{user.get_full_name()} is now the default account manager.")
    except ValidationError as error:
        messages.error(request, _message_of(error))
    return redirect("settings_user_edit", pk=user.pk)


@admin_required
def user_deactivate(request, pk):
    """GET asks for confirmation; POST deactivates."""
    user = get_object_or_404(User, pk=pk)
    if request.method == "POST":
        try:
            services.deactivate_user(user=user, by=request.user)
        except ValidationError as error:
            messages.error(request, _message_of(error))
            return redirect("settings_user_edit", pk=user.pk)
        messages.success(request, f"{user.get_full_name()} is deactivated and can no longer sign in.")
        return redirect("settings_users")
    context = {"person": user, "managed_count": user.managed_customers.count()}
    return render(request, "settings/user_deactivate.html", context)


@admin_required
@require_POST
def user_reactivate(request, pk):
    user = get_object_or_404(User, pk=pk)
    services.reactivate_user(user=user)
    messages.success(request, f"{user.get_full_name()} is active again and can sign in.")
    return redirect("settings_user_edit", pk=user.pk)


@admin_required
@require_POST
def user_resend_invitation(request, pk):
    user = get_object_or_404(User, pk=pk)
    try:
        services.resend_invitation(user=user, invited_by=request.user)
    except ValidationError as error:
        messages.error(request, _message_of(error))
    except OSError as error:
        _send_failed(request, user, error)
    else:
        messages.success(request, f"Invitation sent again to {user.email}.")
    return redirect("settings_user_edit", pk=user.pk)


@admin_required
def company(request):
    form = CompanyForm(request.POST or None, request.FILES or None, instance=Company.load())
    if request.method == "POST" and form.is_valid():
        try:
            services.update_company(changes=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Company settings saved.")
            return redirect("settings_company")
    return render(request, "settings/company.html", {"form": form})


# ---------- company holidays: admins and AR admins ----------

HOLIDAYS_PAGE = 100
HOLIDAY_EDITORS = {Role.ADMIN, Role.AR_ADMIN}


def can_change_holidays(user):
    return bool(
        user.is_authenticated and user.is_active and (user.is_superuser or user.role in HOLIDAY_EDITORS)
    )


def holiday_editor_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_change_holidays(request.user):
            raise PermissionDenied("Only admins and AR admins can change company holidays.")
        return view(request, *args, **kwargs)

    return wrapper


@holiday_editor_required
def holidays(request):
    """The list, with the form to add one; POST adds."""
    form = HolidayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        holiday = add_holiday(**form.cleaned_data)
        messages.success(request, f"{holiday.name} on {holiday.date:%-d %b %Y} is a company holiday.")
        return redirect("settings_holidays")
    today = Company.load().today()
    page = Paginator(Holiday.objects.all(), HOLIDAYS_PAGE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "holidays": page.object_list, "today": today}
    return render(request, "peakflo/settings_holidays.html", context)


@holiday_editor_required
def holiday_delete(request, pk):
    """GET asks for confirmation; POST deletes."""
    holiday = get_object_or_404(Holiday, pk=pk)
    if request.method == "POST":
        delete_holiday(holiday=holiday)
        messages.success(
            request, f"{holiday.name} on {holiday.date:%-d %b %Y} is no longer a company holiday."
        )
        return redirect("settings_holidays")
    return render(request, "peakflo/settings_holiday_delete.html", {"holiday": holiday})


@holiday_editor_required
def holidays_export(request):
    rows = ([holiday.date, holiday.date.strftime("%A"), holiday.name] for holiday in Holiday.objects.all())
    response = HttpResponse(
        write_xlsx(["Date", "Weekday", "Name"], rows, sheet_title="Holidays"), content_type=XLSX
    )
    response["Content-Disposition"] = 'attachment; filename="company-holidays.xlsx"'
    return response
