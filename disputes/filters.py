import datetime as dt

import django_filters
from django.db.models import Q

from peakflo.models import User

from .models import Dispute, DisputeReason, DisputeStatus

STATUS_CHOICES = [("open", "Open"), ("resolved", "Resolved"), ("all", "Open and resolved")]
AGE_CHOICES = [("lt7", "Under 7 days"), ("7to30", "7–30 days"), ("gt30", "Over 30 days")]


class DisputeFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Customer or invoice")
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES, method="filter_status", empty_label=None)
    reason = django_filters.ModelChoiceFilter(queryset=DisputeReason.objects.all(), empty_label="Any reason")
    age = django_filters.ChoiceFilter(choices=AGE_CHOICES, method="filter_age", empty_label="Any age")
    account_manager = django_filters.ModelChoiceFilter(
        field_name="customer__account_manager",
        queryset=User.objects.filter(is_active=True).order_by("name", "email"),
        empty_label="Any account manager",
    )
    sort = django_filters.OrderingFilter(
        fields=(
            ("raised_at", "raised_at"),
            ("invoice__number", "invoice"),
            ("customer__name", "customer"),
            ("reason__name", "reason"),
            ("invoice__amount_due", "amount_due"),
        ),
        empty_label=None,
    )

    class Meta:
        model = Dispute
        fields = []

    def __init__(self, data=None, *args, now, **kwargs):
        # Open disputes unless the person asked for others: the list is a to-do list first.
        data = data.copy() if data is not None else {}
        if not data.get("status"):
            data["status"] = "open"
        super().__init__(data, *args, **kwargs)
        self.now = now

    @property
    def qs(self):
        # Newest first unless the person sorted; the id breaks ties so pages never overlap.
        queryset = super().qs
        ordering = list(queryset.query.order_by) if queryset.query.order_by else ["-raised_at"]
        return queryset.order_by(*ordering, "-id")

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(customer__name__icontains=value)
            | Q(customer__code__icontains=value)
            | Q(invoice__number__icontains=value)
        )

    def filter_status(self, queryset, name, value):
        if value in (DisputeStatus.OPEN, DisputeStatus.RESOLVED):
            return queryset.filter(status=value)
        return queryset

    def filter_age(self, queryset, name, value):
        week_ago = self.now - dt.timedelta(days=7)
        month_ago = self.now - dt.timedelta(days=30)
        match value:
            case "lt7":
                return queryset.filter(raised_at__gt=week_ago)
            case "7to30":
                return queryset.filter(raised_at__lte=week_ago, raised_at__gt=month_ago)
            case "gt30":
                return queryset.filter(raised_at__lte=month_ago)
        return queryset
