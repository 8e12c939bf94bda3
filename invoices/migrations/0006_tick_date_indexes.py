"""Indexes the engine's incremental tick reads through (workflows/engine.py), PostgreSQL only.

Due dates already have one (invoice_status_due_idx). These let a tick find, by range, the open
invoices whose step counts from the issue date or a promise date and fell due since the last tick,
the promises that ran out, and the invoices saved since the last tick.
"""

from django.db import migrations

CREATE = [
    "CREATE INDEX IF NOT EXISTS invoice_open_issue_idx ON invoices_invoice (issue_date) WHERE status = 'open'",
    "CREATE INDEX IF NOT EXISTS invoice_promise_date_idx ON invoices_invoice (promise_date) "
    "WHERE promise_date IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS invoice_updated_idx ON invoices_invoice (updated_at)",
]
DROP = [
    "DROP INDEX IF EXISTS invoice_updated_idx",
    "DROP INDEX IF EXISTS invoice_promise_date_idx",
    "DROP INDEX IF EXISTS invoice_open_issue_idx",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0005_reminder_columns_db_defaults"),
    ]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]
