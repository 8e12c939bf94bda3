import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from invoices.imports import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, run_import_job
from invoices.models import Invoice
from peakflo.models import ImportJob
from tests.conftest import PASSWORD


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def xlsx(rows, header=REQUIRED_COLUMNS):
    workbook = Workbook()
    workbook.active.append(header)
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(client, name, content, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # no worker here: run the job ourselves
        response = client.post(reverse("invoices_import"), {"file": SimpleUploadedFile(name, content)})
    return response


def test_anonymous_is_sent_to_login(client, db):
    for name in ("invoices_import", "invoices_import_template"):
        assert client.get(reverse(name)).status_code == 302


def test_auditors_cannot_import(client, book, auditor):
    login(client, auditor)
    assert client.get(reverse("invoices_import")).status_code == 403
    assert client.post(reverse("invoices_import")).status_code == 403


def test_the_template_has_the_columns_and_an_example_row(client, book, am_alice):
    login(client, am_alice)

    response = client.get(reverse("invoices_import_template"))

    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert list(rows[0]) == REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    assert len(rows) == 2 and rows[1][1] == "C-001"  # a customer the user may see


def test_a_good_file_is_imported_and_the_progress_page_shows_the_summary(
    client, book, am_alice, django_capture_on_commit_callbacks
):
    login(client, am_alice)
    content = xlsx([["UP-1", "C-001", "2026-10-01", "2026-10-31", "SGD", 100],
                    ["UP-2", "C-002", "2026-10-01", "2026-10-31", "USD", 250.5]])  # fmt: skip

    response = upload(client, "good.xlsx", content, django_capture_on_commit_callbacks)

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("import_job", args=[job.pk])
    waiting = client.get(
        reverse("import_job", args=[job.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert 'hx-trigger="every 1s"' in waiting and "<html" not in waiting

    run_import_job(job)
    done = client.get(reverse("import_job", args=[job.pk]), headers={"HX-Request": "true"}).content.decode()

    assert "every 1s" not in done  # polling stops
    assert "2 invoices for 2 customers" in done
    assert Invoice.objects.filter(number__in=["UP-1", "UP-2"]).count() == 2


def test_a_bad_file_shows_each_error_by_row_and_column_and_imports_nothing(
    client, book, am_alice, django_capture_on_commit_callbacks
):
    login(client, am_alice)
    content = xlsx([
        ["BAD-1", "C-404", "2026-10-01", "2026-10-31", "SGD", 100],
        ["BAD-2", "C-001", "not a date", "2026-10-31", "SGD", 100],
        ["BAD-3", "C-001", "2026-10-01", "2026-10-31", "SGD", "abc"],
    ])  # fmt: skip
    upload(client, "bad.xlsx", content, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()

    run_import_job(job)
    page = client.get(reverse("import_job", args=[job.pk])).content.decode()

    assert "Nothing was imported" in page and "every 1s" not in page
    assert "Row 2, customer ID" in page and "Row 3, issue date" in page and "Row 4, total" in page
    assert reverse("invoices_import") in page  # the way back
    assert not Invoice.objects.filter(number__startswith="BAD-").exists()


def test_a_file_that_is_not_excel_or_csv_is_refused_on_upload(client, book, am_alice):
    login(client, am_alice)

    response = client.post(
        reverse("invoices_import"), {"file": SimpleUploadedFile("renamed.xlsx", b"%PDF-1.7 not a sheet")}
    )

    assert response.status_code == 200
    assert "is not an Excel (.xlsx) or CSV file" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_csv_is_accepted(client, book, am_alice, django_capture_on_commit_callbacks):
    login(client, am_alice)
    csv = ",".join(REQUIRED_COLUMNS) + "\nCSV-1,C-001,2026-10-01,2026-10-31,SGD,10\n"

    response = upload(client, "invoices.csv", csv.encode(), django_capture_on_commit_callbacks)

    assert response.status_code == 302
    run_import_job(ImportJob.objects.get())
    assert Invoice.objects.filter(number="CSV-1").exists()


def test_only_the_uploader_or_an_admin_sees_a_job(
    client, book, am_alice, am_bob, admin_user, ar_admin, django_capture_on_commit_callbacks
):
    login(client, am_alice)
    upload(client, "mine.xlsx", xlsx([]), django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()

    for outsider in (am_bob, ar_admin):
        login(client, outsider)
        assert client.get(reverse("import_job", args=[job.pk])).status_code == 404
    login(client, admin_user)
    assert client.get(reverse("import_job", args=[job.pk])).status_code == 200
