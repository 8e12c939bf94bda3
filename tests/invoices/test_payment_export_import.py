"""The payments export in the accounting import format, and the import of that same format."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from openpyxl import load_workbook

from customers.models import Activity, ActivityKind
from invoices.models import Invoice, InvoiceStatus, Payment, PaymentAllocation, PaymentMethod
from invoices.payment_imports import COLUMNS
from invoices.services import record_payment
from peakflo.spreadsheets import write_xlsx
from tests.conftest import PASSWORD

D = Decimal
DAY = dt.date(2026, 3, 2)
HEADER = [
    "Date",
    "Customer ID",
    "Customer name",
    "Invoice number",
    "Amount",
    "Currency",
    "Method",
    "Reference",
]


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


@pytest.fixture
def payments(book, am_alice):
    """Acme: 150 SGD of which 109 pays INV-0001; Globex: 60 USD on INV-0002; Hooli (Bob's): 109 IDR."""
    acme_payment = record_payment(
        customer=book["acme"],
        date=DAY,
        amount=D("150.00"),
        currency="SGD",
        allocations=[(book["invoices"][0], D("109.00"))],
        reference="=HYPERLINK(1)",
        created_by=am_alice,
    )
    globex_payment = record_payment(
        customer=book["globex"],
        date=DAY - dt.timedelta(days=1),
        amount=D("60.00"),
        currency="USD",
        method=PaymentMethod.CHEQUE,
        allocations=[(book["invoices"][1], D("60.00"))],
        reference="CHQ-42",
    )
    hooli_payment = record_payment(
        customer=book["hooli"],
        date=DAY,
        amount=D("109.00"),
        currency="IDR",
        allocations=[(book["invoices"][3], D("109.00"))],
        reference="HOOLI-1",
    )
    return acme_payment, globex_payment, hooli_payment


def xlsx_rows(content):
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def upload(rows, name="payments.xlsx", header=HEADER):
    return SimpleUploadedFile(name, write_xlsx(header, rows))


def snapshot():
    return sorted(
        (p.date, p.customer.code, p.amount, p.currency, p.method, p.reference,
         tuple(sorted((a.invoice.number, a.amount) for a in p.allocations.all())))
        for p in Payment.objects.select_related("customer").prefetch_related("allocations__invoice")
    )  # fmt: skip


def forget_payments():
    """As in a fresh database: no payments, the invoices owe their totals again."""
    PaymentAllocation.objects.all().delete()
    Payment.objects.all().delete()
    for invoice in Invoice.objects.all():
        invoice.amount_paid = D("0.00")
        invoice.amount_due = invoice.total - invoice.amount_credited
        invoice.status = InvoiceStatus.OPEN
        invoice.save()


def test_export_has_the_documented_columns_and_only_visible_rows(client, payments, am_alice):
    login(client, am_alice)

    response = client.get("/payments/export/")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="payments-')
    rows = xlsx_rows(response.content)
    assert rows[0] == HEADER == COLUMNS
    assert rows[1:] == [
        ["2026-03-02", "C-001", "Acme Pte Ltd", "INV-0001", 109, "SGD", "Bank transfer", "'=HYPERLINK(1)"],
        ["2026-03-02", "C-001", "Acme Pte Ltd", None, 41, "SGD", "Bank transfer", "'=HYPERLINK(1)"],
        ["2026-03-01", "C-002", "Globex", "INV-0002", 60, "USD", "Cheque", "CHQ-42"],
    ]


def test_export_follows_the_filters_and_csv_is_the_same(client, payments, am_alice):
    login(client, am_alice)

    response = client.get("/payments/export/", {"format": "csv", "q": "CHQ"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows == [HEADER, ["2026-03-01", "C-002", "Globex", "INV-0002", "60.00", "USD", "Cheque", "CHQ-42"]]


def test_an_outsider_exports_nothing_of_others(client, payments, am_bob):
    login(client, am_bob)

    rows = xlsx_rows(client.get("/payments/export/").content)

    assert [row[1] for row in rows[1:]] == ["C-004"]


@pytest.mark.parametrize("export_format", ["xlsx", "csv"])
def test_importing_the_export_recreates_the_payments(client, payments, admin_user, export_format):
    login(client, admin_user)
    before = snapshot()
    exported = client.get("/payments/export/", {"format": export_format}).content
    forget_payments()
    assert not Payment.objects.exists()

    response = client.post(
        "/payments/import/", {"file": SimpleUploadedFile(f"payments.{export_format}", exported)}, follow=True
    )

    assert response.status_code == 200, response.text
    assert snapshot() == before
    assert "Imported 3 payment(s)" in response.text and "41.00 SGD stays unallocated" in response.text
    assert Invoice.objects.get(number="INV-0001").status == InvoiceStatus.PAID
    call_command("check_consistency")


def test_importing_the_same_file_twice_is_refused(client, payments, admin_user):
    login(client, admin_user)
    exported = client.get("/payments/export/", {"q": "HOOLI"}).content
    forget_payments()
    client.post("/payments/import/", {"file": SimpleUploadedFile("p.xlsx", exported)})
    assert Payment.objects.count() == 1

    response = client.post("/payments/import/", {"file": SimpleUploadedFile("p.xlsx", exported)})

    assert response.status_code == 400 and "already recorded" in response.text
    assert Payment.objects.count() == 1


def test_rows_with_the_same_date_customer_and_reference_are_one_payment(client, book, am_alice):
    login(client, am_alice)
    acme = book["acme"]
    from invoices.services import LineInput, issue_invoice

    second = issue_invoice(
        customer=acme,
        number="INV-0200",
        issue_date=DAY,
        due_date=DAY,
        lines=[LineInput("x", D("1"), D("50"))],
    )
    rows = [
        ["2026-03-02", "C-001", "", "INV-0001", "100", "SGD", "bank_transfer", "TT-9"],
        [dt.datetime(2026, 3, 2), "C-001", "", "INV-0200", 50, "sgd", "Bank transfer", "TT-9"],
        ["2026-03-02", "C-001", "", "", "5.50", "SGD", "", "TT-9"],
        ["2026-03-02", "C-001", "", "", "7", "SGD", "Cash", "TT-10"],
    ]

    response = client.post("/payments/import/", {"file": upload(rows)})

    assert response.status_code == 302
    big = Payment.objects.get(reference="TT-9")
    assert (big.amount, big.currency, big.method, big.created_by) == (
        D("155.50"),
        "SGD",
        "bank_transfer",
        am_alice,
    )
    assert sorted(big.allocations.values_list("invoice__number", "amount")) == [
        ("INV-0001", D("100.00")),
        (second.number, D("50.00")),
    ]
    assert Payment.objects.get(reference="TT-10").method == PaymentMethod.CASH
    assert Activity.objects.filter(kind=ActivityKind.PAYMENT).count() == 2
    call_command("check_consistency")


GOOD = ["2026-03-02", "C-001", "Acme Pte Ltd", "INV-0001", "50", "SGD", "Bank transfer", "OK-1"]


@pytest.mark.parametrize(
    "bad, column, message",
    [
        ({1: "C-999"}, "Customer ID", "'C-999' is not a known customer ID"),
        (
            {1: "C-004"},
            "Customer ID",
            "'C-004' is not a known customer ID",
        ),  # Bob's customer: not Alice's to pay
        ({3: "INV-9999"}, "Invoice number", "'INV-9999' is not a known invoice number"),
        ({3: "INV-0002"}, "Invoice number", "INV-0002 is not an invoice of customer C-001"),
        ({4: "fifty"}, "Amount", "'fifty' is not a number"),
        ({4: -5}, "Amount", "negative"),
        ({4: "0"}, "Amount", "must be more than zero"),
        ({4: "200"}, "Amount", "more than its amount due (109.00 SGD)"),
        ({0: "02/31/2026"}, "Date", "is not a date"),
        ({0: ""}, "Date", "is empty"),
        ({5: "XYZ"}, "Currency", "'XYZ' is not an ISO 4217 currency code"),
        ({5: "USD"}, "Currency", "INV-0001 is in SGD, this row in USD"),
        ({6: "Bitcoin"}, "Method", "'Bitcoin' is not a payment method"),
    ],
)
def test_a_bad_row_names_its_row_and_column_and_changes_nothing(client, book, am_alice, bad, column, message):
    login(client, am_alice)
    row = list(GOOD)
    for index, value in bad.items():
        row[index] = value
    other = ["2026-03-02", "C-002", "Globex", "INV-0002", "10", "USD", "Cash", "OK-2"]

    response = client.post("/payments/import/", {"file": upload([other, row])})

    assert response.status_code == 400
    errors = [(e.row, e.column, e.message) for e in response.context["errors"]]
    assert any(r == 3 and c == column and message in m for r, c, m in errors), errors
    assert "Nothing was imported" in response.text
    assert not Payment.objects.exists()
    assert Invoice.objects.get(number="INV-0002").amount_due == D("109.00")
    assert not Activity.objects.filter(kind=ActivityKind.PAYMENT).exists()
    call_command("check_consistency")


def test_over_allocation_across_rows_names_the_row_that_tips_it(client, book, am_alice):
    login(client, am_alice)
    rows = [
        ["2026-03-02", "C-001", "", "INV-0001", "100", "SGD", "", "A"],
        ["2026-03-03", "C-001", "", "INV-0001", "10", "SGD", "", "B"],
    ]

    response = client.post("/payments/import/", {"file": upload(rows)})

    errors = [(e.row, e.column) for e in response.context["errors"]]
    assert errors == [(3, "Amount")]
    assert "110.00 SGD in all to INV-0001" in response.text
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    "file, message",
    [
        (
            SimpleUploadedFile("p.xlsx", write_xlsx(HEADER[:3], [["2026-03-02", "C-001", "x"]])),
            "Missing columns: Amount, Currency",
        ),
        (SimpleUploadedFile("p.xlsx", write_xlsx(HEADER, [])), "has a header row but no payments"),
        (SimpleUploadedFile("p.xlsx", b"\x00\x01not a workbook\x00" * 20), "neither an Excel workbook"),
        (SimpleUploadedFile("p.xlsx", b"PK\x03\x04garbage"), "not a readable Excel workbook"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(client, book, am_alice, file, message):
    login(client, am_alice)

    response = client.post("/payments/import/", {"file": file})

    assert response.status_code == 400 and message in response.text
    assert not Payment.objects.exists()


def test_the_template_has_the_columns(client, book, am_alice):
    login(client, am_alice)

    response = client.get("/payments/import/template.xlsx")

    assert xlsx_rows(response.content) == [HEADER]


def test_import_access(client, book, auditor):
    assert client.post("/payments/import/", {"file": upload([GOOD])}).status_code == 302  # to the login page
    login(client, auditor)
    assert client.post("/payments/import/", {"file": upload([GOOD])}).status_code == 403
    assert not Payment.objects.exists()
