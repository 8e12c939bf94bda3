"""The dashboard's server time over the large data set, for an admin and for account managers.

Target (DESIGN.md): ≤ 200 ms server time at 100,000 customers and 1,000,000 invoices. The page
reads the figures beat keeps (reports.figures, rebuilt every 5 minutes); this times the rebuild
too, and the page's ratio to hand-written SQL reading the same kept figures (no ORM, no
template), which shows what the page adds to the database's own work. `--live` also times the
page with no kept figures (every figure from the ledger, as a small book is drawn).

Run: .venv/bin/python bench/bench_dashboard.py [--customers 100000 --invoices 1000000 --runs 5] [--live]
Uses DATABASE_URL, or a database `peakflo_bench` on the local PostgreSQL, which it creates and fills
with `seed_demo --customers N --invoices M` when it holds fewer invoices.
"""

import argparse
import time

from _setup import bench_users, median_ms, print_load_average, report, setup_django

LIMIT_MS = 200
RAW_RATIO_LIMIT = 1.5

# The figures of reports.selectors written by hand, reading the kept figures as the page does:
# {scope} is empty for an admin and the visibility rule for an account manager; {portfolios} picks
# the kept portfolios: every manager's, or an account manager's own two (managed and viewed).
KEPT_QUERIES = [
    # the open book by aging class
    """SELECT SUM(current), SUM(d1_30), SUM(d31_60), SUM(d61_90), SUM(d91_180), SUM(doubtful),
              SUM(open_invoices), SUM(overdue_invoices), SUM(doubtful_invoices)
       FROM reports_portfoliobook WHERE TRUE {portfolios}""",
    # sales, allocations and credits per day
    """SELECT kind, day, counts_on, SUM(amount), SUM(weighted_days) FROM reports_portfolioflow
       WHERE counts_on > %(since)s {portfolios} GROUP BY 1, 2, 3""",
    # main debtors
    """SELECT customer_id, owed, overdue, open_invoices FROM reports_customerfigures f
       WHERE TRUE {scope} ORDER BY owed DESC, customer_id LIMIT 5""",
    # promises on invoices, due this week and broken
    """SELECT id, promise_date FROM invoices_invoice f
       WHERE promise_date IS NOT NULL AND status = 'open' AND amount_due > 0
         AND promise_date <= %(today)s + 6 {scope} ORDER BY promise_date LIMIT 10""",
    # open disputes
    """SELECT d.id, COUNT(*) OVER () FROM disputes_dispute d JOIN invoices_invoice f ON f.id = d.invoice_id
       WHERE d.status = 'open' {scope} ORDER BY d.raised_at DESC LIMIT 5""",
    # customers in scope
    """SELECT COUNT(*) FROM customers_customer c WHERE TRUE {customer_scope}""",
]
AM_SCOPE = """AND f.customer_id IN (SELECT id FROM customers_customer WHERE account_manager_id = %(user)s
              OR id IN (SELECT customer_id FROM customers_customer_default_viewers WHERE user_id = %(user)s))"""
AM_CUSTOMER_SCOPE = """AND (c.account_manager_id = %(user)s
              OR c.id IN (SELECT customer_id FROM customers_customer_default_viewers WHERE user_id = %(user)s))"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--live", action="store_true", help="also time the page without kept figures")
    args = parser.parse_args()
    setup_django()

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from customers.models import Customer
    from invoices.models import Invoice
    from peakflo.models import Company
    from reports.figures import refresh_figures
    from reports.models import FiguresRun
    from reports.selectors import flows_since

    if Invoice.objects.count() < args.invoices:
        print(f"Seeding {args.customers:,} customers and {args.invoices:,} invoices (a few minutes)…")
        call_command("seed_demo", customers=args.customers, invoices=args.invoices, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    today = Company.load().today()
    since = flows_since(today)
    admin, manager, viewer = bench_users()
    print(
        f"{Customer.objects.count():,} customers, {Invoice.objects.count():,} invoices, "
        f"{Invoice.objects.outstanding().count():,} open; "
        f"{manager} manages {Customer.objects.filter(account_manager=manager).count():,} customers"
    )

    cases = [("admin", admin), (f"account manager of {manager.managed_customers.count():,}", manager)]
    cases.append((f"account manager of {viewer.viewed_customers.count():,}", viewer))

    print_load_average()
    if args.live:
        FiguresRun.objects.all().delete()
        for label, user in cases:
            client = Client(HTTP_HOST="localhost")
            client.force_login(user)
            print(
                f"  dashboard with no kept figures, {label}: {median_ms(lambda c=client: load_page(c, kept=False), 1):,.0f} ms"
            )

    started = time.perf_counter()
    run = refresh_figures()
    print(
        f"rebuilding the kept figures (beat, every 5 minutes): {time.perf_counter() - started:,.1f} s "
        f"for {run.customers:,} customers owing"
    )
    for label, user in cases:
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        server = median_ms(lambda c=client: load_page(c), args.runs)
        raw = median_ms(lambda u=user: run_raw_sql(connection, u, today, since), args.runs)
        print(f"  raw SQL of the same figures ({label}): {raw:,.1f} ms")
        report(f"dashboard, {label}", server, "ms", LIMIT_MS, ratio=server / raw, ratio_limit=RAW_RATIO_LIMIT)
    print_load_average()


def load_page(client, *, kept=True):
    response = client.get("/")
    assert response.status_code == 200, response.status_code
    assert (b"Figures as of" in response.content) == kept, "kept figures read (or not) as expected"


def run_raw_sql(connection, user, today, since):
    """The kept figures of the user's scope: everyone's, or an account manager's two portfolios."""
    sees_all = user.sees_all_customers
    params = {"today": today, "since": since, "user": user.pk}
    with connection.cursor() as cursor:
        for sql in KEPT_QUERIES:
            cursor.execute(
                sql.format(
                    scope="" if sees_all else AM_SCOPE,
                    customer_scope="" if sees_all else AM_CUSTOMER_SCOPE,
                    portfolios="AND partition = 'manager'" if sees_all else "AND user_id = %(user)s",
                ),
                params,
            )
            cursor.fetchall()


if __name__ == "__main__":
    main()
