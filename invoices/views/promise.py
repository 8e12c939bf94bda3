"""A promise to pay one invoice, from its page: recorded (its reminders wait) or withdrawn."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .. import services
from ..money import format_money
from .access import require_write, visible_invoice


class NamedValueDateField(forms.DateField):
    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(
                f"“{value}” is not a date: write it as YYYY-MM-DD.", code="invalid"
            ) from None


class InvoicePromiseForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount",
        max_digits=14,
        decimal_places=2,
        error_messages={"required": "Give the amount promised.", "invalid": "The amount must be a number."},
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )
    date = NamedValueDateField(
        label="By", error_messages={"required": "Give the date the customer promised."}
    )


def _redirect(invoice):
    response = redirect("invoice_detail", pk=invoice.pk)
    response["Location"] += "#promise"
    return response


def _errors_text(errors):
    return " ".join(message for messages_ in errors.values() for message in messages_)


@login_required
@require_POST
def invoice_promise(request, pk):
    invoice = visible_invoice(request.user, pk)
    require_write(request.user)
    if request.POST.get("action") == "withdraw":
        try:
            services.withdraw_invoice_promise(invoice=invoice, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, f"Promise withdrawn: reminders for {invoice.number} follow the workflow again."
            )
        return _redirect(invoice)
    form = InvoicePromiseForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The promise was not saved. {_errors_text(form.errors)}")
        return _redirect(invoice)
    try:
        invoice = services.record_invoice_promise(invoice=invoice, actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, f"The promise was not saved. {' '.join(error.messages)}")
    else:
        messages.success(
            request,
            f"Promise to pay {format_money(invoice.promise_amount, invoice.currency)} by "
            f"{invoice.promise_date:%-d %b %Y} recorded: reminders for {invoice.number} wait until then.",
        )
    return _redirect(invoice)
