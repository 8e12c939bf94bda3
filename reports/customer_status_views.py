"""Customer Status Tracking Report: the list, its Excel export, inline tags and promise, a task dialog."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from customers import services as customer_services
from customers.models import Customer
from customers.selectors import AGING_BUCKETS
from peakflo.models import Company
from peakflo.permissions import can_write, require_write, write_required
from peakflo.spreadsheets import write_xlsx
from workflows import task_services

from .customer_status import EXPORT_HEADERS, KeptOrder, customer_status_rows, export_rows
from .customer_status_filters import CustomerStatusFilter
from .customer_status_forms import PromiseForm, ReportTaskForm, TagsForm

PAGE_SIZE = 50
# The sort as a field too: phones show the table as cards, without its header links.
SORT_CHOICES = [
    ("", "Name"),
    ("-name", "Name, Z to A"),
    ("account_manager", "Account manager"),
    ("-balance", "Largest balance"),
    ("-overdue", "Most overdue"),
    ("-d90_plus", "Most over 90 days"),
    ("-days_late", "Slowest payers"),
    ("promise_date", "Earliest promise"),
]
# Columns a reader may hide (the "Columns" menu): the customer and the balance always show.
COLUMN_CHOICES = [
    ("aging", "Aging"),
    ("behaviour", "Payment behaviour"),
    ("tags", "Tags"),
    ("promise", "Promise to pay"),
    ("activity", "Course of action and last input"),
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filtered(request, today):
    """The filter set and the ids of its customers, in order (figures come later, for a page)."""
    filterset = CustomerStatusFilter(
        request.GET or None,
        queryset=Customer.objects.visible_to(request.user),
        user=request.user,
        today=today,
    )
    customers = filterset.qs if filterset.is_bound else filterset.queryset
    if filterset.kept_order:
        key, descending = filterset.kept_order
        return filterset, KeptOrder(customers, key, descending=descending)
    if not customers.query.order_by:
        customers = customers.order_by("name", "pk")
    return filterset, customers.values_list("pk", flat=True)


@login_required
def customer_status(request):
    company = Company.load()
    today = company.today()
    filterset, ids = _filtered(request, today)
    as_of = filterset.as_of_day
    page = Paginator(ids, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = customer_status_rows(page.object_list, today=today, as_of=as_of)
    run = filterset.figures_run
    context = {
        "filter": filterset,
        "page": page,
        "today": today,
        "as_of": as_of,
        "past": as_of < today,
        "company": company,
        "figures_taken_at": run.started_at if run else None,
        "buckets": AGING_BUCKETS,
        "column_choices": COLUMN_CHOICES,
        "sort_choices": SORT_CHOICES,
        # tags, promises and tasks are today's: the report drawn at a past date only reads them
        "can_write": can_write(request.user) and as_of == today,
        "sees_nothing": not page.paginator.count and not Customer.objects.visible_to(request.user).exists(),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "reports/customer_status_table.html", context)
    return render(request, "reports/customer_status.html", context)


EXPORT_CHUNK = 2000


@login_required
def customer_status_export(request):
    today = Company.load().today()
    filterset, ids = _filtered(request, today)
    as_of = filterset.as_of_day

    def rows():
        ordered = list(ids)
        for start in range(0, len(ordered), EXPORT_CHUNK):
            yield from export_rows(ordered[start : start + EXPORT_CHUNK], today=today, as_of=as_of)

    title = f"Customer status {as_of:%Y-%m-%d}"
    response = HttpResponse(write_xlsx(EXPORT_HEADERS, rows(), sheet_title=title), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="customer-status-{as_of:%Y-%m-%d}.xlsx"'
    return response


def _one_row(request, pk):
    """The customer as a report row (404 outside the user's customers)."""
    customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)
    return customer_status_rows([customer.pk], today=Company.load().today())[0]


def _visible_customer(request, pk):
    return get_object_or_404(Customer.objects.visible_to(request.user).select_for_update(of=("self",)), pk=pk)


def _cell(request, template, customer, **extra):
    return render(request, template, {"customer": customer, "can_write": can_write(request.user), **extra})


@login_required
def customer_status_tags(request, pk):
    """GET: the tags cell (or its form with ?edit=1); POST: save through the customer service."""
    if request.method == "POST" or request.GET.get("edit"):
        require_write(request.user)  # auditors look but do not change
    if request.method == "POST":
        form = TagsForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                customer = _visible_customer(request, pk)
                customer_services.update_customer(
                    customer=customer,
                    actor=request.user,
                    tags=form.cleaned_data["tags"],
                    new_tags=form.new_tag_names(),
                )
            return _cell(request, "reports/customer_status_tags_cell.html", _one_row(request, pk))
        return _cell(request, "reports/customer_status_tags_form.html", _one_row(request, pk), form=form)
    customer = _one_row(request, pk)
    if request.GET.get("edit"):
        form = TagsForm(initial={"tags": list(customer.tags.all())})
        return _cell(request, "reports/customer_status_tags_form.html", customer, form=form)
    return _cell(request, "reports/customer_status_tags_cell.html", customer)


@login_required
def customer_status_promise(request, pk):
    """GET: the promise cell (or its form with ?edit=1); POST: record the promise to pay."""
    if request.method == "POST" or request.GET.get("edit"):
        require_write(request.user)  # auditors look but do not change
    if request.method == "POST":
        form = PromiseForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                customer = _visible_customer(request, pk)
                try:
                    customer_services.record_promise_to_pay(
                        customer=customer,
                        amount=form.cleaned_data["promise_amount"],
                        date=form.cleaned_data["promise_date"],
                        actor=request.user,
                    )
                except ValidationError as error:
                    form.add_error(None, error)
            if not form.errors:
                return _cell(request, "reports/customer_status_promise_cell.html", _one_row(request, pk))
        return _cell(request, "reports/customer_status_promise_form.html", _one_row(request, pk), form=form)
    customer = _one_row(request, pk)
    if request.GET.get("edit"):
        form = PromiseForm(
            initial={"promise_amount": customer.promise_amount, "promise_date": customer.promise_date}
        )
        return _cell(request, "reports/customer_status_promise_form.html", customer, form=form)
    return _cell(request, "reports/customer_status_promise_cell.html", customer)


def _back_to_report(request):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) and target.startswith(
        reverse("report_customer_status")
    ):
        return target
    return reverse("report_customer_status")


@write_required
def customer_status_task(request, pk):
    """Create a task (and, if given, record a promise to pay) from the report's action column."""
    customer = get_object_or_404(
        Customer.objects.visible_to(request.user).select_related("account_manager"), pk=pk
    )
    today = Company.load().today()
    initial = {"owner": customer.account_manager, "due_on": today + dt.timedelta(days=1)}
    form = ReportTaskForm(request.POST or None, customer=customer, today=today, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            if data["promise_amount"] is not None:
                customer_services.record_promise_to_pay(
                    customer=customer,
                    amount=data["promise_amount"],
                    date=data["promise_date"],
                    actor=request.user,
                )
            task = task_services.create_task(
                customer=customer,
                kind=data["kind"],
                title=data["title"],
                details=data["details"],
                owner=data["owner"],
                due_on=data["due_on"],
                actor=request.user,
            )
        messages.success(
            request, f"Task “{task.title}” created for {customer.name}, due {task.due_on:%-d %b %Y}."
        )
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = _back_to_report(request)
            return response
        return redirect(_back_to_report(request))
    context = {
        "form": form,
        "customer": customer,
        "next": _back_to_report(request),
        "in_dialog": bool(request.htmx),
    }
    if request.htmx:
        return render(request, "reports/customer_status_task_form.html", context)
    return render(request, "reports/customer_status_task.html", context)
