"""The engine's own bookkeeping for incremental ticks (workflows/engine.py), PostgreSQL only.

- workflows_tickstate: one row — when the last tick began, its day, the default workflow then, and
  what it read of every action — so the next tick can look only at what changed since.
- an index on open tasks' due dates: the tick's task hold (open task due after today) and the holds
  that ran out since the last tick's day are ranges on it.
- an index on completed runs' finish time: an incremental tick finds the runs whose next repeat
  may be due by range on it.

Written in SQL rather than as models: nothing but the engine reads them, and SQLite (the embedded
default) always runs full ticks.
"""

from django.db import migrations

CREATE = [
    """CREATE TABLE IF NOT EXISTS workflows_tickstate (
        id smallint PRIMARY KEY CHECK (id = 1),
        started_at timestamp with time zone NOT NULL,
        day date NOT NULL,
        default_workflow_id bigint NULL,
        actions text NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS task_open_due_idx ON workflows_task (due_on) WHERE status = 'open'",
    "CREATE INDEX IF NOT EXISTS actionrun_done_finished_idx ON workflows_actionrun (finished_at) "
    "WHERE status = 'done'",
]
DROP = [
    "DROP INDEX IF EXISTS actionrun_done_finished_idx",
    "DROP INDEX IF EXISTS task_open_due_idx",
    "DROP TABLE IF EXISTS workflows_tickstate",
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
        ("workflows", "0007_workflow_credit_limit"),
    ]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]
