"""Xero: OAuth 2.0 with plain HTTP, the Accounting API through the official xero-python SDK.

Reading: `changes` asks for what changed since the cursor with `If-Modified-Since` set a little
before it (OVERLAP), because Xero compares to the second while UpdatedDateUTC has milliseconds and
writes land while we read. Records at the edge come back twice: the caller de-duplicates by
external id and version. It pages (100 a page, oldest change first) until a page holds fewer than
100. Each page gives the latest UpdatedDateUTC seen so far as the cursor (the old one when nothing
changed): pages come oldest change first, so once a page is committed nothing older than its
cursor is still unread, and a run that dies half way resumes from the last committed page.

Xero pages by offset, and a record changed while we page moves to the end: every record behind it
shifts back by one, and the first of the next page would slip onto a page already read, unseen.
So a full page is followed by reading again from the second before its last change (page 1 of a
later If-Modified-Since: what is behind that point cannot shift past it), and by the next page
number only when the whole page changed within those two seconds (a burst, where re-reading
would cost more than it saves). The price is a few records read twice at each page's edge, which
the caller skips as it does the overlap's.

Errors become the interface's: 429 → RateLimited(retry_after from Retry-After), 401 →
TokenExpired (refresh once, then retry), 5xx, timeouts and dropped connections →
ConnectorError(retryable=True), 400 → ConnectorError with Xero's validation messages. The SDK's own
retries are off so the sync decides when to retry.

Writing: every write carries the caller's Idempotency-Key. Xero has no conditional write, so an
`expected_version` is checked by reading the record first (a narrow race remains).
"""

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal
from urllib.parse import urlencode

import requests
import urllib3
from django.conf import settings
from xero_python.accounting import (
    Account,
    AccountingApi,
    Allocation,
    Allocations,
    Contact,
    Contacts,
    CreditNote,
    CreditNotes,
    CurrencyCode,
    Invoice,
    Invoices,
    LineAmountTypes,
    LineItem,
    Payment,
    PaymentDelete,
    Phone,
)
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import ApiException

from .base import (
    Connector,
    ConnectorError,
    ExternalRecord,
    Page,
    RateLimited,
    StaleVersion,
    TokenExpired,
    Tokens,
)

SCOPES = (
    "openid profile email offline_access accounting.transactions accounting.contacts accounting.settings.read"
)
PAGE_SIZE = 100
# How far before the cursor each incremental read starts (see the module's docstring).
OVERLAP = dt.timedelta(seconds=2)

INVOICE_STATUS = {
    "DRAFT": "draft",
    "SUBMITTED": "draft",
    "AUTHORISED": "open",
    "PAID": "paid",
    "VOIDED": "void",
    "DELETED": "void",
}
CREDIT_STATUS = {
    "DRAFT": "draft",
    "SUBMITTED": "draft",
    "AUTHORISED": "approved",
    "PAID": "approved",
    "VOIDED": "void",
    "DELETED": "void",
}
TOMBSTONES = {"VOIDED", "DELETED", "ARCHIVED", "GDPRREQUEST"}


def _utc(moment):
    return moment.astimezone(dt.UTC) if moment else None


def _version(moment):
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def parse_cursor(cursor):
    if cursor in (None, ""):
        return None
    moment = cursor if isinstance(cursor, dt.datetime) else dt.datetime.fromisoformat(str(cursor))
    return moment.replace(tzinfo=moment.tzinfo or dt.UTC).astimezone(dt.UTC)


def _value(enum_or_str):
    return getattr(enum_or_str, "value", enum_or_str)


# The SDK's models default these read-only flags to False and would send them; Xero's schema
# marks them read-only, so they are cleared before a write.
READ_ONLY_FLAGS = ("has_attachments", "is_discounted", "sent_to_contact")


def _writable(model):
    for name in READ_ONLY_FLAGS:
        if name in getattr(model, "openapi_types", {}):
            setattr(model, "_" + name, None)
    for name in getattr(model, "openapi_types", {}):
        value = getattr(model, "_" + name, None)
        for child in value if isinstance(value, list) else [value]:
            if hasattr(child, "openapi_types"):
                _writable(child)
    return model


def _amount(value):
    return Decimal(str(value)).quantize(Decimal("0.01")) if value is not None else None


class XeroConnector(Connector):
    provider = "xero"
    calls_per_minute = 60  # and 5 at once, 5,000 a day: the sync makes one call at a time

    def __init__(
        self,
        tenant_id=None,
        access_token=None,
        *,
        payment_account_code="090",
        sales_account_code="200",
        timeout=None,
    ):
        self.tenant_id = tenant_id
        self.access_token = access_token
        # The bank account payments pushed from here are paid into, and the sales account of lines.
        self.payment_account_code = payment_account_code
        self.sales_account_code = sales_account_code
        self.timeout = timeout if timeout is not None else settings.ACCOUNTING_HTTP_TIMEOUT_SECONDS
        self._api = None

    # --- OAuth 2.0 ---------------------------------------------------------------------------------
    def authorization_url(self, *, state, redirect_uri):
        query = urlencode(
            {
                "response_type": "code",
                "client_id": settings.XERO_CLIENT_ID,
                "redirect_uri": redirect_uri,
                "scope": settings.XERO_SCOPES or SCOPES,
                "state": state,
            }
        )
        return f"{settings.XERO_LOGIN_URL}/identity/connect/authorize?{query}"

    def exchange_code(self, *, code, redirect_uri):
        return self._token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})

    def refresh(self, refresh_token):
        """A new pair; the old refresh token is spent by this call whatever happens next, so the
        caller saves the new pair at once."""
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def _token(self, form):
        answer = self._http(
            "post",
            f"{settings.XERO_IDENTITY_URL}/connect/token",
            data=form,
            auth=(settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET),
        )
        if answer.status_code != 200:
            try:
                reason = answer.json().get("error", "")
            except ValueError:
                reason = answer.text[:200]
            raise ConnectorError(
                f"Xero refused the {form['grant_type'].replace('_', ' ')} ({reason or answer.status_code})",
                status=answer.status_code,
                retryable=answer.status_code >= 500,
            )
        data = answer.json()
        return Tokens(
            access_token=data["access_token"],
            refresh_token=data["refresh_token"],
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(data.get("expires_in", 1800))),
        )

    def tenants(self, tokens):
        access_token = getattr(tokens, "access_token", tokens)
        answer = self._http(
            "get", f"{settings.XERO_API_URL}/connections", headers={"Authorization": f"Bearer {access_token}"}
        )
        if answer.status_code == 401:
            raise TokenExpired("Xero refused the access token", status=401)
        if answer.status_code != 200:
            raise ConnectorError(
                f"Xero did not list the organisations ({answer.status_code})",
                status=answer.status_code,
                retryable=answer.status_code >= 500,
            )
        return [
            (c["tenantId"], c.get("tenantName") or "")
            for c in answer.json()
            if c.get("tenantType") == "ORGANISATION"
        ]

    def _http(self, method, url, **kwargs):
        try:
            return requests.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise ConnectorError(f"Xero did not answer: {error}", retryable=True) from error

    # --- the SDK -----------------------------------------------------------------------------------
    @property
    def api(self):
        if self._api is None:
            token = OAuth2Token(client_id=settings.XERO_CLIENT_ID, client_secret=settings.XERO_CLIENT_SECRET)
            client = ApiClient(
                Configuration(oauth2_token=token),
                oauth2_token_getter=self._sdk_token,
                oauth2_token_saver=lambda _token: None,
            )
            # No hidden retries (urllib3 retries a GET that timed out): the sync decides.
            client.rest_client.pool_manager = urllib3.PoolManager(num_pools=4, maxsize=4, retries=False)
            self._api = AccountingApi(client, base_url=settings.XERO_API_URL + "/api.xro/2.0")
        return self._api

    def _sdk_token(self):
        # No refresh token and no expiry here: the SDK never refreshes on its own; a 401 becomes
        # TokenExpired and the sync refreshes and saves the new pair.
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "scope": SCOPES,
            "expires_in": None,
        }

    def _call(self, method, *args, **kwargs):
        if not self.tenant_id or not self.access_token:
            raise ConnectorError("The Xero connection has no organisation or access token")
        args = [_writable(a) if hasattr(a, "openapi_types") else a for a in args]
        try:
            return getattr(self.api, method)(
                self.tenant_id, *args, _request_timeout=(self.timeout, self.timeout), **kwargs
            )
        except ApiException as error:
            raise self._error(error) from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise ConnectorError(f"Xero did not answer: {error}", retryable=True) from error

    @staticmethod
    def _error(error):
        status = getattr(error.http_resp, "status", None) or error.status
        headers = error.headers or {}
        body = error.body
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        if status == 429:
            wait = headers.get("Retry-After")
            problem = headers.get("X-Rate-Limit-Problem") or "rate"
            return RateLimited(
                f"Xero's {problem} limit was reached",
                status=429,
                retry_after=int(float(wait)) if wait else 60,
                retryable=True,
            )
        if status == 401:
            detail = ""
            with contextlib.suppress(TypeError, ValueError, AttributeError):
                detail = json.loads(body).get("Detail") or ""
            return TokenExpired(f"Xero refused the access token: {detail or 'unauthorised'}", status=401)
        if status and status >= 500:
            return ConnectorError(f"Xero failed ({status})", status=status, retryable=True)
        if status == 400:
            messages = []
            try:
                data = json.loads(body)
                for element in data.get("Elements") or []:
                    messages += [v.get("Message", "") for v in element.get("ValidationErrors") or []]
                messages = messages or [data.get("Message") or ""]
            except (TypeError, ValueError, AttributeError):
                messages = [str(body)[:200]]
            return ConnectorError("Xero refused it: " + " ".join(m for m in messages if m), status=400)
        if status == 404:
            return ConnectorError("Not found in Xero", status=404)
        return ConnectorError(f"Xero answered {status}", status=status)

    # --- reading -----------------------------------------------------------------------------------
    LISTS = {
        "contact": ("get_contacts", "contacts", {"include_archived": True}),
        "invoice": ("get_invoices", "invoices", {"include_archived": True}),
        "payment": ("get_payments", "payments", {}),
        "credit_note": ("get_credit_notes", "credit_notes", {}),
    }
    GETS = {
        "contact": ("get_contact", "contacts"),
        "invoice": ("get_invoice", "invoices"),
        "payment": ("get_payment", "payments"),
        "credit_note": ("get_credit_note", "credit_notes"),
    }

    def changes(self, kind, *, cursor, page_token=None):
        method, attribute, extra = self.LISTS[kind]
        if page_token:
            state = json.loads(page_token)
        else:
            start = parse_cursor(cursor)
            since = (start - OVERLAP).strftime("%Y-%m-%dT%H:%M:%S") if start else None
            state = {"page": 1, "since": since, "seen": _version(start) if start else None}
        if state["since"]:
            extra = {**extra, "if_modified_since": state["since"]}
        answer = self._call(method, page=state["page"], order="UpdatedDateUTC ASC", **extra)
        items = getattr(answer, attribute) or []
        records = [r for r in (self._record(kind, item) for item in items) if r is not None]
        seen = parse_cursor(state["seen"])
        for item in items:  # bills and their payments too: they move the cursor as well
            updated = _utc(item.updated_date_utc)
            if updated and (seen is None or updated > seen):
                seen = updated
        seen_text = _version(seen) if seen else None
        if len(items) < PAGE_SIZE:
            return Page(records=records, next_page=None, cursor=seen_text)
        changed = [_utc(item.updated_date_utc) for item in items]
        edge = max(changed).replace(microsecond=0) - dt.timedelta(seconds=1)
        if min(changed) < edge:
            # read on from just before this page's last change: only its own tail comes back
            since = edge.strftime("%Y-%m-%dT%H:%M:%S")
            next_state = {"page": 1, "since": since, "seen": seen_text}
        else:  # the whole page changed within two seconds: the next page of the same listing
            next_state = {"page": state["page"] + 1, "since": state["since"], "seen": seen_text}
        return Page(records=records, next_page=json.dumps(next_state), cursor=seen_text)

    def get(self, kind, external_id):
        method, attribute = self.GETS[kind]
        try:
            answer = self._call(method, external_id)
        except ConnectorError as error:
            if error.status == 404:
                return None
            raise
        items = getattr(answer, attribute) or []
        return self._record(kind, items[0], keep_all=True) if items else None

    def _record(self, kind, item, keep_all=False):
        """The interface's record for one SDK object; None for what the sync does not keep
        (supplier bills, their payments and credit notes)."""
        updated = _utc(item.updated_date_utc)
        if kind == "contact":
            phones = [p for p in item.phones or [] if p.phone_number]
            default = next(
                (p for p in phones if _value(p.phone_type) == "DEFAULT"), phones[0] if phones else None
            )
            phone = (
                " ".join(
                    x
                    for x in (default.phone_country_code, default.phone_area_code, default.phone_number)
                    if x
                )
                if default
                else ""
            )
            data = {
                "name": item.name or "",
                "number": item.contact_number or item.account_number or "",
                "email": item.email_address or "",
                "phone": phone,
                "currency": _value(item.default_currency) or "",
            }
            status, merged = _value(item.contact_status), item.merged_to_contact_id
        elif kind == "invoice":
            if _value(item.type) != "ACCREC" and not keep_all:
                return None
            rate = item.currency_rate
            data = {
                "number": item.invoice_number or "",
                "contact_id": str(item.contact.contact_id) if item.contact else None,
                "issue_date": item.date,
                "due_date": item.due_date,
                "currency": _value(item.currency_code),
                # Xero's CurrencyRate is units of this currency per unit of the base one
                "exchange_rate": (Decimal(1) / Decimal(str(rate))).quantize(Decimal("0.00000001"))
                if rate
                else Decimal(1),
                "subtotal": _amount(item.sub_total),
                "tax": _amount(item.total_tax),
                "total": _amount(item.total),
                "amount_paid": _amount(item.amount_paid or 0),
                "amount_credited": _amount(item.amount_credited or 0),
                "amount_due": _amount(item.amount_due or 0),
                "status": INVOICE_STATUS.get(_value(item.status), "draft"),
                "reference": item.reference or "",
                "lines": [
                    {
                        "description": line.description or "",
                        "quantity": Decimal(str(line.quantity)) if line.quantity is not None else Decimal(1),
                        "unit_price": Decimal(str(line.unit_amount))
                        if line.unit_amount is not None
                        else None,
                        "amount": _amount(line.line_amount),
                    }
                    for line in item.line_items or []
                ],
            }
            status, merged = _value(item.status), None
        elif kind == "payment":
            if _value(item.payment_type) not in (None, "ACCRECPAYMENT") and not keep_all:
                return None
            invoice = item.invoice
            data = {
                "contact_id": str(invoice.contact.contact_id) if invoice and invoice.contact else None,
                "date": item.date,
                "amount": _amount(item.amount),
                "currency": _value(invoice.currency_code) if invoice else None,
                "reference": item.reference or "",
                "allocations": [{"invoice_id": str(invoice.invoice_id), "amount": _amount(item.amount)}]
                if invoice
                else [],
            }
            status, merged = _value(item.status), None
        else:
            if _value(item.type) != "ACCRECCREDIT" and not keep_all:
                return None
            data = {
                "number": item.credit_note_number or "",
                "contact_id": str(item.contact.contact_id) if item.contact else None,
                "date": item.date,
                "currency": _value(item.currency_code),
                "total": _amount(item.total),
                "remaining": _amount(item.remaining_credit or 0),
                "status": CREDIT_STATUS.get(_value(item.status), "draft"),
                "allocations": [
                    {"invoice_id": str(a.invoice.invoice_id), "amount": _amount(a.amount)}
                    for a in item.allocations or []
                    if a.invoice and not a.is_deleted
                ],
            }
            status, merged = _value(item.status), None
        external_id = str(
            getattr(
                item,
                {
                    "contact": "contact_id",
                    "invoice": "invoice_id",
                    "payment": "payment_id",
                    "credit_note": "credit_note_id",
                }[kind],
            )
        )
        return ExternalRecord(
            kind=kind,
            external_id=external_id,
            version=_version(updated),
            updated_at=updated,
            data=data,
            tombstone=status in TOMBSTONES,
            merged_into=str(merged) if merged else None,
        )

    # --- writing -----------------------------------------------------------------------------------
    def _check_version(self, kind, external_id, expected_version):
        current = self.get(kind, external_id)
        if current is None:
            raise ConnectorError(f"The {kind.replace('_', ' ')} {external_id} is not in Xero", status=404)
        if expected_version and current.version != expected_version:
            raise StaleVersion(
                f"The {kind.replace('_', ' ')} changed in Xero since it was read "
                f"({current.version}, not {expected_version})"
            )
        return current

    def upsert(self, kind, data, *, idempotency_key, external_id=None, expected_version=None):
        if external_id and expected_version:
            self._check_version(kind, external_id, expected_version)
        if kind == "contact":
            contact = Contact(contact_id=external_id, name=data.get("name"))
            if data.get("number"):
                contact.contact_number = data["number"]
            if data.get("email") is not None:
                contact.email_address = data["email"]
            if data.get("phone"):
                contact.phones = [Phone(phone_type="DEFAULT", phone_number=data["phone"])]
            if data.get("currency"):
                contact.default_currency = CurrencyCode(data["currency"])
            try:
                answer = self._call(
                    "update_or_create_contacts", Contacts(contacts=[contact]), idempotency_key=idempotency_key
                )
            except ConnectorError as error:
                if error.status == 400 and "already assigned to another contact" in str(error):
                    raise ConnectorError(
                        f"Xero already has an active contact named {data.get('name')!r}: match the customer "
                        f"to it instead of creating another ({error})",
                        status=400,
                    ) from error
                raise
            return self._record("contact", answer.contacts[0], keep_all=True)
        if kind == "invoice":
            invoice = Invoice(
                type="ACCREC",
                invoice_id=external_id,
                contact=Contact(contact_id=data["contact_id"]) if data.get("contact_id") else None,
                invoice_number=data.get("number") or None,
                reference=data.get("reference"),
                date=data.get("issue_date"),
                due_date=data.get("due_date"),
                currency_code=CurrencyCode(data["currency"]) if data.get("currency") else None,
                status={"draft": "DRAFT", "open": "AUTHORISED"}.get(data.get("status", "open"), "AUTHORISED"),
                line_items=self._lines(data.get("lines")) if data.get("lines") else None,
            )
            if external_id:
                answer = self._call(
                    "update_invoice",
                    external_id,
                    Invoices(invoices=[invoice]),
                    idempotency_key=idempotency_key,
                )
            else:
                answer = self._call(
                    "create_invoices", Invoices(invoices=[invoice]), idempotency_key=idempotency_key
                )
            return self._record("invoice", answer.invoices[0], keep_all=True)
        if kind == "payment":
            if external_id:
                raise ConnectorError("Xero does not change a payment: delete it and record another")
            allocations = data.get("allocations") or []
            if len(allocations) != 1:
                raise ConnectorError("A Xero payment pays exactly one invoice: push one payment per invoice")
            payment = Payment(
                invoice=Invoice(invoice_id=allocations[0]["invoice_id"]),
                account=Account(code=data.get("account_code") or self.payment_account_code),
                date=data.get("date"),
                amount=Decimal(str(allocations[0]["amount"])),
                reference=data.get("reference") or None,
            )
            answer = self._call("create_payment", payment, idempotency_key=idempotency_key)
            return self._record("payment", answer.payments[0], keep_all=True)
        if kind == "credit_note":
            lines = data.get("lines") or [
                {
                    "description": data.get("description")
                    or data.get("reason")
                    or f"Credit note {data.get('number', '')}".strip(),
                    "quantity": 1,
                    "unit_price": data["total"],
                }
            ]
            credit = CreditNote(
                type="ACCRECCREDIT",
                credit_note_id=external_id,
                contact=Contact(contact_id=data["contact_id"]) if data.get("contact_id") else None,
                credit_note_number=data.get("number") or None,
                reference=data.get("reference"),
                date=data.get("date"),
                currency_code=CurrencyCode(data["currency"]) if data.get("currency") else None,
                status={"draft": "DRAFT", "approved": "AUTHORISED"}.get(
                    data.get("status", "approved"), "AUTHORISED"
                ),
                # a credit note given by its total: the total includes any tax, as it does here
                line_amount_types=None if data.get("lines") else LineAmountTypes("Inclusive"),
                line_items=self._lines(lines),
            )
            if external_id:
                answer = self._call(
                    "update_credit_note",
                    external_id,
                    CreditNotes(credit_notes=[credit]),
                    idempotency_key=idempotency_key,
                )
            else:
                answer = self._call(
                    "create_credit_notes", CreditNotes(credit_notes=[credit]), idempotency_key=idempotency_key
                )
            return self._record("credit_note", answer.credit_notes[0], keep_all=True)
        raise ValueError(f"Unknown kind {kind!r}")

    def _lines(self, lines):
        return [
            LineItem(
                description=line.get("description") or "",
                quantity=Decimal(str(line.get("quantity", 1))),
                unit_amount=Decimal(str(line.get("unit_price", line.get("amount", 0)))),
                account_code=line.get("account_code") or self.sales_account_code,
            )
            for line in lines
        ]

    def void(self, kind, external_id, *, idempotency_key, expected_version=None):
        current = self._check_version(kind, external_id, expected_version)
        if current.tombstone:
            return current  # already void in Xero: nothing to do, so a repeat is harmless
        if kind == "payment":
            answer = self._call(
                "delete_payment",
                external_id,
                PaymentDelete(status="DELETED"),
                idempotency_key=idempotency_key,
            )
            return self._record("payment", answer.payments[0], keep_all=True)
        if kind == "contact":
            contact = Contact(contact_id=external_id, contact_status="ARCHIVED")
            answer = self._call(
                "update_contact", external_id, Contacts(contacts=[contact]), idempotency_key=idempotency_key
            )
            return self._record("contact", answer.contacts[0], keep_all=True)
        status = "DELETED" if current.data.get("status") == "draft" else "VOIDED"
        if kind == "invoice":
            invoice = Invoice(invoice_id=external_id, status=status)
            answer = self._call(
                "update_invoice", external_id, Invoices(invoices=[invoice]), idempotency_key=idempotency_key
            )
            return self._record("invoice", answer.invoices[0], keep_all=True)
        credit = CreditNote(credit_note_id=external_id, status=status)
        answer = self._call(
            "update_credit_note",
            external_id,
            CreditNotes(credit_notes=[credit]),
            idempotency_key=idempotency_key,
        )
        return self._record("credit_note", answer.credit_notes[0], keep_all=True)

    def allocate_credit(self, credit_note_id, invoice_id, amount, *, idempotency_key):
        allocation = Allocation(
            invoice=Invoice(invoice_id=invoice_id),
            amount=Decimal(str(amount)),
            date=dt.datetime.now(dt.UTC).date(),
        )
        self._call(
            "create_credit_note_allocation",
            credit_note_id,
            Allocations(allocations=[allocation]),
            idempotency_key=idempotency_key,
        )
        return self.get("credit_note", credit_note_id)

    # --- webhooks ----------------------------------------------------------------------------------
    def verify_webhook(self, body, headers):
        """Xero signs the raw body: base64(HMAC-SHA256(body, webhook key)) in x-xero-signature."""
        key = settings.XERO_WEBHOOK_KEY
        signature = next((v for k, v in dict(headers).items() if k.lower() == "x-xero-signature"), None)
        if not key or not signature:
            return False
        expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected.encode(), signature.encode())
