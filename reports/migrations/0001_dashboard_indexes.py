"""Indexes the dashboard's plans asked for (EXPLAIN on 100,000 customers / 1,000,000 invoices).

They sit on invoices' and customers' tables but belong to the reports that need them, so they
live here as SQL, not in those apps' models. PostgreSQL only: the embedded SQLite holds demo-sized
books, where a scan is instant, and has no INCLUDE.

- promises to pay: without these, finding the few promised invoices and customers scans every
  row (about 400 ms); with them, a fraction of a millisecond.
- outstanding invoices by customer: the open book, the aging and the main debtors read only the
  open invoices with an amount due (30 % of the table), and an account manager's only for their
  customers.
"""

from django.db import migrations

from reports.sql_indexes import run_sql_indexes

INDEXES = [
    (
        "reports_invoice_promise_idx",
        "ON invoices_invoice (promise_date) WHERE promise_date IS NOT NULL",
    ),
    (
        "reports_customer_promise_idx",
        "ON customers_customer (promise_date) WHERE promise_date IS NOT NULL",
    ),
    (
        "reports_invoice_outstanding_idx",
        "ON invoices_invoice (customer_id) INCLUDE (due_date, amount_due, exchange_rate) "
        "WHERE status = 'open' AND amount_due > 0",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0005_reminder_columns_db_defaults"),
        ("customers", "0004_credit_hold_and_portal_generation"),
    ]

    operations = [run_sql_indexes(INDEXES)]
