"""Every upload is checked here: by what its bytes are (the `filetype` library reads the signature),
never by the name or the Content-Type the browser sent, and by size (settings.UPLOAD_MAX_BYTES).
A name whose extension says something else than the content is refused too, so a page or program
renamed invoice.pdf cannot slip through. Callers check before anything is saved."""

import codecs
import io
import zipfile
from pathlib import PurePath

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import lazy

DEFAULT_MAX_BYTES = 10 * 1024 * 1024

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOC, XLS, PPT = "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
PDF, TEXT, CSV, HTML = "application/pdf", "text/plain", "text/csv", "text/html"

IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
OFFICE = {DOCX, XLSX, PPTX, DOC, XLS, PPT, ODT, ODS}
DOCUMENTS = {PDF, TEXT, *OFFICE}
ATTACHMENTS = IMAGES | DOCUMENTS

# What a name may end with for each content; a name without an extension is judged by content alone.
EXTENSIONS = {
    "image/png": {"png"},
    "image/jpeg": {"jpg", "jpeg", "jpe", "jfif"},
    "image/gif": {"gif"},
    "image/webp": {"webp"},
    PDF: {"pdf"},
    DOCX: {"docx"},
    XLSX: {"xlsx", "xlsm"},
    PPTX: {"pptx"},
    DOC: {"doc"},
    XLS: {"xls"},
    PPT: {"ppt"},
    ODT: {"odt"},
    ODS: {"ods"},
    TEXT: {"txt", "text", "csv", "log", "md"},
}
_LABELS = {
    "image/png": "a PNG image",
    "image/jpeg": "a JPEG image",
    "image/gif": "a GIF image",
    "image/webp": "a WebP image",
    PDF: "a PDF",
    DOCX: "a Word document",
    XLSX: "an Excel workbook",
    PPTX: "a PowerPoint presentation",
    DOC: "a Word document",
    XLS: "an Excel workbook",
    PPT: "a PowerPoint presentation",
    ODT: "an OpenDocument text",
    ODS: "an OpenDocument spreadsheet",
    TEXT: "plain text",
    HTML: "a web page or script",
    "application/x-msdownload": "a Windows program",
    "application/x-executable": "a program",
    "application/zip": "a zip archive",
    "image/svg+xml": "an SVG drawing",
    "image/bmp": "a BMP image",
}
_DESCRIPTIONS = [
    (ATTACHMENTS, "a PDF, an image, an office document or plain text"),
    (IMAGES, "a PNG, JPEG, GIF or WebP image"),
]
# Zipped office formats are told apart by the part every one of them must hold.
_ZIPPED = {"xl/workbook.xml": XLSX, "word/document.xml": DOCX, "ppt/presentation.xml": PPTX}
# Text that a browser would run: refused even as "plain text", whatever its name.
_MARKUP = (b"<script", b"<html", b"<!doctype", b"<svg", b"<iframe", b"<body", b"<img", b"<object",
           b"<embed", b"javascript:", b"<?xml")  # fmt: skip


def max_upload_bytes():
    return int(getattr(settings, "UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))


def upload_limit():
    """The upload size limit as people read it ("10 MB"), for help texts: it follows UPLOAD_MAX_BYTES."""
    return _size(max_upload_bytes())


# For form help texts, which are built when the module is imported.
upload_limit_lazy = lazy(upload_limit, str)


def _size(size, *, exact=True):
    """10 MB, 64 KB: limits said as set; a file's own size rounded (12.3 MB, 70 KB)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):{'g' if exact else '.1f'}} MB"
    return f"{size / 1024:{'g' if exact else '.0f'}} KB"


def _extension(name):
    return PurePath(name or "").suffix.lower().lstrip(".")


def _head(upload, size=8192):
    upload.seek(0)
    head = upload.read(size)
    upload.seek(0)
    return head


def _zipped_office(upload):
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        upload.seek(0)
    for part, content_type in _ZIPPED.items():
        if part in names:
            return content_type
    return "application/zip"


def _is_text(head):
    if not head or b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a cut multi-byte char is fine
    except UnicodeDecodeError:
        return False
    return True


def looks_like_markup(head):
    lowered = head.lower()
    return lowered.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") or any(tag in lowered for tag in _MARKUP)


def sniff_content_type(upload):
    """The type the bytes say (a MIME type), "text/html" for markup, or None for unknown binary."""
    head = _head(upload)
    if head.startswith(b"PK\x03\x04"):
        zipped = _zipped_office(upload)
        if zipped != "application/zip":
            return zipped
        guessed = filetype.guess(head)  # OpenDocument files say their type at the start
        return guessed.mime if guessed and guessed.mime in OFFICE else zipped
    guessed = filetype.guess(head)
    if guessed is not None:
        return guessed.mime
    if _is_text(head):
        return HTML if looks_like_markup(head) else TEXT
    return None


def _describe(allowed):
    for kinds, words in _DESCRIPTIONS:
        if set(allowed) == kinds:
            return words
    labels = sorted({_LABELS.get(kind, kind) for kind in allowed})
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def _check_size(upload, max_bytes):
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    if upload.size > limit:
        raise ValidationError(
            f"{upload.name} is larger than {_size(limit)} ({_size(upload.size, exact=False)}): "
            "make it smaller or send it in parts."
        )
    if upload.size == 0:
        raise ValidationError(f"{upload.name} is empty.")


def check_upload(upload, *, allowed=ATTACHMENTS, max_bytes=None):
    """Return the real content type of `upload`, or raise ValidationError naming the file and why."""
    _check_size(upload, max_bytes)
    content_type = sniff_content_type(upload)
    if content_type not in allowed:
        found = _LABELS.get(content_type)
        raise ValidationError(
            f"{upload.name} is not an accepted kind of file: it is not {_describe(allowed)}"
            + (f" but {found}." if found else ".")
        )
    extension = _extension(upload.name)
    if extension and extension not in EXTENSIONS.get(content_type, ()):
        raise ValidationError(
            f"{upload.name} is not an accepted kind of file: it is named .{extension} but holds "
            f"{_LABELS.get(content_type, content_type)}. Upload the original file, not a renamed one."
        )
    return content_type


def check_spreadsheet(upload, *, max_bytes=None):
    """An import file: an Excel workbook that opens as one, or CSV text. Returns "xlsx" or "csv"."""
    from openpyxl import load_workbook

    _check_size(upload, max_bytes)
    refused = f"{upload.name} is not an Excel (.xlsx) or CSV file"
    head, extension = _head(upload), _extension(upload.name)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(upload) as archive:
                is_workbook = "xl/workbook.xml" in archive.namelist()
            if is_workbook:
                upload.seek(0)
                load_workbook(io.BytesIO(upload.read()), read_only=True).close()
        except Exception:  # any failure to open means it is not a workbook we can read
            is_workbook = False
        finally:
            upload.seek(0)
        if not is_workbook:
            raise ValidationError(f"{refused}: it is not a readable Excel workbook.")
        if extension and extension not in EXTENSIONS[XLSX]:
            raise ValidationError(f"{refused}: it is an Excel workbook named .{extension}; name it .xlsx.")
        return "xlsx"
    guessed = filetype.guess(head)
    if guessed is not None or b"\x00" in head:
        found = _LABELS.get(guessed.mime, "binary data") if guessed else "binary data"
        raise ValidationError(f"{refused}: it is neither an Excel workbook nor CSV text but {found}.")
    if looks_like_markup(head):
        raise ValidationError(f"{refused}: it holds a web page or script, not a table.")
    if extension and extension not in {"csv", "txt"}:
        raise ValidationError(
            f"{refused}: it holds text but is named .{extension}; save it as .csv or as an Excel workbook."
        )
    return "csv"
