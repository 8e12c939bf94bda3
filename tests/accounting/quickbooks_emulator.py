"""A stateful local QuickBooks Online for the tests: OAuth 2.0, the accounting API, its limits and faults.

It keeps its own books per company (realm) and answers in the shapes of Intuit's reference and
python-quickbooks' models (Customer, Invoice, Payment, CreditMemo, CDCResponse, QueryResponse, Fault).
Served by a ThreadingHTTPServer on 127.0.0.1; tests drive it through HTTP like the real thing and
through the Python hooks below to play a user in QuickBooks or a misbehaving network.

Where Intuit leaves a choice open, this emulator takes the strict side (said where it happens):
- a refresh token works once: using it issues a new pair and the old one answers `invalid_grant`;
- writes with a `requestid` already answered successfully get the same answer again and change nothing;
  a refused write is not remembered, so the same requestid may be retried after fixing the cause;
- duplicate DocNumbers on invoices and credit memos are refused (6140), as QuickBooks does when the
  company's "warn if duplicate number" setting is on (`Company.refuse_duplicate_doc_numbers`);
- an invoice or credit memo with payments applied cannot be voided or deleted (6000): unlink first;
- credit memos have no void through the API (as in Intuit's reference): they are deleted;
- 429 answers carry `Retry-After` (the seconds until the per-minute window frees) although Intuit
  documents none for this API;
- CDC returns the oldest changes first, entity by entity in the requested order, cut at 1,000 objects;
  a `changedSince` older than 30 days is refused (400).
Tax is not computed: a `TxnTaxDetail.TotalTax` sent with a document is added to its lines.

Using it (the `quickbooks` fixture in tests/accounting/conftest.py gives a started emulator with empty
books and the settings pointed at it):
- OAuth: the authorize URL redirects at once with `code`, `state` and `realmId` (`consent_realm`);
  `access_token_seconds` sets the lifetime of the next tokens; `expire_tokens()` expires those issued.
- Books: `seed(customers=, invoices=)`, and a user in QuickBooks: `qb_create / qb_update (sparse) /
  qb_void / qb_delete / qb_get / qb_all(entity, …)` with entity "Customer", "Invoice", "Payment" or
  "CreditMemo"; `add_company(realm, name)` for a second company; `company().refuse_duplicate_doc_numbers`.
- Faults: `fail_next(429 | 401 | 500 | 503, count, retry_after=)`, `slow_next(seconds, count)` (the
  request is carried out, the answer comes late), `rate_limit_per_minute` (500).
- Time: `now()`, `advance(seconds)` moves the emulator's clock (timestamps, token expiry, CDC window).
- Inspection: `requests` [(method, path, params)], `busy_seconds` (time spent answering API calls).
- Webhooks: `webhook_notification([(entity, id, operation)])` -> (body, signed headers).
"""

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import math
import re
import secrets
import threading
import time
from collections import deque
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

DEFAULT_REALM = "9341453100000001"
CLIENT_ID = "ABqbEmulatorClientId"
CLIENT_SECRET = "qb-emulator-client-secret"
WEBHOOK_TOKEN = "qb-emulator-verifier-token"
AUTH_PATH = "/connect/oauth2"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"  # Intuit serves it from another host
ENTITIES = {"customer": "Customer", "invoice": "Invoice", "payment": "Payment", "creditmemo": "CreditMemo"}
CDC_LOOK_BACK = dt.timedelta(days=30)
CDC_MAX_OBJECTS = 1000
QUERY_MAX_RESULTS = 1000
REFRESH_TOKEN_SECONDS = 8726400  # 101 days, what Intuit answers in x_refresh_token_expires_in
CENT = Decimal("0.01")


class Fault(Exception):
    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def money(value):
    return Decimal(str(value or 0)).quantize(CENT, ROUND_HALF_UP)


def fault(status, code, message, detail="", kind="ValidationFault", element=""):
    error = {"Message": message, "Detail": detail or message, "code": str(code), "element": element}
    return Fault(status, {"Fault": {"Error": [error], "type": kind}})


def unauthorized(detail="Token expired"):
    # Intuit's 401 comes in this lower-case envelope, not the usual Fault
    return Fault(
        401,
        {
            "warnings": None,
            "intuitObject": None,
            "fault": {
                "error": [
                    {
                        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                        "detail": detail,
                        "code": "3200",
                        "element": None,
                    }
                ],
                "type": "AUTHENTICATION",
            },
            "report": None,
            "queryResponse": None,
            "batchItemResponse": [],
            "attachableResponse": [],
            "syncErrorResponse": None,
            "requestId": None,
            "time": int(time.time() * 1000),
            "status": None,
            "cdcresponse": [],
        },
        {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
    )


def throttled(retry_after):
    error = fault(
        429,
        3001,
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached.",
        kind="ThrottleExceeded",
    )
    error.headers = {"Retry-After": str(retry_after)}
    return error


def system_failure(status=500):
    return fault(
        status,
        10000,
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your data.",
        kind="SystemFault",
    )


def plain(value):
    """A JSON-ready copy: Decimals become numbers, nothing shared with the books."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Decimal):
        return float(value)
    return value


def parse_time(text):
    """QuickBooks' date-times (with an offset or Z) or dates, as aware UTC."""
    text = text.strip()
    if len(text) == 10:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    value = dt.datetime.fromisoformat(text.replace(" ", "+"))
    if value.tzinfo is None:
        raise ValueError(text)
    return value.astimezone(dt.UTC)


class Company:
    """One QuickBooks company's books."""

    def __init__(self, realm_id, name, *, currency="USD", utc_offset_hours=-8):
        self.realm_id = realm_id
        self.name = name
        self.currency = currency
        # companies answer in their own time zone; the connector must normalise to UTC
        self.tz = dt.timezone(dt.timedelta(hours=utc_offset_hours))
        self.refuse_duplicate_doc_numbers = True
        self.objects = {name: {} for name in ENTITIES.values()}
        self.deleted = {name: {} for name in ENTITIES.values()}  # id -> (deleted at, utc)
        self.next_id = 1
        self.next_doc_number = 1001
        self.request_ids = {}
        self.calls = deque()
        # DisplayName (case-folded) / DocNumber -> id, so large books stay quick to write
        self.keys = {name: {} for name in ENTITIES.values()}
        self.changes = 0
        self.balances = (-1, {})

    def stamp(self, moment):
        return moment.astimezone(self.tz).isoformat(timespec="seconds")


class QuickBooksEmulator:
    def __init__(
        self,
        *,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        webhook_token=WEBHOOK_TOKEN,
        access_token_seconds=3600,
        rate_limit_per_minute=500,
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_token = webhook_token
        self.access_token_seconds = access_token_seconds
        self.rate_limit_per_minute = rate_limit_per_minute
        self.lock = threading.RLock()
        self.companies = {}
        self.consent_realm = DEFAULT_REALM  # the company the "user" picks on the consent screen
        self.codes = {}
        self.access_tokens = {}
        self.refresh_tokens = {}
        self.faults = []  # pending injected answers for the next API requests
        self.requests = []  # (method, path, params) of every API request, in order
        self.clock_offset = dt.timedelta(0)
        self.busy_seconds = 0.0  # time spent answering API requests (for benchmarks: ours against theirs)
        self.add_company(DEFAULT_REALM, "Sandbox Company_US_1")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- life cycle ---
    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def use_in(self, settings):
        settings.QUICKBOOKS_CLIENT_ID = self.client_id
        settings.QUICKBOOKS_CLIENT_SECRET = self.client_secret
        settings.QUICKBOOKS_WEBHOOK_TOKEN = self.webhook_token
        settings.QUICKBOOKS_AUTH_URL = self.url + AUTH_PATH
        settings.QUICKBOOKS_TOKEN_URL = self.url + TOKEN_PATH
        settings.QUICKBOOKS_API_URL = self.url
        settings.QUICKBOOKS_REVOKE_URL = self.url + REVOKE_PATH

    def reset(self):
        """Empty books, tokens, faults and the request log (the server keeps running)."""
        with self.lock:
            self.companies.clear()
            self.add_company(DEFAULT_REALM, "Sandbox Company_US_1")
            self.consent_realm = DEFAULT_REALM
            self.codes.clear()
            self.access_tokens.clear()
            self.refresh_tokens.clear()
            self.faults.clear()
            self.requests.clear()
            self.clock_offset = dt.timedelta(0)
            self.busy_seconds = 0.0
            self.access_token_seconds = 3600
            self.rate_limit_per_minute = 500

    def add_company(self, realm_id, name, **options):
        with self.lock:
            self.companies[realm_id] = Company(realm_id, name, **options)
            return self.companies[realm_id]

    def company(self, realm_id=DEFAULT_REALM):
        return self.companies[realm_id]

    def now(self):
        return dt.datetime.now(dt.UTC).replace(microsecond=0) + self.clock_offset

    def advance(self, seconds):
        """Move the emulator's clock on (timestamps, token expiry, CDC windows)."""
        with self.lock:
            self.clock_offset += dt.timedelta(seconds=seconds)

    # --- test hooks: faults ---
    def fail_next(self, status, count=1, *, retry_after=1):
        """The next `count` API requests answer `status` (429, 401 expired token, 500, 503)."""
        with self.lock:
            self.faults.extend([("status", status, retry_after)] * count)

    def slow_next(self, seconds, count=1):
        """The next `count` API requests are carried out, then answered after `seconds`."""
        with self.lock:
            self.faults.extend([("slow", seconds, None)] * count)

    def expire_tokens(self):
        """Every access token issued so far has expired (refresh tokens still work)."""
        with self.lock:
            for token in self.access_tokens.values():
                token["expires_at"] = self.now() - dt.timedelta(seconds=1)

    # --- test hooks: a user working in QuickBooks ---
    def qb_create(self, entity, body, realm_id=DEFAULT_REALM):
        with self.lock:
            return plain(self._create(self.company(realm_id), entity, dict(body)))

    def qb_update(self, entity, object_id, changes, realm_id=DEFAULT_REALM):
        with self.lock:
            company = self.company(realm_id)
            current = self._find(company, entity, object_id)
            body = {**changes, "Id": object_id, "SyncToken": current["SyncToken"], "sparse": True}
            return plain(self._update(company, entity, body))

    def qb_void(self, entity, object_id, realm_id=DEFAULT_REALM):
        with self.lock:
            company = self.company(realm_id)
            current = self._find(company, entity, object_id)
            return plain(self._void(company, entity, {"Id": object_id, "SyncToken": current["SyncToken"]}))

    def qb_delete(self, entity, object_id, realm_id=DEFAULT_REALM):
        with self.lock:
            company = self.company(realm_id)
            current = self._find(company, entity, object_id)
            return plain(self._delete(company, entity, {"Id": object_id, "SyncToken": current["SyncToken"]}))

    def qb_get(self, entity, object_id, realm_id=DEFAULT_REALM):
        with self.lock:
            company = self.company(realm_id)
            return plain(self._render(company, entity, self._find(company, entity, object_id)))

    def qb_all(self, entity, realm_id=DEFAULT_REALM):
        with self.lock:
            company = self.company(realm_id)
            return [plain(self._render(company, entity, obj)) for obj in company.objects[entity].values()]

    def seed(self, *, customers=1, invoices=0, realm_id=DEFAULT_REALM, prefix="Customer"):
        """Customers "<prefix> 1…n" and `invoices` invoices of 100.00 spread over them, quickly."""
        with self.lock:
            company = self.company(realm_id)
            made = [
                plain(self._create(company, "Customer", {"DisplayName": f"{prefix} {n}"}))
                for n in range(1, customers + 1)
            ]
            for n in range(invoices):
                customer = made[n % len(made)]
                self._create(
                    company,
                    "Invoice",
                    {
                        "CustomerRef": {"value": customer["Id"]},
                        "TxnDate": "2026-10-01",
                        "DueDate": "2026-10-31",
                        "Line": [
                            {"Amount": 100, "DetailType": "SalesItemLineDetail", "Description": "Services"}
                        ],
                    },
                )
            return made

    def webhook_notification(self, events, realm_id=DEFAULT_REALM):
        """(body, headers) of the notification Intuit would POST: events = [(entity, id, operation)]."""
        stamp = self.now().astimezone(self.company(realm_id).tz).strftime("%Y-%m-%dT%H:%M:%S%z")
        body = json.dumps(
            {
                "eventNotifications": [
                    {
                        "realmId": realm_id,
                        "dataChangeEvent": {
                            "entities": [
                                {
                                    "name": name,
                                    "id": str(object_id),
                                    "operation": operation,
                                    "lastUpdated": stamp,
                                }
                                for name, object_id, operation in events
                            ]
                        },
                    }
                ]
            }
        ).encode()
        digest = hmac.new(self.webhook_token.encode(), body, hashlib.sha256).digest()
        return body, {
            "intuit-signature": base64.b64encode(digest).decode(),
            "Content-Type": "application/json",
        }

    # --- OAuth 2.0 ---
    def _authorize(self, params):
        if params.get("client_id") != self.client_id:
            raise Fault(400, {"error": "invalid_client"})
        if params.get("response_type") != "code" or not params.get("redirect_uri"):
            raise Fault(400, {"error": "invalid_request"})
        code = "AB" + secrets.token_urlsafe(24)
        self.codes[code] = {
            "redirect_uri": params["redirect_uri"],
            "realm": self.consent_realm,
            "expires_at": self.now() + dt.timedelta(minutes=5),
        }
        query = {"code": code, "state": params.get("state", ""), "realmId": self.consent_realm}
        separator = "&" if "?" in params["redirect_uri"] else "?"
        return params["redirect_uri"] + separator + urlencode(query)

    def _token(self, headers, form):
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if headers.get("Authorization", "") != f"Basic {expected}":
            raise Fault(401, {"error": "invalid_client"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = self.codes.pop(form.get("code", ""), None)  # single use
            if (
                code is None
                or code["expires_at"] < self.now()
                or code["redirect_uri"] != form.get("redirect_uri")
            ):
                raise Fault(400, {"error": "invalid_grant"})
            realm = code["realm"]
        elif grant == "refresh_token":
            old = self.refresh_tokens.get(form.get("refresh_token", ""))
            if old is None or not old["active"] or old["expires_at"] < self.now():
                raise Fault(400, {"error": "invalid_grant"})
            old["active"] = False  # rotated: the old one stops working
            realm = old["realm"]
        else:
            raise Fault(400, {"error": "unsupported_grant_type"})
        access, refresh = "eyJ" + secrets.token_urlsafe(32), "AB11" + secrets.token_urlsafe(24)
        self.access_tokens[access] = {
            "realm": realm,
            "expires_at": self.now() + dt.timedelta(seconds=self.access_token_seconds),
            "refresh": refresh,
        }
        self.refresh_tokens[refresh] = {
            "realm": realm,
            "active": True,
            "expires_at": self.now() + dt.timedelta(seconds=REFRESH_TOKEN_SECONDS),
        }
        return {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.access_token_seconds,
            "x_refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
        }

    def _revoke(self, headers, body):
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if headers.get("Authorization", "") != f"Basic {expected}":
            raise Fault(401, {"error": "invalid_client"})
        token = body.get("token", "")
        if token in self.refresh_tokens:
            self.refresh_tokens[token]["active"] = False
            for access in self.access_tokens.values():
                if access["refresh"] == token:
                    access["expires_at"] = self.now() - dt.timedelta(seconds=1)
        elif token in self.access_tokens:
            self.access_tokens[token]["expires_at"] = self.now() - dt.timedelta(seconds=1)
        return {}

    # --- the API ---
    def _api(self, method, path, params, headers, body):
        """(JSON bytes, delay before answering) for one request under /v3/company/{realm}/…; raises Fault."""
        with self.lock:
            started = time.perf_counter()
            try:
                answer, delay = self._api_locked(method, path, params, headers, body)
                return json.dumps(answer, default=float).encode(), delay
            finally:
                self.busy_seconds += time.perf_counter() - started

    def _api_locked(self, method, path, params, headers, body):
        delay = 0
        self.requests.append((method, path, params))
        if self.faults:
            kind, value, retry_after = self.faults.pop(0)
            if kind == "status":
                if value == 429:
                    raise throttled(retry_after)
                if value == 401:
                    raise unauthorized()
                raise system_failure(value)
            delay = value
        match = re.fullmatch(r"/v3/company/([^/]+)/([a-z]+)(?:/([^/]+))?", path)
        if not match:
            raise fault(400, 4000, "Unsupported Operation", f"Unknown path {path}", kind="ValidationFault")
        realm, resource, object_id = match.groups()
        token = self.access_tokens.get(headers.get("Authorization", "").removeprefix("Bearer "))
        if token is None or token["expires_at"] <= self.now() or token["realm"] != realm:
            raise unauthorized()
        company = self.companies.get(realm)
        if company is None:
            raise unauthorized("Invalid realm")
        self._count_call(company)
        answer = self._route(company, method, resource, object_id, params, headers, body)
        answer["time"] = self.now().astimezone(company.tz).isoformat(timespec="milliseconds")
        return answer, delay

    def _count_call(self, company):
        moment = time.monotonic()
        while company.calls and company.calls[0] <= moment - 60:
            company.calls.popleft()
        if len(company.calls) >= self.rate_limit_per_minute:
            raise throttled(max(1, math.ceil(company.calls[0] + 60 - moment)))
        company.calls.append(moment)

    def _route(self, company, method, resource, object_id, params, headers, body):
        if resource == "query":
            text = params.get("query") if method == "GET" else body.decode()
            return self._query(company, text or "")
        if resource == "cdc":
            return self._cdc(company, params)
        if resource == "companyinfo":
            return {
                "CompanyInfo": {
                    "CompanyName": company.name,
                    "LegalName": company.name,
                    "Id": "1",
                    "SyncToken": "0",
                    "Country": "US",
                    "domain": "QBO",
                    "sparse": False,
                }
            }
        entity = ENTITIES.get(resource)
        if entity is None:
            raise fault(400, 4000, "Unsupported Operation", f"Operation {resource} is not supported.")
        if method == "GET" and object_id:
            return {entity: self._render(company, entity, self._find(company, entity, object_id))}
        if method != "POST" or object_id:
            raise fault(405, 4000, "Unsupported Operation", f"{method} {resource} is not supported.")
        request_id = params.get("requestid")
        if request_id and request_id in company.request_ids:
            return json.loads(company.request_ids[request_id])
        try:
            data = json.loads(body or b"{}", parse_float=Decimal)
        except ValueError:
            raise fault(400, 2500, "Invalid Request", "Request has invalid or unsupported property") from None
        operation = params.get("operation")
        if operation == "void":
            answer = {entity: self._void(company, entity, data)}
        elif operation == "delete":
            answer = {entity: self._delete(company, entity, data)}
        elif operation:
            raise fault(400, 500, "Unsupported Operation", f"Operation {operation} is not supported.")
        elif data.get("Id"):
            answer = {entity: self._update(company, entity, data)}
        else:
            answer = {entity: self._create(company, entity, data)}
        if request_id:
            company.request_ids[request_id] = json.dumps(answer, default=float)
        return answer

    # --- books ---
    def _find(self, company, entity, object_id):
        obj = company.objects[entity].get(str(object_id))
        if obj is None:
            raise fault(
                400,
                610,
                "Object Not Found",
                f"Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees. ({entity} {object_id})",
            )
        return obj

    def _touch(self, company, obj, *, new=False):
        stamp = company.stamp(self.now())
        if new:
            obj["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
            obj["SyncToken"] = "0"
        else:
            obj["MetaData"]["LastUpdatedTime"] = stamp
            obj["SyncToken"] = str(int(obj["SyncToken"]) + 1)
        obj["_updated"] = self.now()
        company.changes += 1

    def _check_version(self, company, entity, data):
        if "SyncToken" not in data:
            raise fault(
                400,
                2020,
                "Required param missing, need to supply the required value for the API",
                "Required parameter SyncToken is missing in the request",
            )
        current = self._find(company, entity, data.get("Id"))
        if str(data["SyncToken"]) != current["SyncToken"]:
            raise fault(
                400,
                5010,
                "Stale Object Error",
                "Stale Object Error : You and Sandbox User were working on this at the same time. Sandbox User finished before you did, so your work was not saved.",
            )
        return current

    def _new_id(self, company):
        company.next_id += 1
        return str(company.next_id - 1)

    def _customer_ref(self, company, data):
        ref = data.get("CustomerRef") or {}
        customer = company.objects["Customer"].get(str(ref.get("value", "")))
        if not ref.get("value"):
            raise fault(
                400,
                2020,
                "Required param missing, need to supply the required value for the API",
                "Required parameter CustomerRef is missing in the request",
            )
        if customer is None or not customer["Active"]:
            raise fault(
                400,
                2500,
                "Invalid Reference Id",
                f"Invalid Reference Id : Names element id {ref.get('value')} not found",
            )
        return customer

    def _create(self, company, entity, data):
        for field in ("Id", "SyncToken", "MetaData", "domain", "sparse"):
            data.pop(field, None)
        obj = {"domain": "QBO", "sparse": False, "Id": self._new_id(company)}
        if entity == "Customer":
            obj.update(self._customer_fields(company, data, None))
        elif entity in ("Invoice", "CreditMemo"):
            obj.update(self._document_fields(company, entity, data, None))
        else:
            obj.update(self._payment_fields(company, data, None))
            self._check_payment(company, obj, None)
        self._touch(company, obj, new=True)
        company.objects[entity][obj["Id"]] = obj
        self._index(company, entity, obj, None)
        if entity == "Payment":
            self._apply_payment(company, obj, +1)
        return self._render(company, entity, obj)

    @staticmethod
    def _key(entity, obj):
        if entity == "Customer":
            return obj["DisplayName"].casefold()
        return obj.get("DocNumber") if entity != "Payment" else None

    def _index(self, company, entity, obj, old_key):
        keys = company.keys[entity]
        if old_key is not None and keys.get(old_key) == obj["Id"]:
            del keys[old_key]
        if self._key(entity, obj):
            keys[self._key(entity, obj)] = obj["Id"]

    def _update(self, company, entity, data):
        current = self._check_version(company, entity, data)
        old_key = self._key(entity, current)
        if not data.get("sparse"):
            # a full update replaces what may be written; read-only facts stay
            keep = {
                "Id",
                "SyncToken",
                "MetaData",
                "domain",
                "sparse",
                "_updated",
                "_voided",
                "LinkedTxn",
                "Balance",
                "RemainingCredit",
            }
            base = {key: value for key, value in current.items() if key in keep}
        else:
            base = dict(current)
        merged = {
            **base,
            **{k: v for k, v in data.items() if k not in ("Id", "SyncToken", "MetaData", "sparse", "domain")},
        }
        if entity == "Customer":
            fields = self._customer_fields(company, merged, current)
        elif entity in ("Invoice", "CreditMemo"):
            fields = self._document_fields(company, entity, merged, current)
        else:
            fields = self._payment_fields(company, merged, current)
            self._check_payment(company, {**current, **fields}, current)
            self._apply_payment(company, current, -1)
        if not data.get("sparse"):
            for key in list(current):
                if key not in keep:
                    del current[key]
        current.update(fields)
        self._index(company, entity, current, old_key)
        self._touch(company, current)
        if entity == "Payment":
            self._apply_payment(company, current, +1)
        return self._render(company, entity, current)

    def _void(self, company, entity, data):
        if entity not in ("Invoice", "Payment"):
            raise fault(400, 500, "Unsupported Operation", f"Operation Void is not supported for {entity}.")
        current = self._check_version(company, entity, data)
        if entity == "Invoice":
            self._refuse_if_paid(company, current)
            for line in current["Line"]:
                line["Amount"] = Decimal(0)
                if "SalesItemLineDetail" in line:
                    line["SalesItemLineDetail"]["Qty"] = Decimal(0)
            current["TotalAmt"] = current["Balance"] = Decimal(0)
            current["TxnTaxDetail"] = {"TotalTax": Decimal(0)}
        else:
            self._apply_payment(company, current, -1)
            current["TotalAmt"] = current["UnappliedAmt"] = Decimal(0)
            for line in current["Line"]:
                line["Amount"] = Decimal(0)
        current["PrivateNote"] = "Voided"
        current["_voided"] = True
        self._touch(company, current)
        return self._render(company, entity, current)

    def _delete(self, company, entity, data):
        if entity == "Customer":
            raise fault(
                400,
                500,
                "Unsupported Operation",
                "Operation Delete is not supported for Customer: make it inactive.",
            )
        current = self._check_version(company, entity, data)
        if entity == "Payment":
            self._apply_payment(company, current, -1)
        else:
            self._refuse_if_paid(company, current)
        del company.objects[entity][current["Id"]]
        self._index(company, entity, {"Id": current["Id"], "DocNumber": None}, self._key(entity, current))
        company.deleted[entity][current["Id"]] = self.now()
        company.changes += 1
        return {"domain": "QBO", "status": "Deleted", "Id": current["Id"]}

    def _refuse_if_paid(self, company, document):
        applied = any(link["TxnType"] == "Payment" for link in document.get("LinkedTxn", []))
        if applied:
            raise fault(
                400,
                6000,
                "A business validation error has occurred while processing your request",
                "Business Validation Error: This transaction has payments applied to it. Unlink or delete the payments first.",
            )

    def _customer_fields(self, company, data, current):
        name = (
            data.get("DisplayName")
            or data.get("CompanyName")
            or " ".join(part for part in (data.get("GivenName"), data.get("FamilyName")) if part)
        ).strip()
        if not name:
            raise fault(
                400,
                2020,
                "Required param missing, need to supply the required value for the API",
                "Required parameter DisplayName is missing in the request",
            )
        other = company.keys["Customer"].get(name.casefold())
        if other and (current is None or other != current["Id"]):
            raise fault(
                400,
                6240,
                "Duplicate Name Exists Error",
                f"The name supplied already exists. : Another customer, vendor or employee is already using this name. Please use a different name. Id={other}",
            )
        fields = {
            key: data[key]
            for key in (
                "GivenName",
                "FamilyName",
                "CompanyName",
                "PrimaryEmailAddr",
                "PrimaryPhone",
                "BillAddr",
                "Notes",
                "ResaleNum",
            )
            if data.get(key) is not None
        }
        currency = (data.get("CurrencyRef") or {}).get("value") or company.currency
        fields.update(
            DisplayName=name,
            FullyQualifiedName=name,
            PrintOnCheckName=data.get("PrintOnCheckName") or name,
            Active=bool(data.get("Active", True)),
            Taxable=bool(data.get("Taxable", False)),
            Job=False,
            BillWithParent=False,
            PreferredDeliveryMethod=data.get("PreferredDeliveryMethod") or "Print",
            IsProject=False,
            CurrencyRef={"value": currency, "name": currency},
        )
        return fields

    def _document_fields(self, company, entity, data, current):
        customer = self._customer_ref(company, data)
        if not data.get("Line"):
            raise fault(
                400,
                2020,
                "Required param missing, need to supply the required value for the API",
                "Required parameter Line is missing in the request",
            )
        lines, subtotal, number = [], Decimal(0), 0
        for line in data["Line"]:
            kind = line.get("DetailType")
            if kind in ("SubTotalLineDetail", None) and "SubTotalLineDetail" in line:
                continue
            number += 1
            if kind in ("DescriptionOnly", "DescriptionLineDetail"):
                lines.append(
                    {
                        "Id": str(number),
                        "LineNum": number,
                        "Description": line.get("Description", ""),
                        "DetailType": kind,
                        kind: {},
                    }
                )
                continue
            if kind != "SalesItemLineDetail":
                raise fault(
                    400,
                    2010,
                    "Request has invalid or unsupported property",
                    f"Property Name:DetailType {kind} is not supported here",
                )
            detail = dict(line.get("SalesItemLineDetail") or {})
            amount = money(line.get("Amount"))
            if (
                "Qty" in detail
                and "UnitPrice" in detail
                and money(Decimal(str(detail["Qty"])) * Decimal(str(detail["UnitPrice"]))) != amount
            ):
                raise fault(
                    400,
                    6070,
                    "Amount is not equal to UnitPrice * Qty",
                    f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
                )
            detail.setdefault("ItemRef", {"value": "1", "name": "Services"})
            detail.setdefault("TaxCodeRef", {"value": "NON"})
            detail.setdefault("Qty", Decimal(1))
            detail.setdefault("UnitPrice", amount)
            lines.append(
                {
                    "Id": str(number),
                    "LineNum": number,
                    "Description": line.get("Description", ""),
                    "Amount": amount,
                    "DetailType": kind,
                    kind: detail,
                }
            )
            subtotal += amount
        lines.append({"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
        tax = money((data.get("TxnTaxDetail") or {}).get("TotalTax"))
        total = subtotal + tax
        doc_number = data.get("DocNumber")
        if doc_number:
            if company.refuse_duplicate_doc_numbers:
                other = company.keys[entity].get(doc_number)
                if other and (current is None or other != current["Id"]):
                    raise fault(
                        400,
                        6140,
                        "Duplicate Document Number Error",
                        f"Duplicate Document Number Error : You must specify a different number. This number has already been used. DocNumber={doc_number} is assigned to TxnType={entity} with TxnId={other}",
                    )
        else:
            while str(company.next_doc_number) in company.keys[entity]:
                company.next_doc_number += 1
            doc_number = str(company.next_doc_number)
            company.next_doc_number += 1
        today = self.now().astimezone(company.tz).date().isoformat()
        currency = (data.get("CurrencyRef") or {}).get("value") or customer["CurrencyRef"]["value"]
        fields = {
            "DocNumber": doc_number,
            "TxnDate": data.get("TxnDate") or today,
            "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
            "CurrencyRef": {"value": currency, "name": currency},
            "ExchangeRate": Decimal(str(data.get("ExchangeRate") or 1)),
            "Line": lines,
            "TxnTaxDetail": {"TotalTax": tax},
            "TotalAmt": total,
            "PrivateNote": data.get("PrivateNote", ""),
            "CustomerMemo": data.get("CustomerMemo"),
            "PrintStatus": "NotSet",
            "EmailStatus": "NotSet",
            "ApplyTaxAfterDiscount": False,
        }
        if fields["CustomerMemo"] is None:
            del fields["CustomerMemo"]
        applied = Decimal(0)
        if current is not None:
            applied = current["TotalAmt"] - (
                current["Balance"] if entity == "Invoice" else current["RemainingCredit"]
            )
        if total < applied:
            raise fault(
                400,
                6000,
                "A business validation error has occurred while processing your request",
                "Business Validation Error: The total is less than what has been applied to it.",
            )
        if entity == "Invoice":
            fields.update(
                DueDate=data.get("DueDate") or fields["TxnDate"],
                Balance=total - applied,
                Deposit=Decimal(0),
                AllowIPNPayment=False,
                AllowOnlinePayment=False,
                AllowOnlineCreditCardPayment=False,
                AllowOnlineACHPayment=False,
                LinkedTxn=current["LinkedTxn"] if current else [],
            )
        else:
            fields.update(RemainingCredit=total - applied, Balance=total - applied)
            if current:
                fields["LinkedTxn"] = current.get("LinkedTxn", [])
        return fields

    def _payment_fields(self, company, data, current):
        customer = self._customer_ref(company, data)
        if data.get("TotalAmt") is None:
            raise fault(
                400,
                2020,
                "Required param missing, need to supply the required value for the API",
                "Required parameter TotalAmt is missing in the request",
            )
        total = money(data["TotalAmt"])
        lines, net = [], Decimal(0)
        for line in data.get("Line") or []:
            links = line.get("LinkedTxn") or []
            if len(links) != 1 or links[0].get("TxnType") not in ("Invoice", "CreditMemo"):
                raise fault(
                    400,
                    2010,
                    "Request has invalid or unsupported property",
                    "Each payment line links one Invoice or CreditMemo",
                )
            amount = money(line.get("Amount"))
            link = {"TxnId": str(links[0]["TxnId"]), "TxnType": links[0]["TxnType"]}
            lines.append({"Amount": amount, "LinkedTxn": [link]})
            net += amount if link["TxnType"] == "Invoice" else -amount
        if net > total:
            raise fault(
                400,
                6000,
                "A business validation error has occurred while processing your request",
                "Business Validation Error: The amount applied is more than the payment.",
            )
        currency = customer["CurrencyRef"]["value"]
        today = self.now().astimezone(company.tz).date().isoformat()
        return {
            "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
            "DepositToAccountRef": {"value": "4"},
            "TotalAmt": total,
            "UnappliedAmt": total - net,
            "ProcessPayment": False,
            "TxnDate": data.get("TxnDate") or today,
            "CurrencyRef": {"value": currency, "name": currency},
            "ExchangeRate": Decimal(str(data.get("ExchangeRate") or 1)),
            "PaymentRefNum": data.get("PaymentRefNum", ""),
            "PrivateNote": data.get("PrivateNote", ""),
            "Line": lines,
        }

    def _check_payment(self, company, payment, previous):
        """Refuse lines naming missing, voided or another customer's documents, or applying more than
        is open on a document (counting back what `previous`, the payment before an update, applied)."""
        if payment.get("_voided"):
            return
        returned, wanted = {}, {}
        if previous is not None and not previous.get("_voided"):
            for line in previous["Line"]:
                key = (line["LinkedTxn"][0]["TxnType"], line["LinkedTxn"][0]["TxnId"])
                returned[key] = returned.get(key, Decimal(0)) + line["Amount"]
        for line in payment["Line"]:
            key = (line["LinkedTxn"][0]["TxnType"], line["LinkedTxn"][0]["TxnId"])
            wanted[key] = wanted.get(key, Decimal(0)) + line["Amount"]
        for (kind, object_id), amount in wanted.items():
            document = company.objects[kind].get(object_id)
            if document is None or document.get("_voided"):
                raise fault(
                    400, 2500, "Invalid Reference Id", f"Invalid Reference Id : {kind} {object_id} not found"
                )
            if document["CustomerRef"]["value"] != payment["CustomerRef"]["value"]:
                raise fault(
                    400,
                    6000,
                    "A business validation error has occurred while processing your request",
                    "Business Validation Error: The transaction belongs to another customer.",
                )
            field = "Balance" if kind == "Invoice" else "RemainingCredit"
            if amount > document[field] + returned.get((kind, object_id), Decimal(0)):
                raise fault(
                    400,
                    6000,
                    "A business validation error has occurred while processing your request",
                    f"Business Validation Error: The amount applied to {kind} {object_id} is more than its open balance.",
                )

    def _apply_payment(self, company, payment, sign):
        """Apply (sign +1) or take back (-1) a checked payment's lines on its invoices and credit memos."""
        if payment.get("_voided"):
            return
        for line in payment["Line"]:
            link = line["LinkedTxn"][0]
            document = company.objects[link["TxnType"]][link["TxnId"]]
            if link["TxnType"] == "Invoice":
                document["Balance"] -= sign * line["Amount"]
            else:
                document["RemainingCredit"] -= sign * line["Amount"]
                document["Balance"] = document["RemainingCredit"]
            links = [other for other in document.get("LinkedTxn", []) if other["TxnId"] != payment["Id"]]
            if sign > 0:
                links.append({"TxnId": payment["Id"], "TxnType": "Payment"})
            document["LinkedTxn"] = links
            self._touch(company, document)

    def _render(self, company, entity, obj):
        # shares nested values with the books: encode it under the lock, or copy it with plain()
        data = {key: value for key, value in obj.items() if not key.startswith("_")}
        if entity == "Customer":
            balance = self._customer_balances(company).get(obj["Id"], Decimal(0))
            data["Balance"] = data["BalanceWithJobs"] = balance
        return data

    @staticmethod
    def _customer_balances(company):
        """What each customer owes (open invoices less unused credits and payments), kept per change."""
        changes, balances = company.balances
        if changes != company.changes:
            balances = {}
            for entity, field, sign in (
                ("Invoice", "Balance", 1),
                ("CreditMemo", "RemainingCredit", -1),
                ("Payment", "UnappliedAmt", -1),
            ):
                for obj in company.objects[entity].values():
                    customer = obj["CustomerRef"]["value"]
                    balances[customer] = balances.get(customer, Decimal(0)) + sign * obj[field]
            company.balances = (company.changes, balances)
        return balances

    # --- query and change data capture ---
    QUERY = re.compile(
        r"select\s+(?P<what>\*|count\(\*\))\s+from\s+(?P<entity>\w+)"
        r"(?:\s+where\s+(?P<where>.+?))?"
        r"(?:\s+order\s*by\s+(?P<order>[\w.]+)(?:\s+(?P<direction>asc|desc))?)?"
        r"(?:\s+startposition\s+(?P<start>\d+))?"
        r"(?:\s+maxresults\s+(?P<max>\d+))?\s*$",
        re.IGNORECASE | re.DOTALL,
    )
    CONDITION = re.compile(r"^\s*([\w.]+)\s*(>=|<=|!=|=|>|<|\bin\b|\blike\b)\s*(.+?)\s*$", re.IGNORECASE)

    def _query(self, company, text):
        match = self.QUERY.match(text.strip())
        entity = match and {name.lower(): name for name in ENTITIES.values()}.get(match["entity"].lower())
        if not match or not entity:
            raise fault(
                400, 4000, "Error parsing query", f"QueryParserError: Encountered unexpected text in {text!r}"
            )
        conditions = []
        for part in re.split(r"\s+and\s+", match["where"] or "", flags=re.IGNORECASE):
            if not part.strip():
                continue
            condition = self.CONDITION.match(part)
            if not condition:
                raise fault(400, 4000, "Error parsing query", f"QueryParserError: cannot read {part!r}")
            conditions.append((condition[1], condition[2].lower(), self._literal(condition[3])))
        if entity == "Customer" and not any(field == "Active" for field, _, _ in conditions):
            conditions.append(("Active", "=", True))  # name lists answer active entries unless asked
        rows = list(company.objects[entity].values())
        for condition in conditions:
            rows = [obj for obj in rows if self._holds(obj, *condition)]
        if match["what"].lower() != "*":
            return {"QueryResponse": {"totalCount": len(rows)}}
        descending = (match["direction"] or "").lower() == "desc"
        if match["order"] and (match["order"].lower() != "id" or descending):
            rows.sort(
                key=lambda obj: self._field(obj, match["order"]),
                reverse=descending,
            )
        # otherwise by Id: the books keep objects in the order they were made, ids ascending
        start = max(1, int(match["start"] or 1))
        limit = min(int(match["max"] or 100), QUERY_MAX_RESULTS)
        page = rows[start - 1 : start - 1 + limit]
        if not page:
            return {"QueryResponse": {}}
        return {
            "QueryResponse": {
                entity: [self._render(company, entity, obj) for obj in page],
                "startPosition": start,
                "maxResults": len(page),
            }
        }

    def _literal(self, text):
        text = text.strip()
        if text.startswith("("):
            return [self._literal(item) for item in text.strip("()").split(",")]
        if text[:1] in "'\"":
            return re.sub(r"\\(.)", r"\1", text[1:-1])  # \' and \\ are escapes
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        return Decimal(text)

    def _field(self, obj, name):
        if name == "MetaData.LastUpdatedTime":
            return obj["_updated"]
        if name == "MetaData.CreateTime":
            return parse_time(obj["MetaData"]["CreateTime"])
        if name == "Id":
            return int(obj["Id"])
        if name == "CustomerRef":
            return obj.get("CustomerRef", {}).get("value")
        return obj.get(name)

    def _holds(self, obj, field, operator, value):
        actual = self._field(obj, field)
        if isinstance(actual, dt.datetime):
            value = [parse_time(v) for v in value] if isinstance(value, list) else parse_time(value)
        elif field == "Id":
            value = [int(v) for v in value] if isinstance(value, list) else int(value)
        elif isinstance(actual, Decimal):
            value = [Decimal(str(v)) for v in value] if isinstance(value, list) else Decimal(str(value))
        if operator == "in":
            return actual in value
        if operator == "like":
            pattern = "^" + re.escape(str(value)).replace("%", ".*") + "$"
            return re.match(pattern, str(actual or ""), re.IGNORECASE) is not None
        if actual is None:
            return False
        return {
            "=": actual == value,
            "!=": actual != value,
            ">": actual > value,
            "<": actual < value,
            ">=": actual >= value,
            "<=": actual <= value,
        }[operator]

    def _cdc(self, company, params):
        names = [name.strip() for name in params.get("entities", "").split(",") if name.strip()]
        unknown = [name for name in names if name not in ENTITIES.values()]
        if not names or unknown or not params.get("changedSince"):
            raise fault(
                400,
                2010,
                "Request has invalid or unsupported property",
                f"Invalid entities or changedSince: {unknown}",
            )
        try:
            since = parse_time(params["changedSince"])
        except ValueError:
            raise fault(
                400, 2010, "Request has invalid or unsupported property", "changedSince is not a date-time"
            ) from None
        if since < self.now() - CDC_LOOK_BACK:
            raise fault(
                400,
                4000,
                "Invalid changedSince",
                f"Operation cdc with changedSince date {params['changedSince']} which is older than fixed days is not supported.",
            )
        room, responses = CDC_MAX_OBJECTS, []
        for name in names:
            changed = [
                (obj["_updated"], obj) for obj in company.objects[name].values() if obj["_updated"] >= since
            ]
            changed += [
                (
                    moment,
                    {
                        "domain": "QBO",
                        "status": "Deleted",
                        "Id": object_id,
                        "MetaData": {"LastUpdatedTime": company.stamp(moment)},
                    },
                )
                for object_id, moment in company.deleted[name].items()
                if moment >= since
            ]
            changed.sort(key=lambda pair: pair[0])
            changed = changed[:room]
            room -= len(changed)
            if not changed:
                responses.append({})
                continue
            objects = [
                obj if obj.get("status") == "Deleted" else self._render(company, name, obj)
                for _, obj in changed
            ]
            responses.append(
                {name: objects, "startPosition": 1, "maxResults": len(objects), "totalCount": len(objects)}
            )
        return {"CDCResponse": [{"QueryResponse": responses}]}

    # --- HTTP ---
    def _handler(self):
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, status, answer, headers=None):
                data = answer if isinstance(answer, bytes) else json.dumps(answer, default=float).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("intuit_tid", secrets.token_hex(8))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _serve(self, method):
                parts = urlsplit(self.path)
                params = {key: values[-1] for key, values in parse_qs(parts.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {key: value for key, value in self.headers.items()}
                headers["Authorization"] = self.headers.get("Authorization", "")
                delay = 0
                try:
                    if parts.path == AUTH_PATH and method == "GET":
                        with emulator.lock:
                            location = emulator._authorize(params)
                        self.send_response(302)
                        self.send_header("Location", location)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    if parts.path in (TOKEN_PATH, REVOKE_PATH) and method == "POST":
                        if parts.path == TOKEN_PATH:
                            form = {key: values[-1] for key, values in parse_qs(body.decode()).items()}
                            with emulator.lock:
                                answer = emulator._token(headers, form)
                        else:
                            with emulator.lock:
                                answer = emulator._revoke(headers, json.loads(body or b"{}"))
                        self._answer(200, answer, {"Cache-Control": "no-store"})
                        return
                    answer, delay = emulator._api(method, parts.path, params, headers, body)
                    status, extra = 200, {}
                except Fault as refused:
                    status, answer, extra = refused.status, refused.body, refused.headers
                    if "Fault" in answer:
                        answer = {**answer, "time": emulator.now().isoformat(timespec="milliseconds")}
                if delay:
                    time.sleep(delay)
                # the client may have given up waiting (a timeout test)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(status, answer, extra)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def log_message(self, *args):
                pass

        return Handler
