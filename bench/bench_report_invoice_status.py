"""The Invoice Status Tracking Report over the large data set: its first page and its Excel export.

Targets (DESIGN.md, issue #6): the first page ≤ 200 ms server time at 100,000 customers and
1,000,000 invoices; an Excel export of 100,000 rows ≤ 20 s. Also printed: the ratio of each page to
hand-written SQL producing the same page rows (the same count, the same 50 invoices with the same
columns, last and next actions), which shows what the ORM, the view and the template add.

Cases: an admin, unfiltered and narrowed to one account manager; the account manager with the
most customers; an account manager of 1,000 customers (a default viewer, made by bench_dashboard.py
or here); each today and as of 60 days ago.

seed_demo makes no messages, action runs or tasks, so the last and next action columns would read
empty subqueries. This script adds, once, marked "Bench: invoice status": a workflow of two actions
no customer is on; for every tenth open invoice a reminder sent 1–30 days ago (a message and its
done run) and a pending step due in 3–30 days; for another tenth a call done 1–40 days ago (a task).
bench_tick.py empties the runs table: the runs and their messages are then made again.

Run: .venv/bin/python bench/bench_report_invoice_status.py [--runs 5] [--as-of-days 60]
Uses DATABASE_URL, or the database `peakflo_bench` on the local PostgreSQL (filled by seed_demo).
"""

import argparse
import datetime as dt
import time

from _setup import bench_users, median_ms, page_ms, print_load_average, report, setup_django

LIMIT_MS = 200
RAW_RATIO_LIMIT = 1.5
EXPORT_LIMIT_S = 20
MARK = "Bench: invoice status"

# The page by hand: the count (capped as the page caps it), then the first 50 of the most overdue
# first order — the overdue invoices by due date — with every column the page prints.
RAW_COUNT = """SELECT count(*) FROM (SELECT 1 FROM invoices_invoice i
    WHERE {listed} {scope} LIMIT 10001) s"""
RAW_PAGE = """
WITH page AS (
    SELECT i.id FROM invoices_invoice i
    WHERE {listed} AND {overdue} AND i.due_date < %(as_of)s {scope}
    ORDER BY i.due_date, i.id DESC LIMIT 50
)
SELECT i.id, i.number, i.issue_date, i.due_date, i.currency, i.total, i.status,
       {balance} AS balance, c.name, c.code, u.name,
       (SELECT m.sent_at FROM workflows_message m JOIN workflows_actionrun r ON r.message_id = m.id
         WHERE r.invoice_id = i.id AND m.status IN ('sent', 'delivered') {message_until}
         ORDER BY m.sent_at DESC, m.id DESC LIMIT 1) AS last_message_at,
       (SELECT coalesce(a.name, m.channel) FROM workflows_message m
         JOIN workflows_actionrun r ON r.message_id = m.id LEFT JOIN workflows_action a ON a.id = m.action_id
         WHERE r.invoice_id = i.id AND m.status IN ('sent', 'delivered') {message_until}
         ORDER BY m.sent_at DESC, m.id DESC LIMIT 1) AS last_message,
       (SELECT t.completed_at FROM workflows_task t WHERE t.invoice_id = i.id AND t.status = 'done' {task_until}
         ORDER BY t.completed_at DESC, t.id DESC LIMIT 1) AS last_task_at,
       (SELECT t.title FROM workflows_task t WHERE t.invoice_id = i.id AND t.status = 'done' {task_until}
         ORDER BY t.completed_at DESC, t.id DESC LIMIT 1) AS last_task,
       {next_action}
       (SELECT d.id FROM disputes_dispute d WHERE d.invoice_id = i.id AND {dispute_open}
         ORDER BY d.raised_at DESC LIMIT 1) AS dispute
FROM page JOIN invoices_invoice i ON i.id = page.id
JOIN customers_customer c ON c.id = i.customer_id LEFT JOIN peakflo_user u ON u.id = c.account_manager_id
ORDER BY i.due_date, i.id DESC
"""
NEXT_ACTION = """
       (SELECT a.name FROM workflows_actionrun r JOIN workflows_action a ON a.id = r.action_id
         WHERE r.invoice_id = i.id AND r.status = 'pending' ORDER BY r.due_on, r.id LIMIT 1) AS next_action,
       (SELECT r.due_on FROM workflows_actionrun r
         WHERE r.invoice_id = i.id AND r.status = 'pending' ORDER BY r.due_on, r.id LIMIT 1) AS next_due,"""
PAID_LATER = """i.id IN (SELECT a.invoice_id FROM invoices_paymentallocation a
    JOIN invoices_payment p ON p.id = a.payment_id WHERE p.date > %(as_of)s)"""
CREDITED_LATER = """i.id IN (SELECT invoice_id FROM invoices_creditnote
    WHERE status = 'approved' AND date > %(as_of)s AND invoice_id IS NOT NULL)"""
BALANCE_AT = """i.amount_due
    + coalesce((SELECT sum(a.amount) FROM invoices_paymentallocation a JOIN invoices_payment p ON p.id = a.payment_id
                WHERE a.invoice_id = i.id AND p.date > %(as_of)s), 0)
    + coalesce((SELECT sum(amount) FROM invoices_creditnote
                WHERE invoice_id = i.id AND status = 'approved' AND date > %(as_of)s), 0)"""
AM_SCOPE = """AND i.customer_id IN (SELECT id FROM customers_customer WHERE account_manager_id = %(user)s
              OR id IN (SELECT customer_id FROM customers_customer_default_viewers WHERE user_id = %(user)s))"""
MANAGER_FILTER = (
    "AND i.customer_id IN (SELECT id FROM customers_customer WHERE account_manager_id = %(manager)s)"
)


def raw_sql(*, past):
    """The count and page statements, today's or as of a past date."""
    if past:
        parts = {
            "listed": "i.status IN ('open', 'paid') AND i.issue_date <= %(as_of)s",
            "overdue": f"((i.status = 'open' AND i.amount_due > 0) OR {PAID_LATER} OR {CREDITED_LATER})",
            "balance": BALANCE_AT,
            "message_until": "AND m.sent_at < %(until)s",
            "task_until": "AND t.completed_at < %(until)s",
            "next_action": "",
            "dispute_open": "d.raised_at < %(until)s AND (d.status = 'open' OR d.resolved_at >= %(until)s)",
        }
    else:
        parts = {
            "listed": "i.status <> 'draft'",
            "overdue": "i.status = 'open' AND i.amount_due > 0",
            "balance": "i.amount_due",
            "message_until": "",
            "task_until": "",
            "next_action": NEXT_ACTION,
            "dispute_open": "d.status = 'open'",
        }
    return RAW_COUNT, RAW_PAGE, parts


def add_actions(today):
    """The messages, runs and tasks seed_demo does not make (see the docstring); only when absent."""
    from django.db import transaction
    from django.utils import timezone

    from invoices.models import Invoice
    from workflows.models import (
        Action,
        ActionRun,
        Channel,
        Message,
        MessageStatus,
        RunStatus,
        Task,
        TaskStatus,
        Workflow,
    )

    workflow, _ = Workflow.objects.get_or_create(name=MARK)
    reminder, _ = Action.objects.get_or_create(
        workflow=workflow, name=f"{MARK}: reminder", defaults={"days": 1}
    )
    final, _ = Action.objects.get_or_create(
        workflow=workflow, name=f"{MARK}: final notice", defaults={"days": 30}
    )
    now = timezone.now()
    added = False
    open_ids = list(
        Invoice.objects.filter(status="open", amount_due__gt=0)
        .order_by("pk")
        .values_list("pk", "customer_id")
    )
    with transaction.atomic():
        if not ActionRun.objects.filter(action__in=[reminder, final]).exists():
            Message.objects.filter(action=reminder, subject=MARK).delete()
            chosen = open_ids[::10]
            messages = Message.objects.bulk_create(
                Message(customer_id=customer, channel=Channel.EMAIL, action=reminder, to="ap@bench.test",
                        subject=MARK, body=MARK, status=MessageStatus.SENT,
                        sent_at=now - dt.timedelta(days=1 + n % 30))
                for n, (_, customer) in enumerate(chosen)
            )  # fmt: skip
            runs = []
            for n, ((invoice, _), message) in enumerate(zip(chosen, messages, strict=True)):
                runs.append(ActionRun(action=reminder, invoice_id=invoice, due_on=message.sent_at.date(),
                                      status=RunStatus.DONE, message=message, finished_at=message.sent_at))  # fmt: skip
                runs.append(
                    ActionRun(action=final, invoice_id=invoice, due_on=today + dt.timedelta(days=3 + n % 28))
                )
            ActionRun.objects.bulk_create(runs, batch_size=5000)
            print(f"added {len(messages):,} sent reminders and {len(messages):,} pending steps ({MARK})")
            added = True
        if not Task.objects.filter(title=f"{MARK}: call").exists():
            tasks = Task.objects.bulk_create(
                (
                    Task(customer_id=customer, invoice_id=invoice, title=f"{MARK}: call", due_on=today,
                         status=TaskStatus.DONE, completed_at=now - dt.timedelta(days=1 + n % 40))
                    for n, (invoice, customer) in enumerate(open_ids[5::10])
                ),
                batch_size=5000,
            )  # fmt: skip
            print(f"added {len(tasks):,} calls done ({MARK})")
            added = True
    return added


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--as-of-days", type=int, default=60)
    args = parser.parse_args()
    setup_django()

    from django.db import connection
    from django.test import Client

    from customers.models import Customer
    from invoices.models import Invoice
    from peakflo.models import Company
    from reports.invoice_status_filters import InvoiceStatusFilter
    from reports.invoice_status_views import PAGE_SIZE, InvoicePaginator

    company = Company.load()
    today = company.today()
    as_of = today - dt.timedelta(days=args.as_of_days)
    until = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min, tzinfo=company.tz)
    if add_actions(today):
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE workflows_message, workflows_actionrun, workflows_task")

    admin, manager, viewer = bench_users()
    print(
        f"{Customer.objects.count():,} customers, {Invoice.objects.count():,} invoices, "
        f"{Invoice.objects.outstanding().count():,} open; as of {as_of} is {args.as_of_days} days ago"
    )

    managed = manager.managed_customers.count()
    cases = [
        ("admin", admin, {}, ""),
        (f"admin, narrowed to {manager.get_full_name()}", admin, {"account_manager": manager.pk}, MANAGER_FILTER),
        (f"account manager of {managed:,} customers", manager, {}, AM_SCOPE),
        (f"account manager of {viewer.viewed_customers.count():,} customers", viewer, {}, AM_SCOPE),
    ]  # fmt: skip
    for past in (False, True):
        count_sql, page_sql, parts = raw_sql(past=past)
        for label, user, params, scope in cases:
            query = {**params, **({"as_of": as_of.isoformat()} if past else {})}
            url = "/reports/invoices/?" + "&".join(f"{k}={v}" for k, v in query.items())
            client = Client(HTTP_HOST="localhost")
            client.force_login(user)
            values = {
                "as_of": as_of if past else today,
                "until": until,
                "user": user.pk,
                "manager": manager.pk,
            }

            def run_raw(scope=scope, values=values, parts=parts, count_sql=count_sql, page_sql=page_sql):
                with connection.cursor() as cursor:
                    cursor.execute(count_sql.format(scope=scope, **parts), values)
                    cursor.fetchall()
                    cursor.execute(page_sql.format(scope=scope, **parts), values)
                    return [row[0] for row in cursor.fetchall()]

            # The hand-written page must be the page: the same 50 invoices in the same order.
            filterset = InvoiceStatusFilter(query, user=user, today=today, tz=company.tz)
            shown = [invoice.pk for invoice in InvoicePaginator(filterset, PAGE_SIZE).get_page(1)]
            assert run_raw() == shown, (label, past)
            server = page_ms(client, url, args.runs)
            raw = median_ms(run_raw, args.runs)
            name = f"first page, {label}, {'as of ' + str(as_of) if past else 'today'}"
            print(f"  raw SQL of the same page: {raw:,.0f} ms")
            report(name, server, "ms", LIMIT_MS, ratio=server / raw, ratio_limit=RAW_RATIO_LIMIT)

    # The export: the open invoices of the account manager with the most customers (about 100,000).
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    query = {"account_manager": manager.pk, "status": "open"}
    filterset = InvoiceStatusFilter(query, user=admin, today=today, tz=company.tz)
    rows = filterset.qs.count()
    started = time.perf_counter()
    response = client.get("/reports/invoices/export/", query)
    seconds = time.perf_counter() - started
    assert response.status_code == 200
    size = len(response.content) / 1e6
    print(f"  export: {rows:,} rows, {size:.1f} MB, {rows / seconds:,.0f} rows/s")
    report(f"Excel export of {rows:,} rows", seconds, "s", EXPORT_LIMIT_S)
    print_load_average()


if __name__ == "__main__":
    main()
