"""What the customer does in the portal: dispute, promise to pay, upload documents, ask, pay.

Every query starts from request.portal_customer: another customer's invoice or dispute is a 404.
"""

import mimetypes

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from customers.views.files import file_response
from disputes import services as dispute_services
from disputes.models import Dispute, DisputeComment, DisputeStatus
from invoices import services as invoice_services
from peakflo.models import Company
from peakflo.uploads import IMAGES

from . import actions_services, selectors, stripe
from .access import portal_login_required
from .actions_forms import (
    DisputeForm,
    DisputeReplyForm,
    DocumentForm,
    PaidNoticeForm,
    PayForm,
    PromiseForm,
    QuestionForm,
)
from .models import PortalMessage, StripeCheckout


def _errors_into(form, error):
    """Put a service's ValidationError on the form, on its field when the form has that field."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _post_or_none(request):
    # An empty POST is still a submission: it must show "required" errors, not a fresh form.
    return request.POST if request.method == "POST" else None


def _posted(request):
    return (request.POST, request.FILES) if request.method == "POST" else (None, None)


def _customer_disputes(customer):
    return Dispute.objects.filter(customer=customer).select_related("invoice", "reason")


def _invoice_page(request, invoice):
    return redirect("portal_invoice", pk=invoice.pk)


# Disputes


@portal_login_required
def dispute_new(request, invoice_pk):
    invoice = selectors.customer_invoice(request.portal_customer, invoice_pk)
    open_dispute = (
        _customer_disputes(request.portal_customer).filter(invoice=invoice, status=DisputeStatus.OPEN).first()
    )
    if open_dispute is not None:
        return redirect("portal_dispute_detail", pk=open_dispute.pk)
    form = DisputeForm(*_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            dispute = dispute_services.raise_dispute(
                invoice=invoice,
                reason=form.cleaned_data["reason"],
                actor=request.portal_contact,
                comment=form.cleaned_data["comment"],
                upload=form.cleaned_data["file"],
            )
        except ValidationError as error:
            _errors_into(form, error)
        else:
            messages.success(
                request,
                f"Your dispute on invoice {invoice.number} is with {Company.load().name}. We will answer here.",
            )
            return redirect("portal_dispute_detail", pk=dispute.pk)
    context = {"portal_section": "invoices", "invoice": invoice, "form": form}
    return render(request, "portal/actions/dispute_new.html", context, status=400 if form.errors else 200)


@portal_login_required
def dispute_list(request):
    disputes = _customer_disputes(request.portal_customer).order_by("status", "-raised_at")
    return render(
        request, "portal/actions/disputes.html", {"portal_section": "invoices", "disputes": disputes}
    )


@portal_login_required
def dispute_detail(request, pk):
    dispute = get_object_or_404(_customer_disputes(request.portal_customer), pk=pk)
    form = DisputeReplyForm(*_posted(request))
    if request.method == "POST":
        if not dispute.is_open:
            messages.error(request, "This dispute is resolved. Ask a question on the Messages page instead.")
            return redirect("portal_dispute_detail", pk=dispute.pk)
        if form.is_valid():
            try:
                dispute_services.add_comment(
                    dispute=dispute,
                    actor=request.portal_contact,
                    body=form.cleaned_data["body"],
                    upload=form.cleaned_data["file"],
                )
            except ValidationError as error:
                _errors_into(form, error)
            else:
                messages.success(request, "Your answer is in the thread.")
                return redirect(reverse("portal_dispute_detail", args=[dispute.pk]) + "#thread-end")
    context = {
        "portal_section": "invoices",
        "dispute": dispute,
        "invoice": dispute.invoice,
        "comments": dispute.comments.select_related("author_user", "author_contact"),
        "form": form,
    }
    return render(request, "portal/actions/dispute_detail.html", context, status=400 if form.errors else 200)


@portal_login_required
def dispute_file(request, pk, comment_pk):
    dispute = get_object_or_404(_customer_disputes(request.portal_customer), pk=pk)
    comment = get_object_or_404(DisputeComment.objects.exclude(file=""), dispute=dispute, pk=comment_pk)
    return file_response(_DisputeFile(comment))


class _DisputeFile:
    """A dispute comment's file, shaped as customers.views.files.file_response expects."""

    def __init__(self, comment):
        self.file = comment.file
        self.name = comment.filename or comment.file.name.rsplit("/", 1)[-1]
        self.content_type = mimetypes.guess_type(self.name)[0] or "application/octet-stream"
        # Only images open in the browser; anything else downloads (never rendered as HTML here).
        self.is_image = self.content_type in IMAGES


# Promise to pay and documents


@portal_login_required
def promise(request, invoice_pk):
    invoice = selectors.customer_invoice(request.portal_customer, invoice_pk)
    initial = {"amount": invoice.amount_due, "date": invoice.promise_date}
    form = PromiseForm(_post_or_none(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            invoice_services.record_invoice_promise(
                invoice=invoice,
                amount=form.cleaned_data["amount"],
                date=form.cleaned_data["date"],
                actor=request.portal_contact,
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error({"promise_amount": "amount", "promise_date": "date"}.get(field), errors)
        else:
            messages.success(request, f"Thank you: your promise to pay invoice {invoice.number} is noted.")
            return _invoice_page(request, invoice)
    context = {"portal_section": "invoices", "invoice": invoice, "form": form}
    return render(request, "portal/actions/promise.html", context, status=400 if form.errors else 200)


@portal_login_required
def document_upload(request, invoice_pk):
    invoice = selectors.customer_invoice(request.portal_customer, invoice_pk)
    form = DocumentForm(*_posted(request), initial={"kind": request.GET.get("kind")})
    if request.method == "POST" and form.is_valid():
        try:
            kept = actions_services.upload_invoice_document(
                invoice=invoice,
                contact=request.portal_contact,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            _errors_into(form, error)
        else:
            messages.success(request, f"{kept.name} is with your account manager. Thank you.")
            return _invoice_page(request, invoice)
    context = {"portal_section": "invoices", "invoice": invoice, "form": form}
    return render(request, "portal/actions/document_upload.html", context, status=400 if form.errors else 200)


# Questions


@portal_login_required
def messages_page(request):
    customer = request.portal_customer
    invoice_pk = request.GET.get("invoice")
    initial = {}
    if invoice_pk and invoice_pk.isdigit():
        initial["invoice"] = selectors.invoices_of(customer).filter(pk=invoice_pk).first()
    form = QuestionForm(_post_or_none(request), customer=customer, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions_services.ask_question(
                contact=request.portal_contact,
                body=form.cleaned_data["body"],
                invoice=form.cleaned_data["invoice"],
            )
        except ValidationError as error:
            _errors_into(form, error)
        else:
            messages.success(request, "Your question is sent. The answer will appear here.")
            return redirect(reverse("portal_messages") + "#thread-end")
    thread = PortalMessage.objects.filter(customer=customer).select_related("invoice", "author_contact")
    context = {"portal_section": "messages", "thread": thread, "form": form}
    return render(request, "portal/actions/messages.html", context, status=400 if form.errors else 200)


# Paying


@portal_login_required
def pay(request):
    customer = request.portal_customer
    chosen = [pk for pk in request.GET.getlist("invoice") if pk.isdigit()]
    if stripe.is_configured():
        form = PayForm(_post_or_none(request), customer=customer, initial={"invoices": chosen})
        if request.method == "POST" and form.is_valid():
            try:  # Stripe sends the customer back to SITE_URL, never to the Host this request named
                checkout = stripe.start_checkout(
                    contact=request.portal_contact,
                    invoices=list(form.cleaned_data["invoices"]),
                    success_url=settings.SITE_URL
                    + reverse("portal_pay_done")
                    + "?session_id={CHECKOUT_SESSION_ID}",
                    cancel_url=settings.SITE_URL + reverse("portal_pay"),
                )
            except ValidationError as error:
                _errors_into(form, error)
            except stripe.StripeError as error:
                form.add_error(None, str(error))
            else:
                return redirect(checkout.url)
        context = {"portal_section": "pay", "form": form, "online": True}
    else:
        form = PaidNoticeForm(customer=customer, initial={"invoices": chosen})
        context = {"portal_section": "pay", "form": form, "online": False}
    context["company"] = Company.load()
    context["open_invoices"] = selectors.open_invoices_of(customer)
    return render(request, "portal/actions/pay.html", context, status=400 if form.errors else 200)


@portal_login_required
@require_POST
def paid_notice(request):
    """Without Stripe: the customer tells the account manager they paid by bank transfer."""
    customer = request.portal_customer
    form = PaidNoticeForm(request.POST, request.FILES, customer=customer)
    if form.is_valid():
        invoices = list(form.cleaned_data["invoices"])
        currencies = {invoice.currency for invoice in invoices} or {customer.currency}
        if len(currencies) > 1:
            form.add_error("invoices", "Tell us about invoices of one currency at a time.")
        else:
            try:
                actions_services.report_bank_transfer(
                    contact=request.portal_contact,
                    amount=form.cleaned_data["amount"],
                    currency=currencies.pop(),
                    date=form.cleaned_data["date"],
                    reference=form.cleaned_data["reference"],
                    invoices=invoices,
                    upload=form.cleaned_data["file"],
                )
            except ValidationError as error:
                _errors_into(form, error)
            else:
                messages.success(
                    request,
                    "Thank you. Your account manager will check the transfer and mark the invoices paid.",
                )
                return redirect("portal_home")
    context = {
        "portal_section": "pay",
        "form": form,
        "online": False,
        "company": Company.load(),
        "open_invoices": selectors.open_invoices_of(customer),
    }
    return render(request, "portal/actions/pay.html", context, status=400)


@portal_login_required
def pay_done(request):
    session_id = request.GET.get("session_id", "")
    checkout = StripeCheckout.objects.filter(customer=request.portal_customer, session_id=session_id).first()
    if session_id and checkout is None:
        raise Http404("No such payment.")
    invoices = []
    if checkout is not None:
        ids = [part["invoice_id"] for part in checkout.allocations]
        invoices = selectors.invoices_of(request.portal_customer).filter(pk__in=ids).order_by("pk")
    context = {"portal_section": "pay", "checkout": checkout, "invoices": invoices}
    return render(request, "portal/actions/pay_done.html", context)
