"""The engine's tick over the large data set: first tick and steady state.

Targets (DESIGN.md): the first tick (every step of every open invoice) ≤ 30 s and within 1.5× of
one hand-written SQL statement doing the same; a steady-state tick ≤ 2 s.

Run: .venv/bin/python bench/bench_tick.py [--customers 100000 --invoices 1000000]
Uses DATABASE_URL, or a database `peakflo_bench` on the local PostgreSQL, which it creates and fills
with `seed_demo --customers N --invoices M` when it holds fewer invoices.

The hand-written statement is timed twice: into a copy of the runs table (`LIKE … INCLUDING ALL`
copies the indexes but not the foreign keys) and into the runs table itself, where PostgreSQL checks
both foreign keys (action, invoice) of every row at commit, as it does for the tick. The second is
the like-for-like comparison; both ratios are printed.
"""

import argparse
import datetime as dt
import os
import time
from decimal import Decimal

from _setup import report, setup_django

# One statement that does what the tick's first pass does, written by hand: due steps of every
# open invoice of customers on the workflow, the latest pending, the earlier ones skipped.
HAND_WRITTEN = """
INSERT INTO {table} (action_id, invoice_id, occurrence, due_on, status, reason, created_at)
SELECT action_id, invoice_id, 1, due_on,
       CASE WHEN due_on = MAX(due_on) OVER (PARTITION BY invoice_id) THEN 'pending' ELSE 'skipped' END,
       '', now()
FROM (
    SELECT a.id AS action_id, i.id AS invoice_id,
           CASE a.trigger WHEN 'before_due' THEN i.due_date - a.days ELSE i.due_date + a.days END AS due_on
    FROM invoices_invoice i
    JOIN customers_customer c ON c.id = i.customer_id
    JOIN workflows_action a ON a.workflow_id = c.workflow_id
    WHERE i.status = 'open' AND i.amount_due > 0 AND NOT c.workflow_paused AND a.workflow_id = %s
) due
WHERE due_on <= %s
ON CONFLICT DO NOTHING
"""


def timed(work):
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument(
        "--steady-only",
        action="store_true",
        help="Only the steady-state ticks, carrying on from the runs and the tick state a previous run left.",
    )
    args = parser.parse_args()
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")  # dispute emails
    setup_django()

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from customers.models import Customer
    from disputes.models import DisputeReason
    from disputes.services import raise_dispute, resolve_dispute
    from invoices.models import Invoice
    from invoices.services import LineInput, issue_invoice, set_invoice_reminders
    from peakflo.models import Company, User
    from workflows.engine import LOOKBACK, STATE_TABLE, schedule_due_runs
    from workflows.models import Action, ActionType, Trigger, Workflow

    if Invoice.objects.count() < args.invoices:
        print(f"Seeding {args.customers:,} customers and {args.invoices:,} invoices (a few minutes)…")
        call_command("seed_demo", customers=args.customers, invoices=args.invoices, verbosity=0)

    workflow, _ = Workflow.objects.get_or_create(name="Bench: ten steps")
    if workflow.actions.count() != 10:
        workflow.actions.all().delete()
        steps = [(Trigger.BEFORE_DUE, 7), (Trigger.BEFORE_DUE, 3)] + [
            (Trigger.AFTER_DUE, d) for d in (0, 3, 7, 14, 21, 30, 45, 60)
        ]
        for n, (trigger, days) in enumerate(steps):
            Action.objects.create(
                workflow=workflow,
                name=f"Step {n + 1}",
                trigger=trigger,
                days=days,
                action_type=ActionType.EMAIL,
            )
    Customer.objects.exclude(workflow=workflow, workflow_paused=False).update(
        workflow=workflow, workflow_paused=False
    )
    open_invoices = Invoice.objects.filter(status="open", amount_due__gt=0).count()
    today = Company.load().today()
    print(f"{Invoice.objects.count():,} invoices, {open_invoices:,} open; a ten-step workflow")
    recent = Invoice.objects.filter(
        updated_at__gt=timezone.now() - LOOKBACK - dt.timedelta(minutes=5)
    ).count()
    if recent > 1000:
        print(
            f"note: {recent:,} invoices were saved in the last minutes; the steady-state ticks give them a full pass"
        )

    def clear_runs():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE workflows_actionrun")
            cursor.execute(f"DELETE FROM {STATE_TABLE}")
            cursor.execute("VACUUM ANALYZE workflows_actionrun")

    def hand_written(table):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(HAND_WRITTEN.format(table=table), [workflow.pk, today])
            return cursor.rowcount  # the foreign keys are checked at the commit, inside the timing

    def first_tick(today, workflow):
        clear_runs()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh statistics after seeding, as a running system has
            cursor.execute("SELECT count(*) FROM invoices_invoice WHERE status = 'open'")  # warm the cache
            cursor.execute("SELECT count(*) FROM customers_customer")
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_runs")
            cursor.execute("CREATE TABLE bench_runs (LIKE workflows_actionrun INCLUDING ALL)")
        hand_copy, rows = timed(lambda: hand_written("bench_runs"))
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_runs")
        print(f"hand-written statement, into a copy without foreign keys: {hand_copy:.2f} s, {rows:,} rows")
        hand, rows = timed(lambda: hand_written("workflows_actionrun"))
        print(f"hand-written statement, into the runs table: {hand:.2f} s, {rows:,} rows")
        clear_runs()
        first, result = timed(lambda: schedule_due_runs(today=today))
        print(f"first tick ({result['mode']}): {first:.2f} s, {result['scheduled']:,} runs")
        return first, hand, hand_copy

    def bare_insert_of_the_last_ticks_runs():
        """The rows the last tick created, written again by one bare INSERT, foreign keys checked."""
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE bench_day AS SELECT action_id, invoice_id, occurrence, due_on, status, "
                "reason FROM workflows_actionrun WHERE created_at = (SELECT max(created_at) FROM workflows_actionrun)"
            )

        def insert():
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO workflows_actionrun (action_id, invoice_id, occurrence, due_on, status, reason, "
                    "created_at) SELECT action_id, invoice_id, occurrence + 1000, due_on, status, reason, now() "
                    "FROM bench_day"
                )
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the checks a commit would run
                transaction.set_rollback(True)
                return cursor.rowcount

        seconds, _ = timed(insert)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_day")
        return seconds

    if args.steady_only:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT day FROM {STATE_TABLE}")
            today = cursor.fetchone()[0]
        first = hand = hand_copy = None
    else:
        first, hand, hand_copy = first_tick(today, workflow)

    same_day, result = timed(lambda: schedule_due_runs(today=today))
    print(f"tick again the same day, nothing new ({result['mode']}): {same_day:.2f} s")

    next_day, result = timed(lambda: schedule_due_runs(today=today + dt.timedelta(days=1)))
    print(f"tick the next day ({result['mode']}): {next_day:.2f} s, {result['scheduled']:,} runs")
    bare = bare_insert_of_the_last_ticks_runs()
    print(f"the same {result['scheduled']:,} runs written by one bare INSERT: {bare:.2f} s")

    # A handful of changes, through the services, as people make them during a day.
    admin = User.objects.filter(is_superuser=True).first()
    overdue = list(
        Invoice.objects.filter(status="open", amount_due__gt=0, due_date__lt=today)
        .exclude(disputes__status="open")
        .order_by("id")[:4]
    )
    disputed = overdue[0]
    opened = raise_dispute(invoice=disputed, reason=DisputeReason.objects.first(), actor=admin)
    resolve_dispute(dispute=opened, actor=admin, resolution="Bench: resolved")
    held = overdue[1]
    set_invoice_reminders(invoice=held, paused=True, actor=admin, reason="Bench")
    set_invoice_reminders(invoice=held, paused=False, actor=admin)
    raise_dispute(invoice=overdue[2], reason=DisputeReason.objects.first(), actor=admin)
    issue_invoice(
        customer=overdue[3].customer,
        number=f"BENCH-{int(time.time())}",
        issue_date=today - dt.timedelta(days=40),
        due_date=today - dt.timedelta(days=10),
        lines=[LineInput("Late entry", Decimal(1), Decimal("100.00"))],
    )
    changed, result = timed(lambda: schedule_due_runs(today=today + dt.timedelta(days=2)))
    print(
        f"tick a day later still, after a resolved dispute, a new dispute, reminders resumed and a new "
        f"invoice ({result['mode']}): {changed:.2f} s, {result['scheduled']:,} runs, {result['ended']} ended"
    )

    if first is not None:
        report("first tick", first, "s", 30, ratio=first / hand, ratio_limit=1.5)
        print(f"  (ratio to the statement into a copy without foreign keys: {first / hand_copy:.2f})")
    report("steady-state tick, the next day", next_day, "s", 2)
    print(f"  (ratio to one bare INSERT of the same runs: {next_day / bare:.2f})")
    report("steady-state tick, after changes", changed, "s", 2)
    report("steady-state tick, the same day", same_day, "s", 2)
    # Other work on the machine stretches every figure: say how busy it was.
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
