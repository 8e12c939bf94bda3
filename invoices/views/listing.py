"""The invoice list: django-filter + HTMX, sorting, pages, and an Excel export of the same rows."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from disputes.selectors import with_open_dispute
from peakflo.models import Company
from peakflo.queries import CappedPaginator
from peakflo.spreadsheets import write_xlsx

from ..filters import InvoiceFilter
from ..models import Invoice

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filtered_invoices(request, today):
    # The open dispute's id flags (and links) a disputed invoice in the same query as the rows.
    invoices = with_open_dispute(
        Invoice.objects.visible_to(request.user).select_related("customer", "customer__account_manager")
    )
    return InvoiceFilter(request.GET or None, queryset=invoices, user=request.user, today=today)


def _status_label(invoice, today):
    if invoice.days_overdue(today):
        return "Overdue"
    if invoice.is_partially_paid:
        return "Partly paid"
    return invoice.get_status_display()


@login_required
def invoice_list(request):
    today = Company.load().today()
    filterset = _filtered_invoices(request, today)
    page = CappedPaginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter": filterset,
        "page": page,
        "today": today,
        "query": request.GET.copy(),
        "filtered": any(value for key, value in request.GET.items() if key not in ("page", "sort")),
        "chosen_customer": filterset.form.cleaned_data.get("customer") if filterset.is_valid() else None,
        "can_write": not request.user.is_read_only,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "invoices/_table.html", context)
    return render(request, "invoices/list.html", context)


@login_required
def invoice_export(request):
    today = Company.load().today()
    invoices = _filtered_invoices(request, today).qs
    headers = ["Invoice number", "Customer ID", "Customer", "Account manager", "Issue date", "Due date",
               "Currency", "Subtotal", "Tax", "Total", "Paid", "Credited", "Amount due", "Status",
               "Days overdue", "Reference", "Source"]  # fmt: skip
    rows = (
        [
            i.number,
            i.customer.code,
            i.customer.name,
            i.customer.account_manager.get_full_name() if i.customer.account_manager else "",
            i.issue_date,
            i.due_date,
            i.currency,
            i.subtotal,
            i.tax,
            i.total,
            i.amount_paid,
            i.amount_credited,
            i.amount_due,
            _status_label(i, today),
            i.days_overdue(today),
            i.reference,
            i.get_source_display(),
        ]
        for i in invoices.iterator(chunk_size=2000)
    )
    response = HttpResponse(write_xlsx(headers, rows, sheet_title="Invoices"), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="invoices-{timezone.localdate():%Y-%m-%d}.xlsx"'
    return response
