from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from peakflo.models import Company, Role, User
from peakflo.spreadsheets import write_xlsx

from ..filters import CustomerFilter
from ..selectors import customers_with_balances
from .bulk import list_context

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filtered_customers(request):
    today = Company.load().today()
    customers = customers_with_balances(request.user, today=today)
    return CustomerFilter(request.GET or None, queryset=customers, today=today)


@login_required
def customer_list(request):
    filterset = _filtered_customers(request)
    customers = filterset.qs if filterset.is_bound else filterset.queryset.order_by("name")
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter": filterset,
        "page": page,
        "query": request.GET.copy(),
        "sees_nothing": not page.paginator.count and not filterset.queryset.exists(),
        "whom_to_ask": User.objects.filter(role__in=[Role.ADMIN, Role.AR_ADMIN], is_active=True)[:3],
        **list_context(request.user),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "customers/_table.html", context)
    return render(request, "customers/list.html", context)


@login_required
def customer_export(request):
    filterset = _filtered_customers(request)
    customers = filterset.qs if filterset.is_bound else filterset.queryset.order_by("name")
    headers = ["Customer ID", "Name", "Currency", "Balance", "Overdue", "Open invoices", "Account manager",
               "Workflow", "Payment terms (days)"]  # fmt: skip
    rows = (
        [
            c.code,
            c.name,
            c.currency,
            c.balance,
            c.overdue,
            c.open_invoices,
            c.account_manager.get_full_name() if c.account_manager else "",
            c.workflow.name if c.workflow else "",
            c.payment_terms_days,
        ]  # fmt: skip
        for c in customers.iterator(chunk_size=2000)
    )
    response = HttpResponse(write_xlsx(headers, rows, sheet_title="Customers"), content_type=XLSX)
    filename = f"customers-{timezone.localdate():%Y-%m-%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
