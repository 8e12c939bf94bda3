from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from invoices.imports import ImportInterrupted, ImportRejected, import_invoices
from peakflo.spreadsheets import SpreadsheetError


class Command(BaseCommand):
    help = "Import invoices from an .xlsx or .csv file (all rows or none), as the Invoices upload page does."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")

        def progress(rows):
            self.stdout.write(f"  checked {rows:,} rows", ending="\r")

        try:
            summary = import_invoices(data=file.read_bytes(), filename=file.name, progress=progress)
        except (SpreadsheetError, ImportInterrupted) as exc:
            raise CommandError(str(exc)) from None
        except ImportRejected as rejected:
            for error in rejected.errors:
                self.stderr.write(str(error))
            if rejected.total_errors > len(rejected.errors):
                self.stderr.write(f"… and {rejected.total_errors - len(rejected.errors)} more.")
            raise CommandError(
                f"{rejected.total_errors} problem(s) in {file.name}; nothing was imported."
            ) from None
        totals = ", ".join(
            f"{total:,} {currency}" for currency, total in sorted(summary.totals_by_currency.items())
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {summary.created:,} invoice{'s' * (summary.created != 1)} for "
                f"{summary.customers:,} customer{'s' * (summary.customers != 1)} ({totals})."
            )
        )
