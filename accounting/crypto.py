"""Provider tokens are encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256) with a key from the
settings, ACCOUNTING_TOKEN_KEY; without one, a key derived from SECRET_KEY, so a fresh install
works and a leaked database alone does not give away the tokens."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


def _fernet():
    key = getattr(settings, "ACCOUNTING_TOKEN_KEY", "") or ""
    if not key:
        digest = hashlib.sha256(b"peakflo accounting tokens:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key.encode())


def encrypt(text):
    return _fernet().encrypt(text.encode()).decode() if text else ""


def decrypt(token):
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("The stored token cannot be read with this ACCOUNTING_TOKEN_KEY.") from error


class EncryptedTextField(models.TextField):
    """Text stored encrypted; read and written as plain text in Python."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else ""

    def get_prep_value(self, value):
        return encrypt(value) if value else ""
