"""Reading uploaded .xlsx / .csv tables and writing .xlsx exports, shared by every import and export."""

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class SpreadsheetError(ValueError):
    """The file itself cannot be read as a table; the message says why, for a person."""


def normalise_header(name):
    return " ".join(str(name or "").strip().lower().replace("_", " ").split())


def _sniff_kind(head: bytes, filename: str) -> str:
    """Decide by content, not by name: an .xlsx is a zip holding xl/workbook.xml; CSV is text."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if b"\x00" in head[:4096]:
        raise SpreadsheetError(
            f"{filename or 'The file'} is neither an Excel workbook (.xlsx) nor a CSV text file."
        )
    return "csv"


def _xlsx_rows(data: bytes, filename: str) -> Iterator[tuple]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise SpreadsheetError(
                    f"{filename or 'The file'} is a zip archive but not an Excel workbook."
                )
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise SpreadsheetError(
            f"{filename or 'The file'} is not a readable Excel workbook ({exc})."
        ) from None
    try:
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()


def _csv_rows(data: bytes, filename: str) -> Iterator[tuple]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpreadsheetError(
            f"{filename or 'The CSV file'} is not UTF-8 text; save it as CSV UTF-8."
        ) from None
    for row in csv.reader(io.StringIO(text)):
        yield tuple(row)


def read_table(
    data: bytes, *, filename: str = "", required: Iterable[str] = (), optional: Iterable[str] = ()
):
    """Return (headers, rows): rows is an iterator of (row_number, {header: value}) as the user numbers them.

    Headers are matched case- and spacing-insensitively against `required` and `optional`;
    a missing required column, or an empty file, raises SpreadsheetError naming it.
    Blank rows are skipped. Row numbers count the header as row 1, as Excel shows them.
    """
    if not data:
        raise SpreadsheetError(f"{filename or 'The file'} is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise SpreadsheetError(
            f"{filename or 'The file'} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
        )
    kind = _sniff_kind(data[:8192], filename)
    rows = _xlsx_rows(data, filename) if kind == "xlsx" else _csv_rows(data, filename)
    header_row = next(rows, None)
    if header_row is None or not any(cell not in (None, "") for cell in header_row):
        raise SpreadsheetError(f"{filename or 'The file'} has no header row: it looks empty.")

    wanted = {normalise_header(name): name for name in [*required, *optional]}
    positions = {}
    for index, cell in enumerate(header_row):
        key = normalise_header(cell)
        if key in wanted and wanted[key] not in positions:
            positions[wanted[key]] = index
    missing = [name for name in required if name not in positions]
    if missing:
        raise SpreadsheetError(
            f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. "
            f"The first row must name the columns: {', '.join([*required, *optional])}."
        )

    def records():
        for number, row in enumerate(rows, start=2):
            if not any(cell not in (None, "") for cell in row):
                continue
            yield (
                number,
                {name: (row[index] if index < len(row) else None) for name, index in positions.items()},
            )

    return list(positions), records()


def neutralise(value):
    """Keep user text from running as a formula when the export is opened in a spreadsheet (OWASP:
    a leading = + - @ tab or CR gets an apostrophe). Numbers and dates are not text and stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_xlsx(headers: list[str], rows: Iterable[Iterable], *, sheet_title: str = "Sheet1") -> bytes:
    """A write-only workbook streamed from rows, so large exports stay small in memory."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title[:31])
    sheet.append(headers)
    for row in rows:
        sheet.append([neutralise(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_csv(headers: list[str], rows: Iterable[Iterable]) -> bytes:
    """CSV in UTF-8 with Excel's line ends; user text is neutralised as in write_xlsx, numbers stay numbers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([neutralise(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def estimate_rows(data: bytes) -> int:
    """Rows below the header, cheaply, for a progress bar (an .xlsx says its size in its dimension)."""
    if data.startswith(b"PK\x03\x04"):
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True)
            rows = workbook.worksheets[0].max_row or 0
            workbook.close()
            return max(rows - 1, 0)
        except Exception:  # unreadable: the import itself will say why
            return 0
    return max(data.count(b"\n") - 1, 0)
