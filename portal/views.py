"""The customer's pages. Every query starts from request.portal_customer: another customer's id is a 404."""

import re

from django import forms
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from invoices.pdf import PdfUnavailable, render_invoice_pdf
from peakflo.models import Company

from . import selectors
from .access import portal_login_required
from .statement import render_statement_pdf

PAGE_SIZE = 20


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _pdf_response(pdf, filename, *, download):
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "_", filename)
    response["Content-Disposition"] = f'{disposition}; filename="{safe_name}.pdf"'
    return response


def _pdf_unavailable(request, reason):
    return render(request, "portal/pdf_unavailable.html", {"reason": reason}, status=503)


@portal_login_required
def home(request):
    """The overview: balance, aging and what to pay. Signed out, the decorator sends the visitor to sign in."""
    customer = request.portal_customer
    today = Company.load().today()
    balance, aging = selectors.balance_and_aging(customer, today=today)
    open_invoices = list(selectors.open_invoices_of(customer)[:6])
    for bucket in aging:  # each bucket's width in the aging bar
        bucket["share"] = f"{bucket['amount'] / balance * 100:.2f}" if balance else "0"
    context = {
        "portal_section": "home",
        "today": today,
        "balance": balance,
        "overdue": sum(bucket["amount"] for bucket in aging[1:]),
        "aging": aging,
        "open_invoices": open_invoices,
        "open_count": selectors.open_invoices_of(customer).count(),
        "oldest_overdue": open_invoices[0] if open_invoices and open_invoices[0].due_date < today else None,
        "next_due": selectors.open_invoices_of(customer).filter(due_date__gte=today).first(),
        "account_manager": customer.account_manager,
    }
    return render(request, "portal/home.html", context)


@portal_login_required
def invoice_list(request):
    customer = request.portal_customer
    showing = "paid" if request.GET.get("status") == "paid" else "open"
    invoices = (
        selectors.paid_invoices_of(customer) if showing == "paid" else selectors.open_invoices_of(customer)
    )
    context = {
        "portal_section": "invoices",
        "showing": showing,
        "page": _page(request, invoices),
        "today": Company.load().today(),
    }
    return render(request, "portal/invoices.html", context)


@portal_login_required
def invoice_detail(request, pk):
    invoice = selectors.customer_invoice(request.portal_customer, pk)
    today = Company.load().today()
    context = {
        "portal_section": "invoices",
        "invoice": invoice,
        "lines": invoice.lines.all(),
        "allocations": invoice.allocations.select_related("payment").order_by("payment__date", "pk"),
        "credit_notes": invoice.credit_notes.filter(status="approved").order_by("date", "pk"),
        "today": today,
        "days_overdue": invoice.days_overdue(today),
    }
    return render(request, "portal/invoice_detail.html", context)


@portal_login_required
def invoice_pdf(request, pk):
    invoice = selectors.customer_invoice(request.portal_customer, pk)
    try:
        pdf = render_invoice_pdf(invoice)
    except PdfUnavailable as exc:
        return _pdf_unavailable(request, str(exc))
    return _pdf_response(pdf, invoice.number, download=bool(request.GET.get("download")))


@portal_login_required
def credit_note_list(request):
    notes = selectors.credit_notes_of(request.portal_customer).order_by("-date", "-pk")
    return render(
        request, "portal/credit_notes.html", {"portal_section": "credit_notes", "page": _page(request, notes)}
    )


@portal_login_required
def credit_note_detail(request, pk):
    note = selectors.customer_credit_note(request.portal_customer, pk)
    return render(request, "portal/credit_note_detail.html", {"portal_section": "credit_notes", "note": note})


@portal_login_required
def payment_list(request):
    payments = selectors.payments_of(request.portal_customer).order_by("-date", "-pk")
    return render(
        request, "portal/payments.html", {"portal_section": "payments", "page": _page(request, payments)}
    )


@portal_login_required
def payment_detail(request, pk):
    payment = selectors.customer_payment(request.portal_customer, pk)
    allocations = payment.allocations.select_related("invoice").order_by("invoice__number")
    context = {"portal_section": "payments", "payment": payment, "allocations": allocations}
    return render(request, "portal/payment_detail.html", context)


def _day(date):
    return f"{date.day} {date:%b %Y}"


class StatementForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", f"The end date ({_day(end)}) is before the start date ({_day(start)}).")
        if start and end and (end - start).days > 366 * 10:
            self.add_error("start", "Choose a range of ten years or less.")
        return cleaned


@portal_login_required
def statement(request):
    """A form with two dates; submitted, the statement of account as a PDF (read-only, so a GET)."""
    today = Company.load().today()
    if "start" in request.GET or "end" in request.GET:
        form = StatementForm(request.GET)
        if form.is_valid():
            statement = selectors.statement_of(
                request.portal_customer, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
            )
            try:
                pdf = render_statement_pdf(statement)
            except PdfUnavailable as exc:
                return _pdf_unavailable(request, str(exc))
            name = f"Statement {statement.start:%Y-%m-%d} to {statement.end:%Y-%m-%d}"
            return _pdf_response(pdf, name, download=True)
    else:
        form = StatementForm(initial={"start": today.replace(day=1, month=1), "end": today})
    status = 400 if form.is_bound else 200  # a bound form here is one with errors
    return render(
        request, "portal/statement.html", {"portal_section": "statement", "form": form}, status=status
    )
