"""A contact sees their own customer only: any other id, and anything not meant for them, answers 404."""

from decimal import Decimal

import pytest

from invoices.models import CreditNote, CreditNoteStatus, InvoiceStatus
from peakflo.models import Company

from .conftest import make_invoice

pytestmark = pytest.mark.django_db


def test_another_customers_invoice_pdf_credit_note_and_payment_answer_404(ann_client, portal_book):
    other = portal_book["other_invoice"]
    for path in (
        f"/portal/invoices/{other.pk}/",
        f"/portal/invoices/{other.pk}/pdf/",
        f"/portal/invoices/{other.pk}/pdf/?download=1",
        f"/portal/credit-notes/{portal_book['other_note'].pk}/",
        f"/portal/payments/{portal_book['other_payment'].pk}/",
    ):
        assert ann_client.get(path).status_code == 404, path


def test_the_lists_hold_only_the_customers_own_rows(ann_client, portal_book):
    for path in (
        "/portal/",
        "/portal/invoices/",
        "/portal/invoices/?status=paid",
        "/portal/credit-notes/",
        "/portal/payments/",
    ):
        page = ann_client.get(path).content.decode()
        assert "G-900" not in page and "CN-G-1" not in page and "Globex" not in page, path


def test_drafts_void_invoices_and_unapproved_credit_notes_stay_hidden(ann_client, portal_book):
    acme = portal_book["acme"]
    draft = make_invoice(acme, "A-DRAFT", days_overdue=-10, status=InvoiceStatus.DRAFT)
    void = make_invoice(acme, "A-VOID", days_overdue=10, status=InvoiceStatus.VOID)
    pending = CreditNote.objects.create(
        number="CN-A-PENDING",
        customer=acme,
        date=Company.load().today(),
        amount=Decimal("5.00"),
        currency="SGD",
        status=CreditNoteStatus.PENDING_APPROVAL,
    )
    assert ann_client.get(f"/portal/invoices/{draft.pk}/").status_code == 404
    assert ann_client.get(f"/portal/invoices/{void.pk}/pdf/").status_code == 404
    assert ann_client.get(f"/portal/credit-notes/{pending.pk}/").status_code == 404
    listing = (
        ann_client.get("/portal/invoices/").content.decode()
        + ann_client.get("/portal/credit-notes/").content.decode()
    )
    assert "A-DRAFT" not in listing and "A-VOID" not in listing and "CN-A-PENDING" not in listing


def test_signed_out_visitors_reach_nothing(client, portal_book):
    invoice = portal_book["invoices"]["d15"]
    for path in (
        "/portal/invoices/",
        f"/portal/invoices/{invoice.pk}/",
        f"/portal/invoices/{invoice.pk}/pdf/",
        f"/portal/payments/{portal_book['payment'].pk}/",
        "/portal/credit-notes/",
        "/portal/statement/?start=2020-01-01&end=2030-01-01",
    ):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/portal/sign-in/", path


def test_a_staff_login_is_not_a_portal_sign_in(client, portal_book, admin_user):
    from tests.conftest import PASSWORD

    client.login(email=admin_user.email, password=PASSWORD)
    assert client.get("/portal/invoices/").status_code == 302


def test_the_portal_shows_no_internal_notes_tasks_or_manager_phone(ann_client, portal_book):
    from customers import timeline
    from customers.models import ActivityKind

    timeline.record(portal_book["acme"], ActivityKind.NOTE, data={"text": "Secret: slow payer, call the CFO"})
    invoice = portal_book["invoices"]["d15"]
    pages = "".join(
        ann_client.get(path).content.decode()
        for path in ("/portal/", f"/portal/invoices/{invoice.pk}/", "/portal/invoices/")
    )
    assert "Secret: slow payer" not in pages
    manager = portal_book["acme"].account_manager
    assert manager.email in pages  # the account manager as a contact: name and email only
