import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="accounting.sync_all", ignore_result=True)
def sync_all():
    """Beat runs this every 5 minutes: one sync task per connected organisation."""
    from .models import Connection, ConnectionStatus, SyncTrigger

    for pk in Connection.objects.filter(status=ConnectionStatus.CONNECTED).values_list("pk", flat=True):
        sync_connection.delay(pk, SyncTrigger.SCHEDULE)


@shared_task(name="accounting.sync_connection", ignore_result=True)
def sync_connection(connection_id, trigger, full=False):
    """Sync one connection; a connection already syncing is left to the run that holds it."""
    from .connectors import connector_for
    from .models import Connection
    from .sync import Busy, sync

    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        return
    try:
        run = sync(connection, connector=connector_for(connection), trigger=trigger, full=full)
    except Busy:
        log.info("%s is already syncing; this %s run is skipped", connection, trigger)
        return
    log.info(
        "%s: sync %s — %s created, %s updated, %s pushed, %s failed",
        connection,
        run.status,
        run.created,
        run.updated,
        run.pushed,
        run.failed,
    )
