"""Promise to pay and documents (proof of payment, tax certificate) from the portal."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Activity, ActivityKind, CustomerFile
from peakflo.models import Company

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 remittance advice"


def test_customer_promises_to_pay_and_the_invoice_says_so(ann_client, portal_book):
    invoice = portal_book["invoices"]["d15"]
    by = Company.load().today() + dt.timedelta(days=7)
    response = ann_client.post(
        f"/portal/invoices/{invoice.pk}/promise/", {"amount": "150.00", "date": by.isoformat()}
    )
    assert response.status_code == 302 and response["Location"] == f"/portal/invoices/{invoice.pk}/"
    invoice.refresh_from_db()
    assert (invoice.promise_amount, invoice.promise_date) == (Decimal("150.00"), by)
    entry = Activity.objects.get(kind=ActivityKind.PROMISE_TO_PAY, invoice=invoice)
    assert entry.actor_contact == portal_book["ann"]
    assert entry.data["amount"] == "150.00" and entry.data["date"] == by.isoformat()
    page = ann_client.get(f"/portal/invoices/{invoice.pk}/").content.decode()
    assert "You promised to pay" in page and "SGD\u00a0150.00" in page and f"{by:%-d %b %Y}" in page


def test_a_promise_in_the_past_or_above_the_amount_due_is_refused(ann_client, portal_book):
    invoice = portal_book["invoices"]["d15"]  # 200.00 due
    yesterday = Company.load().today() - dt.timedelta(days=1)
    response = ann_client.post(
        f"/portal/invoices/{invoice.pk}/promise/", {"amount": "250.00", "date": yesterday.isoformat()}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "The promised date cannot be in the past." in page
    assert "more than the SGD\u00a0200.00 still due on invoice A-101" in page
    invoice.refresh_from_db()
    assert invoice.promise_date is None
    assert not Activity.objects.filter(kind=ActivityKind.PROMISE_TO_PAY).exists()


def test_no_promise_on_another_customers_invoice(ann_client, portal_book):
    other = portal_book["other_invoice"]
    by = Company.load().today() + dt.timedelta(days=3)
    response = ann_client.post(
        f"/portal/invoices/{other.pk}/promise/", {"amount": "1.00", "date": by.isoformat()}
    )
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.promise_date is None


@pytest.mark.parametrize(
    ("kind", "label"), [("proof_of_payment", "Proof of payment"), ("tax_certificate", "Tax certificate")]
)
def test_customer_uploads_a_document_against_an_invoice(
    ann_client, portal_book, kind, label, django_capture_on_commit_callbacks
):
    invoice = portal_book["invoices"]["d45"]
    with django_capture_on_commit_callbacks(execute=True):
        response = ann_client.post(
            f"/portal/invoices/{invoice.pk}/documents/",
            {"kind": kind, "note": "Paid on Friday", "file": SimpleUploadedFile("advice.pdf", PDF)},
        )
    assert response.status_code == 302
    kept = CustomerFile.objects.get()
    assert (kept.customer, kept.invoice, kept.name) == (portal_book["acme"], invoice, "advice.pdf")
    assert kept.content_type == "application/pdf" and kept.description == f"{label}: Paid on Friday"
    assert kept.file.read() == PDF
    entry = Activity.objects.get(kind=ActivityKind.FILE)
    assert entry.invoice == invoice and entry.actor_contact == portal_book["ann"]
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert f"uploaded {label.lower()} for invoice A-102" in mail.outbox[0].subject
    assert f"/customers/{portal_book['acme'].pk}/files/{kept.pk}/" in mail.outbox[0].body


def test_an_upload_must_be_an_accepted_kind_of_file(ann_client, portal_book):
    invoice = portal_book["invoices"]["d45"]
    response = ann_client.post(
        f"/portal/invoices/{invoice.pk}/documents/",
        {"kind": "tax_certificate", "file": SimpleUploadedFile("macro.bin", b"\x00\x01\x02binary")},
    )
    assert response.status_code == 400
    assert "macro.bin is not an accepted kind of file" in response.content.decode()
    assert not CustomerFile.objects.exists() and not mail.outbox


def test_the_document_kind_must_be_chosen(ann_client, portal_book):
    invoice = portal_book["invoices"]["d45"]
    response = ann_client.post(
        f"/portal/invoices/{invoice.pk}/documents/", {"file": SimpleUploadedFile("advice.pdf", PDF)}
    )
    assert (
        response.status_code == 400
        and "Choose proof of payment or tax certificate." in response.content.decode()
    )
    assert not CustomerFile.objects.exists()


def test_no_upload_against_another_customers_invoice(ann_client, portal_book):
    other = portal_book["other_invoice"]
    response = ann_client.post(
        f"/portal/invoices/{other.pk}/documents/",
        {"kind": "proof_of_payment", "file": SimpleUploadedFile("advice.pdf", PDF)},
    )
    assert response.status_code == 404
    assert not CustomerFile.objects.exists()
