"""The invoice page and its actions: void, mark paid, attach a file."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from customers.models import CustomerFile
from customers.views.files import FileForm, attach_from_request, file_response
from peakflo.models import Company

from .. import services
from ..forms import MarkPaidForm, VoidForm
from ..models import InvoiceStatus
from .access import require_write, visible_invoice


def _error_text(error):
    return " ".join(error.messages)


@login_required
def invoice_detail(request, pk):
    invoice = visible_invoice(request.user, pk)
    today = Company.load().today()
    can_write = not request.user.is_read_only
    is_open = invoice.status == InvoiceStatus.OPEN and invoice.amount_due > 0
    context = {
        "invoice": invoice,
        "customer": invoice.customer,
        "today": today,
        "days_overdue": invoice.days_overdue(today),
        "lines": invoice.lines.all(),
        "allocations": invoice.allocations.select_related("payment", "payment__created_by").order_by(
            "-payment__date", "-pk"
        ),
        "credit_notes": invoice.credit_notes.select_related("created_by", "approved_by"),
        "files": invoice.files.select_related("uploaded_by"),
        "can_write": can_write,
        "can_edit": can_write and not invoice.is_read_only and invoice.status != InvoiceStatus.VOID,
        "void_refusal": services.void_refusal(invoice),
        "can_mark_paid": can_write and is_open,
        "mark_paid_form": MarkPaidForm(initial={"date": today}),
        "attach_form": FileForm(),
    }
    return render(request, "invoices/detail.html", context)


@login_required
def invoice_void(request, pk):
    """GET asks to confirm; POST voids."""
    invoice = visible_invoice(request.user, pk)
    require_write(request.user)
    form = VoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.void_invoice(invoice=invoice, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, f"Invoice {invoice.number} is void.")
        return redirect("invoice_detail", pk=invoice.pk)
    # Say why voiding is refused before asking to confirm it.
    context = {"invoice": invoice, "form": form, "blocked": services.void_refusal(invoice)}
    return render(request, "invoices/void.html", context)


@login_required
@require_POST
def invoice_mark_paid(request, pk):
    invoice = visible_invoice(request.user, pk)
    require_write(request.user)
    form = MarkPaidForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the date the invoice was paid.")
        return redirect("invoice_detail", pk=invoice.pk)
    try:
        services.mark_invoice_paid(invoice=invoice, actor=request.user, **form.cleaned_data)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, _error_text(error) if isinstance(error, ValidationError) else str(error))
    else:
        messages.success(request, f"Invoice {invoice.number} is paid; the payment is on the timeline.")
    return redirect("invoice_detail", pk=invoice.pk)


@login_required
@require_POST
def invoice_attach(request, pk):
    invoice = visible_invoice(request.user, pk)
    require_write(request.user)
    attach_from_request(request, customer=invoice.customer, invoice=invoice)
    return redirect("invoice_detail", pk=invoice.pk)


@login_required
def invoice_file(request, pk, file_pk):
    """Attachments are served through the invoice's visibility, never from a public folder."""
    invoice = visible_invoice(request.user, pk)
    return file_response(
        get_object_or_404(CustomerFile, pk=file_pk, invoice=invoice, customer=invoice.customer)
    )


@login_required
@require_POST
def invoice_reminders(request, pk):
    """Pause (with a reason) or resume the invoice's automatic reminders."""
    invoice = visible_invoice(request.user, pk)
    require_write(request.user)
    paused = request.POST.get("action") == "pause"
    try:
        services.set_invoice_reminders(
            invoice=invoice, paused=paused, reason=request.POST.get("reason", ""), actor=request.user
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, f"Reminders for {invoice.number} {'paused' if paused else 'resumed'}.")
    return redirect("invoice_detail", pk=invoice.pk)
