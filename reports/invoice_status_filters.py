"""The filters and sorting of the Invoice Status Tracking Report (rows from reports/invoice_status.py).

The filter set reads its own "As of" date first and builds the rows for it, so every other filter
(status, days overdue, aging bucket, amount due) means what it meant at that date.
"""

import django_filters
from django import forms
from django.db.models import F

from customers.models import managers_visible_to
from invoices.filters import InvoiceSearchMixin
from invoices.models import Invoice, InvoiceStatus
from peakflo.models import User

from .invoice_status import BUCKET_CHOICES, View, invoice_status_rows

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
# Sorts whose empty values (no action) go last in both directions.
NULLS_LAST = ("last_action_at", "next_action_due")


def not_after(today):
    def validate(value):
        if value and value > today:
            raise forms.ValidationError(
                f"{value:%-d %b %Y} is in the future; choose today ({today:%-d %b %Y}) or an earlier day."
            )

    return validate


class InvoiceStatusFilter(InvoiceSearchMixin, django_filters.FilterSet):
    as_of = django_filters.DateFilter(method="keep", label="As of", widget=DATE)
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
    bucket = django_filters.ChoiceFilter(
        choices=BUCKET_CHOICES, method="filter_bucket", label="Aging", empty_label="Any age"
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
        field_name="balance", lookup_expr="gte", label="Amount due from", widget=MONEY
    )
    amount_max = django_filters.NumberFilter(
        field_name="balance", lookup_expr="lte", label="Amount due to", widget=MONEY
    )
    sort = django_filters.OrderingFilter(
        fields=(
            ("customer__name", "customer"),
            ("customer__account_manager__name", "account_manager"),
            ("number", "number"),
            ("issue_date", "issue_date"),
            ("due_date", "due_date"),
            ("days_late", "days_overdue"),
            ("balance", "amount_due"),
            ("last_action_at", "last_action"),
            ("next_action_due", "next_action"),
        ),
        empty_label=None,
    )

    class Meta:
        model = Invoice
        fields = []

    def __init__(self, data=None, *, user, today, tz, **kwargs):
        super().__init__(data, queryset=Invoice.objects.none(), **kwargs)
        self.today = today
        self.filters["as_of"].extra["validators"] = [not_after(today)]
        # Only the account managers of customers this user may see: no names from elsewhere.
        self.filters["account_manager"].queryset = managers_visible_to(user).order_by("name")
        as_of = None
        if self.is_bound:
            self.form.is_valid()
            as_of = self.form.cleaned_data.get("as_of")
        self.view = View(today=today, as_of=as_of or today, tz=tz)
        self.queryset = invoice_status_rows(user, view=self.view)

    @property
    def qs(self):
        # Most overdue first unless the person sorted; the id breaks ties so pages never overlap.
        queryset = super().qs
        ordering = list(queryset.query.order_by) or ["-days_late", "due_date"]
        ordering = [self._nulls_last(field) for field in ordering]
        return queryset.order_by(*ordering, "-id")

    def default_order_parts(self):
        """In the default order, the rows as two parts to page through one after the other, else None.

        Most overdue first is the overdue invoices by due date, then the others by due date: each
        part is walked in index order, where the days overdue of every row would have to be sorted.
        """
        if self.is_bound and self.form.is_valid() and self.form.cleaned_data.get("sort"):
            return None
        queryset = super().qs
        overdue = self.view.overdue()
        return [
            queryset.filter(overdue).order_by("due_date", "-id"),
            queryset.exclude(overdue).order_by("due_date", "-id"),
        ]

    @staticmethod
    def _nulls_last(field):
        if not isinstance(field, str) or field.lstrip("-") not in NULLS_LAST:
            return field
        name = field.lstrip("-")
        return F(name).desc(nulls_last=True) if field.startswith("-") else F(name).asc(nulls_last=True)

    def keep(self, queryset, name, value):
        return queryset  # the date is read in __init__: the rows are built for it

    def filter_status(self, queryset, name, value):
        view = self.view
        match value:
            case "open":
                return queryset.filter(view.owing())
            case "overdue":
                return queryset.filter(view.overdue())
            case "not_due":
                return queryset.filter(view.owing(), due_date__gte=view.as_of)
            case "partly_paid":
                return queryset.filter(view.owing(), balance__lt=F("total"))
            case "paid":
                return queryset.exclude(status=InvoiceStatus.VOID).exclude(view.owing())
            case _:
                return queryset.filter(status=value)

    def filter_bucket(self, queryset, name, value):
        return queryset.filter(self.view.bucket(value))

    def filter_disputed(self, queryset, name, value):
        return queryset.filter(open_dispute_id__isnull=(value == "no"))
