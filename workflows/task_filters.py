import datetime as dt

import django_filters
from django.db.models import Q

from customers.models import Customer
from peakflo.models import User

from .models import MANUAL_ACTION_TYPES, ActionType, TaskStatus
from .task_selectors import WEEK_DAYS

OWNER_ME, OWNER_ANYONE, OWNER_NOBODY = "me", "anyone", "nobody"
DUE_CHOICES = [
    ("open", "All open"),
    ("overdue", "Overdue"),
    ("today", "Today"),
    ("week", "This week"),
    ("later", "Later"),
    ("done", "Done"),
]
DEFAULTS = {"owner": OWNER_ME, "due": "open"}


class TaskFilter(django_filters.FilterSet):
    """The Actions page filters; missing values fall back to DEFAULTS (my open tasks)."""

    owner = django_filters.ChoiceFilter(method="filter_owner", choices=(), empty_label=None)
    kind = django_filters.ChoiceFilter(
        label="Type",
        choices=[(value, label) for value, label in ActionType.choices if value in MANUAL_ACTION_TYPES],
        empty_label="Any type",
    )
    customer = django_filters.ModelChoiceFilter(queryset=Customer.objects.none(), empty_label="Any customer")
    due = django_filters.ChoiceFilter(method="filter_due", choices=DUE_CHOICES, empty_label=None)

    def __init__(self, data=None, *args, user, today, **kwargs):
        data = data.copy() if data is not None else {}
        for name, value in DEFAULTS.items():
            if not data.get(name):
                data[name] = value
        super().__init__(data, *args, **kwargs)
        self.user, self.today = user, today
        owners = [(OWNER_ME, "Me"), (OWNER_ANYONE, "Anyone"), (OWNER_NOBODY, "Nobody")]
        if user.sees_all_customers:
            people = User.objects.filter(is_active=True).exclude(pk=user.pk).order_by("name")
            owners += [(str(person.pk), person.get_full_name()) for person in people]
        self.filters["owner"].extra["choices"] = owners
        self.filters["customer"].queryset = Customer.objects.visible_to(user).order_by("name")

    def filter_owner(self, queryset, name, value):
        if value == OWNER_ME:
            return queryset.filter(owner=self.user)
        if value == OWNER_NOBODY:
            return queryset.filter(owner__isnull=True)
        if value == OWNER_ANYONE:
            return queryset
        return queryset.filter(owner_id=value)

    def filter_due(self, queryset, name, value):
        today, week_end = self.today, self.today + dt.timedelta(days=WEEK_DAYS)
        if value == "done":
            return queryset.filter(status=TaskStatus.DONE)
        open_tasks = queryset.filter(status=TaskStatus.OPEN)
        conditions = {
            "overdue": Q(due_on__lt=today),
            "today": Q(due_on=today),
            "week": Q(due_on__gt=today, due_on__lte=week_end),
            "later": Q(due_on__gt=week_end),
        }
        return open_tasks.filter(conditions.get(value, Q()))

    @property
    def shows_done(self):
        return self.form.cleaned_data.get("due") == "done" if self.is_valid() else False
