import django_filters
from django import forms
from django.db.models import F, Q

from customers.models import Customer, Tag
from peakflo.models import User

from .customer_status import (
    Behaviour,
    filter_behaviour,
    kept_figures_run,
    listed,
    sort_figure,
    with_average_days_late,
)

DATE = {"type": "date"}
# Sort keys that order by a figure of the customer's invoices rather than a column of the customer.
MONEY_SORTS = ("balance", "overdue", "d90_plus")


class CustomerStatusForm(forms.Form):
    today = None  # set by the filter set

    def clean_as_of(self):
        value = self.cleaned_data.get("as_of")
        if value and self.today and value > self.today:
            raise forms.ValidationError(
                f"{value:%-d %b %Y} is in the future; choose today or an earlier date."
            )
        return value


class FigureOrdering(django_filters.OrderingFilter):
    """Sorts on the customer's columns or on a figure; rows without one sort last either way."""

    def get_ordering_value(self, param):
        value = super().get_ordering_value(param)
        name = value.lstrip("-")
        return F(name).desc(nulls_last=True) if value.startswith("-") else F(name).asc(nulls_last=True)

    def filter(self, qs, value):
        if not value:
            return qs
        for param in value:
            field = self.param_map.get(param.lstrip("-"), "")
            if field.startswith("sort_"):
                key = field.removeprefix("sort_")
                if self.parent.use_kept_figures():
                    # ordered by the view through KeptOrder; only the filters apply here
                    self.parent.kept_order = (key, param.startswith("-"))
                    return qs
                figure = sort_figure(key, today=self.parent.today, as_of=self.parent.as_of_day)
                qs = listed(qs).annotate(**{field: figure})
            elif field == "average_days_late":
                qs = with_average_days_late(listed(qs), as_of=self.parent.as_of_day)
        qs = super().filter(qs, value)
        return qs.order_by(*qs.query.order_by, "name", "pk")  # stable pages


class CustomerStatusFilter(django_filters.FilterSet):
    """Filters over the visible customers; figures are added only when a filter or the sort needs them."""

    as_of = django_filters.DateFilter(
        method="keep", label="As of", widget=forms.DateInput(attrs=DATE), help_text="Empty: today."
    )
    q = django_filters.CharFilter(method="search", label="Company name")
    behaviour = django_filters.ChoiceFilter(
        choices=Behaviour.CHOICES,
        method="filter_behaviour",
        label="Payment behaviour",
        empty_label="Any behaviour",
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
    sort = FigureOrdering(
        fields=(
            ("name", "name"),
            ("account_manager__name", "account_manager"),
            ("sort_balance", "balance"),
            ("sort_overdue", "overdue"),
            ("sort_d90_plus", "d90_plus"),
            ("average_days_late", "days_late"),
            ("promise_date", "promise_date"),
        ),
        empty_label=None,
    )

    class Meta:
        model = Customer
        fields = []
        form = CustomerStatusForm

    def __init__(self, data=None, *args, user, today, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.user = user
        self.today = today
        self.figures_run = None  # the kept figures the rows were ordered by, if any
        self.kept_order = None  # (figure, descending) when they were

    @property
    def form(self):
        form = super().form
        form.today = self.today
        return form

    @property
    def as_of_day(self):
        """The day the report is drawn for: today unless a valid past date was asked for."""
        if not self.is_bound:
            return self.today
        self.form.is_valid()  # a bad field elsewhere does not undo a good date
        return self.form.cleaned_data.get("as_of") or self.today

    def keep(self, queryset, name, value):
        return queryset  # as_of changes the figures, not which customers are listed

    def use_kept_figures(self):
        """Whether today's kept figures can order the rows (else they are ordered on live figures)."""
        if self.as_of_day == self.today:
            self.figures_run = kept_figures_run(self.today)
        return self.figures_run is not None

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value)) if value else queryset

    def filter_behaviour(self, queryset, name, value):
        return filter_behaviour(queryset, value, as_of=self.as_of_day) if value else queryset

    def filter_tag(self, queryset, name, value):
        # A subquery, not a join: joining the tags would multiply the rows.
        tagged = Customer.tags.through.objects.filter(tag=value).values("customer_id")
        return queryset.filter(pk__in=tagged) if value else queryset
