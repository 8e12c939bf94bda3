"""The Invoice Status Tracking Report: django-filter + HTMX, sorting, pages, and an Excel export of the same rows."""

from itertools import batched
from types import SimpleNamespace

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone

from peakflo.models import Company
from peakflo.queries import CappedPaginator
from peakflo.spreadsheets import write_xlsx

from .invoice_status import attach_actions, describe
from .invoice_status_filters import InvoiceStatusFilter

PAGE_SIZE = 50
# Counting every row of a large book costs more than the page itself; past this many the report
# says "more than 10,000" and pages through those (narrowing the filters, or the export, gives the rest).
EXPORT_FIELDS = (
    "pk", "number", "issue_date", "due_date", "currency", "total", "amount_due", "status", "balance",
    "customer__code", "customer__name", "customer__account_manager__name", "customer__account_manager__email",
)  # fmt: skip
CHUNK = 2000  # export rows read, and their actions looked up, at a time
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS_LABELS = {
    "overdue": "Overdue",
    "partly_paid": "Partly paid",
    "paid": "Paid",
    "void": "Void",
    "open": "Open",
}


class InvoicePaginator(CappedPaginator):
    """Pages of the report, each in a constant handful of queries whatever the size of the book.

    - the count stops past 10,000 rows (CappedPaginator); `more` says there were more;
    - a page is found as ids first (a narrow query: only what the sort needs), then its rows with
      every column for those ids, so the subqueries and joins run for 50 rows, not for the book;
    - in the default order (most overdue first) the overdue invoices, by due date, come before the
      others, by due date: two index-ordered walks instead of sorting every invoice.
    """

    def __init__(self, filterset, per_page):
        super().__init__(filterset.qs, per_page)
        self.rows = filterset.queryset
        self.view = filterset.view
        self.parts = filterset.default_order_parts()

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ids = self._ids(bottom, bottom + self.per_page)
        rows = {row.pk: row for row in self.rows.filter(pk__in=ids)}
        rows = attach_actions([rows[pk] for pk in ids], self.view)
        return self._get_page([describe(row, self.view) for row in rows], number, self)

    def _ids(self, bottom, top):
        if not self.parts:
            return list(self.object_list.values_list("pk", flat=True)[bottom:top])
        ids, skip = [], bottom
        for part in self.parts:
            wanted = top - bottom - len(ids)
            found = list(part.values_list("pk", flat=True)[skip : skip + wanted])
            ids += found
            if len(ids) == top - bottom:
                break
            # This part ran out: the next one starts where the page's rows beyond it begin.
            size = skip + len(found) if found else part.order_by().values("pk")[:skip].count()
            skip = max(0, skip - size)
        return ids


def _filtered_rows(request, company):
    return InvoiceStatusFilter(request.GET or None, user=request.user, today=company.today(), tz=company.tz)


def filter_errors(filterset):
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
    """The same words as the status badge."""
    return STATUS_LABELS[invoice.report_status]


@login_required
def invoice_status_report(request):
    company = Company.load()
    filterset = _filtered_rows(request, company)
    bad_filters = filter_errors(filterset)
    page = None
    if not bad_filters:
        page = InvoicePaginator(filterset, PAGE_SIZE).get_page(request.GET.get("page"))
    view = filterset.view
    context = {
        "filter": filterset,
        "page": page,
        "today": view.today,
        "as_of": view.as_of,
        "past": view.past,
        "query": request.GET.copy(),
        "bad_filters": bad_filters,
        "filtered": any(value for key, value in request.GET.items() if key not in ("page", "sort", "as_of")),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "reports/invoice_status_table.html", context)
    return render(request, "reports/invoice_status.html", context)


def export_rows(invoices, *, tz, view):
    """The export's rows, read from the database in chunks as the workbook is written."""
    # Plain values, not model instances: building 100,000 invoices, customers and users cost more
    # than reading them.
    rows = invoices.values(*EXPORT_FIELDS).iterator(chunk_size=CHUNK)
    for chunk in batched((SimpleNamespace(**row) for row in rows), CHUNK):
        yield from (
            _export_row(describe(i, view), tz=tz, past=view.past) for i in attach_actions(chunk, view)
        )


def _export_row(i, *, tz, past):
    row = [
        i.customer__code,
        i.customer__name,
        i.customer__account_manager__name or i.customer__account_manager__email or "",
        i.number,
        i.issue_date,
        i.due_date,
        i.days_late,
        i.currency,
        i.balance,
        status_label(i),
        "Yes" if i.open_dispute_id else "No",
        i.last_action,
        # Excel has no time zones: the company's local time, without its offset.
        i.last_action_at.astimezone(tz).replace(tzinfo=None) if i.last_action_at else None,
    ]
    if not past:
        row += [i.next_action_name or "", i.next_action_due]
    return row


@login_required
def invoice_status_export(request):
    company = Company.load()
    filterset = _filtered_rows(request, company)
    if bad := filter_errors(filterset):
        # Never export more than was asked for: say which filter is wrong instead.
        return HttpResponseBadRequest("The export was not made. " + " ".join(bad), content_type="text/plain")
    view = filterset.view
    headers = ["Customer ID", "Customer", "Account manager", "Invoice number", "Issue date", "Due date",
               "Days overdue", "Currency", "Amount due", "Status", "Disputed", "Last action",
               "Last action at"]  # fmt: skip
    if view.past:
        # What was scheduled next back then is not known: the column is left out, not left blank.
        headers = [f"{header} ({view.as_of:%Y-%m-%d})" if header in ("Days overdue", "Amount due", "Status")
                   else header for header in headers]  # fmt: skip
    else:
        headers += ["Next action", "Next action due"]
    rows = export_rows(filterset.qs, tz=company.tz, view=view)
    response = HttpResponse(write_xlsx(headers, rows, sheet_title="Invoice status"), content_type=XLSX)
    filename = f"invoice-status-{timezone.localdate():%Y-%m-%d}.xlsx"
    if view.past:
        filename = f"invoice-status-as-of-{view.as_of:%Y-%m-%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
