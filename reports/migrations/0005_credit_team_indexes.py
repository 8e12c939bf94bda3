"""Indexes for Credit control and Team activity, chosen from the plans (EXPLAIN) at 100,000 customers / 1,000,000 invoices.

PostgreSQL only, as plain SQL (see 0001): the embedded SQLite holds demo-sized books.
"""

from django.db import migrations

from reports.sql_indexes import run_sql_indexes

# (name, "ON table (...) ...")
INDEXES = [
    # An account manager's customers as an index-only scan (no heap visit for 33,000 rows): the
    # join both reports make to keep to one manager's book (team activity: 25 ms → 3 ms).
    ("reports_customer_manager_idx", "ON customers_customer (account_manager_id, id)"),
]


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_analysis_indexes")]

    operations = [run_sql_indexes(INDEXES)]
