"""Reminders for synced invoices go out only on fresh books: a customer who paid in the
accounting system a minute ago must not be chased (issue #7)."""

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from .models import Connection, ConnectionStatus, SyncStatus, SyncTrigger

log = logging.getLogger(__name__)

READ_BEFORE_DISPATCH = ("invoice", "credit_note", "payment")


def synced_invoices_are_fresh(*, now=None):
    """Read what changed in every connected organisation whose last successful sync is older than
    ACCOUNTING_FRESH_MINUTES. True when all are fresh now; False when one could not be read (or is
    syncing right now), and reminders for synced invoices should wait for the next dispatch."""
    from .connectors import connector_for
    from .sync import Busy, sync

    now = now or timezone.now()
    fresh_since = now - dt.timedelta(minutes=settings.ACCOUNTING_FRESH_MINUTES)
    fresh = True
    for connection in Connection.objects.filter(status=ConnectionStatus.CONNECTED):
        last = (
            connection.runs.filter(status=SyncStatus.SUCCEEDED)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        if last is not None and last >= fresh_since:
            continue
        try:
            run = sync(
                connection,
                connector=connector_for(connection),
                trigger=SyncTrigger.DISPATCH,
                kinds=READ_BEFORE_DISPATCH,
                push_changes=False,
            )
        except Busy:
            fresh = False
            continue
        if run.status != SyncStatus.SUCCEEDED:
            log.warning("%s could not be read before dispatch; its invoices' reminders wait", connection)
            fresh = False
    return fresh
