"""The Actions page: tasks of the visible customers, a task beside its customer's timeline, and writes."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from customers.models import Customer
from customers.selectors import timeline_of
from peakflo.models import Company
from peakflo.permissions import can_write, write_required
from peakflo.spreadsheets import write_xlsx

from . import task_services
from .task_filters import TaskFilter
from .task_forms import CompleteForm, RescheduleForm, SnoozeForm, TaskForm
from .task_selectors import GROUP_LABELS, visible_tasks, with_due_group

PAGE_SIZE = 50
RECENT_TIMELINE = 10
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def visible_task(user, pk):
    """The one access helper: a task of a customer outside the user's visibility answers 404."""
    return get_object_or_404(visible_tasks(user), pk=pk)


def _filtered_tasks(request, today):
    filterset = TaskFilter(
        request.GET, queryset=with_due_group(visible_tasks(request.user), today=today), user=request.user,
        today=today,
    )  # fmt: skip
    order = ["-completed_at", "-id"] if filterset.shows_done else ["due_on", "id"]
    return filterset, filterset.qs.order_by(*order)


@login_required
def task_list(request):
    today = Company.load().today()
    filterset, tasks = _filtered_tasks(request, today)
    page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for task in page.object_list:
        task.group_label = GROUP_LABELS[task.due_group]
    context = {
        "filter": filterset,
        "page": page,
        "today": today,
        "due": filterset.form.cleaned_data.get("due") if filterset.is_valid() else "open",
        "query": request.GET.copy(),
        "can_write": can_write(request.user),
    }
    if request.htmx and request.htmx.target == "task-list":
        return render(request, "actions/_list.html", context)
    return render(request, "actions/list.html", context)


@login_required
def task_export(request):
    today = Company.load().today()
    _, tasks = _filtered_tasks(request, today)
    headers = ["Due", "Status", "Type", "Task", "Customer ID", "Customer", "Invoice", "Owner", "Details",
               "Outcome", "Completed at"]  # fmt: skip
    rows = (
        [
            task.due_on,
            task.get_status_display(),
            task.get_kind_display(),
            task.title,
            task.customer.code,
            task.customer.name,
            task.invoice.number if task.invoice else "",
            task.owner.get_full_name() if task.owner else "",
            task.details,
            task.outcome,
            timezone.localtime(task.completed_at).replace(tzinfo=None) if task.completed_at else None,
        ]
        for task in tasks.iterator(chunk_size=2000)
    )
    response = HttpResponse(write_xlsx(headers, rows, sheet_title="Actions"), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="actions-{today:%Y-%m-%d}.xlsx"'
    return response


def _render_task(request, task, *, notice=None, error=None, forms=None, status=200):
    """The task beside its customer's recent timeline: the HTMX panel, or the whole page."""
    today = Company.load().today()
    in_panel = bool(request.htmx) and request.htmx.target == "task-panel"
    forms = forms or {}
    context = {
        "task": task,
        "customer": task.customer,
        "today": today,
        "in_panel": in_panel,
        "notice": notice,
        "error": error,
        "can_write": can_write(request.user),
        "complete_form": forms.get("complete") or CompleteForm(),
        "reschedule_form": forms.get("reschedule")
        or RescheduleForm(today=today, initial={"due_on": max(task.due_on, today) + dt.timedelta(days=1)}),
        "snooze_days": task_services.SNOOZE_DAYS,
        "timeline": Paginator(timeline_of(task.customer), RECENT_TIMELINE).get_page(1),
        "kinds": [],
    }
    template = "actions/_task_panel.html" if in_panel else "actions/detail.html"
    response = render(request, template, context, status=status)
    if notice and in_panel:
        response["HX-Trigger"] = "tasks-changed"
    return response


@login_required
def task_detail(request, pk):
    return _render_task(request, visible_task(request.user, pk))


def _after_write(request, task, *, notice, form_name=None, form=None, error=None):
    if error or (form is not None and not form.is_valid()):
        message = error or " ".join(" ".join(errors) for errors in form.errors.values())
        if request.htmx:
            forms = {form_name: form} if form is not None else None
            return _render_task(request, task, error=error, forms=forms)
        messages.error(request, message)
        return redirect("task_detail", pk=task.pk)
    if request.htmx:
        return _render_task(request, task, notice=notice)
    messages.success(request, notice)
    return redirect("task_detail", pk=task.pk)


@write_required
@require_POST
def task_complete(request, pk):
    task = visible_task(request.user, pk)
    form = CompleteForm(request.POST)
    if not form.is_valid():
        return _after_write(request, task, notice=None, form_name="complete", form=form)
    try:
        task = task_services.complete_task(
            task=task, outcome=form.cleaned_data["outcome"], actor=request.user
        )
    except ValidationError as error:
        return _after_write(request, task, notice=None, error=" ".join(error.messages))
    return _after_write(request, task, notice="Done: the outcome is on the customer's timeline.")


@write_required
@require_POST
def task_reschedule(request, pk):
    task = visible_task(request.user, pk)
    form = RescheduleForm(request.POST, today=Company.load().today())
    if not form.is_valid():
        return _after_write(request, task, notice=None, form_name="reschedule", form=form)
    try:
        task = task_services.reschedule_task(
            task=task, due_on=form.cleaned_data["due_on"], actor=request.user
        )
    except ValidationError as error:
        return _after_write(request, task, notice=None, error=" ".join(error.messages))
    return _after_write(request, task, notice=f"Rescheduled to {task.due_on:%-d %b %Y}.")


@write_required
@require_POST
def task_snooze(request, pk):
    task = visible_task(request.user, pk)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        return _after_write(request, task, notice=None, error="Snooze for 1, 3 or 7 days.")
    try:
        task = task_services.snooze_task(
            task=task, days=form.cleaned_data["days"], actor=request.user, today=Company.load().today()
        )
    except ValidationError as error:
        return _after_write(request, task, notice=None, error=" ".join(error.messages))
    return _after_write(request, task, notice=f"Snoozed until {task.due_on:%-d %b %Y}.")


@write_required
def task_add(request, customer_pk):
    customer = get_object_or_404(
        Customer.objects.visible_to(request.user).select_related("account_manager"), pk=customer_pk
    )
    today = Company.load().today()
    initial = {
        "owner": customer.account_manager,
        "due_on": request.GET.get("due") or today + dt.timedelta(days=1),
        "title": request.GET.get("title", ""),
        "kind": request.GET.get("kind", ""),
    }
    form = TaskForm(request.POST or None, customer=customer, today=today, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        task = task_services.create_task(
            customer=customer,
            kind=data["kind"],
            title=data["title"],
            details=data["details"],
            owner=data["owner"],
            due_on=data["due_on"],
            invoice=data["invoice"],
            actor=request.user,
        )
        messages.success(
            request, f"Task “{task.title}” created; automatic reminders wait until {task.due_on:%-d %b %Y}."
        )
        return redirect("customer_detail", pk=customer.pk)
    promise_follow_up = (
        customer.promise_date if customer.promise_date and customer.promise_date >= today else None
    )
    return render(
        request,
        "actions/task_form.html",
        {"form": form, "customer": customer, "today": today, "promise_follow_up": promise_follow_up},
    )
