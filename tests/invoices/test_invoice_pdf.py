import datetime as dt
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.urls import reverse

from invoices import pdf as invoice_pdf
from invoices.money import format_money
from invoices.services import LineInput, issue_invoice
from peakflo.models import Company
from tests.conftest import PASSWORD


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


@pytest.fixture
def invoice(book):
    company = Company.load()
    company.name, company.address = "Peakflo Demo Pte Ltd", "1 Raffles Place\nSingapore 048616"
    company.invoice_footer = "Bank: DBS 123-456789-0"
    company.save()
    today = dt.date.today()
    return issue_invoice(
        customer=book["hooli"],
        number="PDF-0042",
        issue_date=today,
        due_date=today + dt.timedelta(days=30),
        lines=[
            LineInput("Annual licence", Decimal(1), Decimal("15000000"), Decimal(11)),
            LineInput("Onboarding", Decimal(3), Decimal("750000")),
        ],
    )


def pdf_text(content, tmp_path):
    if not shutil.which("pdftotext"):
        return None
    path = tmp_path / "invoice.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout


def test_the_pdf_is_a_real_pdf_with_the_invoice_on_it(client, invoice, am_bob, tmp_path):
    login(client, am_bob)

    response = client.get(reverse("invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert response.content.startswith(b"%PDF") and len(response.content) > 5_000
    text = pdf_text(response.content, tmp_path)
    if text is not None:  # poppler-utils installed: read what is printed
        assert "PDF-0042" in text and "Hooli" in text and "Peakflo Demo Pte Ltd" in text
        assert "IDR 18,900,000" in text.replace("\xa0", " ")  # 15m + 11% tax + 2.25m, no decimals
        assert "Bank: DBS 123-456789-0" in text


def test_download_sends_it_as_an_attachment(client, invoice, admin_user):
    login(client, admin_user)

    response = client.get(reverse("invoice_pdf", args=[invoice.pk]), {"download": "1"})

    assert response["Content-Disposition"] == 'attachment; filename="PDF-0042.pdf"'


def test_the_pdf_follows_the_visibility_rule(client, invoice, am_alice):
    assert client.get(reverse("invoice_pdf", args=[invoice.pk])).status_code == 302  # anonymous
    login(client, am_alice)  # Hooli is Bob's
    assert client.get(reverse("invoice_pdf", args=[invoice.pk])).status_code == 404


def test_auditors_may_download_the_pdf(client, invoice, auditor):
    login(client, auditor)
    assert client.get(reverse("invoice_pdf", args=[invoice.pk])).status_code == 200


def test_without_weasyprint_the_page_says_why(client, invoice, admin_user, monkeypatch):
    def unavailable(invoice):
        raise invoice_pdf.PdfUnavailable("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr("invoices.views.pdf.render_invoice_pdf", unavailable)
    login(client, admin_user)

    response = client.get(reverse("invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 503
    assert "Pango" in response.content.decode() and "libpango" in response.content.decode()


@pytest.mark.parametrize(
    "amount,currency,printed",
    [
        ("18900000", "IDR", "IDR\xa018,900,000"),
        ("1234.5", "SGD", "SGD\xa01,234.50"),
        ("1234.5", "USD", "$1,234.50"),
        ("1500", "JPY", "¥1,500"),
    ],
)
def test_money_is_printed_in_its_currencys_way(amount, currency, printed):
    assert format_money(Decimal(amount), currency) == printed
