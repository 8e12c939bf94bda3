"""The filters and sorting of the Invoice Status Tracking Report (rows from reports/invoice_status.py)."""

import django_filters
from django import forms
from django.db.models import F

from customers.models import Customer
from invoices.filters import InvoiceSearchMixin
from invoices.models import Invoice
from peakflo.models import User

STATUS_CHOICES = [
    ("open", "Open (all unpaid)"),
    ("overdue", "Overdue"),
    ("partly_paid", "Partly paid"),
    ("not_due", "Not yet due"),
    ("paid", "Paid"),
    ("void", "Void"),
]
DISPUTED_CHOICES = [("yes", "Disputed"), ("no", "Not disputed")]
DATE = forms.DateInput(attrs={"type": "date"})
NUMBER = forms.NumberInput(attrs={"min": "0", "inputmode": "numeric"})
MONEY = forms.NumberInput(attrs={"min": "0", "step": "0.01", "inputmode": "decimal"})


class InvoiceStatusFilter(InvoiceSearchMixin, django_filters.FilterSet):
    account_manager = django_filters.ModelChoiceFilter(
        field_name="customer__account_manager",
        queryset=User.objects.none(),
        label="Account manager",
        empty_label="Any account manager",
    )
    customer_name = django_filters.CharFilter(method="search_customer", label="Customer")
    q = django_filters.CharFilter(method="search_number", label="Invoice number")
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", empty_label="Any status"
    )
    overdue_min = django_filters.NumberFilter(
        field_name="days_late", lookup_expr="gte", label="Days overdue from", widget=NUMBER
    )
    overdue_max = django_filters.NumberFilter(
        field_name="days_late", lookup_expr="lte", label="Days overdue to", widget=NUMBER
    )
    due_from = django_filters.DateFilter(
        field_name="due_date", lookup_expr="gte", label="Due from", widget=DATE
    )
    due_to = django_filters.DateFilter(field_name="due_date", lookup_expr="lte", label="Due to", widget=DATE)
    disputed = django_filters.ChoiceFilter(
        choices=DISPUTED_CHOICES, method="filter_disputed", empty_label="Disputed or not"
    )
    amount_min = django_filters.NumberFilter(
        field_name="amount_due", lookup_expr="gte", label="Amount due from", widget=MONEY
    )
    amount_max = django_filters.NumberFilter(
        field_name="amount_due", lookup_expr="lte", label="Amount due to", widget=MONEY
    )
    sort = django_filters.OrderingFilter(
        fields=(
            ("customer__name", "customer"),
            ("customer__account_manager__name", "account_manager"),
            ("number", "number"),
            ("issue_date", "issue_date"),
            ("due_date", "due_date"),
            ("days_late", "days_overdue"),
            ("amount_due", "amount_due"),
            ("last_action_at", "last_action"),
            ("next_action_due", "next_action"),
        ),
        empty_label=None,
    )

    class Meta:
        model = Invoice
        fields = []

    def __init__(self, *args, user, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        # Only the account managers of customers this user may see: no names from elsewhere.
        managers = Customer.objects.visible_to(user).values("account_manager")
        self.filters["account_manager"].queryset = User.objects.filter(pk__in=managers).order_by("name")

    @property
    def qs(self):
        # Most overdue first unless the person sorted; the id breaks ties so pages never overlap.
        queryset = super().qs
        ordering = list(queryset.query.order_by) or ["-days_late", "due_date"]
        # Invoices without a last or next action sort after those with one, both ways.
        ordering = [self._nulls_last(field) for field in ordering]
        return queryset.order_by(*ordering, "-id")

    @staticmethod
    def _nulls_last(field):
        if not isinstance(field, str) or field.lstrip("-") not in ("last_action_at", "next_action_due"):
            return field
        name = field.lstrip("-")
        return F(name).desc(nulls_last=True) if field.startswith("-") else F(name).asc(nulls_last=True)

    def filter_disputed(self, queryset, name, value):
        return queryset.filter(open_dispute_id__isnull=(value == "no"))
