import datetime as dt
import re
from decimal import Decimal

from babel.numbers import list_currencies
from django import forms
from django.core.exceptions import ValidationError

from customers.models import Customer
from peakflo.uploads import check_spreadsheet

from .models import Invoice, PaymentMethod
from .services import LineInput

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
CURRENCIES = sorted(list_currencies())
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def suggest_invoice_number():
    """The next free number after the highest one shaped like PREFIX-0042, or INV-0001."""
    latest = Invoice.objects.filter(number__regex=r"^[A-Za-z-]*\d+$").order_by("-created_at", "-id").first()
    match = re.fullmatch(r"(.*?)(\d+)", latest.number) if latest else None
    prefix, digits = (match.group(1), match.group(2)) if match else ("INV-", "0000")
    value = int(digits)
    while True:
        value += 1
        number = f"{prefix}{value:0{len(digits)}d}"
        if not Invoice.objects.filter(number=number).exists():
            return number


class InvoiceForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), empty_label="Choose a customer")
    number = forms.CharField(label="Invoice number", max_length=64)
    issue_date = forms.DateField(widget=DATE)
    due_date = forms.DateField(
        widget=DATE, required=False, help_text="Leave empty for the customer's payment terms."
    )
    currency = forms.ChoiceField(
        choices=[("", "The customer's currency")] + [(c, c) for c in CURRENCIES], required=False
    )
    exchange_rate = forms.DecimalField(
        max_digits=18,
        decimal_places=8,
        min_value=Decimal("0.00000001"),
        initial=Decimal(1),
        help_text="Base currency per unit of this one.",
    )
    reference = forms.CharField(max_length=200, required=False, help_text="PO number or your own note.")

    # Once money has moved against an invoice only these may change.
    AFTER_PAYMENT = ("issue_date", "due_date", "reference")

    def __init__(self, *args, user, invoice=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        self.fields["customer"].queryset = Customer.objects.visible_to(user).order_by("name")
        if invoice is not None:
            # The customer stays: the invoice's history lives on that customer's timeline.
            del self.fields["customer"]
            if invoice.amount_paid > 0 or invoice.amount_credited > 0:
                for name in list(self.fields):
                    if name not in self.AFTER_PAYMENT:
                        del self.fields[name]

    def clean_number(self):
        number = self.cleaned_data["number"].strip()
        taken = Invoice.objects.filter(number=number)
        if self.invoice is not None:
            taken = taken.exclude(pk=self.invoice.pk)
        if taken.exists():
            raise ValidationError(f"Invoice {number} already exists.")
        return number

    def clean(self):
        data = super().clean()
        customer = data.get("customer") or (self.invoice.customer if self.invoice else None)
        issue_date = data.get("issue_date")
        if "due_date" in self.fields and not data.get("due_date") and issue_date and customer:
            data["due_date"] = issue_date + dt.timedelta(days=customer.payment_terms_days)
        if "currency" in self.fields and not data.get("currency") and customer:
            data["currency"] = customer.currency
        due_date = data.get("due_date")
        if issue_date and due_date and due_date < issue_date:
            self.add_error("due_date", "The due date cannot be before the issue date.")
        return data


class LineForm(forms.Form):
    description = forms.CharField(max_length=500)
    quantity = forms.DecimalField(
        max_digits=12, decimal_places=3, min_value=Decimal("0.001"), initial=Decimal(1)
    )
    unit_price = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    tax_rate = forms.DecimalField(
        label="Tax %", max_digits=5, decimal_places=2, min_value=0, max_value=100, initial=0, required=False
    )

    def as_line(self):
        data = self.cleaned_data
        return LineInput(
            description=data["description"].strip(),
            quantity=data["quantity"],
            unit_price=data["unit_price"],
            tax_rate=data.get("tax_rate") or Decimal(0),
        )


class BaseLineFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if not self.lines():
            raise ValidationError("Add at least one line.")

    def lines(self):
        """The lines to keep: every existing one not deleted, and every new one filled in."""
        return [
            form.as_line()
            for index, form in enumerate(self.forms)
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and (index < self.initial_form_count() or form.has_changed())
        ]


LineFormSet = forms.formset_factory(LineForm, formset=BaseLineFormSet, extra=1, can_delete=True)


def line_initial(invoice):
    return [
        {
            "description": line.description,
            "quantity": line.quantity.normalize(),
            "unit_price": line.unit_price,
            "tax_rate": line.tax_rate.normalize(),
        }
        for line in invoice.lines.all()
    ]


class MarkPaidForm(forms.Form):
    date = forms.DateField(label="Paid on", widget=DATE)
    method = forms.ChoiceField(choices=PaymentMethod.choices, initial=PaymentMethod.BANK_TRANSFER)
    reference = forms.CharField(max_length=200, required=False, help_text="Bank reference, cheque number…")


class VoidForm(forms.Form):
    reason = forms.CharField(
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Why (optional)"
    )


class ImportForm(forms.Form):
    file = forms.FileField(label="Excel (.xlsx) or CSV file")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        check_spreadsheet(upload)
        return upload
