import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from workflows.credit import update_credit_holds
from workflows.dispatch import dispatch_due_runs
from workflows.engine import schedule_due_runs


class Command(BaseCommand):
    help = (
        "Run the workflow engine once by hand: one tick (schedule the reminders and tasks that fell due)\n"
        "and one dispatch (send them, inside the send window)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--today", help="Schedule as if it were this day (YYYY-MM-DD).")
        parser.add_argument(
            "--full",
            action="store_true",
            help="Look at every open invoice, not only at what changed since the last tick.",
        )

    def handle(self, *args, today=None, full=False, **options):
        if today:
            try:
                today = dt.date.fromisoformat(today)
            except ValueError:
                raise CommandError(f"--today {today!r} is not a date: use YYYY-MM-DD.") from None
        result = schedule_due_runs(today=today, full=full)
        if result is None:
            raise CommandError("Another tick is running; nothing was done.")
        scheduled = "an unknown number of" if result["scheduled"] is None else result["scheduled"]
        self.stdout.write(
            f"{result['mode'].capitalize()} tick: scheduled {scheduled} runs; "
            f"ended {result['ended']} runs of settled or disputed invoices."
        )
        put_on, lifted = update_credit_holds(today)
        self.stdout.write(f"Credit holds: {put_on} put on, {lifted} lifted.")
        self.stdout.write(str(dispatch_due_runs()))
