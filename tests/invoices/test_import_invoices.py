import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from customers.models import Activity, ActivityKind
from invoices.imports import ImportRejected, import_invoices
from invoices.models import Invoice
from peakflo.spreadsheets import SpreadsheetError

HEADER = [
    "invoice number",
    "customer ID",
    "issue date",
    "due date",
    "currency",
    "total",
    "tax",
    "exchange rate",
]


def xlsx(rows, header=HEADER):
    workbook = Workbook()
    workbook.active.append(header)
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def good_row(number="IMP-1", code="C-001", **overrides):
    row = {
        "invoice number": number,
        "customer ID": code,
        "issue date": dt.date(2026, 10, 1),
        "due date": dt.date(2026, 10, 31),
        "currency": "SGD",
        "total": 1090.5,
        "tax": 90,
        "exchange rate": None,
        **overrides,
    }
    return [row[column] for column in HEADER]


def test_imports_every_row_and_records_the_timeline(book, am_alice):
    data = xlsx([good_row("IMP-1"), good_row("IMP-2", "C-003", currency="THB", **{"exchange rate": 0.0385})])

    summary = import_invoices(data=data, filename="october.xlsx", actor=am_alice)

    assert summary.created == 2 and summary.customers == 2
    first = Invoice.objects.get(number="IMP-1")
    assert (first.total, first.tax, first.subtotal, first.amount_due) == (
        Decimal("1090.50"),
        Decimal("90.00"),
        Decimal("1000.50"),
        Decimal("1090.50"),
    )
    assert first.customer == book["acme"] and first.source == "import"
    assert Invoice.objects.get(number="IMP-2").exchange_rate == Decimal("0.0385")
    entry = Activity.objects.get(invoice=first)
    assert entry.kind == ActivityKind.INVOICE_ISSUED and entry.actor_user == am_alice
    assert entry.data["file"] == "october.xlsx"


def test_reads_csv_too(book):
    data = b'invoice number,customer ID,issue date,due date,currency,total\nCSV-1,C-001,2026-10-01,2026-10-31,SGD,"1,200.00"\n'

    assert import_invoices(data=data, filename="x.csv").created == 1
    assert Invoice.objects.get(number="CSV-1").total == Decimal("1200.00")


@pytest.mark.parametrize(
    ("row", "where", "says"),
    [
        (good_row(code="NOPE"), "Row 2, customer ID", "'NOPE' is not a known customer ID"),
        (good_row(**{"issue date": "31/02/2026"}), "Row 2, issue date", "is not a date"),
        (good_row(total="twelve"), "Row 2, total", "'twelve' is not a number"),
        (good_row(total=-5), "Row 2, total", "is negative"),
        (good_row(currency="XYZ"), "Row 2, currency", "'XYZ' is not an ISO 4217"),
        (good_row(number="INV-0001"), "Row 2, invoice number", "'INV-0001' already exists"),
        (good_row(**{"due date": dt.date(2026, 9, 1)}), "Row 2, due date", "before the issue date"),
        (good_row(tax=5000), "Row 2, tax", "more than the total"),
        (good_row(number=None), "Row 2, invoice number", "is empty"),
        (good_row(currency="EUR"), "Row 2, exchange rate", "is needed for EUR"),
        (good_row(total=10.125), "Row 2, total", "more than two decimals"),
    ],
)
def test_a_bad_row_names_its_row_and_column_and_nothing_is_imported(book, row, where, says):
    before = Invoice.objects.count()
    data = xlsx([row, good_row("IMP-OK")])

    with pytest.raises(ImportRejected) as rejected:
        import_invoices(data=data, filename="bad.xlsx")

    message = str(rejected.value.errors[0])
    assert message.startswith(where) and says in message
    assert Invoice.objects.count() == before
    assert not Invoice.objects.filter(number="IMP-OK").exists()


def test_duplicate_number_inside_the_file_names_both_rows(book):
    with pytest.raises(ImportRejected) as rejected:
        import_invoices(data=xlsx([good_row("DUP-1"), good_row("DUP-2"), good_row("DUP-1")]))

    assert [str(error) for error in rejected.value.errors] == [
        "Row 4, invoice number: 'DUP-1' also appears in row 2."
    ]
    assert not Invoice.objects.filter(number__startswith="DUP").exists()


def test_every_problem_is_reported_not_just_the_first(book):
    with pytest.raises(ImportRejected) as rejected:
        import_invoices(
            data=xlsx([good_row("A", code="NOPE"), good_row("B", total="x"), good_row("C", currency="??")])
        )

    assert [(error.row, error.column) for error in rejected.value.errors] == [
        (2, "customer ID"),
        (3, "total"),
        (4, "currency"),
    ]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (
            xlsx([good_row()], header=["invoice number", "customer ID", "total"]),
            "Missing columns: issue date, due date, currency",
        ),
        (b"", "is empty"),
        (xlsx([]), "no invoices"),
        (b"%PDF-1.7\n\x00\x01binary", "neither an Excel workbook .* nor a CSV"),
        (b"PK\x03\x04garbage that is not a zip", "not a readable Excel workbook"),
    ],
)
def test_unreadable_files_say_why_and_change_nothing(book, data, says):
    before = Invoice.objects.count()

    with pytest.raises(SpreadsheetError, match=says):
        import_invoices(data=data, filename="renamed.xlsx")

    assert Invoice.objects.count() == before


def test_an_account_manager_imports_only_for_customers_they_may_see(book, am_alice):
    data = xlsx([good_row("MINE", "C-001"), good_row("NOT-MINE", "C-004")])  # Hooli is Bob's

    with pytest.raises(ImportRejected) as rejected:
        import_invoices(data=data, filename="mixed.xlsx", actor=am_alice)

    assert [str(e) for e in rejected.value.errors] == ["Row 3, customer ID: 'C-004' is not a known customer ID."]
    assert not Invoice.objects.filter(number__in=["MINE", "NOT-MINE"]).exists()
