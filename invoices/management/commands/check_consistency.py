from django.core.management.base import BaseCommand, CommandError

from invoices.selectors import inconsistent_invoices, invoice_problems, overallocated_payments
from workflows.selectors import orphan_runs


class Command(BaseCommand):
    help = (
        "List invoices whose stored amounts or status disagree with their payments and approved credit "
        "notes, and payments allocated beyond their amount. Exits 1 when any are found."
    )

    def handle(self, *args, **options):
        invoice_count = payment_count = 0
        for invoice in (
            inconsistent_invoices()
            .only("number", "status", "total", "amount_paid", "amount_credited", "amount_due", "currency")
            .iterator(chunk_size=2000)
        ):
            invoice_count += 1
            for problem in invoice_problems(invoice):
                self.stdout.write(f"invoice {invoice.number} ({invoice.currency}): {problem}")
        for payment in overallocated_payments().iterator(chunk_size=2000):
            payment_count += 1
            self.stdout.write(
                f"payment {payment.pk} from {payment.customer.code} on {payment.date}: amount {payment.amount} "
                f"{payment.currency} but allocations sum to {payment.allocated}"
            )
        orphans = orphan_runs().count()
        if orphans:
            self.stdout.write(f"{orphans} action run(s) point at an invoice or action that no longer exists")
        if invoice_count or payment_count or orphans:
            raise CommandError(
                f"Found {invoice_count} inconsistent invoice(s), {payment_count} over-allocated payment(s) "
                f"and {orphans} orphaned action run(s).",
                returncode=1,
            )
        self.stdout.write(
            self.style.SUCCESS("All invoice amounts agree with their payments and credit notes.")
        )
