"""Indexes for Customer Status Tracking, chosen from the plans (EXPLAIN) at 100,000 customers / 1,000,000 invoices.

PostgreSQL only, as plain SQL (see 0001): the embedded SQLite holds demo-sized books.
"""

from django.db import migrations

from reports.sql_indexes import run_sql_indexes

INDEXES = [  # (name, "ON table (...) ...")
    # The report's default order (name, then id) over every customer, as an admin sees it: the first
    # page walks 50 index entries (0.05 ms) instead of sorting 100,000 customers (30 ms). A book
    # filtered by account manager already walks (account_manager_id, name).
    ("customer_status_name_idx", "ON customers_customer (name, id)"),
]


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_invoice_status_indexes")]

    operations = [run_sql_indexes(INDEXES)]
