"""The two-way sync of one connection (DESIGN.md, "Accounting sync"; issue #7).

A run, under the connection's lease (one at a time):
1. pulls the contacts changed since their cursor (so customers made here are matched to theirs
   on number or name before anything is pushed);
2. pushes what was made here and is not there yet — customers, payments recorded by hand or in
   the portal, approved credit notes — with an idempotency key per row, storing the ids that
   come back;
3. pulls invoices, credit notes and payments changed since their cursors (so they already count
   what was pushed).
Each pulled page is applied and its cursor moved in ONE transaction, so a run that dies resumes
after the last page it committed, and a page applied twice changes nothing (rows are matched by
external id and only changed fields are written).

Provider faults: HTTP 429 waits as Retry-After says, 5xx and timeouts retry with backoff, an
expired access token is refreshed once; what still fails ends the run as failed, with its error,
and the next run starts from the cursors.

Field ownership: the accounting system owns names, numbers, dates, amounts, lines and status;
account manager, viewers, workflow, tags, promises and pauses are peakflo's and never written here.
"""

import datetime as dt
import logging
import re
import time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from customers import timeline
from customers.models import ActivityKind, Contact, Customer, Source
from customers.services import default_account_manager
from invoices.models import (
    CreditNote,
    CreditNoteStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentSource,
)
from invoices.models import Source as InvoiceSource
from peakflo.models import Company

from .connectors.base import ConnectorError, RateLimited, TokenExpired
from .models import Connection, ConnectionStatus, SyncRun, SyncStatus

log = logging.getLogger(__name__)

PULL_ORDER = ("contact", "invoice", "credit_note", "payment")
LEASE = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5  # per provider call, for 5xx and timeouts
MAX_WAIT_SECONDS = 120  # the longest Retry-After honoured inside a run; longer ends the run
MAX_RATE_LIMIT_WAITS = 20  # for one call; then the run ends and the next one resumes
BACKOFF_SECONDS = 1.0
ZERO = Decimal("0.00")


class SyncFailed(Exception):
    pass


class Busy(Exception):
    """Another run holds the connection's lease."""


# --- the lease ------------------------------------------------------------------------------------


def _take_lease(connection):
    now = timezone.now()
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    if not Connection.objects.filter(free, pk=connection.pk).update(locked_until=now + LEASE):
        raise Busy(f"{connection} is already syncing.")


def _renew_lease(connection):
    Connection.objects.filter(pk=connection.pk).update(locked_until=timezone.now() + LEASE)


def _release_lease(connection):
    Connection.objects.filter(pk=connection.pk).update(locked_until=None)


# --- calling the provider -------------------------------------------------------------------------


class TokenBucket:
    """At most `per_minute` calls in any minute, in bursts of up to `per_minute`: one run at a time
    holds a connection (the lease), so one bucket per run keeps the organisation under its limit."""

    def __init__(self, per_minute, *, sleep, clock=time.monotonic):
        self.capacity = self.tokens = float(per_minute)
        self.rate = per_minute / 60.0
        self.sleep, self.clock = sleep, clock
        self.last = clock()

    def take(self):
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            self.sleep((1 - self.tokens) / self.rate)
            self.tokens, self.last = 1.0, self.clock()
        self.tokens -= 1


class UnlinkedCustomers:
    """Customers made here and not linked to the accounting system yet, by customer ID and by
    normalised name: read once a run, and only when a contact has no customer by its id."""

    def __init__(self):
        self.by_code = self.by_name = None

    def take(self, number, name):
        """The customer a new contact matches (then no longer free to match another), or None."""
        if self.by_code is None:
            customers = Customer.objects.filter(external_id__isnull=True).only(
                "pk", "code", "name", "currency"
            )
            self.by_code = {c.code: c for c in customers}
            self.by_name = {normalised_name(c.name): c for c in self.by_code.values()}
        customer = self.by_code.get(number or "") or self.by_name.get(normalised_name(name))
        if customer is not None:
            self.by_code.pop(customer.code, None)
            self.by_name.pop(normalised_name(customer.name), None)
        return customer


class Caller:
    """Calls the connector with the run's patience: keeps under the provider's calls a minute,
    waits out 429s, retries 5xx and timeouts with backoff, refreshes an expired token once."""

    def __init__(self, connection, connector, *, sleep=time.sleep):
        self.connection = connection
        self.connector = connector
        self.sleep = sleep
        self.refreshed = False
        self.bucket = TokenBucket(connector.calls_per_minute, sleep=sleep)
        self.unlinked = UnlinkedCustomers()  # the run's, for matching contacts

    def __call__(self, method, *args, **kwargs):
        attempt = waits = 0  # failures retried, rate-limit waits: counted apart
        while True:
            self.bucket.take()
            try:
                return getattr(self.connector, method)(*args, **kwargs)
            except RateLimited as error:
                wait = error.retry_after if error.retry_after is not None else 60
                waits += 1
                if wait > MAX_WAIT_SECONDS or waits > MAX_RATE_LIMIT_WAITS:
                    raise SyncFailed(
                        f"The provider asked to wait {wait} s (rate limit); the next run resumes."
                    ) from error
                log.info("%s: rate limited, waiting %s s", self.connection, wait)
                self.sleep(wait)
                _renew_lease(self.connection)
            except TokenExpired as error:
                if self.refreshed:
                    raise SyncFailed(
                        f"The access token was refused again after a refresh: {error}"
                    ) from error
                refresh_tokens(self.connection, self.connector)
                self.refreshed = True
            except ConnectorError as error:
                attempt += 1
                if not error.retryable or attempt >= MAX_ATTEMPTS:
                    raise
                self.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))


def refresh_tokens(connection, connector):
    """Swap the refresh token for a new pair and save both at once (the old one is now spent)."""
    try:
        tokens = connector.refresh(connection.refresh_token)
    except ConnectorError as error:
        Connection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.NEEDS_RECONNECT)
        raise SyncFailed(f"The provider refused to refresh the tokens; reconnect. ({error})") from error
    with transaction.atomic():
        connection.access_token = tokens.access_token
        connection.refresh_token = tokens.refresh_token
        connection.token_expires_at = tokens.expires_at
        connection.save(update_fields=["access_token", "refresh_token", "token_expires_at", "updated_at"])
    connector.use_tokens(tokens)


def _ensure_fresh_tokens(connection, connector):
    expires = connection.token_expires_at
    if expires is None or expires <= timezone.now() + dt.timedelta(minutes=2):
        refresh_tokens(connection, connector)


# --- the run --------------------------------------------------------------------------------------


def sync(
    connection, *, connector, trigger, full=False, kinds=PULL_ORDER, push_changes=True, sleep=time.sleep
):
    """One run of the two-way sync for `connection` through `connector`. Returns the SyncRun.

    `kinds` and `push_changes` narrow it (dispatch only reads invoices, credit notes and payments).
    Raises Busy when another run holds the connection.
    """
    _take_lease(connection)
    run = SyncRun.objects.create(connection=connection, trigger=trigger, full=full, started_at=timezone.now())
    try:
        caller = Caller(connection, connector, sleep=sleep)
        _ensure_fresh_tokens(connection, connector)
        # Contacts first, so customers made here are matched to theirs before any is pushed; then
        # what was made here goes out, so the documents read next already count it.
        if "contact" in kinds:
            _progress(run, "Reading contacts")
            _pull(connection, run, caller, "contact", full=full)
        if push_changes:
            _progress(run, "Sending what changed here")
            push(connection, run, caller)
        for kind in kinds:
            if kind != "contact":
                _progress(run, f"Reading {kind.replace('_', ' ')}s")
                _pull(connection, run, caller, kind, full=full)
    except Exception as error:  # the run ends, logged with its error; the cursors hold what committed
        log.exception("%s: sync failed", connection)
        run.errors = [*run.errors, {"error": str(error) or error.__class__.__name__}]
        run.status = SyncStatus.FAILED
    else:
        run.status = SyncStatus.SUCCEEDED
    finally:
        _release_lease(connection)
    run.finished_at = timezone.now()
    run.progress = ""
    run.save()
    return run


def _progress(run, text):
    run.progress = text
    SyncRun.objects.filter(pk=run.pk).update(
        progress=text, created=run.created, updated=run.updated, pushed=run.pushed, failed=run.failed
    )


def _pull(connection, run, caller, kind, *, full):
    """Read `kind` since its cursor, a page per transaction. A record that cannot be applied (its
    invoice cannot be read, its number is taken…) does not hold back the others: its id is kept
    under `retry` and read again, by id, at the start of every run until it goes in."""
    retry = connection.cursors.get("retry", {}).get(kind, [])
    if retry:
        records = [
            record for external_id in retry if (record := caller("get", kind, external_id)) is not None
        ]
        _apply_page(connection, run, caller, kind, records, cursor=None, retried=set(retry))
    cursor = None if full else connection.cursors.get(kind)
    page_token = None
    while True:
        page = caller("changes", kind, cursor=cursor, page_token=page_token)
        _apply_page(connection, run, caller, kind, page.records, cursor=page.cursor)
        _renew_lease(connection)
        if not page.next_page:
            return
        page_token = page.next_page


# What one bad record can raise while it is applied (not a lost connection: that ends the run).
BAD_RECORD = (IntegrityError, DataError, ValidationError, KeyError, ValueError, TypeError, ArithmeticError)


def _apply_page(connection, run, caller, kind, records, *, cursor, retried=frozenset()):
    """Apply one page and move the cursor in the same transaction. If one record spoils the page,
    the records go in one at a time, each in its own savepoint, and the ones that fail are kept
    (named in the run's errors) to be read again next run: the rest of the page is not held back."""
    before = (run.created, run.updated, run.failed, run.errors)
    try:
        with transaction.atomic():
            run.page_failed = set()
            APPLY[kind](connection, run, caller, records)
            _move_cursor(connection, run, kind, cursor, retried)
        return
    except BAD_RECORD:
        # that attempt was rolled back: so are its counts and the customers it linked
        run.created, run.updated, run.failed, run.errors = before
        caller.unlinked = UnlinkedCustomers()
    with transaction.atomic():
        run.page_failed = set()
        for record in records:
            try:
                with transaction.atomic():
                    APPLY[kind](connection, run, caller, [record])
            except BAD_RECORD as error:
                caller.unlinked = UnlinkedCustomers()
                _fail(run, record, f"could not be applied: {error}".strip())
        _move_cursor(connection, run, kind, cursor, retried)


def _move_cursor(connection, run, kind, cursor, retried):
    """Store the page's cursor and the ids to read again (those that failed, less those retried)."""
    retry = connection.cursors.get("retry", {})
    still = (set(retry.get(kind, [])) - retried) | {i for k, i in run.page_failed if k == kind}
    retry = {k: ids for k, ids in {**retry, kind: sorted(still)}.items() if ids}
    cursors = {**connection.cursors, "retry": retry}
    if cursor:
        cursors[kind] = cursor
    if cursors != connection.cursors:
        connection.cursors = cursors
        Connection.objects.filter(pk=connection.pk).update(cursors=cursors)


# --- applying what was read -----------------------------------------------------------------------


def normalised_name(name):
    return re.sub(r"\s+", " ", (name or "").strip()).casefold()


def _customers_for(connection, caller, contact_ids):
    """{external contact id: customer} for `contact_ids`, reading contacts not seen yet."""
    found = {c.external_id: c for c in Customer.objects.filter(external_id__in=set(contact_ids))}
    missing = [cid for cid in set(contact_ids) if cid and cid not in found]
    if missing:
        records = [record for cid in missing if (record := caller("get", "contact", cid)) is not None]
        apply_contacts(connection, None, caller, records)
        found.update({c.external_id: c for c in Customer.objects.filter(external_id__in=missing)})
    return found


def _unique_code(wanted, taken):
    code = (wanted or "ACC").strip()[:32] or "ACC"
    candidate, n = code, 1
    while candidate in taken or Customer.objects.filter(code=candidate).exists():
        n += 1
        candidate = f"{code[:28]}-{n}"
    taken.add(candidate)
    return candidate


def apply_contacts(connection, run, caller, records):
    """Customers from contacts: matched on external id, then contact number, then normalised name."""
    records = _latest_only(records)
    by_id = {
        c.external_id: c for c in Customer.objects.filter(external_id__in=[r.external_id for r in records])
    }
    base_currency = Company.load().base_currency
    manager = default_account_manager()
    taken_codes = set()
    entries = []
    for record in records:
        data = record.data
        customer = by_id.get(record.external_id)
        if record.merged_into:
            # Followed: the customer takes the surviving contact's id unless another already has it
            # (then that one's invoices arrive re-pointed at it by the invoices' own changes).
            if customer and not Customer.objects.filter(external_id=record.merged_into).exists():
                customer.external_id = record.merged_into
                customer.save(update_fields=["external_id", "updated_at"])
                entries.append(
                    _entry(customer, ActivityKind.CUSTOMER_CHANGED, {"merged in accounting": "yes"})
                )
            continue
        linked = False
        if customer is None and not record.tombstone:
            customer = caller.unlinked.take(data.get("number"), data.get("name"))
            if customer is not None:
                customer.external_id, linked = record.external_id, True
        if record.tombstone:
            continue  # an archived contact keeps its history here; its invoices say what is owed
        if customer is None:
            customer = Customer.objects.create(
                code=_unique_code(data.get("number") or data.get("name", "")[:20], taken_codes),
                name=data.get("name") or record.external_id,
                currency=data.get("currency") or base_currency,
                account_manager=manager,
                source=Source.ACCOUNTING,
                external_id=record.external_id,
            )
            _main_contact(customer, data)
            entries.append(
                _entry(customer, ActivityKind.CUSTOMER_CREATED, {"from": connection.get_provider_display()})
            )
            _count(run, "created")
            continue
        changes = {"linked to": connection.get_provider_display()} if linked else {}
        for field in ("name", "currency"):
            value = data.get(field)
            if value and getattr(customer, field) != value:
                changes[field] = value
                setattr(customer, field, value)
        if changes:
            customer.save()
        if _main_contact(customer, data):
            changes["main contact"] = data.get("email") or data.get("phone") or ""
        if changes:
            entries.append(
                _entry(customer, ActivityKind.CUSTOMER_CHANGED, {k: str(v) for k, v in changes.items()})
            )
            _count(run, "updated")
    timeline.record_many(entries)


def _main_contact(customer, data):
    """Keep the main contact's email and phone as the accounting system has them. True if changed."""
    email, phone = (data.get("email") or "").strip(), (data.get("phone") or "").strip()
    if not email and not phone:
        return False
    contact = customer.contacts.filter(is_main=True).first()
    if contact is None:
        Contact.objects.create(customer=customer, name=customer.name, email=email, phone=phone, is_main=True)
        return True
    if (contact.email, contact.phone) == (email or contact.email, phone or contact.phone):
        return False
    contact.email, contact.phone = email or contact.email, phone or contact.phone
    contact.save(update_fields=["email", "phone"])
    return True


def _latest_only(records):
    """One record per id (a listing with an overlap may hold one twice): the latest version."""
    latest = {}
    for record in records:
        kept = latest.get(record.external_id)
        if kept is None or record.updated_at >= kept.updated_at:
            latest[record.external_id] = record
    return list(latest.values())


def _entry(customer, kind, data, invoice=None):
    return {
        "customer_id": customer.pk,
        "invoice_id": invoice.pk if invoice else None,
        "kind": kind,
        "data": data,
    }


def _count(run, what, n=1):
    if run is not None:
        setattr(run, what, getattr(run, what) + n)


INVOICE_FIELDS = (
    "number",
    "issue_date",
    "due_date",
    "currency",
    "exchange_rate",
    "subtotal",
    "tax",
    "total",
    "amount_paid",
    "amount_credited",
    "status",
    "reference",
)


def _invoice_values(data, tombstone, invoice=None):
    """The invoice's columns from a record. Where the provider gives only the balance (QuickBooks
    does not split paid from credited), what is not credited here counts as paid."""
    values = {field: data[field] for field in INVOICE_FIELDS if data.get(field) is not None}
    values.setdefault("reference", "")

    def current(field):  # what the record leaves out (a deletion says little) stays as it is here
        return values.get(field, getattr(invoice, field) if invoice else ZERO)

    total = current("total")
    if "amount_paid" not in values and data.get("amount_due") is not None:
        values["amount_credited"] = current("amount_credited")
        values["amount_paid"] = total - Decimal(data["amount_due"]) - values["amount_credited"]
    paid, credited = current("amount_paid"), current("amount_credited")
    if tombstone:
        values["status"] = InvoiceStatus.VOID
    elif values.get("status") in (InvoiceStatus.OPEN, InvoiceStatus.PAID):
        values["status"] = InvoiceStatus.PAID if total - paid - credited == 0 else InvoiceStatus.OPEN
    # the constraint amount_due = total − paid − credited holds by construction
    values["amount_due"] = total - paid - credited
    return values


def apply_invoices(connection, run, caller, records):
    records = _latest_only(records)
    customers = _customers_for(connection, caller, [r.data.get("contact_id") for r in records])
    existing = {
        i.external_id: i for i in Invoice.objects.filter(external_id__in=[r.external_id for r in records])
    }
    numbers = {r.data.get("number") for r in records if r.external_id not in existing}
    by_number = {
        i.number: i for i in Invoice.objects.filter(number__in=numbers - {None}, external_id__isnull=True)
    }
    entries, new = [], []
    for record in records:
        customer = customers.get(record.data.get("contact_id"))
        invoice = existing.get(record.external_id) or by_number.get(record.data.get("number"))
        values = _invoice_values(record.data, record.tombstone, invoice)
        if invoice is None:
            # a document voided or deleted before it was ever read here is kept as void, for the record
            if record.tombstone and (customer is None or not values.get("number")):
                continue  # gone before it was ever read here, with nothing left to keep
            if customer is None or not values.get("number"):
                _fail(run, record, "its contact could not be read")
                continue
            invoice = Invoice(
                customer=customer, source=InvoiceSource.ACCOUNTING, external_id=record.external_id, **values
            )
            new.append((invoice, record.data.get("lines") or []))
            continue
        changes = {}
        if customer is not None and invoice.customer_id != customer.pk:
            changes["customer"] = customer.name
            invoice.customer = customer
        was = invoice.status
        for field, value in values.items():
            if getattr(invoice, field) != value:
                changes[field] = str(value)
                setattr(invoice, field, value)
        if invoice.external_id != record.external_id or invoice.source != InvoiceSource.ACCOUNTING:
            invoice.external_id, invoice.source = record.external_id, InvoiceSource.ACCOUNTING
            changes.setdefault("linked", connection.get_provider_display())
        lines_changed = "lines" in record.data and _replace_lines(invoice, record.data["lines"])
        if not changes and not lines_changed:
            continue
        invoice.save()
        kind = ActivityKind.INVOICE_CHANGED
        if invoice.status != was and invoice.status == InvoiceStatus.PAID:
            kind = ActivityKind.INVOICE_PAID
        elif invoice.status != was and invoice.status == InvoiceStatus.VOID:
            kind = ActivityKind.INVOICE_VOIDED
        data = {"number": invoice.number, "changes": changes, "from": connection.get_provider_display()}
        if lines_changed:
            data["changes"]["lines"] = "changed"
        entries.append(_entry(invoice.customer, kind, data, invoice))
        _count(run, "updated")
    _create_invoices(connection, run, new, entries)
    timeline.record_many(entries)


def _create_invoices(connection, run, new, entries):
    """The page's new invoices and their lines in two statements; a number already used by another
    invoice is refused (the record is retried next run, once the clash is sorted out)."""
    if not new:
        return
    taken = set(
        Invoice.objects.filter(number__in=[i.number for i, _ in new]).values_list("number", flat=True)
    )
    kept, seen = [], set()
    for invoice, lines in new:
        if invoice.number in taken or invoice.number in seen:
            _fail(
                run,
                _Named("invoice", invoice.external_id),
                f"invoice number {invoice.number} is already used here",
            )
            continue
        seen.add(invoice.number)
        kept.append((invoice, lines))
    new = kept
    Invoice.objects.bulk_create([invoice for invoice, _ in new])
    InvoiceLine.objects.bulk_create(line for invoice, lines in new for line in _line_objects(invoice, lines))
    for invoice, _ in new:
        entries.append(
            _entry(
                invoice.customer,
                ActivityKind.INVOICE_ISSUED,
                {
                    "number": invoice.number,
                    "total": str(invoice.total),
                    "currency": invoice.currency,
                    "due_date": invoice.due_date.isoformat(),
                    "from": connection.get_provider_display(),
                },
                invoice,
            )
        )
    _count(run, "created", len(new))


def _line_values(lines):
    return [
        (
            (line.get("description") or "")[:500],
            Decimal(line.get("quantity") or 1),
            Decimal(line.get("unit_price") or 0),
            Decimal(line.get("amount") or 0),
        )
        for line in lines
    ]


def _line_objects(invoice, lines):
    return [
        InvoiceLine(invoice=invoice, position=n, description=d, quantity=q, unit_price=p, amount=a)
        for n, (d, q, p, a) in enumerate(_line_values(lines), start=1)
    ]


def _replace_lines(invoice, lines):
    """Make the invoice's lines the accounting system's; True if they changed."""
    have = [(r.description, r.quantity, r.unit_price, r.amount) for r in invoice.lines.order_by("position")]
    if _line_values(lines) == have:
        return False
    invoice.lines.all().delete()
    InvoiceLine.objects.bulk_create(_line_objects(invoice, lines))
    return True


def _fail(run, record, why):
    """`record` could not be applied: counted, logged on the run, and read again next run."""
    if run is not None:
        run.failed += 1
        run.errors = [*run.errors, {"kind": record.kind, "external_id": record.external_id, "error": why}]
        run.page_failed = getattr(run, "page_failed", set()) | {(record.kind, record.external_id)}


def _invoices_for(caller, connection, invoice_ids):
    found = {i.external_id: i for i in Invoice.objects.filter(external_id__in=set(invoice_ids))}
    missing = [iid for iid in set(invoice_ids) if iid and iid not in found]
    if missing:
        records = [record for iid in missing if (record := caller("get", "invoice", iid)) is not None]
        apply_invoices(connection, None, caller, records)
        found.update({i.external_id: i for i in Invoice.objects.filter(external_id__in=missing)})
    return found


def apply_payments(connection, run, caller, records):
    """Payments from the accounting system, with their allocations; the invoices' amounts are the
    invoices' own (the accounting system owns them), so nothing is subtracted twice."""
    records = _latest_only(records)
    ids = [r.external_id for r in records]
    ours = {p.external_id: p for p in Payment.objects.filter(external_id__in=ids)}
    # payments peakflo pushed come back under the id stored on their allocation
    pushed = set(PaymentAllocation.objects.filter(external_id__in=ids).values_list("external_id", flat=True))
    invoices = _invoices_for(
        caller, connection, [a["invoice_id"] for r in records for a in r.data.get("allocations", [])]
    )
    entries = []
    for record in records:
        if record.external_id in pushed:
            continue
        payment = ours.get(record.external_id)
        if record.tombstone:
            if payment is not None:
                entries.append(
                    _entry(
                        payment.customer,
                        ActivityKind.PAYMENT,
                        {
                            "amount": str(payment.amount),
                            "currency": payment.currency,
                            "reference": payment.reference,
                            "removed": "deleted in accounting",
                        },
                    )
                )
                payment.delete()
                _count(run, "updated")
            continue
        if payment is not None:
            # amounts and allocations do not change at the provider (a void is a tombstone), but a
            # contact merge moves the payment to the surviving customer with its invoices
            allocated = next(
                (invoices.get(a["invoice_id"]) for a in record.data.get("allocations", [])), None
            )
            if allocated is not None and allocated.customer_id != payment.customer_id:
                Payment.objects.filter(pk=payment.pk).update(customer=allocated.customer_id)
                _count(run, "updated")
            continue
        parts = [
            (invoices.get(a["invoice_id"]), Decimal(a["amount"])) for a in record.data.get("allocations", [])
        ]
        if not parts or any(invoice is None for invoice, _ in parts):
            _fail(run, record, "an invoice it pays could not be read")
            continue
        customer = parts[0][0].customer
        payment = Payment.objects.create(
            customer=customer,
            date=record.data["date"],
            amount=record.data["amount"],
            currency=record.data.get("currency") or parts[0][0].currency,
            reference=(record.data.get("reference") or "")[:200],
            source=PaymentSource.ACCOUNTING,
            external_id=record.external_id,
        )
        PaymentAllocation.objects.bulk_create(
            PaymentAllocation(payment=payment, invoice=invoice, amount=amount) for invoice, amount in parts
        )
        entries.append(
            _entry(
                customer,
                ActivityKind.PAYMENT,
                {
                    "amount": str(payment.amount),
                    "currency": payment.currency,
                    "reference": payment.reference,
                    "allocations": [{"invoice": i.number, "amount": str(a)} for i, a in parts],
                    "from": connection.get_provider_display(),
                },
            )
        )
        _count(run, "created")
    timeline.record_many(entries)


CREDIT_STATUS = {"approved": CreditNoteStatus.APPROVED, "void": CreditNoteStatus.VOID}


def apply_credit_notes(connection, run, caller, records):
    """Credit notes from the accounting system, linked to the invoice they were allocated to."""
    records = _latest_only(records)
    ours = {
        c.external_id: c for c in CreditNote.objects.filter(external_id__in=[r.external_id for r in records])
    }
    customers = _customers_for(connection, caller, [r.data.get("contact_id") for r in records])
    invoices = _invoices_for(
        caller, connection, [a["invoice_id"] for r in records for a in r.data.get("allocations", [])[:1]]
    )
    entries = []
    for record in records:
        data = record.data
        status = CreditNoteStatus.VOID if record.tombstone else CREDIT_STATUS.get(data.get("status"))
        note = ours.get(record.external_id)
        if status is None:
            continue  # drafts are not credits yet
        allocations = data.get("allocations") or []
        invoice = invoices.get(allocations[0]["invoice_id"]) if allocations else None
        if note is None:
            customer = customers.get(data.get("contact_id"))
            if customer is None or status == CreditNoteStatus.VOID:
                continue
            note = CreditNote.objects.create(
                number=data.get("number") or record.external_id,
                customer=customer,
                invoice=invoice,
                date=data["date"],
                amount=data["total"],
                currency=data.get("currency") or customer.currency,
                status=status,
                source=InvoiceSource.ACCOUNTING,
                external_id=record.external_id,
            )
            entries.append(_credit_entry(note, connection))
            _count(run, "created")
            continue
        changed = False
        for field, value in (("status", status), ("amount", data.get("total")), ("invoice", invoice)):
            if value is not None and getattr(note, field) != value:
                setattr(note, field, value)
                changed = True
        if changed:
            note.save()
            entries.append(_credit_entry(note, connection))
            _count(run, "updated")
    timeline.record_many(entries)


def _credit_entry(note, connection):
    return _entry(
        note.customer,
        ActivityKind.CREDIT_NOTE,
        {
            "number": note.number,
            "amount": str(note.amount),
            "currency": note.currency,
            "status": note.status,
            "from": connection.get_provider_display(),
        },
        note.invoice,
    )


APPLY = {
    "contact": apply_contacts,
    "invoice": apply_invoices,
    "credit_note": apply_credit_notes,
    "payment": apply_payments,
}


# --- pushing what was made here -------------------------------------------------------------------


def push(connection, run, caller):
    _push_customers(connection, run, caller)
    _push_payments(connection, run, caller)
    _push_credit_notes(connection, run, caller)


def _push_customers(connection, run, caller):
    for customer in (
        Customer.objects.filter(external_id__isnull=True)
        .prefetch_related("contacts")
        .iterator(chunk_size=200)
    ):
        main = customer.main_contact
        data = {
            "name": customer.name,
            "number": customer.code,
            "email": main.email if main else "",
            "phone": main.phone if main else "",
            "currency": customer.currency,
        }
        try:
            record = _upsert_or_match(
                caller, "contact", data, f"peakflo-customer-{customer.pk}", name=customer.name
            )
        except ConnectorError as error:
            _fail(run, _Named("contact", customer.code), str(error))
            continue
        Customer.objects.filter(pk=customer.pk).update(external_id=record.external_id)
        _count(run, "pushed")


def _upsert_or_match(caller, kind, data, idempotency_key, **match):
    """Create the record there; if it is refused because one with the same name or number exists
    (QuickBooks 6240 / 6140: made by an earlier run whose answer was lost, or by a person), take
    that one — where the connector can look it up — rather than fail every run."""
    try:
        return caller("upsert", kind, data, idempotency_key=idempotency_key)
    except ConnectorError:
        if not hasattr(caller.connector, "find"):
            raise
        found = caller("find", kind, **match)
        if found is None:
            raise
        return found


class _Named:
    def __init__(self, kind, external_id):
        self.kind, self.external_id = kind, external_id


def _push_payments(connection, run, caller):
    allocations = (
        PaymentAllocation.objects.filter(
            external_id__isnull=True,
            payment__external_id__isnull=True,
            payment__source__in=[PaymentSource.MANUAL, PaymentSource.PORTAL],
            invoice__external_id__isnull=False,
        )
        .select_related("payment", "invoice")
        .order_by("pk")
    )
    for allocation in allocations.iterator(chunk_size=200):
        payment = allocation.payment
        data = {
            "contact_id": allocation.invoice.customer.external_id,
            "date": payment.date,
            "amount": allocation.amount,
            "currency": payment.currency,
            "reference": payment.reference,
            "allocations": [{"invoice_id": allocation.invoice.external_id, "amount": allocation.amount}],
        }
        try:
            record = caller("upsert", "payment", data, idempotency_key=f"peakflo-allocation-{allocation.pk}")
        except ConnectorError as error:
            _fail(run, _Named("payment", f"{payment.pk}/{allocation.invoice.number}"), str(error))
            continue
        PaymentAllocation.objects.filter(pk=allocation.pk).update(external_id=record.external_id)
        _count(run, "pushed")


def _push_credit_notes(connection, run, caller):
    notes = CreditNote.objects.filter(
        external_id__isnull=True, status=CreditNoteStatus.APPROVED, customer__external_id__isnull=False
    ).select_related("customer", "invoice")
    for note in notes.iterator(chunk_size=200):
        data = {
            "number": note.number,
            "contact_id": note.customer.external_id,
            "date": note.date,
            "currency": note.currency,
            "total": note.amount,
            "status": "approved",
            "reason": note.reason,
        }
        try:
            record = _upsert_or_match(
                caller, "credit_note", data, f"peakflo-credit-{note.pk}", number=note.number
            )
            if note.invoice_id and note.invoice.external_id:
                caller(
                    "allocate_credit",
                    record.external_id,
                    note.invoice.external_id,
                    note.amount,
                    idempotency_key=f"peakflo-credit-{note.pk}-allocation",
                )
        except ConnectorError as error:
            _fail(run, _Named("credit_note", note.number), str(error))
            continue
        CreditNote.objects.filter(pk=note.pk).update(external_id=record.external_id)
        _count(run, "pushed")
