"""The dispute pages: the list and its Excel export, raising one from an invoice, the dispute with its
thread, a file of the thread, resolving. Every page starts from the visibility rule (404 outside it)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from customers.selectors import timeline_of
from invoices.forms import MarkPaidForm
from invoices.models import InvoiceStatus
from invoices.views.access import visible_invoice
from peakflo import uploads
from peakflo.models import Company
from peakflo.permissions import can_write, write_required
from peakflo.spreadsheets import write_xlsx

from . import services
from .filters import DisputeFilter
from .forms import CommentForm, RaiseDisputeForm, ResolveForm
from .models import DisputeComment
from .selectors import open_dispute_of, thread_of, visible_disputes

PAGE_SIZE = 50
RECENT_TIMELINE = 10
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def visible_dispute(user, pk):
    """The one access helper: a dispute of a customer outside the user's visibility answers 404."""
    return get_object_or_404(visible_disputes(user), pk=pk)


def _error_text(error):
    return " ".join(error.messages)


def _age_in_days(dispute, now):
    """Days a dispute has been (or was) open."""
    return ((dispute.resolved_at or now) - dispute.raised_at).days


# ---------- the list ----------


def _filtered_disputes(request, now):
    return DisputeFilter(request.GET, queryset=visible_disputes(request.user), now=now)


@login_required
def dispute_list(request):
    now = timezone.now()
    filterset = _filtered_disputes(request, now)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for dispute in page.object_list:
        dispute.age_days = _age_in_days(dispute, now)
    status = filterset.form.cleaned_data.get("status") if filterset.is_valid() else "open"
    context = {
        "filter": filterset,
        "page": page,
        "status": status,
        "query": request.GET.copy(),
        "filtered": any(value for key, value in request.GET.items() if key not in ("page", "sort", "status")),
        "sees_nothing": not page.paginator.count and not filterset.queryset.exists(),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "disputes/_table.html", context)
    return render(request, "disputes/list.html", context)


@login_required
def dispute_export(request):
    now = timezone.now()
    disputes = _filtered_disputes(request, now).qs
    headers = ["Dispute", "Invoice number", "Customer ID", "Customer", "Account manager", "Reason", "Status",
               "Raised on", "Raised by", "Days open", "Currency", "Invoice total", "Amount due", "Comment",
               "Resolved on", "Resolved by", "Resolution"]  # fmt: skip

    def raised_by(dispute):
        if dispute.raised_by_contact:
            return f"{dispute.raised_by_contact.name} (customer)"
        return dispute.raised_by_user.get_full_name() if dispute.raised_by_user else ""

    def local(moment):
        return timezone.localtime(moment).replace(tzinfo=None) if moment else None

    rows = (
        [
            d.pk,
            d.invoice.number,
            d.customer.code,
            d.customer.name,
            d.customer.account_manager.get_full_name() if d.customer.account_manager else "",
            d.reason.name,
            d.get_status_display(),
            local(d.raised_at),
            raised_by(d),
            _age_in_days(d, now),
            d.invoice.currency,
            d.invoice.total,
            d.invoice.amount_due,
            d.comment,
            local(d.resolved_at),
            d.resolved_by.get_full_name() if d.resolved_by else "",
            d.resolution,
        ]
        for d in disputes.iterator(chunk_size=2000)
    )
    response = HttpResponse(write_xlsx(headers, rows, sheet_title="Disputes"), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="disputes-{timezone.localdate():%Y-%m-%d}.xlsx"'
    return response


# ---------- raising one from an invoice ----------


@write_required
def dispute_raise(request, invoice_pk):
    """The invoice page's dialog posts here; without JavaScript, GET shows the same form as a page."""
    invoice = visible_invoice(request.user, invoice_pk)
    existing = open_dispute_of(invoice)
    if existing is not None:
        messages.info(request, f"Invoice {invoice.number} already has an open dispute.")
        return redirect("dispute_detail", pk=existing.pk)
    blocked = None
    if invoice.status != InvoiceStatus.OPEN:
        blocked = f"Invoice {invoice.number} is {invoice.get_status_display().lower()}: only an open invoice can be disputed."
    form = RaiseDisputeForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and not blocked and form.is_valid():
        try:
            services.raise_dispute(
                invoice=invoice,
                reason=form.cleaned_data["reason"],
                actor=request.user,
                comment=form.cleaned_data["comment"],
                upload=form.cleaned_data["file"],
            )
        except ValidationError as exc:
            error = _error_text(exc)
        else:
            manager = invoice.customer.account_manager
            told = f" {manager.get_full_name()} is emailed." if manager and manager != request.user else ""
            messages.success(
                request,
                f"Dispute raised on {invoice.number}: its reminders are paused until it is resolved.{told}",
            )
            return redirect("invoice_detail", pk=invoice.pk)
    status = 400 if request.method == "POST" else 200
    context = {"invoice": invoice, "form": form, "blocked": blocked, "error": error}
    return render(request, "disputes/raise.html", context, status=status)


# ---------- the dispute page ----------


def _render_dispute(request, dispute, *, comment_form=None, status=200):
    invoice = dispute.invoice
    customer = dispute.customer
    today = Company.load().today()
    writer = can_write(request.user)
    outstanding = invoice.status == InvoiceStatus.OPEN and invoice.amount_due > 0
    context = {
        "dispute": dispute,
        "invoice": invoice,
        "customer": customer,
        "today": today,
        "days_overdue": invoice.days_overdue(today),
        "thread": thread_of(dispute),
        "can_write": writer,
        "can_comment": writer and dispute.is_open,
        "comment_form": comment_form or CommentForm(),
        "can_mark_paid": writer and outstanding,
        "mark_paid_form": MarkPaidForm(initial={"date": today}),
        "can_credit": writer and outstanding,
        "can_edit_invoice": writer and not invoice.is_read_only and invoice.status != InvoiceStatus.VOID,
        "timeline": Paginator(timeline_of(customer), RECENT_TIMELINE).get_page(1),
        "kinds": [],
    }
    return render(request, "disputes/detail.html", context, status=status)


@login_required
def dispute_detail(request, pk):
    return _render_dispute(request, visible_dispute(request.user, pk))


@write_required
@require_POST
def dispute_comment(request, pk):
    dispute = visible_dispute(request.user, pk)
    if not dispute.is_open:
        messages.error(request, "This dispute is resolved: its thread is closed.")
        return redirect("dispute_detail", pk=dispute.pk)
    form = CommentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.add_comment(
                dispute=dispute,
                actor=request.user,
                body=form.cleaned_data["body"],
                upload=form.cleaned_data["file"],
            )
        except ValidationError as exc:
            form.add_error("file", _error_text(exc))
        else:
            messages.success(request, "Added to the thread and to the customer's timeline.")
            return redirect(reverse("dispute_detail", args=[dispute.pk]) + "#thread")
    return _render_dispute(request, dispute, comment_form=form, status=400)


@write_required
def dispute_resolve(request, pk):
    """GET asks to confirm with a resolution note; POST resolves."""
    dispute = visible_dispute(request.user, pk)
    if not dispute.is_open:
        messages.info(request, "This dispute is already resolved.")
        return redirect("dispute_detail", pk=dispute.pk)
    form = ResolveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.resolve_dispute(
                dispute=dispute, actor=request.user, resolution=form.cleaned_data["resolution"]
            )
        except ValidationError as exc:
            form.add_error(None, _error_text(exc))
        else:
            messages.success(
                request,
                f"Dispute on {dispute.invoice.number} resolved. Reminders resume from the next step that falls due; "
                "the ones missed meanwhile are not sent late.",
            )
            return redirect("dispute_detail", pk=dispute.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "disputes/resolve.html", {"dispute": dispute, "form": form}, status=status)


@login_required
def dispute_file(request, pk, comment_pk):
    """A file of the thread, served only through the dispute's visibility, never from a public folder."""
    dispute = visible_dispute(request.user, pk)
    comment = get_object_or_404(DisputeComment, pk=comment_pk, dispute=dispute)
    if not comment.file:
        raise Http404("No file on this comment")
    handle = comment.file.open("rb")
    content_type = uploads.sniff_content_type(handle) or "application/octet-stream"
    return FileResponse(
        handle,
        as_attachment=content_type not in uploads.IMAGES,
        filename=comment.filename or "file",
        content_type=content_type,
    )
