"""Credit notes: the list (pending first) and its export, creating one, four-eyes approval, voiding."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from customers.models import Customer
from customers.views.detail import require_write
from peakflo.models import Company
from peakflo.spreadsheets import write_xlsx

from .credit_note_forms import CreditNoteForm, creditable_invoices, next_credit_note_number
from .models import CreditNote, CreditNoteStatus, Invoice, InvoiceStatus
from .payment_filters import CreditNoteFilter
from .services import (
    approve_credit_note,
    can_approve_credit_note,
    can_void_credit_note,
    create_credit_note,
    void_credit_note,
)

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filtered_credit_notes(request):
    credit_notes = CreditNote.objects.visible_to(request.user).select_related(
        "customer", "invoice", "created_by", "approved_by"
    )
    return CreditNoteFilter(request.GET or None, queryset=credit_notes, user=request.user)


def _pending_first(filterset):
    credit_notes = filterset.qs if filterset.is_bound else filterset.queryset
    pending = Case(
        When(status=CreditNoteStatus.PENDING_APPROVAL, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return credit_notes.annotate(pending_last=pending).order_by("pending_last", "-date", "-id")


def visible_credit_note(user, pk):
    """Outsiders get 404, as for customers."""
    return get_object_or_404(
        CreditNote.objects.visible_to(user).select_related(
            "customer", "invoice", "created_by", "approved_by"
        ),
        pk=pk,
    )


@login_required
def credit_note_list(request):
    filterset = _filtered_credit_notes(request)
    page = Paginator(_pending_first(filterset), PAGE_SIZE).get_page(request.GET.get("page"))
    for credit_note in page.object_list:
        credit_note.can_approve = can_approve_credit_note(request.user, credit_note)
        credit_note.can_void = can_void_credit_note(request.user, credit_note)
    context = {
        "filter": filterset,
        "page": page,
        "query": request.GET.copy(),
        "sees_nothing": not page.paginator.count and not filterset.queryset.exists(),
        "pending_count": filterset.queryset.filter(status=CreditNoteStatus.PENDING_APPROVAL).count(),
        "can_write": not request.user.is_read_only,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "credit_notes/_table.html", context)
    return render(request, "credit_notes/list.html", context)


@login_required
def credit_note_export(request):
    credit_notes = _pending_first(_filtered_credit_notes(request))
    headers = ["Number", "Date", "Customer ID", "Customer name", "Invoice number", "Amount", "Currency", "Status",
               "Reason", "Created by", "Approved by", "Approved at"]  # fmt: skip
    rows = (
        [
            c.number,
            c.date.isoformat(),
            c.customer.code,
            c.customer.name,
            c.invoice.number if c.invoice else "",
            c.amount,
            c.currency,
            c.get_status_display(),
            c.reason,
            c.created_by.get_full_name() if c.created_by else "",
            c.approved_by.get_full_name() if c.approved_by else "",
            timezone.localtime(c.approved_at).strftime("%Y-%m-%d %H:%M") if c.approved_at else "",
        ]
        for c in credit_notes.iterator(chunk_size=2000)
    )
    response = HttpResponse(write_xlsx(headers, rows, sheet_title="Credit notes"), content_type=XLSX)
    response["Content-Disposition"] = (
        f'attachment; filename="credit-notes-{timezone.localdate():%Y-%m-%d}.xlsx"'
    )
    return response


@login_required
def credit_note_add(request):
    require_write(request.user)
    visible = Customer.objects.visible_to(request.user)
    initial = {"date": Company.load().today(), "number": next_credit_note_number()}
    customer = None
    if request.method == "POST":
        pk = request.POST.get("customer", "")
        customer = get_object_or_404(visible, pk=pk) if pk.isdigit() else None
    elif request.GET.get("invoice"):
        invoice = get_object_or_404(Invoice.objects.visible_to(request.user), pk=request.GET["invoice"])
        customer = invoice.customer
        initial.update(customer=customer, invoice=invoice, currency=invoice.currency)
    elif request.GET.get("customer"):
        customer = get_object_or_404(visible, pk=request.GET["customer"])
        initial.update(customer=customer, currency=customer.currency)
    form = CreditNoteForm(request.POST or None, initial=initial, user=request.user, customer=customer)
    service_errors = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            credit_note = create_credit_note(
                customer=data["customer"],
                invoice=data["invoice"],
                number=data["number"],
                date=data["date"],
                amount=data["amount"],
                currency=data["currency"],
                reason=data["reason"],
                created_by=request.user,
            )
        except ValidationError as error:
            service_errors = error.messages
        else:
            messages.success(
                request,
                f"Credit note {credit_note.number} for {credit_note.amount} {credit_note.currency} is waiting for "
                "approval by an AR admin, admin or collections colleague other than you.",
            )
            return redirect("credit_notes")
    status = 400 if form.errors or service_errors else 200
    context = {"form": form, "customer": customer, "service_errors": service_errors}
    return render(request, "credit_notes/add.html", context, status=status)


@login_required
def credit_note_invoice_options(request):
    """HTMX: the invoice select and currency for the chosen customer."""
    require_write(request.user)
    customer = None
    if request.GET.get("customer", "").isdigit():
        customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=request.GET["customer"])
    invoices = creditable_invoices(customer) if customer else Invoice.objects.none()
    return render(request, "credit_notes/_invoice_options.html", {"customer": customer, "invoices": invoices})


def _approval_blocker(credit_note):
    """Why approving would be refused by the invoice as it stands now, in words; None when it would go through."""
    invoice = credit_note.invoice
    if invoice is None or credit_note.status != CreditNoteStatus.PENDING_APPROVAL:
        return None
    if invoice.status != InvoiceStatus.OPEN:
        return f"Invoice {invoice.number} is {invoice.get_status_display().lower()}, so this credit cannot apply to it."
    if credit_note.amount > invoice.amount_due:
        return (
            f"Invoice {invoice.number} owes only {invoice.amount_due:,} {invoice.currency} now, less than this credit "
            f"of {credit_note.amount:,}; void this credit note and write a smaller one."
        )
    return None


def _act_on(request, pk, *, action, template, allowed):
    credit_note = visible_credit_note(request.user, pk)
    require_write(request.user)
    if request.method != "POST":
        context = {
            "credit_note": credit_note,
            "allowed": allowed(request.user, credit_note),
            "blocker": _approval_blocker(credit_note) if template.endswith("approve.html") else None,
        }
        return render(request, template, context)
    try:
        message = action(credit_note)
    except (ValidationError, PermissionDenied) as error:
        text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        messages.error(request, text)
    else:
        messages.success(request, message)
    return redirect("credit_notes")


@login_required
def credit_note_approve(request, pk):
    """GET asks to confirm; POST approves (never by its creator: the service refuses and says so)."""

    def approve(credit_note):
        credit_note = approve_credit_note(credit_note=credit_note, approver=request.user)
        target = f" against invoice {credit_note.invoice.number}" if credit_note.invoice else " on account"
        return f"Credit note {credit_note.number} approved: {credit_note.amount} {credit_note.currency} credited{target}."

    return _act_on(
        request,
        pk,
        action=approve,
        template="credit_notes/confirm_approve.html",
        allowed=can_approve_credit_note,
    )


@login_required
def credit_note_void(request, pk):
    """GET asks to confirm; POST voids, giving an approved note's amount back to its invoice."""

    def void(credit_note):
        was_approved = credit_note.status == CreditNoteStatus.APPROVED
        credit_note = void_credit_note(credit_note=credit_note, actor=request.user)
        text = f"Credit note {credit_note.number} is void."
        if was_approved and credit_note.invoice:
            text += f" Invoice {credit_note.invoice.number} owes its {credit_note.amount} {credit_note.currency} again."
        return text

    return _act_on(
        request, pk, action=void, template="credit_notes/confirm_void.html", allowed=can_void_credit_note
    )
