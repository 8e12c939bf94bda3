"""Create an invoice by hand, and edit one that peakflo owns."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from customers.models import Customer
from peakflo.models import Company

from .. import services
from ..forms import InvoiceForm, LineFormSet, line_initial, suggest_invoice_number
from ..models import InvoiceStatus
from .access import require_write, visible_invoice

LINES = "lines"


def _line_formset(request, initial=None):
    """The line items; 'Add line' without JavaScript posts back for one more empty row."""
    if request.method != "POST":
        return LineFormSet(prefix=LINES, initial=initial), False
    data = request.POST.copy()
    adding = "add_line" in data
    if adding:
        data[f"{LINES}-TOTAL_FORMS"] = str(int(data.get(f"{LINES}-TOTAL_FORMS") or 0) + 1)
    return LineFormSet(data, prefix=LINES, initial=initial), adding


def _add_errors(form, error):
    fields = getattr(error, "error_dict", {})
    if fields and all(name in form.fields for name in fields):
        form.add_error(None, error)
    else:
        form.add_error(None, " ".join(error.messages))


@login_required
def invoice_add(request):
    require_write(request.user)
    today = Company.load().today()
    initial = {"number": suggest_invoice_number(), "issue_date": today, "exchange_rate": 1}
    chosen = Customer.objects.visible_to(request.user).filter(pk=request.GET.get("customer") or 0).first()
    if chosen:
        initial |= {
            "customer": chosen,
            "currency": chosen.currency,
            "due_date": today + dt.timedelta(days=chosen.payment_terms_days),
        }
    form = InvoiceForm(request.POST or None, user=request.user, initial=initial)
    lines, adding = _line_formset(request)
    if request.method == "POST" and not adding and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        try:
            invoice = services.issue_invoice(
                customer=data["customer"],
                number=data["number"],
                issue_date=data["issue_date"],
                due_date=data["due_date"],
                currency=data["currency"],
                exchange_rate=data["exchange_rate"],
                reference=data["reference"],
                lines=lines.lines(),
                issued_by=request.user,
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Invoice {invoice.number} is issued to {invoice.customer.name}.")
            return redirect("invoice_detail", pk=invoice.pk)
    terms = {str(c.pk): [c.payment_terms_days, c.currency] for c in form.fields["customer"].queryset.only(
        "pk", "payment_terms_days", "currency")}  # fmt: skip
    context = {"form": form, "lines": lines, "invoice": None, "customer_terms": terms, "amounts_fixed": False}
    return render(request, "invoices/form.html", context)


@login_required
def invoice_edit(request, pk):
    invoice = visible_invoice(request.user, pk)
    require_write(request.user)
    if invoice.is_read_only or invoice.status == InvoiceStatus.VOID:
        refusal = (
            f"Invoice {invoice.number} came from the accounting system, so it cannot be edited here. "
            "Change it in the accounting system; the next sync brings the change to peakflo."
            if invoice.is_read_only
            else f"Invoice {invoice.number} is void and cannot be edited."
        )
        messages.error(request, refusal)
        return redirect("invoice_detail", pk=invoice.pk)

    amounts_fixed = services.has_money_against(invoice)
    initial = {name: getattr(invoice, name) for name in ("number", "issue_date", "due_date", "currency",
                                                          "exchange_rate", "reference")}  # fmt: skip
    form = InvoiceForm(request.POST or None, user=request.user, invoice=invoice, initial=initial)
    lines, adding = (None, False) if amounts_fixed else _line_formset(request, initial=line_initial(invoice))
    if request.method == "POST" and not adding and form.is_valid() and (lines is None or lines.is_valid()):
        try:
            services.update_invoice(
                invoice=invoice,
                actor=request.user,
                lines=lines.lines() if lines is not None else None,
                **form.cleaned_data,
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Invoice {invoice.number} is saved.")
            return redirect("invoice_detail", pk=invoice.pk)
    context = {
        "form": form,
        "lines": lines,
        "invoice": invoice,
        "customer_terms": {},
        "amounts_fixed": amounts_fixed,
    }
    return render(request, "invoices/form.html", context)
