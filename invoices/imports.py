"""Mass upload of invoices from .xlsx or .csv: every row checked first, then all rows or none."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from babel.numbers import list_currencies
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from customers import timeline
from customers.models import ActivityKind, Customer, Source
from peakflo.bulk import insert_objects
from peakflo.models import Company, ImportJob
from peakflo.spreadsheets import SpreadsheetError, estimate_rows, read_table

from .models import Invoice, InvoiceStatus

REQUIRED_COLUMNS = ["invoice number", "customer ID", "issue date", "due date", "currency", "total"]
OPTIONAL_COLUMNS = ["tax", "exchange rate", "reference"]
MAX_REPORTED_ERRORS = 200
CENT = Decimal("0.01")
CURRENCIES = frozenset(list_currencies())


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self):
        return f"Row {self.row}, {self.column}: {self.message}"


class ImportRejected(Exception):
    """Nothing was imported; `errors` says which rows and columns to fix."""

    def __init__(self, errors, total_errors=None):
        self.errors = list(errors)
        self.total_errors = total_errors or len(self.errors)
        super().__init__(f"{self.total_errors} problem(s); nothing was imported. First: {self.errors[0]}")


class ImportInterrupted(Exception):
    """The database connection was lost during the import, which was rolled back whole."""

    def __init__(self, filename, cause):
        connection.close()  # broken: the next query (the job's record of it, say) opens a new one
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        super().__init__(
            f"The database connection was lost while importing {filename or 'the file'} ({reason}); "
            "nothing was imported. Import the file again."
        )


@dataclass
class NewInvoice:
    """One checked row, ready to insert: lighter than an Invoice instance when there are 100,000."""

    number: str
    customer_id: int
    issue_date: dt.date
    due_date: dt.date
    currency: str
    exchange_rate: Decimal
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    amount_due: Decimal
    status: str
    reference: str
    source: str = Source.IMPORT
    pk: int | None = None


@dataclass
class ImportSummary:
    created: int = 0
    customers: int = 0
    totals_by_currency: dict = field(default_factory=dict)


class _Row:
    """Reads one row's cells, collecting every problem rather than stopping at the first."""

    def __init__(self, number, cells, errors):
        self.number, self.cells, self.errors = number, cells, errors

    def fail(self, column, message):
        self.errors.append(RowError(self.number, column, message))

    def text(self, column, *, required=True, max_length=None):
        value = self.cells.get(column)
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # Excel stores 1001 as 1001.0
        value = "" if value is None else str(value).strip()
        if required and not value:
            self.fail(column, "is empty.")
        elif max_length and len(value) > max_length:
            self.fail(column, f"{value[:20]!r}… is longer than {max_length} characters.")
        return value

    def date(self, column):
        value = self.cells.get(column)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = "" if value is None else str(value).strip()
        if not text:
            self.fail(column, "is empty.")
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            self.fail(column, f"{text!r} is not a date: use YYYY-MM-DD or an Excel date.")
            return None

    def money(self, column, *, required=True, default=None):
        value = self.cells.get(column)
        text = "" if value is None else str(value).strip().replace(",", "")
        if not text:
            if required:
                self.fail(column, "is empty.")
            return default
        try:
            amount = Decimal(text)
        except InvalidOperation:
            self.fail(column, f"{text!r} is not a number.")
            return default
        if not amount.is_finite():
            self.fail(column, f"{text!r} is not a number.")
            return default
        if amount < 0:
            self.fail(column, f"{text} is negative; amounts must be zero or more.")
            return default
        if amount != amount.quantize(CENT):
            # Floats from Excel can carry binary noise: 109.99 may read as 109.99000000000001.
            if isinstance(value, float) and abs(amount - amount.quantize(CENT)) < Decimal("0.000001"):
                return amount.quantize(CENT)
            self.fail(column, f"{text} has more than two decimals.")
            return default
        return amount.quantize(CENT)


def _latest_rates(currencies):
    """The exchange rate last used for each currency, for rows that give none (one query a currency)."""
    rates = {}
    for currency in currencies:
        rate = (
            Invoice.objects.filter(currency=currency)
            .order_by("-issue_date", "-id")
            .values_list("exchange_rate", flat=True)
            .first()
        )
        if rate is not None:
            rates[currency] = rate
    return rates


def parse_invoices(data, *, filename="", progress=None, actor=None):
    """Check every row; return NewInvoice rows, or raise ImportRejected / SpreadsheetError.

    With an `actor`, only customers they may see are known (ops' command imports for all of them).
    """
    _, rows = read_table(data, filename=filename, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
    base_currency = Company.load().base_currency
    errors, parsed, first_row_of = [], [], {}
    for count, (number, cells) in enumerate(rows, start=1):
        row = _Row(number, cells, errors)
        invoice_number = row.text("invoice number", max_length=64)
        customer_code = row.text("customer ID", max_length=64)
        issue_date, due_date = row.date("issue date"), row.date("due date")
        currency = row.text("currency").upper()
        if currency and currency not in CURRENCIES:
            row.fail(
                "currency", f"{currency!r} is not an ISO 4217 currency code (for example SGD, USD, THB, IDR)."
            )
        total = row.money("total")
        tax = row.money("tax", required=False, default=Decimal("0.00"))
        rate_text = row.text("exchange rate", required=False)
        reference = row.text("reference", required=False, max_length=200)

        rate = None
        if rate_text:
            try:
                rate = Decimal(rate_text.replace(",", ""))
                if not rate.is_finite() or rate <= 0:
                    raise InvalidOperation
            except InvalidOperation:
                row.fail("exchange rate", f"{rate_text!r} is not a positive number.")
        if issue_date and due_date and due_date < issue_date:
            row.fail("due date", f"{due_date} is before the issue date {issue_date}.")
        if total is not None and tax is not None and tax > total:
            row.fail("tax", f"{tax} is more than the total {total}.")
        if invoice_number:
            if invoice_number in first_row_of:
                row.fail(
                    "invoice number",
                    f"{invoice_number!r} also appears in row {first_row_of[invoice_number]}.",
                )
            else:
                first_row_of[invoice_number] = number
        parsed.append(
            (
                number,
                invoice_number,
                customer_code,
                issue_date,
                due_date,
                currency,
                total,
                tax,
                rate,
                reference,
            )
        )
        if progress and count % 1000 == 0:
            progress(count)

    if not parsed and not errors:
        raise SpreadsheetError(f"{filename or 'The file'} has a header row but no invoices.")

    # Set-based checks against the database: one query per batch of values, never per row.
    customers = Customer.objects.visible_to(actor) if actor is not None else Customer.objects.all()
    codes = {row[2] for row in parsed if row[2]}
    customer_ids = {}
    code_list = list(codes)
    for start in range(0, len(code_list), 10000):
        customer_ids.update(
            customers.filter(code__in=code_list[start : start + 10000]).values_list("code", "id")
        )
    numbers = [row[1] for row in parsed if row[1]]
    existing = set()
    for start in range(0, len(numbers), 10000):
        existing.update(
            Invoice.objects.filter(number__in=numbers[start : start + 10000]).values_list("number", flat=True)
        )
    rates = _latest_rates({row[5] for row in parsed if row[5] in CURRENCIES and row[5] != base_currency})

    invoices = []
    for number, invoice_number, code, issue_date, due_date, currency, total, tax, rate, reference in parsed:
        if code and code not in customer_ids:
            errors.append(RowError(number, "customer ID", f"{code!r} is not a known customer ID."))
        if invoice_number in existing:
            errors.append(RowError(number, "invoice number", f"{invoice_number!r} already exists."))
        if rate is None and currency:
            rate = Decimal(1) if currency == base_currency else rates.get(currency)
            if rate is None and currency in CURRENCIES:
                errors.append(
                    RowError(
                        number,
                        "exchange rate",
                        f"is needed for {currency}: no earlier invoice gives a rate to {base_currency}.",
                    )
                )
        if errors:
            continue
        invoices.append(
            NewInvoice(
                number=invoice_number,
                customer_id=customer_ids[code],
                issue_date=issue_date,
                due_date=due_date,
                currency=currency,
                exchange_rate=rate,
                subtotal=total - tax,
                tax=tax,
                total=total,
                amount_due=total,
                status=InvoiceStatus.OPEN if total > 0 else InvoiceStatus.PAID,
                reference=reference,
            )
        )
    if errors:
        errors.sort(
            key=lambda error: (
                error.row,
                REQUIRED_COLUMNS.index(error.column) if error.column in REQUIRED_COLUMNS else 99,
            )
        )
        raise ImportRejected(errors[:MAX_REPORTED_ERRORS], total_errors=len(errors))
    return invoices


def import_invoices(*, data, filename="", actor=None, progress=None):
    """Import every invoice of the file, or none of them; record each on its customer's timeline."""
    try:
        invoices = parse_invoices(data, filename=filename, progress=progress, actor=actor)
    except DatabaseError as exc:
        raise ImportInterrupted(filename, exc) from exc
    summary = ImportSummary()
    now = timezone.now()
    try:
        with transaction.atomic():
            insert_objects(Invoice, invoices)
            timeline.record_many(
                {
                    "customer_id": invoice.customer_id,
                    "invoice_id": invoice.pk,
                    "kind": ActivityKind.INVOICE_ISSUED,
                    "actor": actor,
                    "data": {
                        "number": invoice.number,
                        "total": str(invoice.total),
                        "currency": invoice.currency,
                        "due_date": invoice.due_date.isoformat(),
                        "source": "import",
                        "file": filename,
                    },
                    "at": now,
                }
                for invoice in invoices
            )
    except IntegrityError as exc:
        # Another import or a person took a number between our check and our insert.
        raise ImportRejected(
            [RowError(0, "invoice number", f"a number was taken while importing ({exc}).")]
        ) from None
    except DatabaseError as exc:
        # The connection was lost (a server restart, the backend ended): the transaction was committed
        # whole or rolled back whole. Which one, a new connection tells.
        interrupted = ImportInterrupted(filename, exc)  # closes the broken connection
        if not invoices or not Invoice.objects.filter(number=invoices[0].number).exists():
            raise interrupted from exc
    summary.created = len(invoices)
    summary.customers = len({invoice.customer_id for invoice in invoices})
    for invoice in invoices:
        summary.totals_by_currency[invoice.currency] = (
            summary.totals_by_currency.get(invoice.currency, 0) + invoice.total
        )
    return summary


KIND = "invoices"


def start_import(*, upload, actor):
    """Keep the uploaded file and import it in the background; the page polls the job."""
    from .tasks import import_invoices_task

    job = ImportJob.objects.create(
        kind=KIND,
        file=upload,
        filename=upload.name[:255],
        created_by=actor,
        rows_total=estimate_rows(upload.read()),
    )
    transaction.on_commit(lambda: import_invoices_task.delay(job.pk))
    return job


def run_import_job(job):
    """Import a job's file, updating its progress; the job records the outcome, whatever it is."""
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)

    def progress(rows_done):
        ImportJob.objects.filter(pk=job.pk).update(rows_done=rows_done)

    job.file.open("rb")
    try:
        data = job.file.read()
    finally:
        job.file.close()
    try:
        summary = import_invoices(data=data, filename=job.filename, actor=job.created_by, progress=progress)
    except ImportRejected as rejected:
        job.status, job.errors = ImportJob.Status.FAILED, [str(error) for error in rejected.errors]
        job.summary = {"problems": rejected.total_errors}
    except (SpreadsheetError, ImportInterrupted) as exc:
        job.status, job.errors, job.summary = ImportJob.Status.FAILED, [str(exc)], {"problems": 1}
    else:
        job.status, job.errors = ImportJob.Status.DONE, []
        job.rows_done = summary.created
        job.summary = {
            "created": summary.created,
            "customers": summary.customers,
            "totals_by_currency": {
                currency: str(total) for currency, total in summary.totals_by_currency.items()
            },
        }
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "errors", "summary", "rows_done", "finished_at"])
    return job
