"""The Invoice Status Tracking Report: django-filter + HTMX, sorting, pages, and an Excel export of the same rows."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone

from peakflo.models import Company
from peakflo.spreadsheets import write_xlsx

from .invoice_status import invoice_status_rows
from .invoice_status_filters import InvoiceStatusFilter

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filtered_rows(request, today):
    rows = invoice_status_rows(request.user, today=today)
    return InvoiceStatusFilter(request.GET or None, queryset=rows, user=request.user, today=today)


def _bad_filters(filterset):
    """'Days overdue from: Enter a number.' for each filter that could not be read (none when unbound)."""
    if not filterset.is_bound or filterset.is_valid():
        return []
    form = filterset.form
    return [
        f"{form.fields[name].label or name}: {error}"
        for name, errors in form.errors.items()
        for error in errors
    ]


def status_label(invoice):
    """The same words as the status badge (templates/invoices/_status.html)."""
    if invoice.days_late:
        return "Overdue"
    if invoice.is_partially_paid:
        return "Partly paid"
    return invoice.get_status_display()


@login_required
def invoice_status_report(request):
    today = Company.load().today()
    filterset = _filtered_rows(request, today)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter": filterset,
        "page": page,
        "today": today,
        "query": request.GET.copy(),
        "bad_filters": _bad_filters(filterset),
        "filtered": any(value for key, value in request.GET.items() if key not in ("page", "sort")),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "reports/invoice_status_table.html", context)
    return render(request, "reports/invoice_status.html", context)


@login_required
def invoice_status_export(request):
    company = Company.load()
    filterset = _filtered_rows(request, company.today())
    if bad := _bad_filters(filterset):
        # Never export more than was asked for: say which filter is wrong instead.
        return HttpResponseBadRequest("The export was not made. " + " ".join(bad), content_type="text/plain")
    invoices = filterset.qs
    headers = ["Customer ID", "Customer", "Account manager", "Invoice number", "Issue date", "Due date",
               "Days overdue", "Currency", "Amount due", "Status", "Disputed", "Last action",
               "Last action at", "Next action", "Next action due"]  # fmt: skip
    rows = (
        [
            i.customer.code,
            i.customer.name,
            i.customer.account_manager.get_full_name() if i.customer.account_manager else "",
            i.number,
            i.issue_date,
            i.due_date,
            i.days_late,
            i.currency,
            i.amount_due,
            status_label(i),
            "Yes" if i.open_dispute_id else "No",
            i.last_action,
            # Excel has no time zones: the company's local time, without its offset.
            i.last_action_at.astimezone(company.tz).replace(tzinfo=None) if i.last_action_at else None,
            i.next_action_name or "",
            i.next_action_due,
        ]
        for i in invoices.iterator(chunk_size=2000)
    )
    response = HttpResponse(write_xlsx(headers, rows, sheet_title="Invoice status"), content_type=XLSX)
    filename = f"invoice-status-{timezone.localdate():%Y-%m-%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
