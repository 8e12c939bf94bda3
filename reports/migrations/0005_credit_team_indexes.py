"""Indexes for Credit control and Team activity, chosen from the plans (EXPLAIN) at 100,000 customers / 1,000,000 invoices.

PostgreSQL only, as plain SQL (see 0001): the embedded SQLite holds demo-sized books.
"""

from django.db import migrations

# (name, "ON table (...) ...")
INDEXES = [
    # An account manager's customers as an index-only scan (no heap visit for 33,000 rows): the
    # join both reports make to keep to one manager's book (team activity: 25 ms → 3 ms).
    ("reports_customer_manager_idx", "ON customers_customer (account_manager_id, id)"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_analysis_indexes")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
