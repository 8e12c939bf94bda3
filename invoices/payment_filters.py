"""Filters of the payments and credit-note lists (django-filter); customers offered are the visible ones."""

import django_filters
from django import forms
from django.db.models import Q

from customers.models import Customer

from .models import CreditNote, CreditNoteStatus, Payment, PaymentMethod, PaymentSource

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class PaymentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Reference")
    customer = django_filters.ModelChoiceFilter(queryset=Customer.objects.none(), empty_label="Any customer")
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", label="From", widget=DATE_INPUT
    )
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label="To", widget=DATE_INPUT)
    method = django_filters.ChoiceFilter(choices=PaymentMethod.choices, empty_label="Any method")
    source = django_filters.ChoiceFilter(choices=PaymentSource.choices, empty_label="Any source")

    class Meta:
        model = Payment
        fields = []

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["customer"].queryset = Customer.objects.visible_to(user).order_by("name")

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(reference__icontains=value) if value else queryset


class CreditNoteFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Number or reason")
    status = django_filters.ChoiceFilter(choices=CreditNoteStatus.choices, empty_label="Any status")
    customer = django_filters.ModelChoiceFilter(queryset=Customer.objects.none(), empty_label="Any customer")

    class Meta:
        model = CreditNote
        fields = []

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["customer"].queryset = Customer.objects.visible_to(user).order_by("name")

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(number__icontains=value) | Q(reason__icontains=value)) if value else queryset
