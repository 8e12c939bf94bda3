"""The signed-in pages: overview with balance and aging, invoices, PDFs, credit notes, payments, statement."""

import datetime as dt
import shutil
import subprocess
from decimal import Decimal

import pytest

from invoices.models import CreditNote, CreditNoteStatus, Payment
from peakflo.models import Company
from portal.selectors import balance_and_aging, statement_of

from .conftest import make_invoice

pytestmark = pytest.mark.django_db


def pdf_text(content, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "doc.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_overview_shows_balance_and_aging_in_the_customer_currency(ann_client):
    page = ann_client.get("/portal/").content.decode()
    # Open: 100 (not yet due) + 200 (15 days) + 250 (45 days, 50 paid) + 400 (75 days) + 500 (120 days).
    assert "SGD\u00a01,450.00" in page
    assert "SGD\u00a01,350.00 past due" in page
    for label, amount in (
        ("Not yet due", "100.00"),
        ("1–30 days past due", "200.00"),
        ("31–60 days past due", "250.00"),
        ("61–90 days past due", "400.00"),
        ("Over 90 days past due", "500.00"),
    ):
        row = page.split(label, 1)[1].split("</div>", 1)[0]
        assert f"SGD\u00a0{amount}" in row, label
    assert "Acme Pte Ltd" in page and "Hello, Ann Acme" in page
    assert "Oldest past due" in page and "A-104</a>, due" in page
    assert "Next due" in page and "A-100</a>, SGD\u00a0100.00 on" in page


def test_balance_and_aging_take_one_query(portal_book, django_assert_num_queries):
    today = Company.load().today()
    with django_assert_num_queries(1):
        balance, aging = balance_and_aging(portal_book["acme"], today=today)
    assert balance == Decimal("1450.00")
    assert [bucket["amount"] for bucket in aging] == [Decimal(a) for a in ("100", "200", "250", "400", "500")]


def test_money_follows_the_currency(client, portal_book):
    from customers.models import Contact, Customer

    from .conftest import sign_in_client

    rupiah = Customer.objects.create(code="P-IDR", name="Toko Rupiah", currency="IDR")
    contact = Contact.objects.create(customer=rupiah, name="Budi", email="budi@toko.test", is_main=True)
    make_invoice(rupiah, "R-1", days_overdue=3, total="1500000")
    sign_in_client(client, contact)
    assert "IDR\u00a01,500,000" in client.get("/portal/").content.decode()


def test_open_and_paid_invoices_are_listed_apart(ann_client):
    open_page = ann_client.get("/portal/invoices/").content.decode()
    paid_page = ann_client.get("/portal/invoices/?status=paid").content.decode()
    assert (
        all(n in open_page for n in ("A-100", "A-101", "A-102", "A-103", "A-104"))
        and "A-105" not in open_page
    )
    assert "A-105" in paid_page and "A-101" not in paid_page
    assert "Overdue 120 days" in open_page


def test_the_invoice_list_is_paginated(ann_client, portal_book):
    for i in range(25):
        make_invoice(portal_book["acme"], f"B-{i:03d}", days_overdue=200 + i)
    first = ann_client.get("/portal/invoices/").content.decode()
    second = ann_client.get("/portal/invoices/?page=2").content.decode()
    assert "1–20 of 30" in first and "Next" in first
    assert "21–30 of 30" in second
    assert "A-104" not in first and "A-104" in second


def test_invoice_detail_shows_lines_payments_and_credit_notes(ann_client, portal_book):
    invoice = portal_book["invoices"]["d45"]
    CreditNote.objects.create(
        number="CN-A-1",
        customer=portal_book["acme"],
        invoice=invoice,
        date=Company.load().today(),
        amount=Decimal("10.00"),
        currency="SGD",
        status=CreditNoteStatus.APPROVED,
    )
    page = ann_client.get(f"/portal/invoices/{invoice.pk}/").content.decode()
    assert "Invoice A-102" in page and "Services for A-102" in page
    assert "SGD\u00a0250.00" in page and "45 days past due" in page
    assert "ACME-TT-1" in page and "CN-A-1" in page
    assert f"/portal/invoices/{invoice.pk}/pdf/?download=1" in page


def test_invoice_pdf_downloads(ann_client, portal_book, tmp_path):
    invoice = portal_book["invoices"]["d15"]
    response = ann_client.get(f"/portal/invoices/{invoice.pk}/pdf/?download=1")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="A-101.pdf"'
    assert response.content.startswith(b"%PDF")
    assert "A-101" in pdf_text(response.content, tmp_path)


def test_credit_notes_and_payments_pages(ann_client, portal_book):
    note = CreditNote.objects.create(
        number="CN-A-2",
        customer=portal_book["acme"],
        date=Company.load().today(),
        amount=Decimal("15.00"),
        currency="SGD",
        status=CreditNoteStatus.APPROVED,
        reason="Late delivery",
    )
    notes = ann_client.get("/portal/credit-notes/").content.decode()
    assert "CN-A-2" in notes and "Late delivery" in notes and "SGD\u00a015.00" in notes
    assert "Late delivery" in ann_client.get(f"/portal/credit-notes/{note.pk}/").content.decode()
    payments = ann_client.get("/portal/payments/").content.decode()
    assert "ACME-TT-1" in payments and "SGD\u00a0120.00" in payments
    detail = ann_client.get(f"/portal/payments/{portal_book['payment'].pk}/").content.decode()
    assert "A-102" in detail and "A-105" in detail and "SGD\u00a050.00" in detail


def test_empty_states(client, portal_book):
    from customers.models import Contact, Customer

    from .conftest import sign_in_client

    fresh = Customer.objects.create(code="P-NEW", name="Newco", currency="SGD")
    sign_in_client(client, Contact.objects.create(customer=fresh, name="Nina", email="nina@newco.test"))
    assert "You are all paid up" in client.get("/portal/").content.decode()
    assert "Nothing to pay" in client.get("/portal/invoices/").content.decode()
    assert "No credit note" in client.get("/portal/credit-notes/").content.decode()
    assert "No payment yet" in client.get("/portal/payments/").content.decode()


def test_statement_balances_carry_forward(portal_book):
    acme = portal_book["acme"]
    today = Company.load().today()
    inv = portal_book["invoices"]
    # Within the range: the 15- and 45-days invoices' issue dates are 45 and 75 days ago.
    start, end = today - dt.timedelta(days=80), today
    statement = statement_of(acme, start=start, end=end)
    before = sum(i.total for i in inv.values() if i.issue_date < start)
    assert statement.opening_balance == before
    numbers = [line.reference for line in statement.lines]
    assert "A-101" in numbers and "A-102" in numbers and "ACME-TT-1" in numbers
    assert (
        statement.closing_balance
        == statement.opening_balance + statement.total_charges - statement.total_credits
    )
    # Everything since the beginning: charges minus the one payment.
    everything = statement_of(acme, start=today - dt.timedelta(days=3650), end=today)
    assert everything.opening_balance == 0
    assert everything.closing_balance == sum(i.total for i in inv.values()) - Decimal("120.00")


def test_statement_pdf_for_a_date_range(ann_client, portal_book, tmp_path):
    today = Company.load().today()
    Payment.objects.create(
        customer=portal_book["globex"],
        date=today,
        amount=Decimal("777.00"),
        currency="USD",
        reference="GLOBEX-SECRET",
    )
    start = (today - dt.timedelta(days=3650)).isoformat()
    response = ann_client.get(f"/portal/statement/?start={start}&end={today.isoformat()}")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    text = pdf_text(response.content, tmp_path)
    assert "STATEMENT OF ACCOUNT" in text and "Acme Pte Ltd" in text
    assert "A-104" in text and "ACME-TT-1" in text
    assert "1,450.00" in text  # closing: 1,570 of invoices less the 120 received
    assert "GLOBEX-SECRET" not in text and "G-900" not in text


def test_statement_form_names_a_bad_range(ann_client):
    form = ann_client.get("/portal/statement/")
    assert form.status_code == 200 and 'name="start"' in form.content.decode()
    bad = ann_client.get("/portal/statement/?start=2026-05-01&end=2026-04-01")
    assert bad.status_code == 400
    assert "The end date (1 Apr 2026) is before the start date (1 May 2026)." in bad.content.decode()
    nonsense = ann_client.get("/portal/statement/?start=yesterday&end=")
    assert nonsense.status_code == 400 and "Enter a valid date." in nonsense.content.decode()
