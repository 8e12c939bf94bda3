"""Credit control and Team activity: each report's first page, filtered by an account manager, at scale.

Target (DESIGN.md / issue #6): ≤ 200 ms server time at 100,000 customers and 1,000,000 invoices, for an
admin (who picks the account manager in the filter) and for that account manager (their own book),
with the ratio to hand-written SQL returning the same rows.

seed_demo makes neither credit limits nor people's timeline entries, so this script adds them, marked:
- for the run only, a credit limit on the default workflow (SGD 90,000 and 210 days overdue: about
  one customer in six is over), put back as it was at the end (a limit left behind would have the
  tick put thousands of bench customers on credit hold);
- the figures kept for today (reports.figures.refresh_figures, as beat does every 5 minutes), when
  there are none: the page reads what customers owe from them on a large book;
- once, 50,000 timeline entries over the last 30 days by the three account managers (on their own
  customers) and the AR admin (on anyone's): messages by hand, done tasks, resolved disputes, notes
  and promises. Their data holds {"bench": "team_activity"}; a second run adds nothing.

Run: .venv/bin/python bench/bench_report_credit_team.py [--runs 5]
Uses DATABASE_URL, or `peakflo_bench` on the local PostgreSQL (filled by seed_demo beforehand).
"""

import argparse
import time
from decimal import Decimal

from _setup import median_ms, page_ms, print_load_average, report, setup_django

LIMIT_MS = 200
RAW_RATIO_LIMIT = 1.5
BENCH_MARK = "team_activity"
ENTRIES = 50_000
LIMIT_AMOUNT, LIMIT_DAYS = Decimal("90000"), 210

# The credit control report's first page by hand, reading what customers owe from the figures kept
# for today (as the page does on a large book): the customers over a limit or on hold, largest
# exposure first, with the count and total exposure of all of them. {scope}: the account manager
# filter (admin) or the visibility rule (account manager).
CREDIT_SQL = """
WITH d AS (SELECT credit_limit_amount, credit_limit_days, name FROM workflows_workflow WHERE is_default)
SELECT r.*, COUNT(*) OVER () AS customers, SUM(r.exposure) OVER () AS total_exposure FROM (
    SELECT c.id, c.name, c.code, c.credit_hold, c.credit_hold_since, u.name AS manager,
           COALESCE(w.name, d.name) AS workflow,
           CASE WHEN c.workflow_id IS NULL THEN d.credit_limit_amount ELSE w.credit_limit_amount END AS lim,
           CASE WHEN c.workflow_id IS NULL THEN d.credit_limit_days ELSE w.credit_limit_days END AS lim_days,
           COALESCE(f.owed, 0) AS exposure, COALESCE(f.overdue, 0) AS overdue,
           CASE WHEN f.oldest_due_date < %(today)s THEN %(today)s - f.oldest_due_date ELSE 0 END AS late
    FROM customers_customer c
    CROSS JOIN d
    LEFT JOIN workflows_workflow w ON w.id = c.workflow_id
    LEFT JOIN peakflo_user u ON u.id = c.account_manager_id
    LEFT JOIN reports_customerfigures f ON f.customer_id = c.id
    WHERE {scope}
) r
WHERE r.credit_hold OR r.exposure > r.lim OR r.late > r.lim_days
ORDER BY r.exposure DESC, r.name, r.id
LIMIT 50
"""
# Team activity by hand: per person and day in the company's time zone, the five counts.
TEAM_SQL = """
SELECT a.actor_user_id, (a.created_at AT TIME ZONE %(tz)s)::date AS day,
       COUNT(*) FILTER (WHERE a.kind = 'message_sent'),
       COUNT(*) FILTER (WHERE a.kind = 'task'),
       COUNT(*) FILTER (WHERE a.kind = 'dispute_resolved'),
       COUNT(*) FILTER (WHERE a.kind = 'note'),
       COUNT(*) FILTER (WHERE a.kind = 'promise_to_pay')
FROM customers_activity a JOIN customers_customer c ON c.id = a.customer_id
WHERE a.actor_user_id IS NOT NULL AND a.created_at >= %(since)s AND a.created_at < %(until)s
  AND (a.kind IN ('message_sent', 'dispute_resolved', 'note', 'promise_to_pay')
       OR a.kind = 'task' AND a.data ->> 'action' = 'completed')
  AND {scope}
GROUP BY 1, 2
"""
ADMIN_SCOPE = "c.account_manager_id = %(manager)s"
AM_SCOPE = """(c.account_manager_id = %(user)s
    OR c.id IN (SELECT customer_id FROM customers_customer_default_viewers WHERE user_id = %(user)s))"""

# One INSERT … SELECT: entries spread evenly over the last 30 days, each person on customers they
# may see (an account manager on their own; the AR admin on every manager's in turn), in a mix of
# kinds; customers picked by their rank in their manager's book, so no per-entry search.
SEED_TIMELINE = """
WITH numbered AS (
    SELECT id, account_manager_id AS owner, row_number() OVER (PARTITION BY account_manager_id ORDER BY id) AS rn,
           count(*) OVER (PARTITION BY account_manager_id) AS n
    FROM customers_customer WHERE account_manager_id = ANY(%(managers)s)
),
entries AS (
    SELECT g, person, CASE WHEN person = ANY(%(managers)s) THEN person
                      ELSE (%(managers)s::int[])[1 + (g / 5) %% cardinality(%(managers)s::int[])] END AS owner,
           (ARRAY['message_sent', 'message_sent', 'note', 'note', 'task', 'task', 'task',
                  'promise_to_pay', 'dispute_resolved', 'message_sent'])[1 + (g / 7) %% 10] AS kind
    FROM generate_series(1, %(entries)s) AS g,
         LATERAL (SELECT (%(people)s::int[])[1 + g %% cardinality(%(people)s::int[])] AS person) p
)
INSERT INTO customers_activity (customer_id, invoice_id, kind, actor_user_id, actor_contact_id, data, created_at)
SELECT c.id, NULL, e.kind, e.person, NULL,
       jsonb_build_object('bench', %(mark)s::text) || CASE WHEN e.kind = 'task' THEN jsonb_build_object(
           'task', 'Call', 'action', CASE WHEN e.g %% 3 = 0 THEN 'created' ELSE 'completed' END)
       ELSE '{}'::jsonb END,
       now() - (e.g::float / %(entries)s) * interval '30 days'
FROM entries e
JOIN (SELECT DISTINCT owner, n FROM numbered) s ON s.owner = e.owner
JOIN numbered c ON c.owner = e.owner AND c.rn = 1 + (e.g * 7919) %% s.n
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    setup_django()

    from django.db import connection, transaction
    from django.test import Client

    from customers.models import Activity, Customer
    from invoices.models import Invoice
    from peakflo.models import Company, Role, User
    from workflows.models import Workflow

    company = Company.load()
    today = company.today()
    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    managers = list(
        User.objects.filter(role=Role.ACCOUNT_MANAGER, managed_customers__isnull=False).distinct()
    )
    manager = max(managers, key=lambda m: m.managed_customers.count())
    print(
        f"{Customer.objects.count():,} customers, {Invoice.objects.count():,} invoices; "
        f"{manager} manages {manager.managed_customers.count():,}"
    )

    if not Activity.objects.filter(data__bench=BENCH_MARK).exists():
        ar_admin = User.objects.filter(role=Role.AR_ADMIN).order_by("pk").first() or admin
        people = [m.pk for m in managers] + [ar_admin.pk]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                SEED_TIMELINE,
                {
                    "mark": BENCH_MARK,
                    "entries": ENTRIES,
                    "people": people,
                    "managers": [m.pk for m in managers],
                },
            )
            print(f"added {cursor.rowcount:,} timeline entries marked {{'bench': '{BENCH_MARK}'}}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_activity")

    default = Workflow.objects.get(is_default=True)
    was = default.credit_limit_amount, default.credit_limit_days
    Workflow.objects.filter(pk=default.pk).update(
        credit_limit_amount=LIMIT_AMOUNT, credit_limit_days=LIMIT_DAYS
    )
    from reports.figures import refresh_figures
    from reports.selectors import kept_figures_run

    if kept_figures_run(today) is None:
        started = time.perf_counter()
        refresh_figures()
        print(f"kept figures rebuilt (beat does it every 5 minutes): {time.perf_counter() - started:,.1f} s")
    try:
        print_load_average()
        run_cases(args, connection, Client, admin, manager, company, today)
        print_load_average()
    finally:
        Workflow.objects.filter(pk=default.pk).update(credit_limit_amount=was[0], credit_limit_days=was[1])


def run_cases(args, connection, Client, admin, manager, company, today):
    import datetime as dt

    from reports.team_activity import day_bounds

    since, until = day_bounds(today - dt.timedelta(days=29), today, company.tz)
    for label, user, query in [
        ("admin, filtered by account manager", admin, f"?account_manager={manager.pk}"),
        (f"account manager of {manager.managed_customers.count():,}", manager, ""),
    ]:
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        scope = ADMIN_SCOPE if user.sees_all_customers else AM_SCOPE
        params = {"today": today, "manager": manager.pk, "user": user.pk, "tz": company.time_zone}
        params |= {"since": since, "until": until}
        for name, url, sql in [
            ("credit control", "/reports/credit-control/", CREDIT_SQL),
            ("team activity", "/reports/team-activity/", TEAM_SQL),
        ]:
            server = page_ms(client, url + query, args.runs)
            statement = sql.format(scope=scope)
            raw = median_ms(lambda s=statement, p=params: _raw(connection, s, p), args.runs)
            print(f"  raw SQL of the same rows ({name}, {label}): {raw:,.1f} ms")
            report(
                f"{name}, {label}", server, "ms", LIMIT_MS, ratio=server / raw, ratio_limit=RAW_RATIO_LIMIT
            )


def _raw(connection, sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


if __name__ == "__main__":
    main()
