"""Indexes written as SQL by migrations, where the ORM's Index cannot say them (INCLUDE, partial
forms, expressions with an operator class).

The reports' plans asked for most of them, on other apps' tables: they belong to the reports that
need them, so they live in reports' migrations, not in those apps' models; the customer search's
trigram indexes use it too. PostgreSQL only: the embedded SQLite holds demo-sized books, where a
scan is instant, and has neither INCLUDE nor every partial-index form used here.
"""

from django.db import migrations


def run_sql_indexes(indexes):
    """A migration operation creating `indexes` [(name, "ON table (...) ...")] and dropping them
    when the migration is reversed. IF NOT EXISTS: an index made by hand while measuring is kept."""

    def create(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for name, definition in indexes:
                schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for name, _ in indexes:
                schema_editor.execute(f"DROP INDEX IF EXISTS {name}")

    return migrations.RunPython(create, drop, elidable=False)
