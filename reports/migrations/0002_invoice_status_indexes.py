"""Indexes for Invoice Status Tracking, chosen from the plans (EXPLAIN) at 100,000 customers / 1,000,000 invoices.

PostgreSQL only, as plain SQL (see 0001): the embedded SQLite holds demo-sized books.

The report's default order, most overdue first, is paged as two walks in due-date order (the
overdue invoices, then the rest: reports/invoice_status_views.py), so each wants an index in
(due_date, id DESC) order that holds only its rows:

- outstanding by due date: today's overdue invoices are a range of it; without it the planner
  walks the index below through the 700,000 paid invoices (about 300 ms for an account manager).
- sales by due date, covering: as of a past date the overdue invoices are found by walking every
  sale due before that date, oldest first, and testing "still owed then" on each; covering makes
  that walk index-only (about 440 ms to 100 ms for the admin, 60 days back).
- payments by date: "paid after the date" reads only the later payments (a sequential scan of
  every payment before: about 90 ms to 15 ms, 60 days back).
"""

from django.db import migrations

from reports.sql_indexes import run_sql_indexes

INDEXES = [
    (
        "reports_invoice_outstanding_due_idx",
        "ON invoices_invoice (due_date, id DESC) WHERE status = 'open' AND amount_due > 0",
    ),
    (
        "reports_invoice_sold_due_idx",
        "ON invoices_invoice (due_date, id DESC) INCLUDE (issue_date, status, amount_due, customer_id) "
        "WHERE status IN ('open', 'paid')",
    ),
    ("reports_payment_date_idx", "ON invoices_payment (date) INCLUDE (id)"),
]


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_dashboard_indexes")]

    operations = [run_sql_indexes(INDEXES)]
