"""Credit control report: who is over their credit limit, with django-filter + HTMX, sorting, pages and an export."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import render

from customers.models import Customer
from peakflo.models import Company

from .analysis_views import money_cell, xlsx_response
from .credit_control import credit_control_rows, page_with_totals
from .credit_control_filters import CreditControlFilter
from .invoice_status_views import filter_errors
from .selectors import kept_figures_run

PAGE_SIZE = 50


def _filtered(request, today):
    # On a large book what customers owe is read from the figures kept for today, if any.
    figures_run = kept_figures_run(today)
    rows = credit_control_rows(request.user, today=today, figures_run=figures_run)
    return CreditControlFilter(request.GET or None, queryset=rows, user=request.user), figures_run


@login_required
def credit_control_report(request):
    company = Company.load()
    today = company.today()
    filterset, figures_run = _filtered(request, today)
    bad_filters = filter_errors(filterset)
    page, totals = page_with_totals(filterset.qs, request.GET.get("page"), PAGE_SIZE)
    context = {
        "filter": filterset,
        "page": page,
        "totals": totals,
        "today": today,
        "currency": company.base_currency,
        "figures_taken_at": figures_run.started_at if figures_run else None,
        "company": company,
        "query": request.GET.copy(),
        "bad_filters": bad_filters,
        "filtered": any(value for key, value in request.GET.items() if key not in ("page", "sort")),
        "sees_nothing": not totals.customers and not Customer.objects.visible_to(request.user).exists(),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "reports/credit_control_table.html", context)
    return render(request, "reports/credit_control.html", context)


@login_required
def credit_control_export(request):
    company = Company.load()
    today = company.today()
    filterset, _ = _filtered(request, today)
    if bad := filter_errors(filterset):
        # Never export more than was asked for: say which filter is wrong instead.
        return HttpResponseBadRequest("The export was not made. " + " ".join(bad), content_type="text/plain")
    currency = company.base_currency
    headers = ["Customer ID", "Customer", "Account manager", "Workflow", f"Credit limit ({currency})",
               "Credit limit (days overdue)", f"Exposure ({currency})", f"Overdue ({currency})",
               "Oldest days past due", f"Over by ({currency})", "Over by (days)", "On credit hold since"]  # fmt: skip

    def local(moment):
        # Excel has no time zones: the company's local time, without its offset.
        return moment.astimezone(company.tz).replace(tzinfo=None) if moment else None

    rows = (
        [
            c.code,
            c.name,
            c.account_manager.get_full_name() if c.account_manager else "",
            c.workflow_name or "",
            c.credit_limit_amount,
            c.credit_limit_days,
            money_cell(c.exposure),
            money_cell(c.overdue),
            c.days_overdue,
            money_cell(c.over_by_amount) if c.over_by_amount is not None else None,
            c.over_by_days,
            local(c.credit_hold_since),
        ]
        for c in filterset.qs.iterator(chunk_size=2000)
    )
    return xlsx_response("credit-control", headers, rows, sheet_title="Credit control", today=today)
