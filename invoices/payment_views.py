"""Payments: the list and its export, recording one by hand, and the import of the export's format."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from customers.views.detail import require_write
from peakflo.models import Company
from peakflo.spreadsheets import SpreadsheetError, write_xlsx

from .imports import ImportRejected
from .models import ZERO, Payment, PaymentAllocation
from .payment_filters import PaymentFilter
from .payment_forms import (
    ALLOCATION_PREFIX,
    PaymentForm,
    PaymentImportForm,
    fill_oldest_first,
    open_invoices_of,
    read_allocations,
)
from .payment_imports import COLUMNS, export_rows, import_payments, write_csv
from .services import money, record_payment

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_MONEY = DecimalField(max_digits=14, decimal_places=2)


def _filtered_payments(request):
    payments = Payment.objects.visible_to(request.user).select_related("customer")
    return PaymentFilter(request.GET or None, queryset=payments, user=request.user)


def _payments_of(filterset):
    payments = filterset.qs if filterset.is_bound else filterset.queryset
    return payments.order_by("-date", "-id")


@login_required
def payment_list(request):
    filterset = _filtered_payments(request)
    allocated = (
        PaymentAllocation.objects.filter(payment=OuterRef("pk"))
        .values("payment")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    payments = _payments_of(filterset).annotate(
        allocated=Coalesce(Subquery(allocated, output_field=_MONEY), Value(ZERO), output_field=_MONEY)
    )
    page = Paginator(payments, PAGE_SIZE).get_page(request.GET.get("page"))
    invoice_numbers = {}
    for payment_id, number in PaymentAllocation.objects.filter(payment__in=page.object_list).values_list(
        "payment_id", "invoice__number"
    ):
        invoice_numbers.setdefault(payment_id, []).append(number)
    for payment in page.object_list:
        payment.invoice_numbers = sorted(invoice_numbers.get(payment.pk, []))
        payment.unallocated = payment.amount - payment.allocated
    context = {
        "filter": filterset,
        "page": page,
        "query": request.GET.copy(),
        "sees_nothing": not page.paginator.count and not filterset.queryset.exists(),
        "can_write": not request.user.is_read_only,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "payments/_table.html", context)
    return render(request, "payments/list.html", context)


@login_required
def payment_export(request):
    """The filtered payments in the accounting import format: .xlsx, or .csv with ?format=csv."""
    rows = export_rows(_payments_of(_filtered_payments(request)))
    stamp = f"{timezone.localdate():%Y-%m-%d}"
    if request.GET.get("format") == "csv":
        response = HttpResponse(write_csv(COLUMNS, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="payments-{stamp}.csv"'
        return response
    response = HttpResponse(write_xlsx(COLUMNS, rows, sheet_title="Payments"), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="payments-{stamp}.xlsx"'
    return response


def _allocation_rows(invoices, amounts, errors):
    return [
        {"invoice": invoice, "name": f"{ALLOCATION_PREFIX}{invoice.pk}", "value": amounts.get(invoice, ""),
         "error": errors.get(invoice.pk)}
        for invoice in invoices
    ]  # fmt: skip


def _summary(amount, amounts, currency):
    allocated = sum((a for a in amounts.values() if isinstance(a, Decimal)), ZERO)
    amount = amount if isinstance(amount, Decimal) else None
    return {
        "amount": amount,
        "allocated": allocated,
        "unallocated": (amount - allocated) if amount is not None else None,
        "over": amount is not None and allocated > amount,
        "over_by": (allocated - amount) if amount is not None else None,
        "currency": currency,
    }


def _amount_of(text):
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except ArithmeticError:
        return None
    return money(value) if value.is_finite() and value > 0 else None


@login_required
def payment_add(request):
    require_write(request.user)
    visible = Customer.objects.visible_to(request.user)
    initial = {"date": Company.load().today()}
    customer = None
    if request.method == "GET" and request.GET.get("customer"):
        customer = get_object_or_404(visible, pk=request.GET["customer"])
        initial.update(customer=customer, currency=customer.currency)
    form = PaymentForm(request.POST or None, initial=initial, user=request.user)
    invoices, amounts, alloc_errors, service_errors = [], {}, {}, []

    if request.method == "POST":
        customer_pk = request.POST.get("customer", "")
        customer = get_object_or_404(visible, pk=customer_pk) if customer_pk.isdigit() else None
        if customer is not None:
            invoices = list(open_invoices_of(customer))
            amounts, alloc_errors = read_allocations(request.POST, invoices)
        if form.is_valid() and not alloc_errors:
            data = form.cleaned_data
            allocations = [(invoice, amount) for invoice, amount in amounts.items() if amount]
            try:
                payment = record_payment(
                    customer=data["customer"],
                    date=data["date"],
                    amount=data["amount"],
                    currency=data["currency"],
                    method=data["method"],
                    reference=data["reference"],
                    allocations=allocations,
                    created_by=request.user,
                )
            except ValidationError as error:
                service_errors = error.messages
            else:
                messages.success(request, _recorded_message(payment, allocations))
                return redirect(f"{reverse('payments')}?customer={payment.customer_id}")
    elif customer is not None:
        invoices = list(open_invoices_of(customer))

    currency = (form["currency"].value() or (customer.currency if customer else "")).upper()
    context = {
        "form": form,
        "customer": customer,
        "rows": _allocation_rows(invoices, amounts, alloc_errors),
        "summary": _summary(_amount_of(form["amount"].value() or ""), amounts, currency),
        "alloc_errors": alloc_errors,
        "service_errors": service_errors,
    }
    return render(
        request,
        "payments/add.html",
        context,
        status=400 if service_errors or form.errors or alloc_errors else 200,
    )


def _recorded_message(payment, allocations):
    allocated = sum((amount for _, amount in allocations), ZERO)
    text = f"Payment of {payment.amount:,} {payment.currency} from {payment.customer.name} recorded"
    if allocations:
        parts = ", ".join(f"{money(amount):,} to {invoice.number}" for invoice, amount in allocations)
        text += f": {parts}"
    rest = payment.amount - allocated
    if rest > 0:
        text += f". {rest:,} {payment.currency} stays unallocated on the customer's account"
    return text + "."


@login_required
def payment_allocations(request):
    """The HTMX partial under the payment form: the customer's open invoices, or only the summary."""
    require_write(request.user)
    customer = None
    if str(request.GET.get("customer", "")).isdigit():
        customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=request.GET["customer"])
    invoices = list(open_invoices_of(customer)) if customer else []
    amount = _amount_of(request.GET.get("amount", ""))
    currency = (request.GET.get("currency") or (customer.currency if customer else "")).strip().upper()
    changed_customer = request.GET.get("changed") == "customer"
    if changed_customer and customer:
        currency = customer.currency
    if request.GET.get("fill") and amount is not None:
        amounts, errors = fill_oldest_first(invoices, amount, currency), {}
    else:
        amounts, errors = read_allocations(request.GET, invoices)
    context = {
        "customer": customer,
        "rows": _allocation_rows(invoices, amounts, errors),
        "summary": _summary(amount, amounts, currency),
        "swap_currency": changed_customer and customer is not None,
        "currency": currency,
    }
    template = (
        "payments/_summary.html" if request.GET.get("part") == "summary" else "payments/_allocations.html"
    )
    return render(request, template, context)


@login_required
def payment_import(request):
    require_write(request.user)
    form = PaymentImportForm(request.POST or None, request.FILES or None)
    errors, problem_count = [], 0
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            summary = import_payments(data=upload.read(), filename=upload.name, user=request.user)
        except ImportRejected as rejected:
            errors, problem_count = rejected.errors, rejected.total_errors
        except SpreadsheetError as exc:
            form.add_error("file", str(exc))
        else:
            totals = ", ".join(
                f"{total} {currency}" for currency, total in sorted(summary.totals_by_currency.items())
            )
            text = (
                f"Imported {summary.payments} payment(s) ({totals}) with {summary.allocations} allocation(s)."
            )
            if summary.unallocated_by_currency:
                rest = ", ".join(f"{t} {c}" for c, t in sorted(summary.unallocated_by_currency.items()))
                text += f" {rest} stays unallocated on the customers' accounts."
            messages.success(request, text)
            return redirect("payments")
    status = 400 if errors or form.errors else 200
    context = {"form": form, "errors": errors, "problem_count": problem_count, "columns": COLUMNS}
    return render(request, "payments/import.html", context, status=status)


@login_required
def payment_import_template(request):
    response = HttpResponse(write_xlsx(COLUMNS, [], sheet_title="Payments"), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="payments-template.xlsx"'
    return response
