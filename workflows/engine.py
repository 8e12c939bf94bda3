"""The trigger engine's schedule step (DESIGN.md, "The workflow engine"): set-based, idempotent, alone.

`schedule_due_runs` creates the ActionRuns that fell due with a few INSERT … SELECT … ON CONFLICT
DO NOTHING statements — never a Python loop over invoices. No burst: of the steps due for an
invoice, only the latest is pending; the earlier ones are recorded as skipped, never sent late.

What holds an invoice's automatic reminders back (its manual steps, which become tasks, still come):
the customer's workflow paused, the invoice's reminders paused, a promise to pay the invoice whose
date has not passed, an open task for the customer due after today.
"""

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from invoices.models import InvoiceStatus
from peakflo.models import Company

from .models import MANUAL_ACTION_TYPES, Action, RunStatus, TaskStatus, Trigger

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


def _day_of(moment_sql, tz_name):
    """The company-time-zone day of a stored UTC moment."""
    if connection.vendor == "postgresql":
        return f"(({moment_sql}) AT TIME ZONE '{tz_name}')::date"
    return f"date({moment_sql})"  # SQLite (the embedded default): the UTC day is close enough


def _sql_list(values):
    return ", ".join(f"'{value}'" for value in values)


def _eligible_sql():
    """Joins invoices to the actions that apply to them, with what holds reminders back.

    Parameters: today (twice).
    """
    manual = _sql_list(MANUAL_ACTION_TYPES)
    return f"""
        FROM invoices_invoice i
        JOIN customers_customer c ON c.id = i.customer_id
        JOIN workflows_action a ON a.workflow_id = COALESCE(
            c.workflow_id, (SELECT w.id FROM workflows_workflow w WHERE w.is_default)
        )
        WHERE i.status = '{InvoiceStatus.OPEN}' AND i.amount_due > 0 AND NOT c.workflow_paused AND a.is_active
          AND (
            a.action_type IN ({manual})
            OR (
                NOT i.reminders_paused
                AND (i.promise_date IS NULL OR i.promise_date < %s)
                AND NOT EXISTS (
                    SELECT 1 FROM workflows_task t
                    WHERE t.customer_id = c.id AND t.status = '{TaskStatus.OPEN}' AND t.due_on > %s
                )
            )
          )
    """


def _trigger_date_sql():
    """The day an action falls due for an invoice, from its trigger and the invoice's dates."""
    promise = "COALESCE(i.promise_date, c.promise_date)"
    return f"""CASE a.trigger
        WHEN 'before_due' THEN {_plus_days("i.due_date", "-a.days")}
        WHEN 'after_due' THEN {_plus_days("i.due_date", "a.days")}
        WHEN 'after_issue' THEN {_plus_days("i.issue_date", "a.days")}
        WHEN 'before_promise' THEN {_plus_days(promise, "-a.days")}
        WHEN 'after_promise' THEN {_plus_days(promise, "a.days")}
    END"""


def _relative_runs_sql():
    return f"""
    WITH due AS (
        SELECT a.id AS action_id, i.id AS invoice_id, {_trigger_date_sql()} AS due_on
        {_eligible_sql()}
          AND a.trigger IN ({_sql_list(RELATIVE_TRIGGERS)})
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
    ON CONFLICT (action_id, invoice_id, occurrence) DO NOTHING  -- a step already scheduled stays as it is
    """


def _calendar_runs_sql():
    """Runs of one calendar action (monthly, or on given dates) for its latest date: one occurrence a date."""
    return f"""
    INSERT INTO workflows_actionrun (action_id, invoice_id, occurrence, due_on, status, reason, created_at)
    SELECT a.id, i.id, %s, %s, %s, '', %s
    {_eligible_sql()}
      AND a.id = %s AND i.issue_date <= %s
    ON CONFLICT (action_id, invoice_id, occurrence) DO NOTHING
    """


def _repeat_runs_sql(tz_name):
    """The next occurrence of a repeating action, N days after the last one was completed."""
    finished_day = _day_of("r.finished_at", tz_name)
    next_day = _plus_days(finished_day, "a.repeat_every_days")
    return f"""
    INSERT INTO workflows_actionrun (action_id, invoice_id, occurrence, due_on, status, reason, created_at)
    SELECT r.action_id, r.invoice_id, r.occurrence + 1, {next_day}, %s, '', %s
    FROM workflows_actionrun r
    JOIN workflows_action a ON a.id = r.action_id
    JOIN invoices_invoice i ON i.id = r.invoice_id
    WHERE r.status = %s AND r.finished_at IS NOT NULL AND a.repeat_every_days IS NOT NULL AND a.is_active
      AND (a.repeat_max IS NULL OR r.occurrence < a.repeat_max)
      AND i.status = '{InvoiceStatus.OPEN}' AND i.amount_due > 0
      AND {next_day} <= %s
    ON CONFLICT (action_id, invoice_id, occurrence) DO NOTHING
    """


def _end_runs_of_settled_invoices_sql():
    return f"""
    UPDATE workflows_actionrun SET status = %s, reason = %s, finished_at = %s
    WHERE status = %s AND invoice_id IN (
        SELECT i.id FROM invoices_invoice i WHERE i.status <> '{InvoiceStatus.OPEN}' OR i.amount_due <= 0
    )
    """


def latest_calendar_date(action, today):
    """The most recent day on or before `today` when a monthly or dated action falls, or None."""
    if action.trigger == Trigger.MONTHLY and action.day_of_month:
        if today.day >= action.day_of_month:
            return today.replace(day=action.day_of_month)
        last_month = today.replace(day=1) - dt.timedelta(days=1)
        return last_month.replace(day=action.day_of_month)
    if action.trigger == Trigger.ON_DATES:
        days = [dt.date.fromisoformat(day) for day in action.dates or []]
        past = [day for day in days if day <= today]
        return max(past) if past else None
    return None


def _take_tick_lock(cursor):
    """True when this transaction may tick; another tick holding the lock makes this one a no-op."""
    if connection.vendor != "postgresql":
        return True  # SQLite: writers are serialised by the database file's own lock
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [TICK_LOCK])
    return cursor.fetchone()[0]


def _count(cursor):
    # SQLite does not count the rows of an INSERT … SELECT that starts WITH: unknown, not -1.
    return cursor.rowcount if cursor.rowcount >= 0 else None


def schedule_due_runs(*, today=None):
    """Create the runs that fell due by `today` (the company's today by default).

    Returns {"scheduled": runs created (pending or skipped; None where the database can't count),
    "ended": pending runs of settled invoices closed}, or None when another tick is running.
    """
    company = Company.load()
    today = today or company.today()
    now = timezone.now()
    pending, skipped = RunStatus.PENDING, RunStatus.SKIPPED
    with transaction.atomic(), connection.cursor() as cursor:
        if not _take_tick_lock(cursor):
            return None
        cursor.execute(_end_runs_of_settled_invoices_sql(), [skipped, SKIPPED_SETTLED, now, pending])
        ended = cursor.rowcount
        cursor.execute(_relative_runs_sql(), [today, today, today, pending, skipped, SKIPPED_EARLIER, now])
        counts = [_count(cursor)]
        calendar = Action.objects.filter(is_active=True, trigger__in=[Trigger.MONTHLY, Trigger.ON_DATES])
        for action in calendar:
            day = latest_calendar_date(action, today)
            if day is not None:
                occurrence = (
                    day.year * 12 + day.month if action.trigger == Trigger.MONTHLY else day.toordinal()
                )
                cursor.execute(
                    _calendar_runs_sql(), [occurrence, day, pending, now, today, today, action.pk, day]
                )
                counts.append(_count(cursor))
        cursor.execute(_repeat_runs_sql(company.time_zone), [pending, now, RunStatus.DONE, today])
        counts.append(_count(cursor))
    scheduled = None if None in counts else sum(counts)
    return {"scheduled": scheduled, "ended": ended}
