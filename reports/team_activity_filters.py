"""Filters of the Team activity report: period (days where the company works), person, account manager."""

import django_filters
from django import forms

from customers.models import Activity, managers_visible_to
from peakflo.models import User

from .team_activity import FIGURES, day_bounds

DATE = forms.DateInput(attrs={"type": "date"})
SORT_CHOICES = [
    ("user", "Person, A to Z"),
    ("-user", "Person, Z to A"),
    *((f"-{name}", f"Most {label.lower()}") for name, label, _ in FIGURES),
    ("-total", "Most in all"),
    *((name, f"Fewest {label.lower()}") for name, label, _ in FIGURES),
    ("total", "Fewest in all"),
]


class TeamActivityFilter(django_filters.FilterSet):
    date_from = django_filters.DateFilter(method="filter_period", label="From", widget=DATE)
    date_to = django_filters.DateFilter(method="filter_period", label="To", widget=DATE)
    user = django_filters.ModelChoiceFilter(
        field_name="actor_user", queryset=User.objects.none(), label="Person", empty_label="Everyone"
    )
    account_manager = django_filters.ModelChoiceFilter(
        field_name="customer__account_manager",
        queryset=User.objects.none(),
        label="Account manager",
        empty_label="Any account manager",
    )
    # Applied to the per-person totals (reports.team_activity._sorted), not to the entries.
    sort = django_filters.ChoiceFilter(choices=SORT_CHOICES, method="keep", label="Sort by", empty_label=None)

    class Meta:
        model = Activity
        fields = []

    def __init__(self, data, *args, user, tz, default_from, default_to, **kwargs):
        data = data.copy()
        # The period is always set: the last 30 days up to today unless chosen.
        for name, default in (("date_from", default_from), ("date_to", default_to)):
            if not data.get(name):
                data[name] = default.isoformat()
        super().__init__(data, *args, **kwargs)
        self.tz, self.default_period = tz, (default_from, default_to)
        self.filters["user"].queryset = User.objects.filter(is_active=True).order_by("name")
        self.filters["account_manager"].queryset = managers_visible_to(user).order_by("name")
        if not user.sees_all_customers:
            # An account manager's report is their own customers already.
            del self.filters["account_manager"]

    def period(self):
        """(from, to) as chosen, or the default one when a date is wrong or they are the wrong way round."""
        self.form.is_valid()
        start, end = self.form.cleaned_data.get("date_from"), self.form.cleaned_data.get("date_to")
        return (start, end) if start and end and start <= end else self.default_period

    def problems(self):
        """What could not be read, for a person: "From: Enter a valid date." and the like."""
        form = self.form
        problems = [
            f"{form.fields[name].label or name}: {error}"
            for name, errors in (form.errors if not form.is_valid() else {}).items()
            for error in errors
        ]
        start, end = form.cleaned_data.get("date_from"), form.cleaned_data.get("date_to")
        if start and end and start > end:
            problems.append(
                f"The period starts on {start:%d %b %Y}, after it ends ({end:%d %b %Y}); swap the dates."
            )
        return problems

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        since, until = day_bounds(*self.period(), self.tz)
        return queryset.filter(created_at__gte=since, created_at__lt=until)

    def filter_period(self, queryset, name, value):
        return queryset  # both ends together in filter_queryset, in the company's time zone

    def keep(self, queryset, name, value):
        return queryset
