import io

import pytest
from openpyxl import Workbook, load_workbook

from peakflo.spreadsheets import SpreadsheetError, read_table, write_xlsx


def xlsx(rows):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_reads_xlsx_by_header_name_whatever_the_case_and_order():
    data = xlsx([["Email", "Customer ID"], ["a@x.test", "C-1"], [None, None], ["b@x.test", "C-2"]])

    headers, rows = read_table(data, required=["customer ID", "email"])

    assert set(headers) == {"customer ID", "email"}
    assert list(rows) == [
        (2, {"customer ID": "C-1", "email": "a@x.test"}),
        (4, {"customer ID": "C-2", "email": "b@x.test"}),
    ]


def test_reads_csv_with_a_byte_order_mark():
    _, rows = read_table(
        "\ufeffcustomer ID,email\nC-1,a@x.test\n".encode(), required=["customer ID", "email"]
    )

    assert list(rows) == [(2, {"customer ID": "C-1", "email": "a@x.test"})]


def test_missing_column_is_named():
    with pytest.raises(SpreadsheetError, match="Missing column: email"):
        read_table(b"customer ID\nC-1\n", required=["customer ID", "email"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"\n\n", "no header row"),
        (b"PK\x03\x04 not really a zip", "not a readable Excel workbook"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "neither an Excel workbook"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(data, message):
    with pytest.raises(SpreadsheetError, match=message):
        read_table(data, filename="upload.xlsx", required=["email"])


def test_export_neutralises_formulas_in_user_text():
    data = write_xlsx(["name"], [['=HYPERLINK("http://evil")'], ["Acme"], [12]])

    values = [row[0] for row in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]

    assert values == ["name", '\'=HYPERLINK("http://evil")', "Acme", 12]
