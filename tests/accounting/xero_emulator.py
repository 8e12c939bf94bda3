"""A local, stateful Xero for the tests: OAuth 2.0, the connections list and the Accounting API's
Contacts, Invoices (ACCREC), Payments and CreditNotes, served over real HTTP on 127.0.0.1.

It keeps its own books per tenant and answers in the API's JSON shapes: `/Date(ms+0000)/` dates,
`If-Modified-Since` (records whose UpdatedDateUTC is at or after it, to the second), `page` (100 a
page, oldest change first, then by id), `Idempotency-Key` (a repeated key gets the first answer and
changes nothing), tombstones (VOIDED / DELETED invoices and credit notes, DELETED payments, ARCHIVED
contacts, shown with `includeArchived=true` as the connector asks), contact merges
(`MergedToContactID`) and the refusal of a second active contact with the same name.

Limits as Xero publishes them, per tenant: 60 calls a minute, 5 at once, 5,000 a day (429 with
`Retry-After` and `X-Rate-Limit-Problem`). Test hooks inject faults (`fail_next`, `slow_next`,
`expire_access_token`) and change the books "from the Xero side" (`add_*`, `update`, `void`,
`merge_contacts`) without counting against the limits.

With a `XeroSpec`, every request body and every documented response body (200 and 400) is
validated against the schemas of Xero's published OpenAPI files; mismatches are collected in
`validation_errors` and the fixture fails the test that caused them. 401, 403, 404, 429 and 5xx
answers are not in the spec, so they are shaped after what the API is seen to send.
"""

import base64
import bisect
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import traceback
import uuid
from collections import deque
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

SPECS = Path(__file__).parent / "specs" / "xero"
API_PREFIX = "/api.xro/2.0"
PAGE_SIZE = 100
CENT = Decimal("0.01")
COLLECTIONS = {
    "Contacts": "contact",
    "Invoices": "invoice",
    "Payments": "payment",
    "CreditNotes": "credit_note",
}
ID_FIELD = {
    "contact": "ContactID",
    "invoice": "InvoiceID",
    "payment": "PaymentID",
    "credit_note": "CreditNoteID",
}


def ms_date(moment):
    """Xero's `/Date(1700000000000+0000)/` for an aware datetime (a date counts as its midnight UTC)."""
    if isinstance(moment, dt.date) and not isinstance(moment, dt.datetime):
        moment = dt.datetime(moment.year, moment.month, moment.day, tzinfo=dt.UTC)
    return f"/Date({int(round(moment.timestamp() * 1000))}+0000)/"


MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_date(value):
    """A day from `/Date(ms)/`, `2026-11-23` or `2026-11-23T00:00:00`."""
    if value in (None, ""):
        return None
    match = MS_DATE.match(str(value))
    if match:
        return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, tz=dt.UTC).date()
    return dt.date.fromisoformat(str(value)[:10])


def parse_if_modified_since(value):
    """Xero takes `2026-11-23T10:00:00` (UTC); an HTTP date works too."""
    value = value.strip()
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime

        moment = parsedate_to_datetime(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def webhook_signature(body, key):
    """What Xero puts in x-xero-signature: base64 of the HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def money(value):
    return Decimal(str(value if value is not None else 0)).quantize(CENT, ROUND_HALF_UP)


def to_json(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


class XeroSpec:
    """Xero's OpenAPI files loaded once (the accounting one is ~1 MB); validates bodies only."""

    def __init__(self):
        import yaml
        from openapi_core import Config, OpenAPI
        from openapi_core.validation.request.validators import V30RequestBodyValidator
        from openapi_core.validation.response.validators import V30ResponseDataValidator

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        config = Config(
            spec_validator_cls=None,  # the published files are trusted; checking them takes seconds
            request_validator_cls=V30RequestBodyValidator,
            response_validator_cls=V30ResponseDataValidator,
        )
        self.apis = {}
        for name in ("xero_accounting", "xero-identity"):
            with open(SPECS / f"{name}.yaml") as spec_file:
                self.apis[name] = OpenAPI.from_dict(yaml.load(spec_file, Loader=loader), config=config)
        with open(SPECS / "xero-webhooks.yaml") as spec_file:
            self.webhook_event = yaml.load(spec_file, Loader=loader)["components"]["schemas"]["WebhookEvent"]

    def webhook_errors(self, payload):
        """A webhook delivery against the webhooks spec's WebhookEvent (OpenAPI 3.1)."""
        from openapi_schema_validator import OAS31Validator

        validator = OAS31Validator(self.webhook_event, format_checker=OAS31Validator.FORMAT_CHECKER)
        return [
            f"webhook {'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(payload)
        ]

    def _api(self, path):
        return self.apis["xero_accounting" if path.startswith(API_PREFIX) else "xero-identity"]

    @staticmethod
    def _describe(error):
        details = getattr(error.__cause__, "schema_errors", None) or getattr(error, "schema_errors", None)
        if details:
            return f"{error}: " + "; ".join(
                f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in details
            )
        return f"{type(error).__name__}: {error}"

    def request_errors(self, method, path, body):
        from openapi_core.testing import MockRequest

        request = MockRequest("https://api.xero.com", method, path, data=body or None)
        try:
            self._api(path).validate_request(request)
        except Exception as error:  # noqa: BLE001 — every kind of mismatch is reported the same way
            return [f"request {method} {path}: {self._describe(error)}"]
        return []

    def response_errors(self, method, path, request_body, status, body):
        from openapi_core.testing import MockRequest, MockResponse

        request = MockRequest("https://api.xero.com", method, path, data=request_body or None)
        try:
            self._api(path).validate_response(request, MockResponse(body, status_code=status))
        except Exception as error:  # noqa: BLE001
            return [f"response {status} to {method} {path}: {self._describe(error)}"]
        return []


class XeroError(Exception):
    """A 400 ValidationException about one element."""

    def __init__(self, message, element=None):
        super().__init__(message)
        self.message = message
        self.element = element or {}


class Books:
    """One organisation's ledger, in Xero's own shapes (keys starting with _ are kept out of JSON)."""

    def __init__(self, tenant_id, name, currency):
        self.tenant_id = tenant_id
        self.name = name
        self.currency = currency
        self.records = {kind: {} for kind in ID_FIELD}
        self.idempotent = {}  # key -> (status, body bytes)
        self.calls = deque()  # monotonic times of the last minute's calls
        self.calls_today = 0
        self.in_flight = 0
        self.numbers = {"invoice": 0, "credit_note": 0}
        # indexes, so a book of 50,000 invoices is seeded and paged quickly
        self.invoice_numbers = {}  # InvoiceNumber -> InvoiceID
        self.active_names = {}  # lower-case name of an ACTIVE contact -> ContactID
        self.ordered = {}  # kind -> (revision, records by UpdatedDateUTC then id, their keys)


class XeroEmulator:
    def __init__(
        self,
        client_id="peakflo-test",
        client_secret="peakflo-test-secret",
        *,
        spec=None,
        access_token_seconds=1800,
        tenant_name="Demo Company (SG)",
        currency="SGD",
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.spec = spec
        self.validate = spec is not None
        self.validation_errors = []
        self.access_token_seconds = access_token_seconds
        self.calls_per_minute = 60
        self.concurrent_calls = 5
        self.calls_per_day = 5000
        self.lock = threading.RLock()
        self.tenant_id = str(uuid.uuid4())
        self.tenants = {self.tenant_id: Books(self.tenant_id, tenant_name, currency)}
        self.codes = {}  # authorization code -> redirect_uri
        self.access_tokens = {}  # token -> expiry (epoch seconds)
        self.refresh_tokens = {}  # token -> True while unused
        self.faults = []  # ("status", code, retry_after) or ("slow", seconds)
        self.requests = []  # (method, path, headers) of every API call
        self.frozen_now = None
        # seconds spent answering (slow faults included): a benchmark's share of time in "Xero"
        self.busy_seconds = 0.0
        self.revision = 0  # moves on every change; the list order is cached per revision
        self.wake = threading.Event()  # set: slow answers stop waiting
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- running -----------------------------------------------------------------------------
    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.wake.set()
        self.server.shutdown()
        self.server.server_close()

    def use_in(self, settings):
        settings.XERO_CLIENT_ID = self.client_id
        settings.XERO_CLIENT_SECRET = self.client_secret
        settings.XERO_LOGIN_URL = settings.XERO_IDENTITY_URL = settings.XERO_API_URL = self.url

    # --- the clock (UpdatedDateUTC), which tests may freeze and move -----------------------------
    def now(self):
        moment = self.frozen_now or dt.datetime.now(dt.UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    def freeze(self, moment):
        self.frozen_now = moment

    def advance(self, seconds):
        self.frozen_now = (self.frozen_now or dt.datetime.now(dt.UTC)) + dt.timedelta(seconds=seconds)

    # --- test hooks: faults ----------------------------------------------------------------------
    # Faults queue up: `after` API calls go through untouched first (after those already queued),
    # so a test can break a run in the middle, e.g. fail_next(status=500, after=3).
    def _queue(self, after, entries):
        with self.lock:
            self.faults.extend([None] * after + entries)

    def fail_next(self, count=1, *, status=500, retry_after=None, after=0):
        """The next `count` API calls answer `status` (429 carries Retry-After)."""
        self._queue(after, [("status", status, retry_after)] * count)

    def slow_next(self, count=1, *, seconds=2.0, after=0):
        """The next `count` API calls answer only after `seconds` (a client's timeout)."""
        self._queue(after, [("slow", seconds, None)] * count)

    def release_slow(self):
        """The slow answers waiting now answer at once."""
        woken, self.wake = self.wake, threading.Event()
        woken.set()

    def expire_access_token(self, token=None, *, after=None):
        """Every live access token (or the given one) is expired from now on, or on the call
        after `after` more calls (a token that expires during a run)."""
        if after is not None:
            return self._queue(after, [("expire", token, None)])
        with self.lock:
            for key in [token] if token else list(self.access_tokens):
                self.access_tokens[key] = time.time() - 1

    def issue_tokens(self):
        """A token pair as the token endpoint would give after a consent (no browser needed)."""
        with self.lock:
            access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            self.access_tokens[access] = time.time() + self.access_token_seconds
            self.refresh_tokens[refresh] = True
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.access_token_seconds,
            "token_type": "Bearer",
            "scope": "offline_access accounting.transactions accounting.contacts",
        }

    def webhook(self, events, *, key, tenant_id=None, sequence=1):
        """A delivery as Xero posts it to the webhook URL: (raw body, headers), signed with `key`.
        `events`: [(category, resource id, event type)], e.g. ("INVOICE", id, "UPDATE")."""
        collections = {"CONTACT": "Contacts", "INVOICE": "Invoices", "CREDITNOTE": "CreditNotes"}
        moment = self.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        payload = {
            "events": [
                {
                    "resourceUrl": f"https://api.xero.com/api.xro/2.0/{collections[category]}/{resource_id}",
                    "resourceId": resource_id,
                    "eventDateUtc": moment,
                    "eventType": event_type,
                    "eventCategory": category,
                    "tenantId": tenant_id or self.tenant_id,
                    "tenantType": "ORGANISATION",
                }
                for category, resource_id, event_type in events
            ],
            "firstEventSequence": sequence,
            "lastEventSequence": sequence + max(0, len(events) - 1),
            "entropy": secrets.token_hex(10).upper(),
        }
        if self.validate:
            self._record_errors(self.spec.webhook_errors(payload))
        body = json.dumps(payload).encode()
        return body, {"Content-Type": "application/json", "x-xero-signature": webhook_signature(body, key)}

    def intent_to_receive(self, *, key, valid=True):
        """Xero's check of a new webhook URL: no events, sequences 0 (below the spec's minimum, so
        not validated), one delivery signed right and one wrong; the URL must answer 200 and 401."""
        payload = {
            "events": [],
            "firstEventSequence": 0,
            "lastEventSequence": 0,
            "entropy": secrets.token_hex(10).upper(),
        }
        body = json.dumps(payload).encode()
        signature = webhook_signature(body, key if valid else key + "-wrong")
        return body, {"Content-Type": "application/json", "x-xero-signature": signature}

    def add_tenant(self, name, currency="SGD"):
        tenant_id = str(uuid.uuid4())
        self.tenants[tenant_id] = Books(tenant_id, name, currency)
        return tenant_id

    # --- test hooks: the books seen from Xero ------------------------------------------------------
    def books(self, tenant_id=None):
        return self.tenants[tenant_id or self.tenant_id]

    def record(self, kind, record_id, tenant_id=None):
        return to_json(self.books(tenant_id).records[kind][record_id])

    def all(self, kind, tenant_id=None):
        return [to_json(r) for r in self.books(tenant_id).records[kind].values()]

    def add_contact(self, name, tenant_id=None, **fields):
        with self.lock:
            return self._save_contact(self.books(tenant_id), {"Name": name, **fields})["ContactID"]

    def add_invoice(
        self,
        contact_id,
        amount,
        *,
        tax="0",
        date=dt.date(2026, 11, 1),
        due_date=dt.date(2026, 12, 1),
        currency=None,
        rate=None,
        status="AUTHORISED",
        number=None,
        reference="",
        tenant_id=None,
    ):
        payload = {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact_id},
            "Date": date.isoformat(),
            "DueDate": due_date.isoformat(),
            "Status": status,
            "LineAmountTypes": "Exclusive",
            "Reference": reference,
            "LineItems": [
                {"Description": "Services", "Quantity": 1, "UnitAmount": str(amount), "TaxAmount": str(tax)}
            ],
        }
        if currency:
            payload["CurrencyCode"] = currency
        if rate:
            payload["CurrencyRate"] = str(rate)
        if number:
            payload["InvoiceNumber"] = number
        with self.lock:
            return self._save_invoice(self.books(tenant_id), payload)["InvoiceID"]

    def add_payment(self, invoice_id, amount, *, date=dt.date(2026, 11, 15), reference="", tenant_id=None):
        payload = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": "090"},
            "Date": date.isoformat(),
            "Amount": str(amount),
            "Reference": reference,
        }
        with self.lock:
            return self._create_payment(self.books(tenant_id), payload)["PaymentID"]

    def add_credit_note(
        self, contact_id, amount, *, date=dt.date(2026, 11, 10), status="AUTHORISED", tenant_id=None
    ):
        payload = {
            "Type": "ACCRECCREDIT",
            "Contact": {"ContactID": contact_id},
            "Date": date.isoformat(),
            "Status": status,
            "LineItems": [{"Description": "Credit", "Quantity": 1, "UnitAmount": str(amount)}],
        }
        with self.lock:
            return self._save_credit_note(self.books(tenant_id), payload)["CreditNoteID"]

    def allocate(self, credit_note_id, invoice_id, amount, *, tenant_id=None):
        with self.lock:
            self._allocate(
                self.books(tenant_id),
                credit_note_id,
                {"Invoice": {"InvoiceID": invoice_id}, "Amount": str(amount), "Date": "2026-11-20"},
            )

    def update(self, kind, record_id, tenant_id=None, **fields):
        """Change fields as a user in Xero would (UpdatedDateUTC moves)."""
        with self.lock:
            books = self.books(tenant_id)
            payload = {ID_FIELD[kind]: record_id, **fields}
            save = {
                "contact": self._save_contact,
                "invoice": self._save_invoice,
                "credit_note": self._save_credit_note,
            }.get(kind)
            if save is None:
                raise ValueError(f"{kind} cannot be updated in Xero; delete it instead")
            return to_json(save(books, payload))

    def void(self, kind, record_id, tenant_id=None):
        """Void (delete a draft, archive a contact, delete a payment) as a user in Xero would."""
        with self.lock:
            books = self.books(tenant_id)
            if kind == "payment":
                return to_json(self._delete_payment(books, record_id))
            if kind == "contact":
                return self.update(kind, record_id, tenant_id, ContactStatus="ARCHIVED")
            current = books.records[kind][record_id]["Status"]
            status = "DELETED" if current in ("DRAFT", "SUBMITTED") else "VOIDED"
            return self.update(kind, record_id, tenant_id, Status=status)

    def merge_contacts(self, source_id, target_id, tenant_id=None):
        """Xero's merge: the source's documents move to the target, the source is archived."""
        with self.lock:
            books = self.books(tenant_id)
            source, target = books.records["contact"][source_id], books.records["contact"][target_id]
            now = self.now()
            for kind in ("invoice", "credit_note"):
                for doc in books.records[kind].values():
                    if doc["Contact"]["ContactID"] == source_id:
                        doc["Contact"] = self._contact_ref(target)
                        self._touch(doc, now)
            for payment in books.records["payment"].values():
                if payment["Invoice"]["Contact"]["ContactID"] == source_id:
                    payment["Invoice"]["Contact"] = self._contact_ref(target)
                    self._touch(payment, now)
            source["ContactStatus"] = "ARCHIVED"
            source["MergedToContactID"] = target_id
            self._touch(source, now)

    # --- the books' rules ------------------------------------------------------------------------
    def _touch(self, record, moment=None):
        moment = moment or self.now()
        self.revision += 1
        record["_updated"] = moment
        record["UpdatedDateUTC"] = ms_date(moment)

    @staticmethod
    def _contact_ref(contact):
        return {"ContactID": contact["ContactID"], "Name": contact["Name"]}

    def _find_contact(self, books, reference):
        reference = reference or {}
        if reference.get("ContactID"):
            contact = books.records["contact"].get(reference["ContactID"])
            if contact is None:
                raise XeroError(f"Contact {reference['ContactID']} could not be found", reference)
            return contact
        if reference.get("Name"):
            for contact in books.records["contact"].values():
                if (
                    contact["ContactStatus"] == "ACTIVE"
                    and contact["Name"].lower() == reference["Name"].lower()
                ):
                    return contact
            return self._save_contact(books, {"Name": reference["Name"]})
        raise XeroError("A Contact must be specified for this type of transaction", reference)

    def _save_contact(self, books, payload):
        contact_id = payload.get("ContactID")
        contact = books.records["contact"].get(contact_id) if contact_id else None
        if contact_id and contact is None:
            raise XeroError(f"Contact {contact_id} could not be found", payload)
        if contact is None:
            if not (payload.get("Name") or "").strip():
                raise XeroError("The contact name must be specified", payload)
            contact = {
                "ContactID": str(uuid.uuid4()),
                "ContactStatus": "ACTIVE",
                "Name": "",
                "EmailAddress": "",
                "Phones": [],
                "Addresses": [],
                "IsSupplier": False,
                "IsCustomer": True,
                "HasAttachments": False,
                "HasValidationErrors": False,
            }
        name = (payload.get("Name") or contact["Name"]).strip()
        status = payload.get("ContactStatus") or contact["ContactStatus"]
        holder = books.active_names.get(name.lower())
        if status == "ACTIVE" and holder not in (None, contact["ContactID"]):
            raise XeroError(
                f"The contact name {name} is already assigned to another contact. "
                "The contact name must be unique across all active contacts.",
                payload,
            )
        if books.active_names.get(contact["Name"].lower()) == contact["ContactID"]:
            del books.active_names[contact["Name"].lower()]
        if status == "ACTIVE":
            books.active_names[name.lower()] = contact["ContactID"]
        contact["Name"] = name
        contact["ContactStatus"] = status
        for field in ("ContactNumber", "AccountNumber", "EmailAddress", "Phones", "DefaultCurrency"):
            if field in payload:
                contact[field] = payload[field]
        books.records["contact"][contact["ContactID"]] = contact
        self._touch(contact)
        return contact

    def _totals(self, doc, lines):
        items = []
        for line in lines:
            quantity = Decimal(str(line.get("Quantity", 1)))
            unit = Decimal(str(line.get("UnitAmount", 0)))
            amount = money(line.get("LineAmount") if line.get("LineAmount") is not None else quantity * unit)
            items.append(
                {
                    "LineItemID": line.get("LineItemID") or str(uuid.uuid4()),
                    "Description": line.get("Description", ""),
                    "Quantity": quantity,
                    "UnitAmount": unit,
                    "TaxAmount": money(line.get("TaxAmount")),
                    "LineAmount": amount,
                    "AccountCode": line.get("AccountCode", "200"),
                }
            )
        doc["LineItems"] = items
        doc["SubTotal"] = sum((i["LineAmount"] for i in items), Decimal("0.00"))
        doc["TotalTax"] = sum((i["TaxAmount"] for i in items), Decimal("0.00"))
        doc["Total"] = doc["SubTotal"] + doc["TotalTax"]

    def _currency(self, books, doc, payload):
        doc["CurrencyCode"] = payload.get("CurrencyCode") or doc.get("CurrencyCode") or books.currency
        if doc["CurrencyCode"] == books.currency:
            doc["CurrencyRate"] = Decimal(1)
        elif payload.get("CurrencyRate") is not None:
            doc["CurrencyRate"] = Decimal(str(payload["CurrencyRate"]))
        else:
            doc.setdefault("CurrencyRate", Decimal(1))

    def _save_invoice(self, books, payload):
        invoice_id = payload.get("InvoiceID")
        invoice = books.records["invoice"].get(invoice_id) if invoice_id else None
        if invoice_id and invoice is None:
            raise XeroError(f"Invoice {invoice_id} could not be found", payload)
        if invoice is None:
            if payload.get("Type") != "ACCREC":
                raise XeroError("Only sales invoices (ACCREC) are emulated", payload)
            invoice = {
                "Type": "ACCREC",
                "InvoiceID": str(uuid.uuid4()),
                "Status": "DRAFT",
                "LineAmountTypes": "Exclusive",
                "Reference": "",
                "AmountPaid": Decimal("0.00"),
                "AmountCredited": Decimal("0.00"),
                "_payments": [],
                "_credits": [],
                "HasAttachments": False,
                "IsDiscounted": False,
                "HasErrors": False,
            }
        status = payload.get("Status") or invoice["Status"]
        if status in ("VOIDED", "DELETED") and invoice["Status"] != status:
            allowed = {"VOIDED": ("AUTHORISED", "SUBMITTED"), "DELETED": ("DRAFT", "SUBMITTED")}[status]
            if invoice["Status"] not in allowed:
                raise XeroError(f"Invoice in status {invoice['Status']} cannot be {status.lower()}", payload)
            if invoice["AmountPaid"] or invoice["AmountCredited"]:
                raise XeroError("Invoice cannot be voided as it has payments or credit applied", payload)
        number = payload.get("InvoiceNumber") or invoice.get("InvoiceNumber")
        if not number:
            books.numbers["invoice"] += 1
            number = f"INV-{books.numbers['invoice']:04d}"
        if books.invoice_numbers.get(number) not in (None, invoice["InvoiceID"]):
            raise XeroError("Invoice # must be unique.", payload)
        books.invoice_numbers.pop(invoice.get("InvoiceNumber"), None)
        books.invoice_numbers[number] = invoice["InvoiceID"]
        invoice["InvoiceNumber"] = number
        if "Contact" in payload or "Contact" not in invoice:
            invoice["Contact"] = self._contact_ref(self._find_contact(books, payload.get("Contact")))
        for field, parse in (("Date", parse_date), ("DueDate", parse_date)):
            if payload.get(field):
                invoice["_" + field] = parse(payload[field])
        invoice.setdefault("_Date", self.now().date())
        invoice.setdefault("_DueDate", invoice["_Date"])
        invoice["LineAmountTypes"] = payload.get("LineAmountTypes") or invoice["LineAmountTypes"]
        invoice["Date"], invoice["DueDate"] = ms_date(invoice["_Date"]), ms_date(invoice["_DueDate"])
        invoice["DateString"] = invoice["_Date"].isoformat() + "T00:00:00"
        invoice["DueDateString"] = invoice["_DueDate"].isoformat() + "T00:00:00"
        if "Reference" in payload:
            invoice["Reference"] = payload["Reference"] or ""
        self._currency(books, invoice, payload)
        if "LineItems" in payload:
            if invoice["AmountPaid"] or invoice["AmountCredited"]:
                raise XeroError("Line items cannot be changed on an invoice with payments", payload)
            self._totals(invoice, payload["LineItems"])
        elif "LineItems" not in invoice:
            self._totals(invoice, [])
        invoice["Status"] = status
        self._settle(invoice)
        books.records["invoice"][invoice["InvoiceID"]] = invoice
        self._touch(invoice)
        return invoice

    def _settle(self, invoice):
        invoice["AmountDue"] = invoice["Total"] - invoice["AmountPaid"] - invoice["AmountCredited"]
        if invoice["Status"] == "AUTHORISED" and invoice["AmountDue"] == 0 and invoice["Total"] > 0:
            invoice["Status"] = "PAID"
        elif invoice["Status"] == "PAID" and invoice["AmountDue"] > 0:
            invoice["Status"] = "AUTHORISED"
        invoice["Payments"] = [
            {
                "PaymentID": p["PaymentID"],
                "Date": p["Date"],
                "Amount": p["Amount"],
                "Reference": p["Reference"],
            }
            for p in invoice["_payments"]
            if p["Status"] == "AUTHORISED"
        ]
        invoice["CreditNotes"] = list(invoice["_credits"])

    def _create_payment(self, books, payload):
        reference = payload.get("Invoice") or {}
        invoice = books.records["invoice"].get(reference.get("InvoiceID") or "")
        if invoice is None and reference.get("InvoiceNumber"):
            invoice = next(
                (
                    i
                    for i in books.records["invoice"].values()
                    if i["InvoiceNumber"] == reference["InvoiceNumber"]
                ),
                None,
            )
        if invoice is None:
            raise XeroError("Invoice could not be found", payload)
        account = payload.get("Account") or {}
        if not (account.get("Code") or account.get("AccountID")):
            raise XeroError("Account code or AccountID must be specified", payload)
        if invoice["Status"] != "AUTHORISED":
            raise XeroError("Payment can only be applied to an approved invoice", payload)
        amount = money(payload.get("Amount"))
        if amount <= 0 or amount > invoice["AmountDue"]:
            raise XeroError("Payment amount exceeds the amount outstanding on this document", payload)
        day = parse_date(payload.get("Date")) or self.now().date()
        payment = {
            "PaymentID": str(uuid.uuid4()),
            "Date": ms_date(day),
            "Amount": amount,
            "BankAmount": amount,
            "CurrencyRate": invoice["CurrencyRate"],
            "Reference": payload.get("Reference") or "",
            "IsReconciled": False,
            "Status": "AUTHORISED",
            "PaymentType": "ACCRECPAYMENT",
            "HasAccount": True,
            "HasValidationErrors": False,
            "Account": {
                "AccountID": str(uuid.uuid5(uuid.NAMESPACE_OID, account.get("Code") or "x")),
                "Code": account.get("Code") or "",
            },
        }
        payment["Invoice"] = {
            "InvoiceID": invoice["InvoiceID"],
            "InvoiceNumber": invoice["InvoiceNumber"],
            "Type": "ACCREC",
            "CurrencyCode": invoice["CurrencyCode"],
            "Contact": invoice["Contact"],
        }
        invoice["_payments"].append(payment)
        invoice["AmountPaid"] += amount
        self._settle(invoice)
        now = self.now()
        self._touch(invoice, now)
        self._touch(payment, now)
        books.records["payment"][payment["PaymentID"]] = payment
        return payment

    def _delete_payment(self, books, payment_id, payload=None):
        payment = books.records["payment"].get(payment_id)
        if payment is None:
            raise XeroError(f"Payment {payment_id} could not be found", payload)
        if (payload or {}).get("Status", "DELETED") != "DELETED":
            raise XeroError("Payments can only be deleted", payload)
        if payment["Status"] != "DELETED":
            payment["Status"] = "DELETED"
            invoice = books.records["invoice"][payment["Invoice"]["InvoiceID"]]
            invoice["AmountPaid"] -= payment["Amount"]
            self._settle(invoice)
            now = self.now()
            self._touch(invoice, now)
            self._touch(payment, now)
        return payment

    def _save_credit_note(self, books, payload):
        credit_id = payload.get("CreditNoteID")
        credit = books.records["credit_note"].get(credit_id) if credit_id else None
        if credit_id and credit is None:
            raise XeroError(f"Credit note {credit_id} could not be found", payload)
        if credit is None:
            if payload.get("Type") != "ACCRECCREDIT":
                raise XeroError("Only sales credit notes (ACCRECCREDIT) are emulated", payload)
            credit = {
                "Type": "ACCRECCREDIT",
                "CreditNoteID": str(uuid.uuid4()),
                "Status": "DRAFT",
                "LineAmountTypes": "Exclusive",
                "Reference": "",
                "Allocations": [],
                "AppliedAmount": Decimal("0.00"),
                "HasAttachments": False,
                "HasErrors": False,
            }
        status = payload.get("Status") or credit["Status"]
        if status in ("VOIDED", "DELETED") and credit["Status"] != status and credit["AppliedAmount"]:
            raise XeroError("Credit note cannot be voided as it has been allocated", payload)
        number = payload.get("CreditNoteNumber") or credit.get("CreditNoteNumber")
        if not number:
            books.numbers["credit_note"] += 1
            number = f"CN-{books.numbers['credit_note']:04d}"
        credit["CreditNoteNumber"] = number
        if "Contact" in payload or "Contact" not in credit:
            credit["Contact"] = self._contact_ref(self._find_contact(books, payload.get("Contact")))
        if payload.get("Date") or "_Date" not in credit:
            credit["_Date"] = parse_date(payload.get("Date")) or self.now().date()
        credit["LineAmountTypes"] = payload.get("LineAmountTypes") or credit["LineAmountTypes"]
        credit["Date"] = ms_date(credit["_Date"])
        credit["DateString"] = credit["_Date"].isoformat() + "T00:00:00"
        if "Reference" in payload:
            credit["Reference"] = payload["Reference"] or ""
        self._currency(books, credit, payload)
        if "LineItems" in payload:
            if credit["AppliedAmount"]:
                raise XeroError("Line items cannot be changed on an allocated credit note", payload)
            self._totals(credit, payload["LineItems"])
        elif "LineItems" not in credit:
            self._totals(credit, [])
        credit["Status"] = status
        credit["RemainingCredit"] = (
            credit["Total"] - credit["AppliedAmount"] if status in ("AUTHORISED", "PAID") else Decimal("0.00")
        )
        books.records["credit_note"][credit["CreditNoteID"]] = credit
        self._touch(credit)
        return credit

    def _allocate(self, books, credit_id, payload):
        credit = books.records["credit_note"].get(credit_id)
        if credit is None:
            raise XeroError(f"Credit note {credit_id} could not be found", payload)
        invoice = books.records["invoice"].get((payload.get("Invoice") or {}).get("InvoiceID") or "")
        if invoice is None:
            raise XeroError("Invoice could not be found", payload)
        amount = money(payload.get("Amount"))
        if credit["Status"] != "AUTHORISED":
            raise XeroError("Only approved credit notes with remaining credit can be allocated", payload)
        if invoice["Status"] != "AUTHORISED":
            raise XeroError("Credit can only be allocated to an approved invoice", payload)
        if amount <= 0 or amount > credit["RemainingCredit"] or amount > invoice["AmountDue"]:
            raise XeroError("The amount allocated exceeds the remaining credit or the amount due", payload)
        day = parse_date(payload.get("Date")) or self.now().date()
        allocation = {
            "AllocationID": str(uuid.uuid4()),
            "Amount": amount,
            "Date": ms_date(day),
            "Invoice": {"InvoiceID": invoice["InvoiceID"], "InvoiceNumber": invoice["InvoiceNumber"]},
            "IsDeleted": False,
        }
        credit["Allocations"].append(allocation)
        credit["AppliedAmount"] += amount
        credit["RemainingCredit"] -= amount
        if credit["RemainingCredit"] == 0:
            credit["Status"] = "PAID"
        invoice["AmountCredited"] += amount
        invoice["_credits"].append(
            {
                "CreditNoteID": credit["CreditNoteID"],
                "CreditNoteNumber": credit["CreditNoteNumber"],
                "AppliedAmount": amount,
                "Total": credit["Total"],
            }
        )
        self._settle(invoice)
        now = self.now()
        self._touch(invoice, now)
        self._touch(credit, now)
        return {**allocation, "CreditNote": {"CreditNoteID": credit["CreditNoteID"]}}

    # --- HTTP --------------------------------------------------------------------------------------
    def _handler(self):
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                emulator._serve(self, "GET")

            def do_POST(self):
                emulator._serve(self, "POST")

            def do_PUT(self):
                emulator._serve(self, "PUT")

            def log_message(self, *args):
                pass

        return Handler

    def _send(self, handler, status, body, headers=None):
        if isinstance(body, (dict, list)):
            data, kind = json.dumps(to_json(body)).encode(), "application/json; charset=utf-8"
        else:
            data, kind = (body or "").encode() if isinstance(body, str) else body, "text/plain"
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _serve(self, handler, method):
        started = time.perf_counter()
        try:
            self._answer(handler, method)
        finally:
            with self.lock:
                self.busy_seconds += time.perf_counter() - started

    def _answer(self, handler, method):
        split = urlsplit(handler.path)
        path, query = split.path.rstrip("/") or "/", {k: v[-1] for k, v in parse_qs(split.query).items()}
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            if path == "/identity/connect/authorize" and method == "GET":
                return self._authorize(handler, query)
            if path == "/connect/token" and method == "POST":
                return self._token(handler, body)
            if path.lower() == "/connections" or path.startswith(API_PREFIX + "/"):
                return self._api_call(handler, method, path, query, body)
            return self._send(handler, 404, "Not found")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:  # noqa: BLE001 — a bug in the emulator fails the test that met it
            self._record_errors(
                [f"the emulator crashed on {method} {handler.path}:\n{traceback.format_exc()}"]
            )
            with contextlib.suppress(OSError):
                self._send(handler, 500, {"Title": "Emulator error", "Status": 500})

    def _authorize(self, handler, query):
        if query.get("client_id") != self.client_id or not query.get("redirect_uri"):
            return self._send(handler, 400, {"error": "unauthorized_client"})
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = query["redirect_uri"]
        params = {"code": code, "scope": query.get("scope", ""), "state": query.get("state", "")}
        separator = "&" if "?" in query["redirect_uri"] else "?"
        self._send(handler, 302, "", {"Location": query["redirect_uri"] + separator + urlencode(params)})

    def _token(self, handler, body):
        auth = handler.headers.get("Authorization") or ""
        try:
            client = base64.b64decode(auth.removeprefix("Basic ")).decode().split(":", 1)
        except ValueError:
            client = []
        if client != [self.client_id, self.client_secret]:
            return self._send(handler, 400, {"error": "invalid_client"})
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        with self.lock:
            if form.get("grant_type") == "authorization_code":
                redirect_uri = self.codes.pop(form.get("code", ""), None)
                if redirect_uri is None or redirect_uri != form.get("redirect_uri"):
                    return self._send(handler, 400, {"error": "invalid_grant"})
            elif form.get("grant_type") == "refresh_token":
                # single use: the old refresh token dies with this answer
                if not self.refresh_tokens.pop(form.get("refresh_token", ""), None):
                    return self._send(handler, 400, {"error": "invalid_grant"})
            else:
                return self._send(handler, 400, {"error": "unsupported_grant_type"})
            tokens = self.issue_tokens()
        self._send(handler, 200, {**tokens, "id_token": "emulated." + secrets.token_urlsafe(8)})

    def _unauthorised(self, handler, detail):
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        body = {
            "Type": None,
            "Title": "Unauthorized",
            "Status": 401,
            "Detail": detail,
            "Instance": str(uuid.uuid4()),
        }
        body["Extensions"] = {}
        self._send(handler, 401, body, headers)

    def _limited(self, books):
        """The limit hit by one more call, with the seconds to wait, or None (and the call counted)."""
        now = time.monotonic()
        while books.calls and books.calls[0] <= now - 60:
            books.calls.popleft()
        if books.calls_today >= self.calls_per_day:
            return "day", 3600
        if books.in_flight >= self.concurrent_calls:
            return "concurrent", 1
        if len(books.calls) >= self.calls_per_minute:
            return "minute", max(1, int(books.calls[0] + 60 - now + 0.999))
        books.calls.append(now)
        books.calls_today += 1
        books.in_flight += 1
        return None

    def _api_call(self, handler, method, path, query, body):
        headers = handler.headers
        token = (headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        with self.lock:
            expiry = self.access_tokens.get(token)
        if expiry is None:
            return self._unauthorised(handler, "AuthenticationUnsuccessful")
        if expiry <= time.time():
            moment = dt.datetime.fromtimestamp(expiry, dt.UTC).strftime("%m/%d/%Y %H:%M:%S")
            return self._unauthorised(handler, f"TokenExpired: token expired at {moment}")
        if path.lower() == "/connections":
            answer = [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, tenant_id)),
                    "authEventId": str(uuid.uuid5(uuid.NAMESPACE_URL, token)),
                    "tenantId": tenant_id,
                    "tenantType": "ORGANISATION",
                    "tenantName": books.name,
                    # the live API leaves off the Z; the spec's date-time wants it
                    "createdDateUtc": "2026-11-01T00:00:00.0000000Z",
                    "updatedDateUtc": "2026-11-01T00:00:00.0000000Z",
                }
                for tenant_id, books in self.tenants.items()
            ]
            # the spec spells it /Connections; Xero answers either
            self._check_response(method, "/Connections", body, 200, answer)
            return self._send(handler, 200, answer)
        books = self.tenants.get(headers.get("xero-tenant-id") or "")
        if books is None:
            body = {"Type": None, "Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"}
            return self._send(handler, 403, body)
        with self.lock:
            problem = self._limited(books)
        if problem:
            kind, wait = problem
            limit_headers = {
                "Retry-After": str(wait),
                "X-Rate-Limit-Problem": kind,
                "X-MinLimit-Remaining": "0" if kind == "minute" else "1",
                "X-DayLimit-Remaining": str(max(0, self.calls_per_day - books.calls_today)),
            }
            return self._send(handler, 429, "", limit_headers)
        try:
            with self.lock:
                self.requests.append(
                    (method, path + ("?" + urlencode(query) if query else ""), dict(headers))
                )
                fault = self.faults.pop(0) if self.faults else None
            if fault and fault[0] == "status":
                _kind, status, retry_after = fault
                if status == 429:
                    wait = str(retry_after or 60)
                    return self._send(
                        handler, 429, "", {"Retry-After": wait, "X-Rate-Limit-Problem": "minute"}
                    )
                return self._send(handler, status, {"Title": "An error occurred", "Status": status})
            if fault and fault[0] == "expire":
                self.expire_access_token(fault[1])
                stamp = dt.datetime.now(dt.UTC).strftime("%m/%d/%Y %H:%M:%S")
                return self._unauthorised(handler, f"TokenExpired: token expired at {stamp}")
            if fault and fault[0] == "slow":
                self.wake.wait(fault[1])
            if self.validate and method in ("POST", "PUT"):
                self._record_errors(self.spec.request_errors(method, path, body))
            key = headers.get("Idempotency-Key")
            with self.lock:
                # what is left, as Xero says on every answer
                remaining = {
                    "X-MinLimit-Remaining": str(max(0, self.calls_per_minute - len(books.calls))),
                    "X-DayLimit-Remaining": str(max(0, self.calls_per_day - books.calls_today)),
                    "X-AppMinLimit-Remaining": "9999",
                }
                replay = books.idempotent.get(key) if key and method in ("POST", "PUT") else None
                if replay is None:
                    status, answer = self._dispatch(books, method, path, query, headers, body)
                    if key and method in ("POST", "PUT") and status in (200, 400):
                        books.idempotent[key] = (status, json.dumps(to_json(answer)))
            if replay is not None:  # the first answer again, and nothing changes
                return self._send(handler, replay[0], json.loads(replay[1]), remaining)
            self._check_response(method, path, body, status, answer)
            return self._send(handler, status, answer, remaining)
        finally:
            with self.lock:
                books.in_flight -= 1

    def _record_errors(self, errors):
        if errors:
            with self.lock:
                self.validation_errors.extend(errors)

    def _check_response(self, method, path, request_body, status, answer):
        if self.validate and status in (200, 400) and isinstance(answer, (dict, list)):
            data = json.dumps(to_json(answer)).encode()
            self._record_errors(self.spec.response_errors(method, path, request_body, status, data))

    def _envelope(self, collection, items, **extra):
        return {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": "peakflo tests",
            "DateTimeUTC": ms_date(self.now()),
            **extra,
            collection: items,
        }

    def _dispatch(self, books, method, path, query, headers, body):
        parts = path[len(API_PREFIX) + 1 :].split("/")
        collection = parts[0]
        kind = COLLECTIONS.get(collection)
        if kind is None:
            return 404, "The resource you're looking for cannot be found"
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            return 400, {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": "Invalid JSON"}
        try:
            if method == "GET" and len(parts) == 1:
                return 200, self._list(books, collection, kind, query, headers)
            if method == "GET" and len(parts) == 2:
                record = books.records[kind].get(parts[1])
                if record is None:
                    return 404, "The resource you're looking for cannot be found"
                return 200, self._envelope(collection, [record])
            if len(parts) == 3 and parts[2] == "Allocations" and kind == "credit_note" and method == "PUT":
                made = [self._allocate(books, parts[1], item) for item in payload.get("Allocations", [])]
                return 200, self._envelope("Allocations", made)
            if method in ("POST", "PUT") and len(parts) <= 2:
                if kind == "payment":
                    if len(parts) == 2:
                        return 200, self._envelope(
                            collection, [self._delete_payment(books, parts[1], payload)]
                        )
                    items = payload.get("Payments") if method == "PUT" else [payload]
                    return 200, self._envelope(
                        collection, [self._create_payment(books, p) for p in items or []]
                    )
                save = {
                    "contact": self._save_contact,
                    "invoice": self._save_invoice,
                    "credit_note": self._save_credit_note,
                }[kind]
                saved = []
                for item in payload.get(collection) or []:
                    if len(parts) == 2:
                        item = {**item, ID_FIELD[kind]: parts[1]}
                    elif method == "PUT" and item.get(ID_FIELD[kind]):
                        raise XeroError(f"{ID_FIELD[kind]} cannot be given when creating", item)
                    saved.append(save(books, item))
                return 200, self._envelope(collection, saved)
        except XeroError as error:
            element = {**to_json(error.element), "ValidationErrors": [{"Message": error.message}]}
            return 400, {
                "ErrorNumber": 10,
                "Type": "ValidationException",
                "Message": "A validation exception occurred",
                "Elements": [element],
            }
        return 405, "Method not allowed"

    def _ordered(self, books, kind):
        cached = books.ordered.get(kind)
        if cached is None or cached[0] != self.revision:
            records = sorted(books.records[kind].values(), key=lambda r: (r["_updated"], r[ID_FIELD[kind]]))
            cached = (self.revision, records, [(r["_updated"], r[ID_FIELD[kind]]) for r in records])
            books.ordered[kind] = cached
        return cached[1], cached[2]

    def _list(self, books, collection, kind, query, headers):
        records, keys = self._ordered(books, kind)
        since = headers.get("If-Modified-Since")
        if since:  # at or after, to the second
            records = records[bisect.bisect_left(keys, (parse_if_modified_since(since), "")) :]
        if query.get("includeArchived", "").lower() != "true":
            hidden = {"contact": ("ARCHIVED",), "invoice": ("DELETED",), "credit_note": ("DELETED",)}.get(
                kind, ()
            )
            records = [r for r in records if r.get("ContactStatus", r.get("Status")) not in hidden]
        if query.get("IDs"):
            wanted = set(query["IDs"].split(","))
            records = [r for r in records if r[ID_FIELD[kind]] in wanted]
        if query.get("Statuses"):
            wanted = set(query["Statuses"].split(","))
            records = [r for r in records if r.get("Status") in wanted]
        if "page" not in query:
            return self._envelope(collection, records)
        page = max(1, int(query["page"]))
        size = min(1000, max(1, int(query.get("pageSize") or PAGE_SIZE)))
        chunk = records[(page - 1) * size : page * size]
        pagination = {
            "page": page,
            "pageSize": size,
            "pageCount": (len(records) + size - 1) // size,
            "itemCount": len(records),
        }
        return self._envelope(collection, chunk, pagination=pagination)
