"""Without Stripe: the portal shows the company's bank-transfer instructions, and "I have paid" tells the
account manager without recording any payment."""

from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Activity, ActivityKind, CustomerFile
from invoices.models import Payment
from peakflo.models import Company
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

INSTRUCTIONS = "DBS Bank · My Company Pte Ltd · 012-345678-9 · reference: your invoice numbers"


@pytest.fixture(autouse=True)
def no_stripe(settings):
    settings.STRIPE_SECRET_KEY = ""


def test_pay_page_shows_the_bank_transfer_instructions(ann_client, portal_book):
    Company.objects.filter(pk=Company.load().pk).update(bank_transfer_instructions=INSTRUCTIONS)
    page = ann_client.get("/portal/pay/").content.decode()
    assert "DBS Bank · My Company Pte Ltd · 012-345678-9" in page
    assert "I have paid" in page and "Pay by card" not in page
    home = ann_client.get("/portal/").content.decode()
    assert "How to pay" in home


def test_i_have_paid_tells_the_account_manager_and_records_no_payment(
    ann_client, portal_book, django_capture_on_commit_callbacks
):
    d15, d45 = portal_book["invoices"]["d15"], portal_book["invoices"]["d45"]
    payments_before = Payment.objects.count()
    today = Company.load().today()
    with django_capture_on_commit_callbacks(execute=True):
        response = ann_client.post(
            "/portal/pay/bank-transfer/",
            {
                "amount": "450.00",
                "date": today.isoformat(),
                "reference": "TT 8812",
                "invoices": [d15.pk, d45.pk],
                "file": SimpleUploadedFile("transfer.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32),
            },
        )
    assert response.status_code == 302
    assert Payment.objects.count() == payments_before  # nothing recorded by the customer's word alone
    d15.refresh_from_db()
    assert d15.amount_due == Decimal("200.00")
    entry = Activity.objects.get(kind=ActivityKind.PORTAL_MESSAGE)
    assert entry.actor_contact == portal_book["ann"]
    assert entry.data["says they paid"] == f"SGD 450.00 by bank transfer on {today.isoformat()}"
    assert entry.data["invoices"] == "A-101, A-102" and entry.data["reference"] == "TT 8812"
    kept = CustomerFile.objects.get()
    assert kept.name == "transfer.png" and kept.description.startswith("Proof of payment: SGD 450.00")
    [email] = mail.outbox
    assert email.to == ["alice@example.com"]
    assert email.subject == "Acme Pte Ltd says they paid SGD 450.00"
    assert "reference TT 8812" in email.body and "A-101, A-102" in email.body
    assert "Nothing has been recorded yet" in email.body


def test_i_have_paid_needs_an_amount_and_a_date(ann_client, portal_book):
    response = ann_client.post("/portal/pay/bank-transfer/", {"amount": "", "date": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Give the amount you paid." in page and "Give the date you paid." in page
    assert not Activity.objects.filter(kind=ActivityKind.PORTAL_MESSAGE).exists() and not mail.outbox


def test_i_have_paid_cannot_name_another_customers_invoice(ann_client, portal_book):
    today = Company.load().today().isoformat()
    response = ann_client.post(
        "/portal/pay/bank-transfer/",
        {"amount": "10.00", "date": today, "invoices": [portal_book["other_invoice"].pk]},
    )
    assert response.status_code == 400
    assert not Activity.objects.filter(kind=ActivityKind.PORTAL_MESSAGE).exists()


def test_admin_sets_the_instructions_in_company_settings(client, admin_user):
    client.login(username=admin_user.email, password=PASSWORD)
    page = client.get("/settings/company/").content.decode()
    assert 'name="bank_transfer_instructions"' in page
    company = Company.load()
    form = {
        "name": company.name,
        "address": "",
        "invoice_footer": "",
        "base_currency": company.base_currency,
        "time_zone": company.time_zone,
        "send_window_start": company.send_window_start.strftime("%H:%M"),
        "send_window_end": company.send_window_end.strftime("%H:%M"),
        "send_weekdays": [0, 1, 2, 3, 4],
        "sender_email": "",
        "brand_color": "#1d4ed8",
        "bank_transfer_instructions": INSTRUCTIONS,
    }
    response = client.post("/settings/company/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Company.load().bank_transfer_instructions == INSTRUCTIONS
