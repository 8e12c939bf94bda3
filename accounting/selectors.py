"""Reads for Settings → Integrations and the sync log: a fixed number of queries whatever the size."""

import datetime as dt

from django.db.models import DurationField, ExpressionWrapper, F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from .models import Connection, ConnectionStatus, SyncRun, SyncStatus

RUNS_PER_CONNECTION = 5
# A run whose lease ran out without finishing died with its worker; it is not "going" any more.
STALE_AFTER = dt.timedelta(minutes=15)


def connections_with_runs(provider=None):
    """Connections not disconnected (plus disconnected ones, last), each with `.recent_runs`:
    two queries — the connections, and the last few runs of each through a window."""
    connections = list(
        Connection.objects.select_related("connected_by")
        .filter(**({"provider": provider} if provider else {}))
        .order_by(F("status").asc(), "tenant_name", "pk")
    )
    # Connected and needing-reconnect first, disconnected at the end.
    connections.sort(key=lambda c: c.status == ConnectionStatus.DISCONNECTED)
    recent = {}
    if connections:
        runs = (
            SyncRun.objects.filter(connection__in=[c.pk for c in connections])
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=F("connection_id"),
                    order_by=[F("started_at").desc(), F("pk").desc()],
                )
            )
            .filter(rank__lte=RUNS_PER_CONNECTION)
            .order_by("connection_id", "-started_at", "-pk")
        )
        for run in runs:
            recent.setdefault(run.connection_id, []).append(run)
    for connection in connections:
        connection.recent_runs = mark_stale(recent.get(connection.pk, []))
        connection.running_run = next((run for run in connection.recent_runs if is_going(run)), None)
    return connections


def mark_stale(runs):
    """`run.stale`: recorded as running but gone quiet for too long (its worker died)."""
    for run in runs:
        run.stale = run.status == SyncStatus.RUNNING and not is_going(run)
    return runs


def is_going(run):
    return run.status == SyncStatus.RUNNING and run.started_at > timezone.now() - STALE_AFTER


def running_run(connection):
    """The run going now for `connection`, if any (one query)."""
    return (
        SyncRun.objects.filter(
            connection=connection, status=SyncStatus.RUNNING, started_at__gt=timezone.now() - STALE_AFTER
        )
        .order_by("-started_at")
        .first()
    )


def is_syncing(connection):
    """A run holds the connection's lease or is still recorded as going."""
    if connection.locked_until and connection.locked_until > timezone.now():
        return True
    return running_run(connection) is not None


def run_since(connection, since):
    """The first run of `connection` that started at or after `since` (the one Sync now asked for), or
    the one going now."""
    run = None
    if since is not None:
        run = connection.runs.filter(started_at__gte=since).order_by("started_at", "pk").first()
    return run or running_run(connection)


def log_runs():
    """Every run, newest first, with its connection and its duration (null while it runs)."""
    return SyncRun.objects.select_related("connection").annotate(
        duration=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    )
