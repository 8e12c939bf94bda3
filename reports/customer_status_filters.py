import django_filters
from django import forms
from django.db.models import F, Q

from customers.models import Customer, Tag
from peakflo.models import User

from .customer_status import Behaviour

DATE = {"type": "date"}


class NullsLastOrdering(django_filters.OrderingFilter):
    """Customers without a promise or a payment history sort last, whichever the direction."""

    def get_ordering_value(self, param):
        value = super().get_ordering_value(param)
        name = value.lstrip("-")
        return F(name).desc(nulls_last=True) if value.startswith("-") else F(name).asc(nulls_last=True)

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        return qs.order_by(*qs.query.order_by, "name", "pk") if value else qs  # stable pages


class CustomerStatusFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Company name")
    behaviour = django_filters.ChoiceFilter(
        choices=Behaviour.CHOICES, label="Payment behaviour", empty_label="Any behaviour"
    )
    promise_from = django_filters.DateFilter(
        field_name="promise_date", lookup_expr="gte", label="Promise from", widget=forms.DateInput(attrs=DATE)
    )
    promise_to = django_filters.DateFilter(
        field_name="promise_date", lookup_expr="lte", label="Promise to", widget=forms.DateInput(attrs=DATE)
    )
    tag = django_filters.ModelChoiceFilter(
        queryset=Tag.objects.all(), method="filter_tag", label="Tag", empty_label="Any tag"
    )
    account_manager = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(is_active=True), empty_label="Any account manager"
    )
    sort = NullsLastOrdering(
        fields=(
            ("name", "name"),
            ("account_manager__name", "account_manager"),
            ("balance", "balance"),
            ("overdue", "overdue"),
            ("d90_plus", "d90_plus"),
            ("average_days_late", "days_late"),
            ("promise_date", "promise_date"),
        ),
        empty_label=None,
    )

    class Meta:
        model = Customer
        fields = []

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value)) if value else queryset

    def filter_tag(self, queryset, name, value):
        # A subquery, not a join: joining the tags would multiply the aging sums.
        tagged = Customer.tags.through.objects.filter(tag=value).values("customer_id")
        return queryset.filter(pk__in=tagged) if value else queryset
