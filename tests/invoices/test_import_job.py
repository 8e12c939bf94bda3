import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from invoices.imports import run_import_job, start_import
from invoices.models import Invoice
from peakflo.models import ImportJob

HEADER = ["invoice number", "customer ID", "issue date", "due date", "currency", "total"]


def workbook_bytes(rows):
    workbook = Workbook()
    workbook.active.append(HEADER)
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rows(count, start=0, code="C-001"):
    return [[f"JOB-{start + i:05d}", code, "2026-10-01", "2026-10-31", "SGD", 100 + i] for i in range(count)]


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_job_counts_its_rows_reports_progress_and_a_summary(
    book, am_alice, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("big.xlsx", workbook_bytes(rows(2500)))

    with django_capture_on_commit_callbacks(execute=False) as queued:
        job = start_import(upload=upload, actor=am_alice)
    assert len(queued) == 1  # the task is queued only once the job row is committed
    assert job.rows_total == 2500 and job.status == ImportJob.Status.QUEUED

    job = run_import_job(job)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.percent == 100
    assert job.summary["created"] == 2500 and job.summary["customers"] == 1
    assert Invoice.objects.filter(number__startswith="JOB-").count() == 2500


def test_a_failed_job_keeps_the_errors_and_imports_nothing(book, am_alice):
    bad = rows(3) + [["JOB-X", "C-404", "2026-10-01", "2026-10-31", "SGD", "abc"]]
    job = ImportJob.objects.create(
        kind="invoices", file=SimpleUploadedFile("bad.xlsx", workbook_bytes(bad)), filename="bad.xlsx"
    )

    run_import_job(job)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.errors == [
        "Row 5, customer ID: 'C-404' is not a known customer ID.",
        "Row 5, total: 'abc' is not a number.",
    ]
    assert not Invoice.objects.filter(number__startswith="JOB-").exists()


def test_the_command_imports_or_lists_what_to_fix(book, tmp_path, capsys):
    good, bad = tmp_path / "good.xlsx", tmp_path / "bad.csv"
    good.write_bytes(workbook_bytes(rows(5)))
    bad.write_text(
        "invoice number,customer ID,issue date,due date,currency,total\nJOB-9,C-001,yesterday,2026-10-31,SGD,1\n"
    )

    call_command("import_invoices", str(good))
    assert "Imported 5 invoices for 1 customer (510.00 SGD)" in capsys.readouterr().out

    with pytest.raises(CommandError, match="1 problem"):
        call_command("import_invoices", str(bad))
    assert "Row 2, issue date: 'yesterday' is not a date" in capsys.readouterr().err
    assert Invoice.objects.filter(number__startswith="JOB-").count() == 5


def test_a_real_worker_runs_the_uploaded_import(celery_processes, am_alice, settings):
    from customers.models import Customer

    Customer.objects.create(code="C-001", name="Acme", account_manager=am_alice)
    celery_processes.worker()

    job = start_import(upload=SimpleUploadedFile("october.xlsx", workbook_bytes(rows(1200))), actor=am_alice)

    deadline = time.monotonic() + 60
    while job.status not in (ImportJob.Status.DONE, ImportJob.Status.FAILED) and time.monotonic() < deadline:
        time.sleep(0.3)
        job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, celery_processes.logs()[-3000:]
    assert job.summary["created"] == 1200
    assert Invoice.objects.filter(customer__code="C-001", number__startswith="JOB-").count() == 1200
