"""Read queries about tasks: what a user may see, and what holds a customer's reminders."""

import datetime as dt

from django.db.models import Case, IntegerField, Q, Value, When

from customers.models import Customer

from .models import Task, TaskStatus

# Sections of the Actions page, in the order they are shown.
DUE_GROUPS = [
    (0, "overdue", "Overdue"),
    (1, "today", "Today"),
    (2, "week", "This week"),
    (3, "later", "Later"),
    (4, "done", "Done"),
]
GROUP_LABELS = {number: label for number, _, label in DUE_GROUPS}
WEEK_DAYS = 7


def visible_tasks(user):
    """Tasks go through their customer: a user sees the tasks of the customers they may see."""
    tasks = Task.objects.select_related("customer", "invoice", "owner")
    if user.is_authenticated and user.sees_all_customers and user.is_active:
        return tasks
    return tasks.filter(customer__in=Customer.objects.visible_to(user))


def with_due_group(tasks, *, today):
    """Annotate `due_group` (the numbers of DUE_GROUPS) computed in SQL, for grouping and sorting."""
    week_end = today + dt.timedelta(days=WEEK_DAYS)
    return tasks.annotate(
        due_group=Case(
            When(status=TaskStatus.DONE, then=Value(4)),
            When(due_on__lt=today, then=Value(0)),
            When(due_on=today, then=Value(1)),
            When(due_on__lte=week_end, then=Value(2)),
            default=Value(3),
            output_field=IntegerField(),
        )
    )


def task_holding_reminders(customer, *, today):
    """The open task with the latest future due date, which holds the automatic reminders; or None."""
    return (
        Task.objects.filter(customer=customer, status=TaskStatus.OPEN, due_on__gt=today)
        .order_by("-due_on", "-id")
        .first()
    )


def open_tasks_of(customer):
    return Task.objects.filter(customer=customer, status=TaskStatus.OPEN).select_related("owner")


def possible_owners(customer):
    """People who can see the customer and change things: the ones a task may go to."""
    from peakflo.models import ROLES_SEEING_ALL, Role, User

    writers_seeing_all = Q(role__in=ROLES_SEEING_ALL - {Role.AUDITOR}) | Q(is_superuser=True)
    on_customer = Q(pk=customer.account_manager_id) | Q(
        pk__in=Customer.default_viewers.through.objects.filter(customer=customer).values("user")
    )
    return User.objects.filter(is_active=True).filter(writers_seeing_all | on_customer).order_by("name")
