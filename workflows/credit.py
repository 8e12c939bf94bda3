"""Credit limits → credit hold, set-based: one UPDATE … RETURNING per tick (Postgres), then the timeline.

A workflow may carry a credit limit in money (the company's base currency: each open invoice's
amount due × its exchange rate, summed per customer) and in days overdue (the customer's oldest
overdue invoice). A customer following it — its own workflow, or the default one — who passes either
limit is put on credit hold; a customer back within both has the hold lifted. Only the customers
whose flag changes are written and get a timeline entry.
"""

import datetime as dt
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    DateField,
    DecimalField,
    F,
    FilteredRelation,
    Min,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers import timeline
from customers.models import ActivityKind, Customer
from invoices.models import InvoiceStatus
from invoices.money import format_money
from peakflo.models import Company
from peakflo.queries import DaysBetween

from .models import Workflow

OWED = DecimalField(max_digits=30, decimal_places=10)


def _followed_limit(field):
    """The limit of the workflow the customer follows: their own, or the default one."""
    default = Workflow.objects.filter(is_default=True).values(field)[:1]
    return Case(
        When(workflow__isnull=True, then=Subquery(default)),
        default=F(f"workflow__{field}"),
    )


def with_credit_limits(customers):
    """credit_limit_amount, credit_limit_days: those of the workflow each customer follows (None: no limit)."""
    return customers.annotate(
        credit_limit_amount=_followed_limit("credit_limit_amount"),
        credit_limit_days=_followed_limit("credit_limit_days"),
    )


def over_the_limit(customers, *, today):
    """The one definition of "over the credit limit", shared by the tick's credit hold and the credit
    control report, on customers already annotated with their limits (with_credit_limits), `owed`
    (base currency; None when nothing) and `oldest_overdue` (due date of the oldest overdue invoice).

    Adds days_overdue (0 when nothing is overdue), over_amount (owes more than the amount limit),
    over_days (an invoice overdue longer than the days limit) and hold (either).
    """
    return customers.annotate(
        days_overdue=Coalesce(DaysBetween(Value(today, DateField()), F("oldest_overdue")), 0),
        over_amount=Case(
            When(credit_limit_amount__isnull=False, owed__gt=F("credit_limit_amount"), then=True),
            default=False,
            output_field=BooleanField(),
        ),
        over_days=Case(
            When(
                credit_limit_days__isnull=False,
                oldest_overdue__isnull=False,
                days_overdue__gt=F("credit_limit_days"),
                then=True,
            ),
            default=False,
            output_field=BooleanField(),
        ),
    ).annotate(hold=Q(over_amount=True) | Q(over_days=True))


def credit_positions(customers, *, today):
    """`customers` with their credit limits, what they owe against them live, and whether they are over.

    owed: open invoices' amount due × exchange rate; oldest_overdue: the oldest due date before
    today; then over_the_limit(). One GROUP BY over the customers' open invoices, joined on their
    condition so paid ones are never read.
    """
    open_invoice = Q(invoices__status=InvoiceStatus.OPEN, invoices__amount_due__gt=0)
    overdue = Q(open_invoices__due_date__lt=today)
    customers = (
        with_credit_limits(customers)
        .annotate(open_invoices=FilteredRelation("invoices", condition=open_invoice))
        .annotate(
            owed=Sum(F("open_invoices__amount_due") * F("open_invoices__exchange_rate"), output_field=OWED),
            oldest_overdue=Min("open_invoices__due_date", filter=overdue),
        )
    )
    return over_the_limit(customers, today=today)


def _decided_sql(today):
    """SELECT … per customer a limit applies to (or on hold): whether they should be on hold.

    Columns: id, was_held, credit_limit_amount, credit_limit_days, owed, oldest_overdue, hold.
    """
    decided = (
        credit_positions(Customer.objects.all(), today=today)
        # only customers a limit applies to, or who must have their hold lifted
        .filter(
            Q(credit_hold=True) | Q(credit_limit_amount__isnull=False) | Q(credit_limit_days__isnull=False)
        )
        .values(
            "id",
            "credit_limit_amount",
            "credit_limit_days",
            "owed",
            "oldest_overdue",
            "hold",
            was_held=F("credit_hold"),
        )
        .order_by()
    )
    return decided.query.sql_with_params()


CHANGED_COLUMNS = "decided.id, decided.hold, decided.owed, decided.oldest_overdue, decided.credit_limit_amount, decided.credit_limit_days"


def _apply_changes(cursor, today, now):
    """Write the changed flags; returns the changed rows (id, hold, owed, oldest overdue, limits)."""
    if connection.vendor == "postgresql":
        # One statement: the rows it changes come back with what decided them.
        sql, params = _decided_sql(today)
        cursor.execute(
            f"""
            WITH decided AS ({sql})
            UPDATE customers_customer
            SET credit_hold = decided.hold, credit_hold_since = CASE WHEN decided.hold THEN %s END
            FROM decided
            WHERE customers_customer.id = decided.id AND customers_customer.credit_hold <> decided.hold
            RETURNING {CHANGED_COLUMNS}
            """,
            [*params, now],
        )
        return cursor.fetchall()
    # SQLite (the embedded default) cannot return the FROM table's columns: read, then two UPDATEs.
    sql, params = _decided_sql(today)
    cursor.execute(
        f"WITH decided AS ({sql}) SELECT {CHANGED_COLUMNS} FROM decided WHERE decided.was_held <> decided.hold",
        params,
    )
    changed = cursor.fetchall()
    put_on = [row[0] for row in changed if row[1]]
    lifted = [row[0] for row in changed if not row[1]]
    Customer.objects.filter(pk__in=put_on).update(credit_hold=True, credit_hold_since=now)
    Customer.objects.filter(pk__in=lifted).update(credit_hold=False, credit_hold_since=None)
    return changed


def _as_date(value):
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _timeline_data(*, hold, owed, oldest_overdue, limit_amount, limit_days, today, currency):
    owed = Decimal(owed or 0).quantize(Decimal("0.01"))
    days_overdue = (today - _as_date(oldest_overdue)).days if oldest_overdue else 0
    reasons = []
    if limit_amount is not None and owed > limit_amount:
        reasons.append(
            f"owes {format_money(owed, currency)}, more than the credit limit of "
            f"{format_money(Decimal(limit_amount), currency)}"
        )
    if limit_days is not None and days_overdue > limit_days:
        reasons.append(
            f"has an invoice {days_overdue} days overdue, more than the limit of {limit_days} days"
        )
    if hold:
        reason = "Put on credit hold: " + " and ".join(reasons) + "."
    else:
        reason = f"Credit hold lifted: back within the workflow's credit limit (owes {format_money(owed, currency)})."
    return {
        "hold": "on" if hold else "lifted",
        "reason": reason,
        "owed": str(owed),
        "currency": currency,
        "days_overdue": days_overdue,
    }


def update_credit_holds(today=None):
    """Set or lift every customer's credit hold from their workflow's limits; returns (put on, lifted)."""
    company = Company.load()
    today = today or company.today()
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            changed = _apply_changes(cursor, today, now)
        timeline.record_many(
            {
                "customer_id": customer_id,
                "kind": ActivityKind.CREDIT_HOLD,
                "data": _timeline_data(
                    hold=bool(hold),
                    owed=owed,
                    oldest_overdue=oldest_overdue,
                    limit_amount=limit_amount,
                    limit_days=limit_days,
                    today=today,
                    currency=company.base_currency,
                ),
                "at": now,
            }
            for customer_id, hold, owed, oldest_overdue, limit_amount, limit_days in changed
        )
    put_on = sum(1 for row in changed if row[1])
    return put_on, len(changed) - put_on
