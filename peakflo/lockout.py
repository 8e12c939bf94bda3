"""Login throttling hooks for django-axes (settings AXES_USERNAME_CALLABLE and AXES_LOCKOUT_CALLABLE)."""

from axes.helpers import get_cool_off
from django.conf import settings
from django.shortcuts import render

from .forms import LoginForm


def username(request, credentials):
    """The email address as typed, lower-cased: ALICE@ and alice@ are one account and one count."""
    value = (credentials or {}).get("username") or request.POST.get(settings.AXES_USERNAME_FORM_FIELD, "")
    return str(value).strip().lower()


def locked_out(request, original_response=None, credentials=None):
    """The login page again, saying the sign-in is locked and when it may be tried again."""
    minutes = round(get_cool_off(request).total_seconds() / 60)
    form = LoginForm(request, initial={"username": username(request, credentials)})
    context = {
        "form": form,
        "locked_out": True,
        "cool_off_minutes": minutes,
        "next": request.POST.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)
