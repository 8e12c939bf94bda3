"""No Excel or CSV export lets user-written text run as a formula when it is opened (OWASP CSV injection).

One customer book is written with text that a spreadsheet would run: a customer named
=HYPERLINK("http://x","y"), a tag, references, a reason, a task title, a holiday, a user's name, a
workflow and a sync error beginning with = + - @ or a tab. Every export of the product is downloaded
and read back: each of those texts comes out as inert text (a leading apostrophe), no text cell starts
like a formula, and amounts stay numbers.
"""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounting.models import Connection, SyncRun
from customers import services as customer_services
from customers.models import Customer, Tag
from disputes import services as dispute_services
from disputes.models import DisputeReason
from invoices.models import CreditNote, CreditNoteStatus, Invoice, Payment, PaymentAllocation
from peakflo.models import Company, Holiday
from peakflo.spreadsheets import write_csv, write_xlsx
from tests.conftest import PASSWORD
from workflows.models import Task, Workflow

pytestmark = pytest.mark.django_db

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EVIL_NAME = '=HYPERLINK("http://x","y")'
TEXTS = {
    "customer": EVIL_NAME,
    "manager": "@alice",
    "tag": "+vip",
    "workflow": "+Strict",
    "invoice reference": "-PO 77",
    "payment reference": "@pay 1",
    "tab reference": "\tTT 2",
    "reason": "=Damaged goods",
    "task": "@call -them",
    "credit note": "-2+3 short delivery",
    "holiday": "=cmd|' /C calc'!A0",
    "sync error": "=1+1",
}


def inert(value):
    return "'" + value


@pytest.fixture
def book(db, admin_user, am_alice):
    am_alice.name = TEXTS["manager"]
    am_alice.save()
    today = Company.load().today()
    workflow = Workflow.objects.create(name=TEXTS["workflow"])
    customer = Customer.objects.create(
        code="E-001",
        name=EVIL_NAME,
        currency="SGD",
        account_manager=am_alice,
        workflow=workflow,
        credit_hold=True,
        credit_hold_since=timezone.now(),
    )
    customer.tags.add(Tag.objects.create(name=TEXTS["tag"]))
    invoice = Invoice.objects.create(
        number="INV-E1",
        customer=customer,
        currency="SGD",
        issue_date=today - dt.timedelta(days=70),
        due_date=today - dt.timedelta(days=40),
        subtotal=Decimal("300.00"),
        total=Decimal("300.00"),
        amount_paid=Decimal("50.00"),
        amount_due=Decimal("250.00"),
        reference=TEXTS["invoice reference"],
    )
    payment = Payment.objects.create(
        customer=customer,
        date=today,
        amount=Decimal("50.00"),
        currency="SGD",
        reference=TEXTS["payment reference"],
    )
    PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=Decimal("50.00"))
    Payment.objects.create(
        customer=customer,
        date=today,
        amount=Decimal("20.00"),
        currency="SGD",
        reference=TEXTS["tab reference"],
    )
    reason = DisputeReason.objects.create(name=TEXTS["reason"])
    dispute_services.raise_dispute(invoice=invoice, reason=reason, actor=am_alice, comment="=SUM(A1:A9)")
    customer_services.add_note(customer=customer, text="-note", actor=am_alice)
    Task.objects.create(customer=customer, invoice=invoice, title=TEXTS["task"], owner=am_alice, due_on=today)
    CreditNote.objects.create(
        number="CN-E1",
        customer=customer,
        invoice=invoice,
        date=today,
        amount=Decimal("10.00"),
        currency="SGD",
        reason=TEXTS["credit note"],
        status=CreditNoteStatus.PENDING_APPROVAL,
    )
    Holiday.objects.create(date=today + dt.timedelta(days=3), name=TEXTS["holiday"])
    connection = Connection(provider="xero", tenant_id="t-1", tenant_name="Books")
    connection.save()
    SyncRun.objects.create(
        connection=connection,
        trigger="manual",
        status="failed",
        started_at=timezone.now() - dt.timedelta(minutes=1),
        finished_at=timezone.now(),
        failed=1,
        errors=[{"error": TEXTS["sync error"]}],
    )
    client = Client()
    assert client.login(email=admin_user.email, password=PASSWORD)
    return client


# Each export, and the texts of the book it must show (each as inert text).
EXPORTS = {
    "customers_export": ["customer", "manager", "workflow"],
    "invoices_export": ["customer", "invoice reference"],
    "payments_export": ["customer", "payment reference", "tab reference"],
    "credit_notes_export": ["customer", "credit note"],
    "disputes_export": ["customer", "reason"],
    "actions_export": ["customer", "task"],
    "settings_holidays_export": ["holiday"],
    "integrations_log_export": ["sync error"],
    "report_invoice_status_export": ["customer", "manager"],
    "report_customer_status_export": ["customer", "manager", "tag"],
    "report_aging_by_manager_export": ["manager"],
    "report_disputes_export": ["reason"],
    "report_actions_export": ["manager"],
    "report_credit_control_export": ["customer", "manager", "workflow"],
    "report_team_activity_export": ["manager"],
    "invoices_import_template": [],
}


QUERIES = {"actions_export": {"owner": "anyone", "due": "open"}}


def xlsx_cells(content):
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [cell for row in sheet.iter_rows(values_only=True) for cell in row]


def assert_inert(cells, expected):
    texts = [cell for cell in cells if isinstance(cell, str)]
    running = [text for text in texts if text.startswith(FORMULA_STARTS)]
    assert running == [], f"cells that a spreadsheet would run: {running}"
    for key in expected:
        assert any(text == inert(TEXTS[key]) or text.startswith(inert(TEXTS[key])) for text in texts), (
            f"{key} ({TEXTS[key]!r}) is not in the export as inert text: {texts}"
        )
    looks_numeric = [t for t in texts if re.fullmatch(r"'?[-+]?[\d,]+(\.\d+)?", t)]
    assert looks_numeric == [], f"amounts written as text: {looks_numeric}"


@pytest.mark.parametrize("name", EXPORTS)
def test_every_excel_export_writes_user_text_as_inert_text(book, name):
    response = book.get(reverse(name), QUERIES.get(name, {}))

    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert_inert(xlsx_cells(response.content), EXPORTS[name])


def test_the_payments_csv_export_writes_user_text_as_inert_text(book):
    response = book.get(reverse("payments_export"), {"format": "csv"})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    header, *data = rows
    cells = [cell for row in data for cell in row]
    amount = header.index("Amount")
    assert sorted(row[amount] for row in data) == ["20.00", "50.00"]  # numbers, as the importer reads them
    assert_inert(
        [c for i, row in enumerate(data) for j, c in enumerate(row) if j != amount],
        EXPORTS["payments_export"],
    )
    assert inert(EVIL_NAME) in cells


def test_the_csv_export_reads_back_in_the_payments_import(book):
    """The apostrophe that protects a reference is taken off again when the file is imported back."""
    from invoices.payment_imports import _read_reference

    class Row:
        def text(self, *args, **kwargs):
            return inert(TEXTS["payment reference"])

    assert _read_reference(Row()) == TEXTS["payment reference"]


def test_numbers_stay_numbers_and_only_text_is_neutralised():
    rows = [[Decimal("-12.50"), -3, 0.5, dt.date(2026, 1, 2), "-12.50", "@x", "\rCR", "plain", None]]

    cells = xlsx_cells(write_xlsx(list("ABCDEFGHI"), rows))[9:]
    csv_row = list(csv.reader(io.StringIO(write_csv(list("ABCDEFGHI"), rows).decode())))[1]

    assert cells[:3] == [-12.5, -3, 0.5] and all(isinstance(c, (int, float)) for c in cells[:3])
    assert cells[4:8] == ["'-12.50", "'@x", "'\rCR", "plain"]  # text that looks like a formula stays text
    assert csv_row == ["-12.50", "-3", "0.5", "2026-01-02", "'-12.50", "'@x", "'\rCR", "plain", ""]
