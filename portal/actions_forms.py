"""Forms of the customer's actions in the portal. Invoice choices are always the signed-in customer's."""

from decimal import Decimal

from django import forms
from django.utils.text import format_lazy

from disputes.models import DisputeReason
from invoices.money import format_money
from peakflo.uploads import DOCUMENTS, IMAGES, upload_limit_lazy

from .actions_services import DOCUMENT_KINDS, MAX_MESSAGE_CHARS
from .selectors import open_invoices_of

ACCEPT = ",".join(sorted(IMAGES | DOCUMENTS))


def _file_field(label, *, required):
    return forms.FileField(
        label=label,
        required=required,
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
        help_text=format_lazy(
            "An image, a PDF, a Word or Excel document, or plain text; up to {}.", upload_limit_lazy()
        ),
    )


class DisputeForm(forms.Form):
    reason = forms.ModelChoiceField(
        queryset=DisputeReason.objects.filter(is_retired=False),
        empty_label="Choose a reason…",
        error_messages={"required": "Choose the reason for the dispute."},
    )
    comment = forms.CharField(
        label="Tell us more",
        required=False,
        max_length=MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    file = _file_field("Attach a file (optional)", required=False)


class DisputeReplyForm(forms.Form):
    body = forms.CharField(
        label="Your answer",
        required=False,
        max_length=MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    file = _file_field("Attach a file (optional)", required=False)

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("body") or "").strip() and not cleaned.get("file") and not self.errors:
            raise forms.ValidationError("Write an answer or attach a file.")
        return cleaned


class PromiseForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount", max_digits=14, decimal_places=2, min_value=Decimal("0.01"),
        error_messages={"required": "Give the amount you will pay."},
    )  # fmt: skip
    date = forms.DateField(
        label="By", widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Give the date you will pay by."},
    )  # fmt: skip


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(
        label="What is it?",
        choices=list(DOCUMENT_KINDS.items()),
        widget=forms.RadioSelect,
        error_messages={"required": "Choose proof of payment or tax certificate."},
    )
    file = _file_field("File", required=True)
    note = forms.CharField(label="Note (optional)", required=False, max_length=200)


class QuestionForm(forms.Form):
    body = forms.CharField(
        label="Your question",
        max_length=MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Write your question first."},
    )
    invoice = forms.ModelChoiceField(
        label="About an invoice (optional)",
        queryset=None,
        required=False,
        empty_label="No particular invoice",
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoice"].queryset = customer.invoices.exclude(status__in=["draft", "void"]).order_by(
            "-issue_date", "-pk"
        )


class InvoiceChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, invoice):
        return f"{invoice.number} · {format_money(invoice.amount_due, invoice.currency)} due {invoice.due_date:%d %b %Y}"


class PayForm(forms.Form):
    invoices = InvoiceChoices(
        label="Invoices to pay",
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one invoice to pay."},
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoices"].queryset = open_invoices_of(customer)


class PaidNoticeForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount paid", max_digits=14, decimal_places=2, min_value=Decimal("0.01"),
        error_messages={"required": "Give the amount you paid."},
    )  # fmt: skip
    date = forms.DateField(
        label="Paid on", widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Give the date you paid."},
    )  # fmt: skip
    reference = forms.CharField(label="Bank reference (optional)", required=False, max_length=200)
    invoices = InvoiceChoices(
        label="For invoices (optional)", queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    file = _file_field("Proof of payment (optional)", required=False)

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoices"].queryset = open_invoices_of(customer)
