"""Writes that keep an invoice's amounts right: issuing, payments, credit notes.

Every function here runs in one transaction, locks the invoices it changes (in id order, so two
payments never deadlock) and records the customer's timeline. Amount paid, credited and due are
only ever changed here; `manage.py check_consistency` compares them with the payments and
credit notes they come from.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from customers import timeline
from customers.models import ActivityKind, Source
from peakflo.models import Company, Role

from .models import (
    ZERO,
    CreditNote,
    CreditNoteStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentSource,
)
from .money import format_money

CENT = Decimal("0.01")
# Who may approve a credit note (DESIGN.md: AR admin / collections; admins may do everything).
CREDIT_NOTE_APPROVER_ROLES = {Role.ADMIN, Role.AR_ADMIN, Role.COLLECTIONS}


def money(value):
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal = ZERO  # percent


def _settle(invoice):
    """Recompute amount due and paid/open status from the invoice's paid and credited amounts."""
    invoice.amount_due = invoice.total - invoice.amount_paid - invoice.amount_credited
    if invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.PAID):
        invoice.status = InvoiceStatus.PAID if invoice.amount_due == 0 else InvoiceStatus.OPEN


def _locked_invoices(pks):
    return {inv.pk: inv for inv in Invoice.objects.select_for_update().filter(pk__in=pks).order_by("pk")}


@transaction.atomic
def issue_invoice(
    *,
    customer,
    number,
    issue_date,
    due_date,
    lines,
    currency=None,
    exchange_rate=Decimal(1),
    reference="",
    source=Source.MANUAL,
    external_id=None,
    issued_by=None,
    at=None,
):
    """Create an open invoice from its lines; subtotal, tax and total are summed from them."""
    if not lines:
        raise ValidationError("An invoice needs at least one line.")
    if due_date < issue_date:
        raise ValidationError({"due_date": "The due date cannot be before the issue date."})
    if Invoice.objects.filter(number=number).exists():
        raise ValidationError({"number": f"Invoice {number} already exists."})
    rows = _line_rows(lines)
    subtotal = sum((r.amount for r in rows), ZERO)
    tax = sum((r.tax_amount for r in rows), ZERO)
    invoice = Invoice.objects.create(
        number=number,
        customer=customer,
        issue_date=issue_date,
        due_date=due_date,
        currency=currency or customer.currency,
        exchange_rate=exchange_rate,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        amount_due=subtotal + tax,
        status=InvoiceStatus.OPEN,
        reference=reference,
        source=source,
        external_id=external_id,
    )
    for row in rows:
        row.invoice = invoice
    InvoiceLine.objects.bulk_create(rows)
    timeline.record(
        customer,
        ActivityKind.INVOICE_ISSUED,
        invoice=invoice,
        actor=issued_by,
        data={
            "number": number,
            "total": str(invoice.total),
            "currency": invoice.currency,
            "due_date": due_date.isoformat(),
        },
        at=at,
    )
    return invoice


@transaction.atomic
def record_payment(
    *,
    customer,
    date,
    amount,
    currency,
    allocations,
    method=PaymentMethod.BANK_TRANSFER,
    reference="",
    source=PaymentSource.MANUAL,
    external_id=None,
    created_by=None,
    at=None,
):
    """Record a payment from `customer` and allocate it to invoices.

    `allocations` is a list of (invoice, amount). Each invoice must be the customer's, open, in the
    payment's currency, and owe at least the amount allocated to it; together they may not exceed
    the payment (what is left stays unallocated on account). An invoice that reaches zero due is paid.
    """
    amount = money(amount)
    if amount <= 0:
        raise ValidationError({"amount": "A payment must be more than zero."})
    wanted = {}
    for invoice, allocated in allocations:
        allocated = money(allocated)
        if allocated <= 0:
            raise ValidationError(f"The amount allocated to invoice {invoice.number} must be more than zero.")
        if invoice.pk in wanted:
            raise ValidationError(f"Invoice {invoice.number} is allocated twice in one payment.")
        wanted[invoice.pk] = allocated
    allocated_total = sum(wanted.values(), ZERO)
    if allocated_total > amount:
        raise ValidationError(
            f"The allocations ({allocated_total} {currency}) exceed the payment ({amount} {currency})."
        )

    invoices = _locked_invoices(wanted)  # read again under the lock: the amounts are current
    for pk, allocated in wanted.items():
        invoice = invoices.get(pk)
        if invoice is None:
            raise ValidationError(f"Invoice id {pk} does not exist.")
        if invoice.customer_id != customer.pk:
            raise ValidationError(f"Invoice {invoice.number} belongs to another customer.")
        if invoice.currency != currency:
            raise ValidationError(
                f"Invoice {invoice.number} is in {invoice.currency}, the payment in {currency}."
            )
        if invoice.status != InvoiceStatus.OPEN:
            raise ValidationError(f"Invoice {invoice.number} is {invoice.get_status_display().lower()}.")
        if allocated > invoice.amount_due:
            raise ValidationError(
                f"Invoice {invoice.number}: {allocated} {currency} is more than its amount due "
                f"({invoice.amount_due} {currency})."
            )

    payment = Payment.objects.create(
        customer=customer,
        date=date,
        amount=amount,
        currency=currency,
        method=method,
        reference=reference,
        source=source,
        external_id=external_id,
        created_by=created_by,
    )
    PaymentAllocation.objects.bulk_create(
        PaymentAllocation(payment=payment, invoice=invoices[pk], amount=allocated)
        for pk, allocated in wanted.items()
    )
    for pk, allocated in wanted.items():
        invoice = invoices[pk]
        invoice.amount_paid += allocated
        _settle(invoice)
        invoice.save(update_fields=["amount_paid", "amount_due", "status", "updated_at"])

    timeline.record(
        customer,
        ActivityKind.PAYMENT,
        invoice=invoices[next(iter(wanted))] if len(wanted) == 1 else None,
        actor=created_by,
        data={
            "payment_id": payment.pk,
            "amount": str(amount),
            "currency": currency,
            "method": method,
            "reference": reference,
            "allocations": [{"invoice": invoices[pk].number, "amount": str(a)} for pk, a in wanted.items()],
        },
        at=at,
    )
    for pk in wanted:
        if invoices[pk].status == InvoiceStatus.PAID:
            _record_paid(invoices[pk], actor=created_by, at=at)
    return payment


def _record_paid(invoice, *, actor, at):
    timeline.record(
        invoice.customer,
        ActivityKind.INVOICE_PAID,
        invoice=invoice,
        actor=actor,
        data={"number": invoice.number, "total": str(invoice.total), "currency": invoice.currency},
        at=at,
    )


@transaction.atomic
def create_credit_note(
    *,
    customer,
    number,
    date,
    amount,
    currency=None,
    invoice=None,
    reason="",
    created_by=None,
    source=Source.MANUAL,
    external_id=None,
    at=None,
):
    """A credit note waiting for approval; it changes no invoice until `approve_credit_note`."""
    amount = money(amount)
    currency = currency or (invoice.currency if invoice else customer.currency)
    if amount <= 0:
        raise ValidationError({"amount": "A credit note must be more than zero."})
    if invoice is not None:
        if invoice.customer_id != customer.pk:
            raise ValidationError(f"Invoice {invoice.number} belongs to another customer.")
        if invoice.currency != currency:
            raise ValidationError(
                f"Invoice {invoice.number} is in {invoice.currency}, the credit note in {currency}."
            )
    if CreditNote.objects.filter(number=number).exists():
        raise ValidationError({"number": f"Credit note {number} already exists."})
    credit_note = CreditNote.objects.create(
        number=number,
        customer=customer,
        invoice=invoice,
        date=date,
        amount=amount,
        currency=currency,
        reason=reason,
        status=CreditNoteStatus.PENDING_APPROVAL,
        created_by=created_by,
        source=source,
        external_id=external_id,
    )
    timeline.record(
        customer,
        ActivityKind.CREDIT_NOTE,
        invoice=invoice,
        actor=created_by,
        data={
            "number": number,
            "amount": str(amount),
            "currency": currency,
            "status": credit_note.status,
            "reason": reason,
        },
        at=at,
    )
    return credit_note


@transaction.atomic
def approve_credit_note(*, credit_note, approver, at=None):
    """Approve a pending credit note (never by its creator) and credit its invoice, if it has one."""
    if not (approver.is_superuser or approver.role in CREDIT_NOTE_APPROVER_ROLES):
        raise PermissionDenied("Only admins, AR admins and collections may approve credit notes.")
    credit_note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
    if credit_note.status != CreditNoteStatus.PENDING_APPROVAL:
        raise ValidationError(
            f"Credit note {credit_note.number} is {credit_note.get_status_display().lower()}, not pending approval."
        )
    if credit_note.created_by_id is not None and credit_note.created_by_id == approver.pk:
        raise ValidationError(
            f"Credit note {credit_note.number} cannot be approved by the person who created it."
        )

    invoice = None
    if credit_note.invoice_id:
        invoice = Invoice.objects.select_for_update().get(pk=credit_note.invoice_id)
        if invoice.status != InvoiceStatus.OPEN:
            raise ValidationError(f"Invoice {invoice.number} is {invoice.get_status_display().lower()}.")
        if credit_note.amount > invoice.amount_due:
            raise ValidationError(
                f"Credit note {credit_note.number} ({credit_note.amount} {credit_note.currency}) is more than "
                f"the amount due on invoice {invoice.number} ({invoice.amount_due} {invoice.currency})."
            )
        invoice.amount_credited += credit_note.amount
        _settle(invoice)
        invoice.save(update_fields=["amount_credited", "amount_due", "status", "updated_at"])

    credit_note.status = CreditNoteStatus.APPROVED
    credit_note.approved_by = approver
    credit_note.approved_at = at or timezone.now()
    credit_note.save(update_fields=["status", "approved_by", "approved_at"])
    timeline.record(
        credit_note.customer,
        ActivityKind.CREDIT_NOTE,
        invoice=invoice,
        actor=approver,
        data={
            "number": credit_note.number,
            "amount": str(credit_note.amount),
            "currency": credit_note.currency,
            "status": credit_note.status,
        },
        at=at,
    )
    if invoice is not None and invoice.status == InvoiceStatus.PAID:
        _record_paid(invoice, actor=approver, at=at)
    return credit_note


# Who may void a credit note: those who may approve one (a pending note may also be withdrawn by its creator).
def can_void_credit_note(user, credit_note):
    if not user.is_authenticated or getattr(user, "is_read_only", False):
        return False
    if credit_note.status == CreditNoteStatus.APPROVED:
        return user.is_superuser or user.role in CREDIT_NOTE_APPROVER_ROLES
    if credit_note.status in (CreditNoteStatus.DRAFT, CreditNoteStatus.PENDING_APPROVAL):
        return (
            user.is_superuser
            or user.role in CREDIT_NOTE_APPROVER_ROLES
            or (credit_note.created_by_id is not None and credit_note.created_by_id == user.pk)
        )
    return False


def can_approve_credit_note(user, credit_note):
    """Whether to offer the Approve button; `approve_credit_note` checks the same and says why not."""
    return (
        user.is_authenticated
        and not getattr(user, "is_read_only", False)
        and (user.is_superuser or user.role in CREDIT_NOTE_APPROVER_ROLES)
        and credit_note.status == CreditNoteStatus.PENDING_APPROVAL
        and not (credit_note.created_by_id is not None and credit_note.created_by_id == user.pk)
    )


@transaction.atomic
def void_credit_note(*, credit_note, actor, at=None):
    """Void a credit note; an approved one gives its amount back to the invoice, reopening it if paid."""
    credit_note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
    if credit_note.status == CreditNoteStatus.VOID:
        raise ValidationError(f"Credit note {credit_note.number} is already void.")
    if not can_void_credit_note(actor, credit_note):
        raise PermissionDenied(
            "Only admins, AR admins and collections may void an approved credit note; "
            "a pending one may also be withdrawn by the person who created it."
        )
    was_approved = credit_note.status == CreditNoteStatus.APPROVED
    invoice = None
    if credit_note.invoice_id:
        invoice = Invoice.objects.select_for_update().get(pk=credit_note.invoice_id)
    if was_approved and invoice is not None:
        if invoice.amount_credited < credit_note.amount:
            raise ValidationError(
                f"Invoice {invoice.number} holds only {invoice.amount_credited} {invoice.currency} of credit; "
                f"credit note {credit_note.number} cannot give back {credit_note.amount}."
            )
        was_paid = invoice.status == InvoiceStatus.PAID
        invoice.amount_credited -= credit_note.amount
        _settle(invoice)
        invoice.save(update_fields=["amount_credited", "amount_due", "status", "updated_at"])
        reopened = was_paid and invoice.status == InvoiceStatus.OPEN
    else:
        reopened = False

    credit_note.status = CreditNoteStatus.VOID
    credit_note.save(update_fields=["status"])
    timeline.record(
        credit_note.customer,
        ActivityKind.CREDIT_NOTE,
        invoice=invoice,
        actor=actor,
        data={
            "number": credit_note.number,
            "amount": str(credit_note.amount),
            "currency": credit_note.currency,
            "status": credit_note.status,
            "was_approved": was_approved,
            "invoice_reopened": reopened,
        },
        at=at,
    )
    return credit_note


# ---------------------------------------------------------------------------------------------
# Editing, voiding and settling one invoice by hand (the invoice pages).

# Fields that may still change once money has moved against an invoice.
EDITABLE_AFTER_PAYMENT = ("issue_date", "due_date", "reference")


def _refuse_auditors(actor):
    if actor is not None and getattr(actor, "is_read_only", False):
        raise PermissionDenied("Auditors can look but not change anything.")


def _refuse_accounting(invoice, doing):
    if invoice.is_read_only:
        raise ValidationError(
            f"Invoice {invoice.number} came from the accounting system, so it cannot be {doing} here. "
            "Change it in the accounting system; the next sync brings the change to peakflo."
        )


def has_money_against(invoice):
    """Payments or credits already count against the invoice, so its amounts are fixed."""
    return invoice.amount_paid > 0 or invoice.amount_credited > 0


def _line_rows(lines):
    rows = []
    for position, line in enumerate(lines, start=1):
        if line.quantity <= 0 or line.unit_price < 0 or line.tax_rate < 0:
            raise ValidationError(f"Line {position}: quantity must be positive and prices not negative.")
        amount = money(line.quantity * line.unit_price)
        rows.append(
            InvoiceLine(
                position=position,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate,
                amount=amount,
                tax_amount=money(amount * line.tax_rate / 100),
            )
        )
    return rows


def _lines_differ(invoice, rows):
    old = [(line.description, line.quantity, line.unit_price, line.tax_rate) for line in invoice.lines.all()]
    new = [(row.description, row.quantity, row.unit_price, row.tax_rate) for row in rows]
    return old != new


@transaction.atomic
def update_invoice(*, invoice, actor, lines=None, at=None, **fields):
    """Change a manual or imported invoice; its totals are summed again from `lines` when given.

    `fields` may be number, issue_date, due_date, currency, exchange_rate and reference. Once a
    payment or credit counts against the invoice only its dates and reference may change.
    """
    _refuse_auditors(actor)
    allowed = {"number", "issue_date", "due_date", "currency", "exchange_rate", "reference"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"update_invoice() cannot change {', '.join(sorted(unknown))}.")
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    _refuse_accounting(invoice, "edited")
    if invoice.status == InvoiceStatus.VOID:
        raise ValidationError(f"Invoice {invoice.number} is void and cannot be edited.")

    changes = {
        name: value for name, value in fields.items() if value is not None and getattr(invoice, name) != value
    }
    rows = _line_rows(lines) if lines is not None else None
    if rows is not None and not rows:
        raise ValidationError("An invoice needs at least one line.")
    lines_changed = rows is not None and _lines_differ(invoice, rows)
    if has_money_against(invoice):
        fixed = sorted(set(changes) - set(EDITABLE_AFTER_PAYMENT))
        if fixed or lines_changed:
            raise ValidationError(
                f"Invoice {invoice.number} already has payments or credits against it: only its dates "
                "and reference can change. Void its payments or credit notes first to change anything else."
            )
    if "number" in changes and Invoice.objects.filter(number=changes["number"]).exists():
        raise ValidationError({"number": f"Invoice {changes['number']} already exists."})
    issue_date = changes.get("issue_date", invoice.issue_date)
    due_date = changes.get("due_date", invoice.due_date)
    if due_date < issue_date:
        raise ValidationError({"due_date": "The due date cannot be before the issue date."})
    if not changes and not lines_changed:
        return invoice

    recorded = {name: [str(getattr(invoice, name)), str(value)] for name, value in changes.items()}
    for name, value in changes.items():
        setattr(invoice, name, value)
    if lines_changed:
        old_total = invoice.total
        invoice.lines.all().delete()
        for row in rows:
            row.invoice = invoice
        InvoiceLine.objects.bulk_create(rows)
        invoice.subtotal = sum((r.amount for r in rows), ZERO)
        invoice.tax = sum((r.tax_amount for r in rows), ZERO)
        invoice.total = invoice.subtotal + invoice.tax
        _settle(invoice)
        if invoice.total != old_total:
            recorded["total"] = [str(old_total), str(invoice.total)]
        recorded["lines"] = len(rows)
    invoice.save()
    timeline.record(
        invoice.customer,
        ActivityKind.INVOICE_CHANGED,
        invoice=invoice,
        actor=actor,
        data={"number": invoice.number, "changes": recorded},
        at=at,
    )
    return invoice


def void_refusal(invoice):
    """Why `invoice` cannot be voided, in words, or None when it can."""
    if invoice.is_read_only:
        return (
            f"Invoice {invoice.number} came from the accounting system, so it cannot be voided here. "
            "Void it in the accounting system; the next sync brings the change to peakflo."
        )
    if invoice.status == InvoiceStatus.VOID:
        return f"Invoice {invoice.number} is already void."
    if has_money_against(invoice):
        return (
            f"Invoice {invoice.number} has payments or credits against it; "
            "void or reallocate them before voiding the invoice."
        )
    return None


@transaction.atomic
def void_invoice(*, invoice, actor, reason="", at=None):
    """Void an invoice nobody has paid or credited; it stays on record but is owed no more."""
    _refuse_auditors(actor)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    refusal = void_refusal(invoice)
    if refusal:
        raise ValidationError(refusal)
    invoice.status = InvoiceStatus.VOID
    invoice.save(update_fields=["status", "updated_at"])
    timeline.record(
        invoice.customer,
        ActivityKind.INVOICE_VOIDED,
        invoice=invoice,
        actor=actor,
        data={
            "number": invoice.number,
            "total": str(invoice.total),
            "currency": invoice.currency,
            "reason": reason.strip()[:500],
        },
        at=at,
    )
    return invoice


def mark_invoice_paid(*, invoice, actor, date, method=PaymentMethod.BANK_TRANSFER, reference="", at=None):
    """Record one payment for everything still due on the invoice (record_payment marks it paid)."""
    _refuse_auditors(actor)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status != InvoiceStatus.OPEN or invoice.amount_due <= 0:
            raise ValidationError(
                f"Invoice {invoice.number} is {invoice.get_status_display().lower()}; nothing is due on it."
            )
        return record_payment(
            customer=invoice.customer,
            date=date,
            amount=invoice.amount_due,
            currency=invoice.currency,
            allocations=[(invoice, invoice.amount_due)],
            method=method,
            reference=reference,
            created_by=actor,
            at=at,
        )


@transaction.atomic
def set_invoice_reminders(*, invoice, paused, actor, reason=""):
    """Pause or resume the automatic reminders of one invoice, with the reason on the timeline."""
    if getattr(actor, "is_read_only", False):
        raise PermissionDenied("Auditors can look but not change anything.")
    reason = reason.strip()[:200]
    if paused and not reason:
        raise ValidationError("Say why the reminders pause: the timeline keeps the reason.")
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.reminders_paused == paused:
        return invoice
    invoice.reminders_paused, invoice.reminders_pause_reason = paused, reason if paused else ""
    invoice.save(update_fields=["reminders_paused", "reminders_pause_reason", "updated_at"])
    timeline.record(
        invoice.customer,
        ActivityKind.WORKFLOW,
        invoice=invoice,
        actor=actor,
        data={
            "reminders": "paused" if paused else "resumed",
            "invoice": invoice.number,
            **({"reason": reason} if reason else {}),
        },
    )
    return invoice


@transaction.atomic
def record_invoice_promise(*, invoice, amount, date, actor, today=None):
    """A promise to pay one invoice: its automatic reminders wait until the promised date.

    `actor` is the user who took the promise or the portal contact who made it.
    """
    if getattr(actor, "is_read_only", False):
        raise PermissionDenied("Auditors can look but not change anything.")
    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    today = today or Company.load().today()
    errors = {}
    if amount is None or amount <= 0:
        errors["promise_amount"] = "A promise to pay must be more than zero."
    elif amount > invoice.amount_due:
        errors["promise_amount"] = (
            f"{format_money(amount, invoice.currency)} is more than the "
            f"{format_money(invoice.amount_due, invoice.currency)} still due on invoice {invoice.number}."
        )
    if date is None or date < today:
        errors["promise_date"] = "The promised date cannot be in the past."
    if invoice.status != InvoiceStatus.OPEN or invoice.amount_due <= 0:
        errors["promise_amount"] = f"Invoice {invoice.number} has nothing left to pay."
    if errors:
        raise ValidationError(errors)
    invoice.promise_amount, invoice.promise_date = amount, date
    invoice.save(update_fields=["promise_amount", "promise_date", "updated_at"])
    timeline.record(
        invoice.customer,
        ActivityKind.PROMISE_TO_PAY,
        invoice=invoice,
        actor=actor,
        data={
            "invoice": invoice.number,
            "amount": str(amount),
            "currency": invoice.currency,
            "date": date.isoformat(),
        },
    )
    return invoice


@transaction.atomic
def withdraw_invoice_promise(*, invoice, actor):
    """The customer will not keep their promise after all: the invoice's reminders resume."""
    if getattr(actor, "is_read_only", False):
        raise PermissionDenied("Auditors can look but not change anything.")
    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    if invoice.promise_date is None:
        raise ValidationError(f"Invoice {invoice.number} has no promise to pay to withdraw.")
    amount, date = invoice.promise_amount, invoice.promise_date
    invoice.promise_amount = invoice.promise_date = None
    invoice.save(update_fields=["promise_amount", "promise_date", "updated_at"])
    timeline.record(
        invoice.customer,
        ActivityKind.PROMISE_TO_PAY,
        invoice=invoice,
        actor=actor,
        data={
            "invoice": invoice.number,
            "amount": str(amount) if amount is not None else "",
            "currency": invoice.currency,
            "date": date.isoformat(),
            "withdrawn": True,
        },
    )
    return invoice
