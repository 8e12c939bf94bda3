"""Creating a credit note: the invoice offered are the chosen customer's, the number is suggested."""

import re
from decimal import Decimal

from django import forms
from django.db.models.functions import Length

from customers.models import Customer
from peakflo.models import validate_currency

from .models import CreditNote, Invoice

NUMBER_PATTERN = re.compile(r"^(.*?)(\d+)$")


def next_credit_note_number():
    """The newest number plus one, keeping its prefix and width (CN-00041 → CN-00042); CN-00001 at first."""
    latest = CreditNote.objects.order_by("-created_at", "-id").values_list("number", flat=True).first()
    match = NUMBER_PATTERN.match(latest or "")
    prefix, width = (match.group(1), len(match.group(2))) if match else ("CN-", 5)
    same_prefix = (
        CreditNote.objects.filter(number__regex=rf"^{re.escape(prefix)}[0-9]+$")
        .order_by(Length("number").desc(), "-number")
        .values_list("number", flat=True)
        .first()
    )
    highest = int(same_prefix[len(prefix) :]) if same_prefix else 0
    candidate = f"{prefix}{highest + 1:0{width}d}"
    while CreditNote.objects.filter(number=candidate).exists():  # a number typed by hand in between
        highest += 1
        candidate = f"{prefix}{highest + 1:0{width}d}"
    return candidate


def creditable_invoices(customer):
    """Invoices a credit note can go against: approval needs them open with something due."""
    return Invoice.objects.filter(customer=customer).outstanding().order_by("-issue_date", "-id")


class CreditNoteForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), empty_label="Choose a customer")
    invoice = forms.ModelChoiceField(
        queryset=Invoice.objects.none(), required=False, empty_label="No invoice (credit on account)"
    )
    number = forms.CharField(max_length=64)
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
    reason = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Why the customer is credited"}),
    )

    def __init__(self, *args, user, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.visible_to(user).order_by("name")
        self.fields["invoice"].queryset = (
            creditable_invoices(customer) if customer else Invoice.objects.none()
        )
        self.fields["invoice"].label_from_instance = lambda invoice: (
            f"{invoice.number} · {invoice.amount_due} {invoice.currency} due"
        )

    def clean_currency(self):
        return self.cleaned_data["currency"].strip().upper()

    def clean_number(self):
        number = self.cleaned_data["number"].strip()
        if CreditNote.objects.filter(number=number).exists():
            raise forms.ValidationError(
                f"Credit note {number} already exists; {next_credit_note_number()} is free."
            )
        return number

    def clean(self):
        data = super().clean()
        invoice, amount = data.get("invoice"), data.get("amount")
        if invoice and amount and amount > invoice.amount_due:
            self.add_error(
                "amount",
                f"Invoice {invoice.number} has {invoice.amount_due} {invoice.currency} due; "
                "a credit note cannot be more than that.",
            )
        return data
