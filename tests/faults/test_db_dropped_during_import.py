"""The database connection dropped in the middle of an import (`manage.py import_invoices FILE`).

A real `manage.py` process imports an Excel file into the test database; another connection ends its
backend (pg_terminate_backend) while it is inside the import's transaction, its invoices written but
not committed. The import is applied whole or not at all, the command says which, and running it
again imports every invoice once.
"""

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from django.db import transaction
from openpyxl import Workbook

from customers.models import Activity, ActivityKind, Customer
from invoices.models import Invoice
from tests.celery_processes import database_url
from tests.faults.processes import Processes, wait_until

pytestmark = pytest.mark.faults

ROWS = 3000
CUSTOMERS = 30


def workbook(path):
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["invoice number", "customer ID", "issue date", "due date", "currency", "total", "tax"])
    for n in range(ROWS):
        sheet.append(
            [
                f"DROP-{n:05d}",
                f"D-{n % CUSTOMERS:02d}",
                dt.date(2026, 10, 1),
                dt.date(2026, 10, 31),
                "SGD",
                100,
                0,
            ]
        )
    book.save(path)


def import_command(processes, name, path):
    return processes.start(name, "manage.py", "import_invoices", str(path), program=())


def test_an_import_whose_connection_drops_is_applied_not_at_all_says_so_and_imports_once_again(
    transactional_db, tmp_path
):
    for n in range(CUSTOMERS):
        Customer.objects.create(code=f"D-{n:02d}", name=f"Dropped {n}", currency="SGD")
    path = tmp_path / "november.xlsx"
    workbook(path)
    processes = Processes(tmp_path, "memory://")
    url = database_url().replace("postgres://", "postgresql://")
    watcher = psycopg.connect(url, autocommit=True)
    holder = psycopg.connect(url)
    database = watcher.info.dbname
    try:
        # Hold the timeline's table so the import stops inside its transaction, its invoices written
        # but not committed, where the connection is then ended: a real lock, a real kill.
        holder.execute("LOCK TABLE customers_activity IN SHARE MODE")
        importing = import_command(processes, "import1", path)

        def blocked_backend():
            row = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' "
                "AND xact_start IS NOT NULL AND pid <> pg_backend_pid()",
                [database],
            ).fetchone()
            return row and row[0]

        wait_until(blocked_backend, 45, why=lambda: processes.logs())
        pid = blocked_backend()
        watcher.execute("SELECT pg_terminate_backend(%s)", [pid])
        holder.rollback()
        importing.wait(timeout=30)
        output = processes.log("import1")

        assert importing.returncode != 0, output
        assert "The database connection was lost while importing november.xlsx" in output
        assert "nothing was imported" in output
        assert "Traceback" not in output
        assert not Invoice.objects.filter(number__startswith="DROP-").exists()
        assert not Activity.objects.filter(kind=ActivityKind.INVOICE_ISSUED).exists()

        again = import_command(processes, "import2", path)
        again.wait(timeout=45)
        output = processes.log("import2")
        assert again.returncode == 0, output
        assert f"Imported {ROWS:,} invoices for {CUSTOMERS} customers ({ROWS * 100:,}.00 SGD)." in output
    finally:
        holder.close()
        processes.stop()
        watcher.close()

    numbers = list(Invoice.objects.filter(number__startswith="DROP-").values_list("number", flat=True))
    assert sorted(numbers) == [f"DROP-{n:05d}" for n in range(ROWS)]  # every row, once
    assert Invoice.objects.filter(customer__code="D-07").count() == ROWS // CUSTOMERS
    assert sum(Invoice.objects.values_list("total", flat=True)) == Decimal(ROWS * 100)
    assert Activity.objects.filter(kind=ActivityKind.INVOICE_ISSUED).count() == ROWS


def test_a_number_taken_by_someone_else_during_the_import_rejects_it_whole_and_says_why(
    transactional_db, tmp_path
):
    for n in range(CUSTOMERS):
        Customer.objects.create(code=f"D-{n:02d}", name=f"Dropped {n}", currency="SGD")
    path = tmp_path / "november.xlsx"
    workbook(path)
    processes = Processes(tmp_path, "memory://")
    watcher = psycopg.connect(database_url().replace("postgres://", "postgresql://"), autocommit=True)
    try:
        # A person saves invoice DROP-00042 while the import runs: the file was checked before that,
        # so the import's COPY meets the number on the unique index, waits for the person's commit, fails.
        with transaction.atomic():
            Invoice.objects.create(
                number="DROP-00042",
                customer=Customer.objects.get(code="D-00"),
                currency="SGD",
                issue_date=dt.date(2026, 10, 1),
                due_date=dt.date(2026, 10, 31),
                subtotal=Decimal("5.00"),
                total=Decimal("5.00"),
                amount_due=Decimal("5.00"),
            )
            importing = import_command(processes, "import", path)
            wait_until(
                lambda: watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                    [watcher.info.dbname],
                ).fetchone()[0],
                45,
                why=processes.logs,
            )
        importing.wait(timeout=30)
        output = processes.log("import")
    finally:
        processes.stop()
        watcher.close()

    assert importing.returncode != 0, output
    assert "a number was taken while importing" in output
    assert "nothing was imported" in output
    assert "Traceback" not in output
    assert list(Invoice.objects.filter(number__startswith="DROP-").values_list("number", flat=True)) == [
        "DROP-00042"
    ]
    assert not Activity.objects.filter(kind=ActivityKind.INVOICE_ISSUED).exists()
