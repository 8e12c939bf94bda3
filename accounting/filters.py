"""Filters and sorting of the sync log: connection, status, trigger, the days the runs started."""

import datetime as dt

import django_filters
from django import forms
from django.db.models import F

from .models import Connection, SyncRun, SyncStatus, SyncTrigger

DATE = forms.DateInput(attrs={"type": "date"})


class SyncRunFilter(django_filters.FilterSet):
    connection = django_filters.ModelChoiceFilter(
        queryset=Connection.objects.order_by("provider", "tenant_name", "pk"),
        label="Organisation",
        empty_label="Every organisation",
    )
    status = django_filters.ChoiceFilter(choices=SyncStatus.choices, label="Status", empty_label="Any status")
    trigger = django_filters.ChoiceFilter(
        choices=SyncTrigger.choices, label="Started by", empty_label="Anything"
    )
    date_from = django_filters.DateFilter(method="filter_from", label="From", widget=DATE)
    date_to = django_filters.DateFilter(method="filter_to", label="To", widget=DATE)
    sort = django_filters.OrderingFilter(
        fields=(
            ("started_at", "started"),
            ("connection__tenant_name", "connection"),
            ("trigger", "trigger"),
            ("duration", "duration"),
            ("status", "status"),
            ("created", "created"),
            ("updated", "updated"),
            ("pushed", "pushed"),
            ("failed", "failed"),
        ),
        field_labels={
            "started_at": "Started",
            "connection__tenant_name": "Organisation",
            "trigger": "Started by",
            "duration": "Duration",
            "status": "Status",
            "created": "Created",
            "updated": "Updated",
            "pushed": "Pushed",
            "failed": "Failed",
        },
        label="Sort by",
        empty_label="Newest first",
    )

    class Meta:
        model = SyncRun
        fields = []

    def __init__(self, *args, tz, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = tz

    @property
    def qs(self):
        # Newest first unless sorted; the id breaks ties so pages never overlap; runs still going
        # (no duration yet) come last whichever the direction.
        queryset = super().qs
        ordering = list(queryset.query.order_by) or ["-started_at"]
        fields = []
        for field in ordering:
            if field in ("duration", "-duration"):
                field = (
                    F("duration").desc(nulls_last=True)
                    if field[0] == "-"
                    else F("duration").asc(nulls_last=True)
                )
            fields.append(field)
        return queryset.order_by(*fields, "-pk")

    def _day_start(self, day):
        return dt.datetime.combine(day, dt.time.min, tzinfo=self.tz)

    def filter_from(self, queryset, name, value):
        return queryset.filter(started_at__gte=self._day_start(value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(started_at__lt=self._day_start(value + dt.timedelta(days=1)))

    def problems(self):
        """What could not be read, for a person ("From: Enter a valid date.")."""
        form = self.form
        if form.is_valid():
            start, end = form.cleaned_data.get("date_from"), form.cleaned_data.get("date_to")
            if start and end and start > end:
                return [
                    f"The period starts on {start:%d %b %Y}, after it ends ({end:%d %b %Y}); swap the dates."
                ]
            return []
        return [
            f"{form.fields[name].label or name}: {error}" if name != "__all__" else error
            for name, errors in form.errors.items()
            for error in errors
        ]
