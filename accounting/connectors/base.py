"""The one interface the sync talks to; each accounting system implements it in its own module.

Records cross the interface in one plain shape (ExternalRecord) whatever the provider calls its
fields, with amounts as Decimal and days as date, so the sync never knows which system it reads.

Normalised `data` per kind (missing keys: unknown / not sent):
- contact: name, number (the contact number / account number), email, phone, currency
- invoice: number, contact_id, issue_date, due_date, currency, exchange_rate (base per unit),
  subtotal, tax, total, amount_paid, amount_credited, amount_due, status (draft, open, paid, void),
  reference, lines: [{description, quantity, unit_price, amount}]
- payment: contact_id, date, amount, currency, reference, allocations: [{invoice_id, amount}]
- credit_note: number, contact_id, date, currency, total, remaining, status (draft, approved,
  void), allocations: [{invoice_id, amount}]
Ids inside data (contact_id, invoice_id) are the provider's ids.
"""

import datetime as dt
from dataclasses import dataclass, field

KINDS = ("contact", "invoice", "payment", "credit_note")


@dataclass(frozen=True)
class ExternalRecord:
    kind: str  # one of KINDS
    external_id: str
    # what the provider uses to spot a stale write: Xero's UpdatedDateUTC, QuickBooks' SyncToken
    version: str
    updated_at: dt.datetime  # aware, UTC
    data: dict = field(default_factory=dict)
    # deleted, voided or archived at the provider: the sync makes it void here
    tombstone: bool = False
    # the contact this one was merged into (Xero's MergedToContactID)
    merged_into: str | None = None


@dataclass(frozen=True)
class Page:
    records: list
    # where to continue: pass it back as `page_token`; None when this was the last page
    next_page: str | None
    # where a new listing may start once this page is committed: the latest change this page and
    # the ones before it hold (listings come oldest change first); None to keep the stored one
    cursor: str | None


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: dt.datetime  # aware, UTC


class ConnectorError(Exception):
    """The provider refused or failed a call. `retry_after` (seconds) when it asked to wait."""

    def __init__(self, message, *, status=None, retry_after=None, retryable=False):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.retryable = retryable


class RateLimited(ConnectorError):
    """HTTP 429: wait `retry_after` seconds and try the same call again."""


class TokenExpired(ConnectorError):
    """HTTP 401 on an access token: refresh the tokens once and try again."""


class StaleVersion(ConnectorError):
    """The record changed at the provider since it was read (QuickBooks 5010): re-read, retry."""


class Connector:
    """What the sync needs from an accounting system. Every call may raise ConnectorError."""

    provider = ""
    access_token = ""
    # the provider's limit per organisation; the sync keeps under it with a token bucket
    calls_per_minute = 60

    def use_tokens(self, tokens):
        """Carry on with freshly refreshed tokens (the sync saved them already)."""
        self.access_token = tokens.access_token

    # --- OAuth 2.0 (authorization-code flow) ---
    def authorization_url(self, *, state, redirect_uri):
        raise NotImplementedError

    def exchange_code(self, *, code, redirect_uri) -> Tokens:
        raise NotImplementedError

    def refresh(self, refresh_token) -> Tokens:
        raise NotImplementedError

    def tenants(self, tokens) -> list:
        """[(tenant id, name), …] the tokens may reach (Xero connections; QuickBooks: the realm)."""
        raise NotImplementedError

    # --- reading ---
    def changes(self, kind, *, cursor, page_token=None) -> Page:
        """One page of the records of `kind` changed since `cursor` (None: everything)."""
        raise NotImplementedError

    def get(self, kind, external_id) -> ExternalRecord | None:
        raise NotImplementedError

    # --- writing (each write carries an idempotency key: sent twice, it happens once) ---
    def upsert(
        self, kind, data, *, idempotency_key, external_id=None, expected_version=None
    ) -> ExternalRecord:
        raise NotImplementedError

    def void(self, kind, external_id, *, idempotency_key, expected_version=None) -> ExternalRecord:
        raise NotImplementedError

    def allocate_credit(self, credit_note_id, invoice_id, amount, *, idempotency_key) -> ExternalRecord:
        raise NotImplementedError

    # --- webhooks ---
    def verify_webhook(self, body: bytes, headers) -> bool:
        raise NotImplementedError
