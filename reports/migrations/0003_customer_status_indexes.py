"""Indexes for Customer Status Tracking, chosen from the plans (EXPLAIN) at 100,000 customers / 1,000,000 invoices.

PostgreSQL only, as plain SQL (see 0001): the embedded SQLite holds demo-sized books.
"""

from django.db import migrations

INDEXES = [  # (name, "ON table (...) ...")
    # The report's default order (name, then id) over every customer, as an admin sees it: the first
    # page walks 50 index entries (0.05 ms) instead of sorting 100,000 customers (30 ms). A book
    # filtered by account manager already walks (account_manager_id, name).
    ("customer_status_name_idx", "ON customers_customer (name, id)"),
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
    dependencies = [("reports", "0002_invoice_status_indexes")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
