import django_filters
from django import forms
from django.db.models import F, Q

from customers.models import Customer
from peakflo.models import User
from peakflo.queries import distinct_values

from .models import Invoice, InvoiceStatus

STATUS_CHOICES = [
    ("open", "Open (all unpaid)"),
    ("overdue", "Overdue"),
    ("partly_paid", "Partly paid"),
    ("not_due", "Not yet due"),
    ("paid", "Paid"),
    ("void", "Void"),
    ("draft", "Draft"),
]
DATE = forms.DateInput(attrs={"type": "date"})


class InvoiceSearchMixin:
    """Invoice number/reference and customer searches and the derived statuses, for every invoice list.

    The filter set using it sets `self.today` (the company's today) for overdue and not-yet-due.
    """

    def search_number(self, queryset, name, value):
        value = value.strip()
        return (
            queryset.filter(Q(number__icontains=value) | Q(reference__icontains=value)) if value else queryset
        )

    def search_customer(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(customer__name__icontains=value) | Q(customer__code__icontains=value))

    def filter_status(self, queryset, name, value):
        open_due = Q(status=InvoiceStatus.OPEN, amount_due__gt=0)
        match value:
            case "open":
                return queryset.filter(open_due)
            case "overdue":
                return queryset.filter(open_due, due_date__lt=self.today)
            case "not_due":
                return queryset.filter(open_due, due_date__gte=self.today)
            case "partly_paid":
                return queryset.filter(open_due, amount_due__lt=F("total"))
            case _:
                return queryset.filter(status=value)


class InvoiceFilter(InvoiceSearchMixin, django_filters.FilterSet):
    q = django_filters.CharFilter(method="search_number", label="Invoice number")
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", empty_label="Any status"
    )
    account_manager = django_filters.ModelChoiceFilter(
        field_name="customer__account_manager",
        queryset=User.objects.filter(is_active=True).order_by("name"),
        empty_label="Any account manager",
    )
    customer = django_filters.ModelChoiceFilter(queryset=Customer.objects.none(), widget=forms.HiddenInput)
    customer_name = django_filters.CharFilter(method="search_customer", label="Customer")
    issued_from = django_filters.DateFilter(field_name="issue_date", lookup_expr="gte", widget=DATE)
    issued_to = django_filters.DateFilter(field_name="issue_date", lookup_expr="lte", widget=DATE)
    due_from = django_filters.DateFilter(field_name="due_date", lookup_expr="gte", widget=DATE)
    due_to = django_filters.DateFilter(field_name="due_date", lookup_expr="lte", widget=DATE)
    currency = django_filters.ChoiceFilter(choices=(), empty_label="Any currency")
    sort = django_filters.OrderingFilter(
        fields=(
            ("number", "number"),
            ("customer__name", "customer"),
            ("issue_date", "issue_date"),
            ("due_date", "due_date"),
            ("total", "total"),
            ("amount_due", "amount_due"),
        ),
        empty_label=None,
    )

    class Meta:
        model = Invoice
        fields = []

    def __init__(self, *args, user, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.filters["customer"].queryset = Customer.objects.visible_to(user)
        self.filters["currency"].extra["choices"] = [(c, c) for c in distinct_values(Invoice, "currency")]

    @property
    def qs(self):
        # Newest first unless the person sorted; the id breaks ties so pages never overlap.
        queryset = super().qs
        ordering = list(queryset.query.order_by) if queryset.query.order_by else ["-issue_date"]
        return queryset.order_by(*ordering, "-id")
