"""Credit limits → credit hold, set-based: one UPDATE … RETURNING per tick, then the timeline.

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
from customers.models import ActivityKind
from invoices.models import InvoiceStatus
from invoices.money import format_money
from peakflo.models import Company


def _minus_days(date_sql, days_sql):
    if connection.vendor == "postgresql":
        return f"({date_sql} - {days_sql})"
    return f"date({date_sql}, printf('%%+d days', -{days_sql}))"


def _credit_hold_sql():
    """Parameters: today, today, now. Returns the changed customers with what decided it."""
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
            SELECT f.id, f.credit_limit_amount, f.credit_limit_days, e.owed, e.oldest_overdue,
                   COALESCE(f.credit_limit_amount IS NOT NULL AND e.owed > f.credit_limit_amount, FALSE)
                   OR COALESCE(f.credit_limit_days IS NOT NULL AND e.oldest_overdue < {cutoff}, FALSE)
                   AS hold
            FROM followed f
            LEFT JOIN exposure e ON e.customer_id = f.id
        )
        UPDATE customers_customer
        SET credit_hold = decided.hold,
            credit_hold_since = CASE WHEN decided.hold THEN %s END
        FROM decided
        WHERE customers_customer.id = decided.id AND customers_customer.credit_hold <> decided.hold
        RETURNING customers_customer.id, decided.hold, decided.owed, decided.oldest_overdue,
                  decided.credit_limit_amount, decided.credit_limit_days
    """


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
            cursor.execute(_credit_hold_sql(), [today, today, now])
            changed = cursor.fetchall()
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
