"""The engine's tick over the large data set: first tick and steady state.

Targets (DESIGN.md): the first tick (every step of every open invoice) ≤ 30 s and within 1.5× of
one hand-written SQL statement doing the same; a steady-state tick ≤ 2 s.

Run: .venv/bin/python bench/bench_tick.py [--customers 100000 --invoices 1000000]
Uses DATABASE_URL, or a database `peakflo_bench` on the local PostgreSQL, which it creates and fills
with `seed_demo --customers N --invoices M` when it holds fewer invoices.
"""

import argparse
import datetime as dt
import time

from _setup import report, setup_django

# One statement that does what the tick's main INSERT does, written by hand: due steps of every
# open invoice of customers on the workflow, the latest pending, the earlier ones skipped.
HAND_WRITTEN = """
INSERT INTO bench_runs (action_id, invoice_id, occurrence, due_on, status, reason, created_at)
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    args = parser.parse_args()
    setup_django()

    from django.core.management import call_command
    from django.db import connection

    from customers.models import Customer
    from invoices.models import Invoice
    from workflows.engine import schedule_due_runs
    from workflows.models import Action, ActionRun, ActionType, Trigger, Workflow

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
    Customer.objects.update(workflow=workflow, workflow_paused=False)
    open_invoices = Invoice.objects.filter(status="open", amount_due__gt=0).count()
    today = dt.date.today()
    print(f"{Invoice.objects.count():,} invoices, {open_invoices:,} open; a ten-step workflow")

    ActionRun.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics after seeding, as a running system has

    started = time.perf_counter()
    result = schedule_due_runs(today=today)
    first = time.perf_counter() - started
    print(f"first tick: {first:.2f} s, {result['scheduled']:,} runs")

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_runs")
        # The same table, indexes and all, so both write the same rows into the same structure.
        cursor.execute("CREATE TABLE bench_runs (LIKE workflows_actionrun INCLUDING ALL)")
        started = time.perf_counter()
        cursor.execute(HAND_WRITTEN, [workflow.pk, today])
        hand = time.perf_counter() - started
        rows = cursor.rowcount
        cursor.execute("DROP TABLE bench_runs")
    print(f"hand-written statement: {hand:.2f} s, {rows:,} rows")

    started = time.perf_counter()
    schedule_due_runs(today=today)
    steady = time.perf_counter() - started
    print(f"steady-state tick (nothing new): {steady:.2f} s")

    report("first tick", first, "s", 30, ratio=first / hand, ratio_limit=1.5)
    report("steady-state tick", steady, "s", 2)


if __name__ == "__main__":
    main()
