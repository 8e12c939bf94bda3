"""Settings → Accounts Receivable Workflows: the workflows, their actions and the action editor.

Everyone signed in may look; admins and AR admins may change (`can_change_workflows`).
"""

import datetime as dt
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from customers.models import Customer
from peakflo.models import Company, Role

from . import services, templating
from .forms import SHOWN_FOR, ActionForm, PreviewForm, WorkflowForm
from .messages import format_date, is_html, sample_values
from .models import MANUAL_ACTION_TYPES, Action, ActionType, Trigger, Workflow

EDITOR_ROLES = {Role.ADMIN, Role.AR_ADMIN}
CHANGE_MESSAGE = "Only admins and AR admins can change workflows."


def can_change_workflows(user):
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or user.role in EDITOR_ROLES))


def workflow_editor_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_change_workflows(request.user):
            raise PermissionDenied(CHANGE_MESSAGE)
        return view(request, *args, **kwargs)

    return wrapper


# ---------- how an action reads ----------


def _days(n):
    return f"{n} day{'s' if n != 1 else ''}"


def describe_trigger(action):
    """The trigger in words: "3 days before the due date", "Every month on the 5th"."""
    anchors = {
        Trigger.BEFORE_DUE: ("before", "the due date"),
        Trigger.AFTER_DUE: ("after", "the due date"),
        Trigger.AFTER_ISSUE: ("after", "the issue date"),
        Trigger.BEFORE_PROMISE: ("before", "the promise-to-pay date"),
        Trigger.AFTER_PROMISE: ("after", "the promise-to-pay date"),
    }
    if action.trigger in anchors:
        side, anchor = anchors[action.trigger]
        return f"On {anchor}" if not action.days else f"{_days(action.days)} {side} {anchor}"
    if action.trigger == Trigger.MONTHLY:
        day = action.day_of_month or 1
        suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        return f"Every month on the {day}{suffix}"
    dates = [format_date(dt.date.fromisoformat(day)) for day in action.dates or []]
    return "On " + ", ".join(dates) if dates else "On specific dates (none chosen)"


def describe_repeat(action):
    if not action.repeat_every_days:
        return ""
    text = f"then every {_days(action.repeat_every_days)}"
    return (
        f"{text}, at most {action.repeat_max} time{'s' if action.repeat_max != 1 else ''}"
        if (action.repeat_max)
        else text
    )


def timeline_key(action):
    """Actions in the order an invoice meets them: issue, due date, promise, monthly, fixed dates."""
    if action.trigger == Trigger.AFTER_ISSUE:
        return (0, action.days, action.pk)
    if action.trigger in (Trigger.BEFORE_DUE, Trigger.AFTER_DUE):
        return (1, action.offset_days, action.pk)
    if action.trigger in (Trigger.BEFORE_PROMISE, Trigger.AFTER_PROMISE):
        return (2, action.offset_days, action.pk)
    if action.trigger == Trigger.MONTHLY:
        return (3, action.day_of_month or 0, action.pk)
    return (4, (action.dates or [""])[0], action.pk)


def _ordered_actions(workflow):
    actions = sorted(workflow.actions.all(), key=timeline_key)
    for action in actions:
        action.when = describe_trigger(action)
        action.repeat_text = describe_repeat(action)
    return actions


def _customers_count(workflow, unassigned):
    return workflow.customer_count + (unassigned if workflow.is_default else 0)


# ---------- workflows ----------


@login_required
def workflow_list(request):
    # Counts go through the visibility rule: an account manager counts only their own customers.
    visible = Customer.objects.visible_to(request.user)
    workflows = list(
        Workflow.objects.annotate(customer_count=Count("customers", filter=Q(customers__in=visible)))
        .prefetch_related(Prefetch("actions", queryset=Action.objects.select_related("owner")))
        .order_by("-is_default", "name")
    )
    unassigned = visible.filter(workflow__isnull=True).count()
    for workflow in workflows:
        workflow.ordered_actions = _ordered_actions(workflow)
        workflow.used_by = _customers_count(workflow, unassigned)
    return render(
        request,
        "workflows/list.html",
        {"workflows": workflows, "can_change": can_change_workflows(request.user)},
    )


@workflow_editor_required
def workflow_add(request):
    form = WorkflowForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        workflow = services.create_workflow(data=form.cleaned_data)
        messages.success(request, f"Workflow “{workflow.name}” created. Now add its actions.")
        return redirect("workflow_edit", workflow.pk)
    return render(request, "workflows/workflow_form.html", {"form": form, "workflow": None})


@login_required
def workflow_edit(request, pk):
    """The workflow's page: its settings (a form for editors) and its actions in order."""
    workflow = get_object_or_404(Workflow, pk=pk)
    can_change = can_change_workflows(request.user)
    if request.method == "POST" and not can_change:
        raise PermissionDenied(CHANGE_MESSAGE)
    form = WorkflowForm(request.POST or None, instance=workflow)
    if request.method == "POST" and form.is_valid():
        services.update_workflow(workflow=workflow, data=form.cleaned_data)
        messages.success(request, f"Workflow “{workflow.name}” saved.")
        return redirect("workflow_edit", workflow.pk)
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "workflows/workflow_form.html",
        {
            "form": form,
            "workflow": workflow,
            "actions": _ordered_actions(workflow),
            "used_by": services.customers_following(workflow).count(),
            "can_change": can_change,
        },
    )


@require_POST
@workflow_editor_required
def workflow_duplicate(request, pk):
    workflow = get_object_or_404(Workflow, pk=pk)
    copy = services.duplicate_workflow(workflow=workflow)
    messages.success(request, f"Copied “{workflow.name}” with its actions as “{copy.name}”.")
    return redirect("workflow_edit", copy.pk)


@require_POST
@workflow_editor_required
def workflow_set_default(request, pk):
    workflow = get_object_or_404(Workflow, pk=pk)
    services.set_default_workflow(workflow=workflow)
    messages.success(
        request, f"“{workflow.name}” is now the default: customers without a workflow follow it."
    )
    return redirect("workflows")


@workflow_editor_required
def workflow_delete(request, pk):
    workflow = get_object_or_404(Workflow, pk=pk)
    used_by = services.customers_following(workflow).count()
    if request.method == "POST":
        try:
            services.delete_workflow(workflow=workflow)
        except services.WorkflowInUse as refused:
            messages.error(request, f"“{workflow.name}” was not deleted. {refused}")
            return redirect("workflow_delete", workflow.pk)
        messages.success(request, f"Workflow “{workflow.name}” deleted.")
        return redirect("workflows")
    return render(
        request,
        "workflows/workflow_delete.html",
        {"workflow": workflow, "used_by": used_by, "action_count": workflow.actions.count()},
    )


# ---------- actions ----------


def _channel_settings(action_type):
    """The settings a channel needs to send (the same ones workflows/channels checks at send time)."""
    twilio = ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"]
    if action_type == ActionType.SMS:
        return [*twilio, "TWILIO_FROM_NUMBER"]
    if action_type == ActionType.WHATSAPP:
        if (getattr(settings, "WHATSAPP_PROVIDER", "") or "twilio").lower() == "cloud":
            return ["WHATSAPP_CLOUD_TOKEN", "WHATSAPP_CLOUD_PHONE_NUMBER_ID"]
        return [*twilio, "TWILIO_WHATSAPP_FROM"]
    if action_type == ActionType.LINE:
        return ["LINE_CHANNEL_ACCESS_TOKEN"]
    if action_type == ActionType.WEBHOOK:
        return ["WORKFLOW_WEBHOOK_URL", "WORKFLOW_WEBHOOK_SECRET"]
    return []


def channels_not_configured():
    """{action type: the empty settings}, for the editor to warn before anyone relies on the channel."""
    problems = {}
    for action_type in ActionType:
        missing = [name for name in _channel_settings(action_type) if not getattr(settings, name, "")]
        if missing:
            problems[action_type.value] = (action_type.label, ", ".join(missing))
    return problems


def _editor_context(form, workflow, action):
    return {
        "form": form,
        "workflow": workflow,
        "action": action,
        "placeholders": templating.PLACEHOLDERS,
        "shown_for": {name: " ".join(sorted(types)) for name, types in SHOWN_FOR.items()},
        "manual_types": " ".join(sorted(MANUAL_ACTION_TYPES)),
        "offset_triggers": "before_due after_due after_issue before_promise after_promise",
        "not_configured": channels_not_configured(),
    }


@workflow_editor_required
def action_add(request, pk):
    workflow = get_object_or_404(Workflow, pk=pk)
    form = ActionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        action = services.create_action(workflow=workflow, data=form.cleaned_data)
        messages.success(request, f"Action “{action.name}” added to {workflow.name}.")
        return redirect("workflow_edit", workflow.pk)
    return render(request, "workflows/action_form.html", _editor_context(form, workflow, None))


@workflow_editor_required
def action_edit(request, pk):
    action = get_object_or_404(Action.objects.select_related("workflow"), pk=pk)
    form = ActionForm(request.POST or None, instance=action)
    if request.method == "POST" and form.is_valid():
        services.update_action(action=action, data=form.cleaned_data)
        messages.success(request, f"Action “{action.name}” saved.")
        return redirect("workflow_edit", action.workflow_id)
    return render(request, "workflows/action_form.html", _editor_context(form, action.workflow, action))


@workflow_editor_required
def action_delete(request, pk):
    action = get_object_or_404(Action.objects.select_related("workflow"), pk=pk)
    if request.method == "POST":
        workflow = action.workflow
        services.delete_action(action=action)
        messages.success(request, f"Action “{action.name}” deleted from {workflow.name}.")
        return redirect("workflow_edit", workflow.pk)
    return render(
        request,
        "workflows/action_delete.html",
        {"action": action, "workflow": action.workflow, "run_count": action.runs.count()},
    )


@require_POST
@workflow_editor_required
def action_preview(request):
    """The subject and body filled with a sample customer's values, as the channel will show them."""
    form = PreviewForm(request.POST)
    form.is_valid()
    action_type = form.cleaned_data.get("action_type") or ActionType.EMAIL
    html = is_html(action_type)
    values = sample_values(Company.load(), html=html)
    context = {"html": html, "action_type": ActionType(action_type), "errors": []}
    for name, label in (("subject", "subject"), ("body", "message")):
        text = form.cleaned_data.get(name, "")
        unknown = templating.unknown_placeholders(text)
        if unknown:
            names = ", ".join("{{ " + placeholder + " }}" for placeholder in unknown)
            context["errors"].append(
                f"The {label} uses {names}, which is not a placeholder: pick one from the list."
            )
            text = ""
        context[name] = templating.render(text, values, html=html) if text else ""
    context["shows_subject"] = action_type in SHOWN_FOR["subject"]
    context["is_manual"] = action_type in MANUAL_ACTION_TYPES
    return render(request, "workflows/_preview.html", context)
