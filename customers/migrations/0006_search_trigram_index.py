"""Trigram indexes for the customer search (name or customer ID containing the words typed).

`icontains` is UPPER(column) LIKE '%…%', which no B-tree index serves: over 100,000 customers each
search read the whole table twice (count and page). pg_trgm is a trusted extension (PostgreSQL 13+),
so the database's owner may create it. PostgreSQL only: SQLite's demo-sized books scan instantly.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "customer_name_trgm_idx": 'UPPER("name"::text) gin_trgm_ops',
    "customer_code_trgm_idx": 'UPPER("code"::text) gin_trgm_ops',
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, expression in INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON customers_customer USING gin ({expression})"
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_currency_index")]

    operations = [TrigramExtension(), migrations.RunPython(create, drop, elidable=False)]
