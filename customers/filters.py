import django_filters
from django.db.models import Exists, OuterRef, Q

from invoices.models import Invoice, InvoiceStatus
from peakflo.models import User
from peakflo.queries import distinct_values
from workflows.models import Workflow

from .models import Customer, Tag


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or customer ID")
    account_manager = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(is_active=True), empty_label="Any account manager"
    )
    tag = django_filters.ModelChoiceFilter(
        field_name="tags", queryset=Tag.objects.all(), empty_label="Any tag"
    )
    workflow = django_filters.ModelChoiceFilter(queryset=Workflow.objects.all(), empty_label="Any workflow")
    has_overdue = django_filters.ChoiceFilter(
        method="filter_overdue",
        label="Overdue",
        choices=[("yes", "With overdue invoices"), ("no", "Nothing overdue")],
        empty_label="Any",
    )
    currency = django_filters.ChoiceFilter(choices=(), empty_label="Any currency")
    sort = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("code", "code"),
            ("balance", "balance"),
            ("overdue", "overdue"),
            ("account_manager__name", "account_manager"),
        ),
        empty_label=None,
    )

    class Meta:
        model = Customer
        fields = []

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.filters["currency"].extra["choices"] = [(c, c) for c in distinct_values(Customer, "currency")]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value)) if value else queryset

    def filter_overdue(self, queryset, name, value):
        if value not in ("yes", "no"):
            return queryset
        overdue = Invoice.objects.filter(
            customer=OuterRef("pk"), status=InvoiceStatus.OPEN, amount_due__gt=0, due_date__lt=self.today
        )
        return queryset.filter(Exists(overdue)) if value == "yes" else queryset.exclude(Exists(overdue))
