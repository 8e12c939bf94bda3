"""Writes on tasks (manual work for a person), each recorded on the customer's timeline, and the digest."""

import datetime as dt
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers import timeline
from customers.models import ActivityKind
from peakflo import emails

from .models import ActionType, Task, TaskStatus

SNOOZE_DAYS = (1, 3, 7)


def _owner_name(owner):
    return owner.get_full_name() if owner else "nobody"


def _record(task, *, actor, action, **data):
    timeline.record(
        task.customer,
        ActivityKind.TASK,
        invoice=task.invoice,
        actor=actor,
        data={"task": task.title, "action": action, **data},
    )


def _require_open(task):
    if task.status != TaskStatus.OPEN:
        raise ValidationError("This task is already done.")


@transaction.atomic
def create_task(*, customer, kind, title, due_on, actor, owner=None, details="", invoice=None):
    """A task for a person on a customer; while open and due later, it holds the automatic reminders."""
    if invoice is not None and invoice.customer_id != customer.pk:
        raise ValidationError(f"Invoice {invoice.number} does not belong to {customer}.")
    task = Task.objects.create(
        customer=customer,
        invoice=invoice,
        kind=kind,
        title=title,
        details=details,
        owner=owner,
        due_on=due_on,
        created_by=actor,
    )
    _record(
        task,
        actor=actor,
        action="created",
        type=ActionType(kind).label,
        owner=_owner_name(owner),
        due=due_on.isoformat(),
    )
    return task


@transaction.atomic
def complete_task(*, task, outcome, actor):
    task = Task.objects.select_for_update().get(pk=task.pk)
    _require_open(task)
    task.status = TaskStatus.DONE
    task.outcome = outcome.strip()
    task.completed_at = timezone.now()
    task.save(update_fields=["status", "outcome", "completed_at"])
    _record(task, actor=actor, action="completed", outcome=task.outcome)
    return task


@transaction.atomic
def reschedule_task(*, task, due_on, actor):
    task = Task.objects.select_for_update().get(pk=task.pk)
    _require_open(task)
    was = task.due_on
    task.due_on = due_on
    task.save(update_fields=["due_on"])
    _record(task, actor=actor, action="rescheduled", due=due_on.isoformat(), was=was.isoformat())
    return task


@transaction.atomic
def snooze_task(*, task, days, actor, today):
    """Push the task `days` days later, counted from today or from its due date if that is later."""
    if days not in SNOOZE_DAYS:
        raise ValidationError(f"Snooze for {', '.join(map(str, SNOOZE_DAYS))} days.")
    task = Task.objects.select_for_update().get(pk=task.pk)
    _require_open(task)
    was = task.due_on
    task.due_on = max(today, was) + dt.timedelta(days=days)
    task.save(update_fields=["due_on"])
    _record(
        task,
        actor=actor,
        action=f"snoozed {days} day{'s' if days > 1 else ''}",
        due=task.due_on.isoformat(),
        was=was.isoformat(),
    )
    return task


def send_daily_task_digests(today):
    """Email each owner their overdue and today's open tasks; owners with none get nothing.

    Returns how many emails were sent.
    """
    tasks = (
        Task.objects.filter(status=TaskStatus.OPEN, due_on__lte=today, owner__is_active=True)
        .exclude(owner__email="")
        .select_related("owner", "customer", "invoice")
        .order_by("owner_id", "due_on", "id")
    )
    per_owner = defaultdict(list)
    for task in tasks:
        per_owner[task.owner].append(task)
    for owner, owned in per_owner.items():
        emails.task_digest(
            owner=owner,
            overdue=[task for task in owned if task.due_on < today],
            due_today=[task for task in owned if task.due_on == today],
            today=today,
        )
    return len(per_owner)
