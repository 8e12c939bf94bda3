"""The dashboard's server time over the large data set, for an admin and for one account manager.

Target (DESIGN.md): ≤ 200 ms server time at 100,000 customers and 1,000,000 invoices. Also printed:
the ratio to hand-written SQL computing the same figures (the same few grouped queries, no ORM,
no template), which shows what the page adds to the database's own work.

Run: .venv/bin/python bench/bench_dashboard.py [--customers 100000 --invoices 1000000 --runs 5]
Uses DATABASE_URL, or a database `peakflo_bench` on the local PostgreSQL, which it creates and fills
with `seed_demo --customers N --invoices M` when it holds fewer invoices.
"""

import argparse
import datetime as dt

from _setup import median_ms, report, setup_django

LIMIT_MS = 200
RAW_RATIO_LIMIT = 1.5

# The figures of reports.selectors written by hand: {scope} is empty for an admin and the
# visibility rule for an account manager.
RAW_QUERIES = [
    # open book by aging class
    """SELECT CASE WHEN due_date >= %(today)s THEN 'current'
                   WHEN due_date >= %(today)s - 30 THEN 'd1_30'
                   WHEN due_date >= %(today)s - 60 THEN 'd31_60'
                   WHEN due_date >= %(today)s - 90 THEN 'd61_90'
                   WHEN due_date >= %(today)s - 180 THEN 'd91_180' ELSE 'doubtful' END,
              SUM(amount_due * exchange_rate), COUNT(*)
       FROM invoices_invoice i WHERE status = 'open' AND amount_due > 0 {scope} GROUP BY 1""",
    # credit sales per day
    """SELECT issue_date, SUM(total * exchange_rate) FROM invoices_invoice i
       WHERE status IN ('open', 'paid') AND issue_date > %(since)s {scope} GROUP BY 1""",
    # allocations per payment day and the day they count for "as of" balances
    """SELECT p.date, GREATEST(p.date, i.issue_date), SUM(a.amount * i.exchange_rate),
              SUM(a.amount * i.exchange_rate * (p.date - i.issue_date))
       FROM invoices_paymentallocation a JOIN invoices_payment p ON p.id = a.payment_id
       JOIN invoices_invoice i ON i.id = a.invoice_id
       WHERE i.status IN ('open', 'paid') AND GREATEST(p.date, i.issue_date) > %(since)s {scope}
       GROUP BY 1, 2""",
    # approved credit notes
    """SELECT GREATEST(c.date, i.issue_date), SUM(c.amount * i.exchange_rate)
       FROM invoices_creditnote c JOIN invoices_invoice i ON i.id = c.invoice_id
       WHERE c.status = 'approved' AND i.status IN ('open', 'paid')
         AND GREATEST(c.date, i.issue_date) > %(since)s {scope} GROUP BY 1""",
    # main debtors
    """SELECT i.customer_id, SUM(amount_due * exchange_rate) AS owed,
              SUM(amount_due * exchange_rate) FILTER (WHERE due_date < %(today)s), COUNT(*)
       FROM invoices_invoice i WHERE status = 'open' AND amount_due > 0 {scope}
       GROUP BY 1 ORDER BY owed DESC LIMIT 5""",
    # promises on invoices, due this week and broken
    """SELECT id, promise_date FROM invoices_invoice i
       WHERE promise_date IS NOT NULL AND status = 'open' AND amount_due > 0
         AND promise_date <= %(today)s + 6 {scope} ORDER BY promise_date LIMIT 10""",
    # open disputes
    """SELECT d.id, COUNT(*) OVER () FROM disputes_dispute d JOIN invoices_invoice i ON i.id = d.invoice_id
       WHERE d.status = 'open' {scope} ORDER BY d.raised_at DESC LIMIT 5""",
    # customers in scope
    """SELECT COUNT(*) FROM customers_customer c WHERE TRUE {customer_scope}""",
]
AM_SCOPE = """AND i.customer_id IN (SELECT id FROM customers_customer WHERE account_manager_id = %(user)s
              OR id IN (SELECT customer_id FROM customers_customer_default_viewers WHERE user_id = %(user)s))"""
AM_CUSTOMER_SCOPE = """AND (c.account_manager_id = %(user)s
              OR c.id IN (SELECT customer_id FROM customers_customer_default_viewers WHERE user_id = %(user)s))"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    setup_django()

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from customers.models import Customer
    from invoices.models import Invoice
    from peakflo.models import Company, Role, User
    from reports.selectors import DSO_DAYS, TIME_TO_PAY_DAYS, trend_dates

    if Invoice.objects.count() < args.invoices:
        print(f"Seeding {args.customers:,} customers and {args.invoices:,} invoices (a few minutes)…")
        call_command("seed_demo", customers=args.customers, invoices=args.invoices, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    today = Company.load().today()
    since = min(
        trend_dates(today)[0][0] - dt.timedelta(days=DSO_DAYS), today - dt.timedelta(days=TIME_TO_PAY_DAYS)
    )
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
    for label, user in cases:
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        server = median_ms(lambda c=client: load_page(c), args.runs)
        raw = median_ms(lambda u=user: run_raw_sql(connection, u, today, since), args.runs)
        print(f"  raw SQL of the same figures ({label}): {raw:,.0f} ms")
        report(f"dashboard, {label}", server, "ms", LIMIT_MS, ratio=server / raw, ratio_limit=RAW_RATIO_LIMIT)


def load_page(client):
    response = client.get("/")
    assert response.status_code == 200, response.status_code


def run_raw_sql(connection, user, today, since):
    scope = "" if user.sees_all_customers else AM_SCOPE
    customer_scope = "" if user.sees_all_customers else AM_CUSTOMER_SCOPE
    params = {"today": today, "since": since, "user": user.pk}
    with connection.cursor() as cursor:
        for sql in RAW_QUERIES:
            cursor.execute(sql.format(scope=scope, customer_scope=customer_scope), params)
            cursor.fetchall()


if __name__ == "__main__":
    main()
