"""Uploads are checked by what they contain, not by their name, and by size."""

import zipfile

from django.core.exceptions import ValidationError

MAX_FILE_BYTES = 10 * 1024 * 1024

_SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
]
_OFFICE = {
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
DOCUMENTS = {"application/pdf", "text/plain", *_OFFICE.values()}


def sniff_content_type(upload):
    """The type the bytes say, or None when they match nothing we accept."""
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(upload).namelist()
        except zipfile.BadZipFile:
            return None
        finally:
            upload.seek(0)
        for prefix, content_type in _OFFICE.items():
            if any(name.startswith(prefix) for name in names):
                return content_type
        return None
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text/plain"
        except UnicodeDecodeError:
            return None
    return None


def check_upload(upload, *, allowed=IMAGES | DOCUMENTS, max_bytes=MAX_FILE_BYTES):
    """Return the real content type of `upload`, or raise ValidationError naming the file."""
    if upload.size > max_bytes:
        raise ValidationError(
            f"{upload.name} is {upload.size / 1024 / 1024:.1f} MB; the limit is {max_bytes // (1024 * 1024)} MB."
        )
    if upload.size == 0:
        raise ValidationError(f"{upload.name} is empty.")
    content_type = sniff_content_type(upload)
    if content_type not in allowed:
        raise ValidationError(
            f"{upload.name} is not an accepted kind of file: upload an image (PNG, JPEG, GIF, WebP), "
            "a PDF, a Word or Excel document, or plain text."
        )
    return content_type
