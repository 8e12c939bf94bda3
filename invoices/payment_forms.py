"""Recording a payment by hand, and uploading a payments file."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

from customers.models import Customer
from peakflo.models import validate_currency
from peakflo.uploads import check_spreadsheet

from .models import Invoice, PaymentMethod
from .services import money

ALLOCATION_PREFIX = "alloc-"


class PaymentForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), empty_label="Choose a customer")
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    currency = forms.CharField(
        max_length=3,
        validators=[validate_currency],
        widget=forms.TextInput(attrs={"size": 4, "maxlength": 3}),
    )
    method = forms.ChoiceField(choices=PaymentMethod.choices, initial=PaymentMethod.BANK_TRANSFER)
    reference = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Bank or cheque reference"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.visible_to(user).order_by("name")

    def clean_currency(self):
        return self.cleaned_data["currency"].strip().upper()


def open_invoices_of(customer):
    """The invoices a payment from `customer` can go to, oldest due first."""
    return Invoice.objects.filter(customer=customer).outstanding().order_by("due_date", "issue_date", "id")


def read_allocations(data, invoices):
    """Amounts typed against each invoice (`alloc-<pk>`): {invoice: amount or the raw text}, errors by pk."""
    amounts, errors = {}, {}
    for invoice in invoices:
        text = str(data.get(f"{ALLOCATION_PREFIX}{invoice.pk}", "")).strip().replace(",", "")
        if not text:
            continue
        try:
            value = Decimal(text)
            if not value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            errors[invoice.pk] = f"{text!r} is not an amount."
            amounts[invoice] = text
            continue
        if value < 0:
            errors[invoice.pk] = "cannot be negative."
        elif value != value.quantize(Decimal("0.01")):
            errors[invoice.pk] = "has more than two decimals."
        amounts[invoice] = value
    return amounts, errors


def fill_oldest_first(invoices, amount, currency):
    """Spread `amount` over the invoices in `currency`, oldest due first; {invoice: allocated}."""
    left, filled = money(amount), {}
    for invoice in invoices:
        if left <= 0:
            break
        if invoice.currency != currency:
            continue
        filled[invoice] = min(left, invoice.amount_due)
        left -= filled[invoice]
    return filled


class PaymentImportForm(forms.Form):
    file = forms.FileField(label="Payments file (.xlsx or .csv)")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size == 0:
            raise ValidationError("The file is empty.")
        check_spreadsheet(upload)
        return upload
