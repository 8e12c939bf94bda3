"""Running the sync in the tests, as manage.py sync_accounting would."""

import time

from accounting.connectors import connector_for
from accounting.models import SyncTrigger
from accounting.sync import sync


def run_sync(connection, **options):
    """One sync of `connection`; the run remembers the waits it asked for (`run.waits`), which are
    slept for real but cut to 1.5 s so the tests stay quick."""
    connection.refresh_from_db()
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        time.sleep(min(seconds, 1.5))

    run = sync(
        connection, connector=connector_for(connection), trigger=SyncTrigger.COMMAND, sleep=sleep, **options
    )
    run.waits = waits
    return run
