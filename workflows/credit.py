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
from django.utils import timezone

from customers import timeline
from customers.models import ActivityKind, Customer
from invoices.models import InvoiceStatus
from invoices.money import format_money
from peakflo.models import Company


def _minus_days(date_sql, days_sql):
    if connection.vendor == "postgresql":
        return f"({date_sql} - {days_sql})"
    return f"date({date_sql}, printf('%%+d days', -{days_sql}))"


def _decided_sql():
    """WITH … decided: per customer a limit applies to (or on hold), whether they should be on hold.

    Parameters: today, today.
    """
    cutoff = _minus_days("%s", "f.credit_limit_days")  # overdue longer than N days: due before today - N
    return f"""
        WITH followed AS (
            SELECT c.id, c.credit_hold, w.credit_limit_amount, w.credit_limit_days
            FROM customers_customer c
            LEFT JOIN workflows_workflow w ON w.id = COALESCE(
                c.workflow_id, (SELECT d.id FROM workflows_workflow d WHERE d.is_default)
            )
            -- only customers a limit applies to, or who must have their hold lifted
            WHERE c.credit_hold OR w.credit_limit_amount IS NOT NULL OR w.credit_limit_days IS NOT NULL
        ),
        exposure AS (
            SELECT i.customer_id,
                   SUM(i.amount_due * i.exchange_rate) AS owed,
                   MIN(CASE WHEN i.due_date < %s THEN i.due_date END) AS oldest_overdue
            FROM invoices_invoice i
            JOIN followed f ON f.id = i.customer_id
            WHERE i.status = '{InvoiceStatus.OPEN}' AND i.amount_due > 0
            GROUP BY i.customer_id
        ),
        decided AS (
            SELECT f.id, f.credit_hold AS was_held, f.credit_limit_amount, f.credit_limit_days,
                   e.owed, e.oldest_overdue,
                   COALESCE(f.credit_limit_amount IS NOT NULL AND e.owed > f.credit_limit_amount, FALSE)
                   OR COALESCE(f.credit_limit_days IS NOT NULL AND e.oldest_overdue < {cutoff}, FALSE)
                   AS hold
            FROM followed f
            LEFT JOIN exposure e ON e.customer_id = f.id
        )
    """


CHANGED_COLUMNS = "decided.id, decided.hold, decided.owed, decided.oldest_overdue, decided.credit_limit_amount, decided.credit_limit_days"


def _apply_changes(cursor, today, now):
    """Write the changed flags; returns the changed rows (id, hold, owed, oldest overdue, limits)."""
    if connection.vendor == "postgresql":
        # One statement: the rows it changes come back with what decided them.
        cursor.execute(
            _decided_sql()
            + f"""
            UPDATE customers_customer
            SET credit_hold = decided.hold, credit_hold_since = CASE WHEN decided.hold THEN %s END
            FROM decided
            WHERE customers_customer.id = decided.id AND customers_customer.credit_hold <> decided.hold
            RETURNING {CHANGED_COLUMNS}
            """,
            [today, today, now],
        )
        return cursor.fetchall()
    # SQLite (the embedded default) cannot return the FROM table's columns: read, then two UPDATEs.
    cursor.execute(
        _decided_sql() + f"SELECT {CHANGED_COLUMNS} FROM decided WHERE decided.was_held <> decided.hold",
        [today, today],
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
