"""Settings → Dispute reasons: the list customers and account managers choose from.

Admins and AR admins change it; collections and auditors may look; account managers get 403."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from peakflo.models import Role

from . import services
from .forms import ReasonForm
from .models import DisputeReason
from .selectors import reasons_with_use


def _reason_page_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if user.role == Role.ACCOUNT_MANAGER and not user.is_superuser:
            raise PermissionDenied("The dispute reasons are kept by admins and AR admins.")
        return view(request, *args, **kwargs)

    return wrapper


def _back(reason=None):
    return redirect(reverse("dispute_reasons") + (f"#reason-{reason.pk}" if reason else ""))


def _change(request, action, *, success):
    """Run one change of the list; say what happened, or why nothing changed."""
    try:
        reason = action()  # PermissionDenied goes up: a 403
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _back()
    if success:
        messages.success(request, success(reason))
    return _back(reason)


@_reason_page_required
def reason_list(request):
    reasons = list(reasons_with_use())
    context = {
        "offered": [reason for reason in reasons if not reason.is_retired],
        "retired": [reason for reason in reasons if reason.is_retired],
        "can_change": services.can_change_reasons(request.user),
        "add_form": ReasonForm(),
    }
    return render(request, "disputes/reasons.html", context)


@_reason_page_required
@require_POST
def reason_add(request):
    return _change(
        request,
        lambda: services.add_reason(name=request.POST.get("name", ""), actor=request.user),
        success=lambda reason: f"“{reason.name}” is offered last in the list.",
    )


@_reason_page_required
@require_POST
def reason_rename(request, pk):
    reason = get_object_or_404(DisputeReason, pk=pk)
    old_name = reason.name
    return _change(
        request,
        lambda: services.rename_reason(reason=reason, name=request.POST.get("name", ""), actor=request.user),
        success=lambda renamed: (
            None if renamed.name == old_name else f"“{old_name}” is now “{renamed.name}”."
        ),
    )


@_reason_page_required
@require_POST
def reason_move(request, pk):
    reason = get_object_or_404(DisputeReason, pk=pk)
    return _change(
        request,
        lambda: services.move_reason(
            reason=reason, direction=request.POST.get("direction", ""), actor=request.user
        ),
        success=None,
    )


@_reason_page_required
@require_POST
def reason_retire(request, pk):
    reason = get_object_or_404(DisputeReason, pk=pk)
    retire = request.POST.get("retired") != "0"
    return _change(
        request,
        lambda: services.set_reason_retired(reason=reason, retired=retire, actor=request.user),
        success=lambda changed: (
            f"“{changed.name}” is retired: disputes that gave it keep it, new ones cannot choose it."
            if retire
            else f"“{changed.name}” is offered again."
        ),
    )
