"""Payments to and from the accounting system's import format (README: "Payments export and import").

One row per allocation, plus one row (no invoice number) for what a payment leaves unallocated.
Rows with the same Date + Customer ID + Reference are one payment. An import checks every row first,
then records all payments or none, through `record_payment`.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch

from customers.models import Customer
from peakflo import spreadsheets

from .imports import CURRENCIES, ImportRejected, RowError, _Row
from .models import ZERO, Invoice, InvoiceStatus, Payment, PaymentAllocation, PaymentMethod, PaymentSource
from .services import record_payment

COLUMNS = [
    "Date",
    "Customer ID",
    "Customer name",
    "Invoice number",
    "Amount",
    "Currency",
    "Method",
    "Reference",
]
REQUIRED_COLUMNS = ["Date", "Customer ID", "Amount", "Currency"]
OPTIONAL_COLUMNS = ["Customer name", "Invoice number", "Method", "Reference"]
MAX_REPORTED_ERRORS = 200
FORMULA_PREFIXES = ("=", "+", "-", "@")


def export_rows(payments):
    """Yield the export's rows for `payments` (a queryset), allocations in invoice-number order."""
    payments = payments.select_related("customer").prefetch_related(
        Prefetch(
            "allocations",
            queryset=PaymentAllocation.objects.select_related("invoice").order_by("invoice__number"),
        )
    )
    for payment in payments.iterator(chunk_size=2000):
        start = [payment.date.isoformat(), payment.customer.code, payment.customer.name]
        end = [payment.currency, payment.get_method_display(), payment.reference]
        allocated = ZERO
        for allocation in payment.allocations.all():
            allocated += allocation.amount
            yield [*start, allocation.invoice.number, allocation.amount, *end]
        if payment.amount > allocated:
            yield [*start, "", payment.amount - allocated, *end]


def write_csv(headers, rows):
    return spreadsheets.write_csv(headers, rows)


METHODS = {
    **{value.lower(): value for value in PaymentMethod.values},
    **{label.lower(): value for value, label in PaymentMethod.choices},
}


@dataclass
class _Line:
    row: int
    date: object
    code: str
    invoice_number: str
    amount: object
    currency: str
    method: str
    reference: str


@dataclass
class _PaymentRows:
    lines: list = field(default_factory=list)

    @property
    def first(self):
        return self.lines[0]


@dataclass
class PaymentImportSummary:
    payments: int = 0
    allocations: int = 0
    unallocated_by_currency: dict = field(default_factory=dict)
    totals_by_currency: dict = field(default_factory=dict)


def _read_reference(row):
    reference = row.text("Reference", required=False, max_length=200)
    # Our own export (and others') protect text from running as a formula with a leading apostrophe.
    if reference.startswith("'") and reference[1:2] and reference[1] in FORMULA_PREFIXES:
        reference = reference[1:]
    return reference


def _already_recorded(lines, customers):
    """Payment keys of the file (with a reference) that match a recorded payment's customer, date, reference and amount."""
    totals = defaultdict(lambda: ZERO)
    for line in lines:
        if line.reference and line.date and line.code in customers and line.amount is not None:
            totals[(line.date, line.code, line.reference)] += line.amount
    if not totals:
        return {}
    recorded = set(
        Payment.objects.filter(
            customer__in=[customers[code] for _, code, _ in totals],
            date__in={date for date, _, _ in totals},
            reference__in={reference for _, _, reference in totals},
        ).values_list("date", "customer__code", "reference", "amount")
    )
    return {key: total for key, total in totals.items() if (*key, total) in recorded}


def parse_payments(data, *, filename="", user):
    """Check every row; return the payments to record, grouped, or raise ImportRejected / SpreadsheetError."""
    from peakflo.spreadsheets import SpreadsheetError, read_table

    _, rows = read_table(data, filename=filename, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
    errors, lines = [], []
    for number, cells in rows:
        row = _Row(number, cells, errors)
        date = row.date("Date")
        code = row.text("Customer ID", max_length=64)
        invoice_number = row.text("Invoice number", required=False, max_length=64)
        amount = row.money("Amount")
        if amount is not None and amount == 0:
            row.fail("Amount", "must be more than zero.")
            amount = None
        currency = row.text("Currency").upper()
        if currency and currency not in CURRENCIES:
            row.fail(
                "Currency", f"{currency!r} is not an ISO 4217 currency code (for example SGD, USD, THB)."
            )
        method_text = row.text("Method", required=False)
        method = METHODS.get(method_text.lower()) if method_text else PaymentMethod.BANK_TRANSFER
        if method is None:
            choices = ", ".join(label for _, label in PaymentMethod.choices)
            row.fail("Method", f"{method_text!r} is not a payment method: use one of {choices}.")
        lines.append(
            _Line(number, date, code, invoice_number, amount, currency, method, _read_reference(row))
        )
    if not lines:
        raise SpreadsheetError(f"{filename or 'The file'} has a header row but no payments.")

    customers = {
        c.code: c for c in Customer.objects.visible_to(user).filter(code__in={line.code for line in lines})
    }
    invoice_numbers = {line.invoice_number for line in lines if line.invoice_number}
    invoices = (
        {
            i.number: i
            for i in Invoice.objects.visible_to(user)
            .filter(number__in=invoice_numbers)
            .select_for_update(of=("self",))
        }
        if invoice_numbers
        else {}
    )

    already_recorded = _already_recorded(lines, customers)
    reported = set()
    groups = {}
    allocated_so_far = defaultdict(lambda: ZERO)
    for line in lines:
        customer = customers.get(line.code)
        key = (line.date, line.code, line.reference)
        if key in already_recorded:
            # Re-importing a file: say so once, rather than that its invoices are now paid.
            if key not in reported:
                reported.add(key)
                errors.append(
                    RowError(
                        line.row,
                        "Reference",
                        f"a payment of {already_recorded[key]} {line.currency} from {line.code} on {line.date} "
                        f"with reference {line.reference!r} is already recorded; was this file imported before?",
                    )
                )
            continue
        if line.code and customer is None:
            errors.append(RowError(line.row, "Customer ID", f"{line.code!r} is not a known customer ID."))
        if line.invoice_number:
            invoice = invoices.get(line.invoice_number)
            if invoice is None:
                errors.append(
                    RowError(
                        line.row, "Invoice number", f"{line.invoice_number!r} is not a known invoice number."
                    )
                )
            elif customer is not None and invoice.customer_id != customer.pk:
                errors.append(
                    RowError(
                        line.row,
                        "Invoice number",
                        f"{invoice.number} is not an invoice of customer {customer.code}.",
                    )
                )
            elif invoice.status != InvoiceStatus.OPEN:
                errors.append(
                    RowError(
                        line.row,
                        "Invoice number",
                        f"{invoice.number} is {invoice.get_status_display().lower()}.",
                    )
                )
            elif line.currency and invoice.currency != line.currency:
                errors.append(
                    RowError(
                        line.row,
                        "Currency",
                        f"{invoice.number} is in {invoice.currency}, this row in {line.currency}.",
                    )
                )
            elif line.amount is not None:
                allocated_so_far[invoice.pk] += line.amount
                if allocated_so_far[invoice.pk] > invoice.amount_due:
                    errors.append(
                        RowError(
                            line.row,
                            "Amount",
                            f"allocates {allocated_so_far[invoice.pk]} {invoice.currency} in all to {invoice.number}, "
                            f"more than its amount due ({invoice.amount_due} {invoice.currency}).",
                        )
                    )
        if line.date is None or not line.code:
            continue
        group = groups.setdefault((line.date, line.code, line.reference), _PaymentRows())
        if group.lines:
            first = group.first
            if line.currency and first.currency and line.currency != first.currency:
                errors.append(
                    RowError(
                        line.row,
                        "Currency",
                        f"{line.currency} differs from row {first.row} of the same payment ({first.currency}).",
                    )
                )
            if line.method and first.method and line.method != first.method:
                errors.append(
                    RowError(line.row, "Method", f"differs from row {first.row} of the same payment.")
                )
            if line.invoice_number and line.invoice_number in {other.invoice_number for other in group.lines}:
                errors.append(
                    RowError(
                        line.row,
                        "Invoice number",
                        f"{line.invoice_number} appears twice in the same payment (same Date, Customer ID and Reference).",
                    )
                )
        group.lines.append(line)

    if errors:
        errors.sort(
            key=lambda error: (error.row, COLUMNS.index(error.column) if error.column in COLUMNS else 99)
        )
        raise ImportRejected(errors[:MAX_REPORTED_ERRORS], total_errors=len(errors))
    return [(customers[code], invoices, group) for (_, code, _), group in groups.items()]


@transaction.atomic
def import_payments(*, data, filename="", user):
    """Record every payment of the file, or none; each is on its customer's timeline."""
    summary = PaymentImportSummary()
    for customer, invoices, group in parse_payments(data, filename=filename, user=user):
        first = group.first
        total = sum((line.amount for line in group.lines), ZERO)
        allocations = [
            (invoices[line.invoice_number], line.amount) for line in group.lines if line.invoice_number
        ]
        try:
            record_payment(
                customer=customer,
                date=first.date,
                amount=total,
                currency=first.currency,
                allocations=allocations,
                method=first.method,
                reference=first.reference,
                source=PaymentSource.MANUAL,
                created_by=user,
            )
        except ValidationError as error:
            raise ImportRejected([RowError(first.row, "Amount", " ".join(error.messages))]) from None
        allocated = sum((amount for _, amount in allocations), ZERO)
        summary.payments += 1
        summary.allocations += len(allocations)
        totals, rest = summary.totals_by_currency, summary.unallocated_by_currency
        totals[first.currency] = totals.get(first.currency, ZERO) + total
        if total > allocated:
            rest[first.currency] = rest.get(first.currency, ZERO) + total - allocated
    return summary
