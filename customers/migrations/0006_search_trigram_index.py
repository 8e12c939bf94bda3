"""Trigram indexes for the customer search (name or customer ID containing the words typed).

`icontains` is UPPER(column) LIKE '%…%', which no B-tree index serves: over 100,000 customers each
search read the whole table twice (count and page). pg_trgm is a trusted extension (PostgreSQL 13+),
so the database's owner may create it. PostgreSQL only (reports.sql_indexes): SQLite's demo-sized
books scan instantly.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from reports.sql_indexes import run_sql_indexes


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_currency_index")]

    operations = [
        TrigramExtension(),
        run_sql_indexes(
            [
                (
                    "customer_name_trgm_idx",
                    'ON customers_customer USING gin (UPPER("name"::text) gin_trgm_ops)',
                ),
                (
                    "customer_code_trgm_idx",
                    'ON customers_customer USING gin (UPPER("code"::text) gin_trgm_ops)',
                ),
            ]
        ),
    ]
