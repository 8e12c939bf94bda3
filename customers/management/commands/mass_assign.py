from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from customers.imports import ImportRejected, SpreadsheetError, mass_assign


class Command(BaseCommand):
    help = (
        "Set the account manager and default viewers of customers from an .xlsx or .csv file with the "
        "columns customer ID, email, defaultViewers (all rows or none), as the Mass users assign page does."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        try:
            summary = mass_assign(data=file.read_bytes(), filename=file.name)
        except SpreadsheetError as exc:
            raise CommandError(str(exc)) from None
        except ImportRejected as rejected:
            for error in rejected.errors:
                self.stderr.write(str(error))
            if rejected.total_errors > len(rejected.errors):
                self.stderr.write(f"… and {rejected.total_errors - len(rejected.errors)} more.")
            raise CommandError(
                f"{rejected.total_errors} problem(s) in {file.name}; nothing was changed."
            ) from None
        viewers = "default viewers set as listed" if summary.viewers_set else "default viewers unchanged"
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary.customers:,} customer{'s' * (summary.customers != 1)}: "
                f"{summary.reassigned:,} changed account manager; {viewers}."
            )
        )
