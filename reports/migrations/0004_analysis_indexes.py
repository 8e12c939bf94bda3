"""Indexes for the analysis reports (aging, disputes, actions), chosen from the plans (EXPLAIN) at 100,000 customers / 1,000,000 invoices.

PostgreSQL only, as plain SQL (see 0001): the embedded SQLite holds demo-sized books.
"""

from django.db import migrations

from reports.sql_indexes import run_sql_indexes

# (name, "ON table (...) ...")
INDEXES = [
    # Aging as of a past date, the open invoices issued by then: read from the index alone (it
    # was a bitmap scan of every open invoice, filtering the later ones out, 3-4x slower).
    (
        "analysis_open_issued_idx",
        "ON invoices_invoice (issue_date) INCLUDE (customer_id, due_date, amount_due, exchange_rate) "
        "WHERE status = 'open' AND amount_due > 0",
    ),
    # Aging as of a past date, the payments dated after it, for a portfolio's invoices: the
    # allocations (and their payment's date) from the indexes alone instead of a scan of every
    # allocation hashed (1,000-customer book: 225 → 100 ms). A whole book still scans, rightly.
    (
        "analysis_allocation_invoice_idx",
        "ON invoices_paymentallocation (invoice_id) INCLUDE (payment_id, amount)",
    ),
    ("analysis_payment_id_date_idx", "ON invoices_payment (id) INCLUDE (date)"),
]


class Migration(migrations.Migration):
    dependencies = [("reports", "0003_customer_status_indexes")]

    operations = [run_sql_indexes(INDEXES)]
