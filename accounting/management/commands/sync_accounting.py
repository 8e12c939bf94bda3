from django.core.management.base import BaseCommand, CommandError

from accounting.connectors import connector_for
from accounting.models import Connection, ConnectionStatus, SyncStatus, SyncTrigger
from accounting.sync import Busy, sync


class Command(BaseCommand):
    help = "Sync the connected accounting systems now (what changed since the last run, or --full)."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="read everything, not only what changed")
        parser.add_argument("--connection", type=int, help="only this connection (its id)")

    def handle(self, *args, full=False, connection=None, **options):
        connections = Connection.objects.filter(status=ConnectionStatus.CONNECTED)
        if connection is not None:
            connections = connections.filter(pk=connection)
            if not connections.exists():
                raise CommandError(f"No connected accounting system has id {connection}.")
        if not connections.exists():
            self.stdout.write("No accounting system is connected (Settings → Integrations).")
            return
        failed = False
        for each in connections:
            try:
                run = sync(each, connector=connector_for(each), trigger=SyncTrigger.COMMAND, full=full)
            except Busy:
                self.stdout.write(f"{each}: already syncing, skipped.")
                continue
            self.stdout.write(
                f"{each}: {run.get_status_display().lower()} — {run.created} created, {run.updated} updated, "
                f"{run.pushed} pushed, {run.failed} failed"
            )
            for error in run.errors:
                self.stdout.write(f"  {error}")
            failed |= run.status == SyncStatus.FAILED
        if failed:
            raise CommandError("A sync failed; the next run resumes from where it stopped.")
