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

from _setup import median_ms, print_load_average, report, setup_django

LIMIT_MS = 200
RAW_RATIO_LIMIT = 1.5

# The figures of reports.selectors written by hand, reading the kept figures as the page does:
# {scope} is empty for an admin and the visibility rule for an account manager; {managers} picks
# the kept flows of the account manager's own portfolio.
KEPT_QUERIES = [
    # the open book by aging class
    """SELECT SUM(current), SUM(d1_30), SUM(d31_60), SUM(d61_90), SUM(d91_180), SUM(doubtful),
              SUM(open_invoices), SUM(overdue_invoices), SUM(doubtful_invoices)
       FROM reports_customerfigures f WHERE TRUE {scope}""",
    # sales, allocations and credits per day
    """SELECT kind, day, counts_on, SUM(amount), SUM(weighted_days) FROM reports_portfolioflow
       WHERE counts_on > %(since)s {managers} GROUP BY 1, 2, 3""",
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
# The live flows of the customers an account manager views but does not manage.
VIEWED_QUERIES = [
    """SELECT issue_date, SUM(total * exchange_rate) FROM invoices_invoice i
       WHERE status IN ('open', 'paid') AND issue_date > %(since)s AND customer_id IN ({viewed}) GROUP BY 1""",
    """SELECT p.date, GREATEST(p.date, i.issue_date), SUM(a.amount * i.exchange_rate),
              SUM(a.amount * i.exchange_rate * (p.date - i.issue_date))
       FROM invoices_paymentallocation a JOIN invoices_payment p ON p.id = a.payment_id
       JOIN invoices_invoice i ON i.id = a.invoice_id
       WHERE i.status IN ('open', 'paid') AND GREATEST(p.date, i.issue_date) > %(since)s
         AND i.customer_id IN ({viewed}) GROUP BY 1, 2""",
    """SELECT GREATEST(c.date, i.issue_date), SUM(c.amount * i.exchange_rate)
       FROM invoices_creditnote c JOIN invoices_invoice i ON i.id = c.invoice_id
       WHERE c.status = 'approved' AND i.status IN ('open', 'paid')
         AND GREATEST(c.date, i.issue_date) > %(since)s AND i.customer_id IN ({viewed}) GROUP BY 1""",
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
    from peakflo.models import Company, Role, User
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
    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    manager = (
        User.objects.filter(role=Role.ACCOUNT_MANAGER, is_active=True, managed_customers__isnull=False)
        .order_by("pk")
        .first()
    )
    print(
        f"{Customer.objects.count():,} customers, {Invoice.objects.count():,} invoices, "
        f"{Invoice.objects.outstanding().count():,} open; "
        f"{manager} manages {Customer.objects.filter(account_manager=manager).count():,} customers"
    )

    # An account manager of a realistic size too: a default viewer of 1,000 customers.
    viewer, _ = User.objects.get_or_create(
        email="bench.portfolio@example.com",
        defaults={"name": "Bench Portfolio", "role": Role.ACCOUNT_MANAGER},
    )
    if not viewer.viewed_customers.exists():
        viewer.viewed_customers.add(
            *Customer.objects.order_by("pk").values_list("pk", flat=True)[::100][:1000]
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
    """The kept figures of the user's scope, plus (for an account manager) the live flows of the
    customers they view but do not manage."""
    sees_all = user.sees_all_customers
    params = {"today": today, "since": since, "user": user.pk}
    with connection.cursor() as cursor:
        for sql in KEPT_QUERIES:
            cursor.execute(
                sql.format(
                    scope="" if sees_all else AM_SCOPE,
                    customer_scope="" if sees_all else AM_CUSTOMER_SCOPE,
                    managers="" if sees_all else "AND account_manager_id = %(user)s",
                ),
                params,
            )
            cursor.fetchall()
        if sees_all:
            return
        cursor.execute(
            """SELECT customer_id FROM customers_customer_default_viewers v JOIN customers_customer c
               ON c.id = v.customer_id WHERE v.user_id = %(user)s
               AND c.account_manager_id IS DISTINCT FROM %(user)s""",
            params,
        )
        viewed = ", ".join(str(row[0]) for row in cursor.fetchall())
        if viewed:
            for sql in VIEWED_QUERIES:
                cursor.execute(sql.format(viewed=viewed), params)
                cursor.fetchall()


if __name__ == "__main__":
    main()
