"""Filters and sorting of the Credit control report (rows from reports/credit_control.py)."""

import django_filters
from django.db.models import F, Q

from customers.models import Customer, managers_visible_to
from peakflo.models import User

OVER_CHOICES = [
    ("either", "Over in money or days"),
    ("amount", "Over in money"),
    ("days", "Over in days"),
]
HOLD_CHOICES = [("yes", "On credit hold"), ("no", "Not on hold")]
# Columns that may be empty (no limit of that kind, not on hold): last, whichever the direction.
NULLABLE = {"over_by_amount", "over_by_days", "credit_hold_since", "credit_limit_amount", "credit_limit_days"}


class CreditControlFilter(django_filters.FilterSet):
    account_manager = django_filters.ModelChoiceFilter(
        queryset=User.objects.none(), label="Account manager", empty_label="Any account manager"
    )
    over = django_filters.ChoiceFilter(
        choices=OVER_CHOICES, method="filter_over", label="Over the limit", empty_label="Over or on hold"
    )
    on_hold = django_filters.ChoiceFilter(
        choices=HOLD_CHOICES, method="filter_on_hold", label="Credit hold", empty_label="On hold or not"
    )
    q = django_filters.CharFilter(method="search", label="Customer")
    sort = django_filters.OrderingFilter(
        fields=(
            ("name", "customer"),
            ("account_manager__name", "account_manager"),
            ("workflow_name", "workflow"),
            ("credit_limit_amount", "limit_amount"),
            ("credit_limit_days", "limit_days"),
            ("exposure", "exposure"),
            ("overdue", "overdue"),
            ("days_overdue", "days_overdue"),
            ("over_by_amount", "over_by_amount"),
            ("over_by_days", "over_by_days"),
            ("credit_hold_since", "on_hold_since"),
        ),
        field_labels={
            "name": "Customer",
            "account_manager__name": "Account manager",
            "workflow_name": "Workflow",
            "credit_limit_amount": "Credit limit",
            "credit_limit_days": "Credit limit in days",
            "exposure": "Exposure",
            "overdue": "Overdue",
            "days_overdue": "Days late",
            "over_by_amount": "Over by",
            "over_by_days": "Days over",
            "credit_hold_since": "On hold since",
        },
        label="Sort by",
        empty_label="Largest exposure first",
    )

    class Meta:
        model = Customer
        fields = []

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the account managers of customers this user may see: no names from elsewhere.
        self.filters["account_manager"].queryset = managers_visible_to(user).order_by("name")

    @property
    def qs(self):
        # Largest exposure first unless the person sorted; the id breaks ties so pages never overlap.
        queryset = super().qs
        ordering = list(queryset.query.order_by) or ["-exposure", "name"]
        return queryset.order_by(*(self._nulls_last(field) for field in ordering), "pk")

    @staticmethod
    def _nulls_last(field):
        if not isinstance(field, str) or field.lstrip("-") not in NULLABLE:
            return field
        name = field.lstrip("-")
        return F(name).desc(nulls_last=True) if field.startswith("-") else F(name).asc(nulls_last=True)

    def filter_over(self, queryset, name, value):
        conditions = {
            "amount": Q(over_amount=True),
            "days": Q(over_days=True),
            "either": Q(over_amount=True) | Q(over_days=True),
        }
        return queryset.filter(conditions[value]) if value else queryset

    def filter_on_hold(self, queryset, name, value):
        return queryset.filter(credit_hold=(value == "yes")) if value else queryset

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value)) if value else queryset
