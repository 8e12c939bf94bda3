"""The analysis reports' server time over the large data set: aging by account manager (today and
as of 60 days ago), the dashboard's aging card as of 60 days ago, the disputes report and the
actions report — for an admin, the account manager with the most customers and an account
manager of 1,000 customers (a default viewer of them, as in bench_dashboard.py).

Target (DESIGN.md): each report's first page ≤ 200 ms server time at 100,000 customers and
1,000,000 invoices. Also printed: the ratio to hand-written SQL of the same figures (the same
grouped queries, no ORM, no template), which shows what the page adds to the database's work.

seed_demo makes no disputes and no tasks. This adds them once, marked "[bench]" (dispute comment,
task title), if none are there: ~3,000 open disputes on open invoices and ~10,000 resolved over the
last year; ~50,000 tasks due over the last 120 days and the next 14, most past ones done. It also
rebuilds reports.CustomerFigures for today (what beat does every 5 minutes), which the aging
report reads for today.

Run: .venv/bin/python bench/bench_report_analysis.py [--runs 5]
Uses DATABASE_URL, or the database `peakflo_bench` on the local PostgreSQL (seeded with
`manage.py seed_demo --customers 100000 --invoices 1000000`).
"""

import argparse
import datetime as dt
import time

from _setup import bench_users, median_ms, page_ms, print_load_average, report, setup_django

LIMIT_MS = 200
RAW_RATIO_LIMIT = 1.5
AS_OF_DAYS_AGO = 60

SEED_OPEN_DISPUTES = """
INSERT INTO disputes_dispute (comment, status, raised_at, resolved_at, resolution, customer_id, invoice_id, reason_id)
SELECT '[bench] open dispute', 'open',
       now() - make_interval(days => (i.id %% 150)::int, hours => (i.id %% 24)::int), NULL, '',
       i.customer_id, i.id, (%(reasons)s::bigint[])[1 + i.id %% cardinality(%(reasons)s::bigint[])]
FROM invoices_invoice i
WHERE i.status = 'open' AND i.amount_due > 0 AND i.id %% 100 = 7
  AND NOT EXISTS (SELECT 1 FROM disputes_dispute d WHERE d.invoice_id = i.id AND d.status = 'open')
"""
SEED_RESOLVED_DISPUTES = """
INSERT INTO disputes_dispute (comment, status, raised_at, resolved_at, resolution, customer_id, invoice_id, reason_id)
SELECT '[bench] resolved dispute', 'resolved', raised, LEAST(raised + make_interval(days => 1 + (id %% 30)::int), now()),
       'Credit note issued.', customer_id, id, reason
FROM (SELECT i.id, i.customer_id, now() - make_interval(days => 5 + (i.id %% 360)::int) AS raised,
             (%(reasons)s::bigint[])[1 + (i.id / 100) %% cardinality(%(reasons)s::bigint[])] AS reason
      FROM invoices_invoice i WHERE i.status IN ('open', 'paid') AND i.id %% 100 = 11) AS picked
"""
# Manual work on the book: a task per 8th invoice whose follow-up (30–49 days after issue) falls in
# the last 120 days or the next 14; 70 % of the past ones done, some late, some early.
SEED_TASKS = """
INSERT INTO workflows_task (kind, title, details, due_on, status, outcome, created_at, completed_at,
                            customer_id, invoice_id, owner_id)
SELECT kind, '[bench] ' || kind || ' ' || number, '', due_on,
       CASE WHEN done THEN 'done' ELSE 'open' END, CASE WHEN done THEN 'Spoke to accounts.' ELSE '' END,
       due_on - 3 + time '09:00',
       CASE WHEN done THEN LEAST(due_on + ((id %% 7) - 2)::int + time '10:00', now()) END,
       customer_id, id, owner_id
FROM (SELECT i.id, i.number, i.customer_id, c.account_manager_id AS owner_id,
             (ARRAY['phone_call', 'office_visit', 'letter', 'statement', 'escalation', 'legal'])[1 + i.id %% 6] AS kind,
             i.issue_date + 30 + (i.id %% 20)::int AS due_on,
             (i.issue_date + 30 + (i.id %% 20)::int) < %(today)s AND i.id %% 10 < 7 AS done
      FROM invoices_invoice i JOIN customers_customer c ON c.id = i.customer_id
      WHERE i.id %% 8 = 5) AS picked
WHERE due_on BETWEEN %(today)s - 120 AND %(today)s + 14
"""

# The same figures written by hand. {scope} puts the customer alias c in the user's visibility.
AM_SCOPE = """AND (c.account_manager_id = %(user)s
              OR c.id IN (SELECT customer_id FROM customers_customer_default_viewers WHERE user_id = %(user)s))"""


def _buckets(due_date, amount):
    """Filtered sums per aging bucket at %(as_of)s, by days past due."""
    return f"""SUM({amount}) FILTER (WHERE {due_date} >= %(as_of)s::date),
               SUM({amount}) FILTER (WHERE {due_date} BETWEEN %(as_of)s::date - 30 AND %(as_of)s::date - 1),
               SUM({amount}) FILTER (WHERE {due_date} BETWEEN %(as_of)s::date - 60 AND %(as_of)s::date - 31),
               SUM({amount}) FILTER (WHERE {due_date} BETWEEN %(as_of)s::date - 90 AND %(as_of)s::date - 61),
               SUM({amount}) FILTER (WHERE {due_date} <= %(as_of)s::date - 91)"""


CUSTOMER_COUNTS = (
    """SELECT c.account_manager_id, COUNT(*) FROM customers_customer c WHERE TRUE {scope} GROUP BY 1"""
)
RAW = {
    "aging today": [
        """SELECT c.account_manager_id, SUM(f.current), SUM(f.d1_30), SUM(f.d31_60), SUM(f.d61_90),
                  SUM(f.d91_180 + f.doubtful)
           FROM reports_customerfigures f JOIN customers_customer c ON c.id = f.customer_id
           WHERE TRUE {scope} GROUP BY 1""",
        CUSTOMER_COUNTS,
    ],
    "aging as of": [
        f"""SELECT c.account_manager_id, {_buckets("i.due_date", "i.amount_due * i.exchange_rate")}
           FROM invoices_invoice i JOIN customers_customer c ON c.id = i.customer_id
           WHERE i.status = 'open' AND i.amount_due > 0 AND i.issue_date <= %(as_of)s {{scope}} GROUP BY 1
           UNION ALL
           SELECT c.account_manager_id, {_buckets("i.due_date", "a.amount * i.exchange_rate")}
           FROM invoices_paymentallocation a JOIN invoices_payment p ON p.id = a.payment_id
           JOIN invoices_invoice i ON i.id = a.invoice_id JOIN customers_customer c ON c.id = i.customer_id
           WHERE p.date > %(as_of)s AND i.status IN ('open', 'paid') AND i.issue_date <= %(as_of)s {{scope}}
           GROUP BY 1
           UNION ALL
           SELECT c.account_manager_id, {_buckets("i.due_date", "n.amount * i.exchange_rate")}
           FROM invoices_creditnote n JOIN invoices_invoice i ON i.id = n.invoice_id
           JOIN customers_customer c ON c.id = i.customer_id
           WHERE n.status = 'approved' AND n.date > %(as_of)s AND i.status IN ('open', 'paid')
             AND i.issue_date <= %(as_of)s {{scope}} GROUP BY 1""",
        CUSTOMER_COUNTS,
    ],
    "disputes": [
        """SELECT d.reason_id, CASE WHEN (d.raised_at AT TIME ZONE %(tz)s)::date >= %(today)s::date - 6 THEN 'lt7'
                                    WHEN (d.raised_at AT TIME ZONE %(tz)s)::date >= %(today)s::date - 30 THEN 'd7_30'
                                    WHEN (d.raised_at AT TIME ZONE %(tz)s)::date >= %(today)s::date - 90 THEN 'd31_90'
                                    ELSE 'd90_plus' END,
                  COUNT(*), SUM(i.amount_due * i.exchange_rate)
           FROM disputes_dispute d JOIN invoices_invoice i ON i.id = d.invoice_id
           JOIN customers_customer c ON c.id = d.customer_id
           WHERE d.status = 'open' {scope} GROUP BY 1, 2""",
        """SELECT d.reason_id, COUNT(*), AVG(EXTRACT(EPOCH FROM d.resolved_at - d.raised_at) / 86400),
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM d.resolved_at - d.raised_at) / 86400)
           FROM disputes_dispute d JOIN customers_customer c ON c.id = d.customer_id
           WHERE d.status = 'resolved' AND (d.resolved_at AT TIME ZONE %(tz)s)::date BETWEEN %(today)s::date - 90 AND %(today)s
             {scope} GROUP BY 1""",
        """SELECT COUNT(*), AVG(EXTRACT(EPOCH FROM d.resolved_at - d.raised_at) / 86400),
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM d.resolved_at - d.raised_at) / 86400)
           FROM disputes_dispute d JOIN customers_customer c ON c.id = d.customer_id
           WHERE d.status = 'resolved' AND (d.resolved_at AT TIME ZONE %(tz)s)::date BETWEEN %(today)s::date - 90 AND %(today)s
             {scope}""",
    ],
    "actions": [
        """SELECT t.owner_id, t.kind,
                  COUNT(*) FILTER (WHERE t.due_on BETWEEN %(today)s::date - 29 AND %(today)s),
                  COUNT(*) FILTER (WHERE t.status = 'done'
                                   AND (t.completed_at AT TIME ZONE %(tz)s)::date BETWEEN %(today)s::date - 29 AND %(today)s),
                  COUNT(*) FILTER (WHERE t.status = 'done'
                                   AND (t.completed_at AT TIME ZONE %(tz)s)::date BETWEEN %(today)s::date - 29 AND %(today)s
                                   AND (t.completed_at AT TIME ZONE %(tz)s)::date <= t.due_on),
                  COUNT(*) FILTER (WHERE t.due_on BETWEEN %(today)s::date - 29 AND %(today)s::date - 1 AND t.status = 'open')
           FROM workflows_task t JOIN customers_customer c ON c.id = t.customer_id
           WHERE (t.due_on BETWEEN %(today)s::date - 29 AND %(today)s
                  OR t.status = 'done' AND (t.completed_at AT TIME ZONE %(tz)s)::date BETWEEN %(today)s::date - 29 AND %(today)s)
             {scope}
           GROUP BY 1, 2""",
    ],
}
# Who sees every customer: the page reads the managers' kept books instead.
RAW_ALL_TODAY = [
    """SELECT user_id, SUM(current), SUM(d1_30), SUM(d31_60), SUM(d61_90), SUM(d91_180 + doubtful)
       FROM reports_portfoliobook WHERE partition = 'manager' GROUP BY 1""",
    CUSTOMER_COUNTS,
]
RAW["aging card as of"] = [
    RAW["aging as of"][0].replace("c.account_manager_id,", "").replace(" GROUP BY 1", "")
]


def seed_disputes_and_tasks(connection, today):
    """Add the bench's disputes and tasks once (marked "[bench]"); leave everything else alone."""
    from disputes.models import Dispute, DisputeReason
    from workflows.models import Task

    with connection.cursor() as cursor:
        if not Dispute.objects.filter(comment__startswith="[bench]").exists():
            reasons = list(DisputeReason.objects.order_by("pk").values_list("pk", flat=True))
            started = time.perf_counter()
            cursor.execute(SEED_OPEN_DISPUTES, {"reasons": reasons})
            opened = cursor.rowcount
            cursor.execute(SEED_RESOLVED_DISPUTES, {"reasons": reasons})
            print(
                f"added {opened:,} open and {cursor.rowcount:,} resolved [bench] disputes "
                f"({time.perf_counter() - started:.1f} s)"
            )
        if not Task.objects.filter(title__startswith="[bench]").exists():
            cursor.execute(SEED_TASKS, {"today": today})
            print(f"added {cursor.rowcount:,} [bench] tasks")
        cursor.execute("ANALYZE disputes_dispute")
        cursor.execute("ANALYZE workflows_task")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="page names to time (default: every one)")
    args = parser.parse_args()
    setup_django()

    from django.db import connection
    from django.test import Client

    from customers.models import Customer
    from disputes.models import Dispute
    from invoices.models import Invoice
    from peakflo.models import Company
    from reports.analysis import aged_amounts
    from reports.figures import refresh_figures
    from reports.selectors import dashboard_scope, kept_figures_run
    from workflows.models import Task

    company = Company.load()
    today = company.today()
    as_of = today - dt.timedelta(days=AS_OF_DAYS_AGO)
    seed_disputes_and_tasks(connection, today)
    started = time.perf_counter()
    try:
        run = refresh_figures(today=today)
        print(f"rebuilt the figures of {run.customers:,} customers in {time.perf_counter() - started:.1f} s")
    except Exception as error:  # the report then reads the live ledger for today: said below
        print(f"could not rebuild the figures ({error!r})")
    figures = kept_figures_run(today)
    print(
        f"aging today reads {'the figures taken at ' + str(figures.started_at) if figures else 'the live ledger'}"
    )

    admin, manager, viewer = bench_users()
    print(
        f"{Customer.objects.count():,} customers, {Invoice.objects.count():,} invoices "
        f"({Invoice.objects.outstanding().count():,} open), "
        f"{Dispute.objects.count():,} disputes, {Task.objects.count():,} tasks; as of = {as_of}"
    )
    print_load_average()

    pages = {
        "aging today": "/reports/aging-by-manager/",
        "aging as of": f"/reports/aging-by-manager/?as_of={as_of}",
        "aging card as of": f"/reports/aging-card/?as_of={as_of}",
        "disputes": "/reports/disputes/",
        "actions": "/reports/actions/",
    }
    cases = [
        ("admin", admin),
        (f"account manager of {manager.managed_customers.count():,}", manager),
        (f"account manager of {viewer.viewed_customers.count():,}", viewer),
    ]
    params = {"today": today, "as_of": as_of, "tz": str(company.tz)}
    for label, user in cases:
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        for name, url in pages.items():
            if args.only and name not in args.only:
                continue
            headers = {"HTTP_HX_REQUEST": "true"} if name == "aging card as of" else {}
            server = (
                page_ms(client, url, args.runs)
                if not headers
                else median_ms(lambda c=client, u=url, h=headers: _get(c, u, h), args.runs)
            )
            raw = median_ms(lambda u=user, n=name: run_raw_sql(connection, u, n, params), args.runs)
            report(
                f"{name}, {label}", server, "ms", LIMIT_MS, ratio=server / raw, ratio_limit=RAW_RATIO_LIMIT
            )
            print(f"    raw SQL of the same figures: {raw:,.1f} ms")
        if not args.only or "aging today" in args.only:
            # Without figures kept for today (beat stopped, or a small book), today's aging is live.
            live = median_ms(
                lambda u=user: aged_amounts(dashboard_scope(u, today=today).of, today=today, as_of=today),
                args.runs,
            )
            print(f"    aging today from the live ledger instead (scope and amounts only): {live:,.1f} ms")
    print_load_average()


def _get(client, url, headers):
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)


def run_raw_sql(connection, user, name, params):
    scope = "" if user.sees_all_customers else AM_SCOPE
    with connection.cursor() as cursor:
        queries = RAW_ALL_TODAY if name == "aging today" and user.sees_all_customers else RAW[name]
        for sql in queries:
            cursor.execute(sql.format(scope=scope), {**params, "user": user.pk})
            cursor.fetchall()


if __name__ == "__main__":
    main()
