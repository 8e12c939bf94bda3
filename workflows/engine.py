"""The trigger engine's schedule step (DESIGN.md, "The workflow engine"): set-based, idempotent, alone.

`schedule_due_runs` creates the ActionRuns that fell due with a few INSERT … SELECT … ON CONFLICT
DO NOTHING statements — never a Python loop over invoices. No burst: of the steps due for an
invoice, only the latest is pending; the earlier ones are recorded as skipped, never sent late.
"""

from django.db import connection, transaction
from django.utils import timezone

from invoices.models import InvoiceStatus
from peakflo.models import Company

from .models import RunStatus, Trigger

# pg_try_advisory_xact_lock key: "pk" "tk" (peakflo tick) as one 64-bit number.
TICK_LOCK = 0x706B_746B
SKIPPED_EARLIER = "A later step was already due when this invoice met the workflow."
SKIPPED_SETTLED = "The invoice was paid, credited or voided before this step was sent."

RELATIVE_TRIGGERS = [
    Trigger.BEFORE_DUE,
    Trigger.AFTER_DUE,
    Trigger.AFTER_ISSUE,
    Trigger.BEFORE_PROMISE,
    Trigger.AFTER_PROMISE,
]


def _plus_days(date_sql, days_sql):
    if connection.vendor == "postgresql":
        return f"({date_sql} + {days_sql})"
    return f"date({date_sql}, printf('%%+d days', {days_sql}))"


def _trigger_date_sql():
    """The day an action falls due for an invoice, from its trigger and the invoice's dates."""
    return f"""CASE a.trigger
        WHEN 'before_due' THEN {_plus_days("i.due_date", "-a.days")}
        WHEN 'after_due' THEN {_plus_days("i.due_date", "a.days")}
        WHEN 'after_issue' THEN {_plus_days("i.issue_date", "a.days")}
        WHEN 'before_promise' THEN {_plus_days("c.promise_date", "-a.days")}
        WHEN 'after_promise' THEN {_plus_days("c.promise_date", "a.days")}
    END"""


def _relative_runs_sql():
    triggers = ", ".join(f"'{t}'" for t in RELATIVE_TRIGGERS)
    return f"""
    WITH due AS (
        SELECT a.id AS action_id, i.id AS invoice_id, {_trigger_date_sql()} AS due_on
        FROM invoices_invoice i
        JOIN customers_customer c ON c.id = i.customer_id
        JOIN workflows_action a ON a.workflow_id = COALESCE(
            c.workflow_id, (SELECT w.id FROM workflows_workflow w WHERE w.is_default)
        )
        WHERE i.status = %s AND i.amount_due > 0 AND NOT c.workflow_paused
          AND a.is_active AND a.trigger IN ({triggers})
          AND (a.trigger NOT IN ('before_promise', 'after_promise') OR c.promise_date IS NOT NULL)
    ),
    ranked AS (
        SELECT action_id, invoice_id, due_on, MAX(due_on) OVER (PARTITION BY invoice_id) AS latest
        FROM due WHERE due_on <= %s
    )
    INSERT INTO workflows_actionrun (action_id, invoice_id, occurrence, due_on, status, reason, created_at)
    SELECT r.action_id, r.invoice_id, 1, r.due_on,
           CASE WHEN r.due_on = r.latest THEN %s ELSE %s END,
           CASE WHEN r.due_on = r.latest THEN '' ELSE %s END,
           %s
    FROM ranked r
    WHERE NOT EXISTS (
        SELECT 1 FROM workflows_actionrun x WHERE x.action_id = r.action_id AND x.invoice_id = r.invoice_id
    )
    ON CONFLICT (action_id, invoice_id, occurrence) DO NOTHING
    """


def _end_runs_of_settled_invoices_sql():
    return """
    UPDATE workflows_actionrun SET status = %s, reason = %s, finished_at = %s
    WHERE status = %s AND invoice_id IN (
        SELECT i.id FROM invoices_invoice i WHERE i.status <> %s OR i.amount_due <= 0
    )
    """


def _take_tick_lock(cursor):
    """True when this transaction may tick; another tick holding the lock makes this one a no-op."""
    if connection.vendor != "postgresql":
        return True  # SQLite: writers are serialised by the database file's own lock
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [TICK_LOCK])
    return cursor.fetchone()[0]


def schedule_due_runs(*, today=None):
    """Create the runs that fell due by `today` (the company's today by default).

    Returns {"scheduled": runs created (pending or skipped), "ended": pending runs of settled invoices
    closed}, or None when another tick is running.
    """
    today = today or Company.load().today()
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        if not _take_tick_lock(cursor):
            return None
        cursor.execute(
            _end_runs_of_settled_invoices_sql(),
            [RunStatus.SKIPPED, SKIPPED_SETTLED, now, RunStatus.PENDING, InvoiceStatus.OPEN],
        )
        ended = cursor.rowcount
        cursor.execute(
            _relative_runs_sql(),
            [InvoiceStatus.OPEN, today, RunStatus.PENDING, RunStatus.SKIPPED, SKIPPED_EARLIER, now],
        )
        scheduled = cursor.rowcount
    # SQLite does not count the rows of an INSERT … SELECT that starts WITH: say unknown, not -1.
    return {"scheduled": scheduled if scheduled >= 0 else None, "ended": ended}
