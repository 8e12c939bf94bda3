"""QuickBooks Online behind the Connector interface, through plain HTTP (`requests`).

Why not python-quickbooks: its client fixes the API host in class attributes, sends requests without a
timeout, turns a 429 or a 5xx into a generic "Error reading json" exception (no status, no
`Retry-After`), and wants intuit-oauth's AuthClient, whose token and authorize URLs are fixed too.
The sync needs the status codes, a timeout on every call and URLs from the settings, so this module
speaks the documented REST API itself (minor version from QUICKBOOKS_MINOR_VERSION, 75 or later).

Reading (`changes`): QuickBooks keeps one cursor for all four kinds (Connection.cursors["cdc"]).
- Cursor within 30 days: one Change Data Capture call answers all four entities at once; the connector
  keeps that answer per cursor and serves each kind from it once, so a run asking contact, invoice,
  payment and credit_note with the same cursor makes one CDC call. Asking the same kind again (a retry,
  the next run) calls CDC anew. Every kind's page carries the same new cursor: the CDC answer's server
  time less CURSOR_OVERLAP (a small overlap; the sync de-duplicates by id and version).
- CDC answers at most 1,000 objects; an answer that holds 1,000 may be cut, so then every kind is read
  by a query listing of what changed since the cursor (`MetaData.LastUpdatedTime >= …`, pages of 1,000
  by STARTPOSITION), its first page adding the deletions CDC did report (deletions past the cut are
  not seen).
- No cursor, or one older than the 30 days CDC looks back: a query listing (everything, or what changed
  since the cursor) in Id order, paged by STARTPOSITION; its cursor is the server time of the first
  page less the overlap. Pages overlap by PAGE_OVERLAP rows (the repeat is dropped) so that documents
  deleted between two pages make nothing slip past; a page token stays good in a later run, so a
  listing that died half way can resume from the last committed page's `next_page`. A query shows no deleted documents: what was deleted since such a cursor is not reported
  (a full listing can be reconciled by id).
Customers are listed active and inactive (`Active IN (true, false)`); an inactive one is a tombstone.

Use: QuickBooksConnector(realm_id, access_token); the OAuth callback's `realmId` is the realm.
exchange_code() and refresh() also switch the connector to the new access token.

Normalised data (base.py) with these QuickBooks specifics:
- contact: no `number` (QuickBooks customers have no account number); DisplayName is unique.
- invoice: `amount_due` is the Balance; `amount_paid` / `amount_credited` are not sent (QuickBooks
  applies cash and credits through Payments, which say which is which). Status: void (voided: zero
  total, PrivateNote "Voided"), paid (Balance 0), open. QuickBooks has no draft invoices.
- payment: `allocations` are the cash applied to invoices; `credit_allocations`
  [{credit_note_id, invoice_id, amount}] are credit memos applied to invoices through the same Payment
  (how QuickBooks allocates a credit: a Payment of 0 linking both). Credits are matched to invoices
  first, in line order, the rest of each invoice is cash.
- credit_note: `remaining` is RemainingCredit; status approved (no drafts); its allocations come with
  payments (`credit_allocations`), not with the credit memo.
- `version` is the SyncToken; deleted objects (CDC status "Deleted") have version "deleted".
Writes send `requestid` (the idempotency key; keys over 50 characters are hashed) and, for updates,
the expected SyncToken: 5010 raises StaleVersion. Errors: 429 RateLimited (Retry-After or 60 s), 401
TokenExpired, 5xx / timeouts / connection errors retryable ConnectorError, other refusals
QuickBooksFault (not retryable) with Intuit's error `code` (6140 duplicate DocNumber, 6240 duplicate
name, 610 not found, …). The connector does not retry: the sync decides.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal
from urllib.parse import urlencode

import requests
from django.conf import settings

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

ENTITY = {"contact": "Customer", "invoice": "Invoice", "payment": "Payment", "credit_note": "CreditMemo"}
KIND = {entity: kind for kind, entity in ENTITY.items()}
SCOPE = "com.intuit.quickbooks.accounting"
CDC_LOOK_BACK = dt.timedelta(days=30)
CDC_SAFETY = dt.timedelta(hours=1)  # a cursor this close to 30 days old is read by a listing instead
CDC_MAX_OBJECTS = 1000
PAGE_SIZE = 1000
PAGE_OVERLAP = 50  # rows a listing page repeats from the one before
CURSOR_OVERLAP = dt.timedelta(seconds=60)
DEFAULT_RETRY_AFTER = 60  # QuickBooks' limit is per minute; used when a 429 says nothing


class QuickBooksFault(ConnectorError):
    """QuickBooks refused the request (a Fault); `code` is Intuit's error code, e.g. "6140"."""

    def __init__(self, message, *, code="", **kwargs):
        super().__init__(message, **kwargs)
        self.code = code


def _dec(value):
    return Decimal(str(value if value is not None else 0))


def _date(value):
    return dt.date.fromisoformat(value) if value else None


def _utc(text):
    moment = dt.datetime.fromisoformat(text)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _stamp(moment):
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _request_id(key):
    key = str(key)
    return key if len(key) <= 50 else hashlib.sha256(key.encode()).hexdigest()[:40]


def _money(value):
    # JSON numbers from Decimals, without float rounding noise
    return float(_dec(value))


class QuickBooksConnector(Connector):
    provider = "quickbooks"
    calls_per_minute = 500

    def __init__(self, realm_id=None, access_token=None, *, timeout=None, session=None):
        self.realm_id = realm_id
        self.access_token = access_token
        self.timeout = timeout or settings.ACCOUNTING_HTTP_TIMEOUT_SECONDS
        self.session = session or requests.Session()
        self._cdc = {}  # cursor -> {"kinds": {kind: [records]}, "served": set, "cut": bool, "cursor": str}

    @property
    def tenant_id(self):  # the Connection's name for the realm
        return self.realm_id

    # --- OAuth 2.0 ---
    def authorization_url(self, *, state, redirect_uri):
        query = {
            "client_id": settings.QUICKBOOKS_CLIENT_ID,
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": redirect_uri,
            "state": state,
        }
        return f"{settings.QUICKBOOKS_AUTH_URL}?{urlencode(query)}"

    def exchange_code(self, *, code, redirect_uri) -> Tokens:
        """The callback's `realmId` is the company: pass it as `realm_id` to the connector."""
        return self._token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})

    def refresh(self, refresh_token) -> Tokens:
        """A new pair; the refresh token sent is spent, so save both at once. Uses the new access token."""
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def revoke(self, token):
        """Disconnect: revoke the refresh token (and what it issued)."""
        self._oauth_post(
            settings.QUICKBOOKS_REVOKE_URL,
            json_body={"token": token},
        )

    def tenants(self, tokens) -> list:
        """[(realm id, company name)]: QuickBooks tokens reach the one company chosen at consent."""
        if tokens is not None:
            self.access_token = tokens.access_token
        info = self._call("GET", f"companyinfo/{self.realm_id}")["CompanyInfo"]
        return [(self.realm_id, info.get("CompanyName") or info.get("LegalName") or self.realm_id)]

    def _token(self, form):
        answer = self._oauth_post(settings.QUICKBOOKS_TOKEN_URL, form=form)
        self.access_token = answer["access_token"]
        return Tokens(
            access_token=answer["access_token"],
            refresh_token=answer["refresh_token"],
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(answer.get("expires_in", 3600))),
        )

    def _oauth_post(self, url, *, form=None, json_body=None):
        try:
            response = self.session.post(
                url,
                data=form,
                json=json_body,
                auth=(settings.QUICKBOOKS_CLIENT_ID, settings.QUICKBOOKS_CLIENT_SECRET),
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise ConnectorError(f"QuickBooks OAuth: {error}", retryable=True) from error
        if response.status_code == 429:
            raise RateLimited(
                "QuickBooks OAuth: too many requests",
                status=429,
                retry_after=DEFAULT_RETRY_AFTER,
                retryable=True,
            )
        if response.status_code >= 500:
            raise ConnectorError(
                f"QuickBooks OAuth: HTTP {response.status_code}", status=response.status_code, retryable=True
            )
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = {}
        if response.status_code != 200:
            # invalid_grant: the code or refresh token is spent, expired or revoked: reconnect
            error = answer.get("error") or f"HTTP {response.status_code}"
            raise QuickBooksFault(
                f"QuickBooks OAuth refused: {error}", code=error, status=response.status_code
            )
        return answer

    # --- HTTP ---
    def _call(self, method, path, *, params=None, body=None, text=None):
        if not self.realm_id:
            raise ConnectorError("QuickBooks: no realm (company) chosen")
        url = f"{settings.QUICKBOOKS_API_URL}/v3/company/{self.realm_id}/{path}"
        params = {**(params or {}), "minorversion": settings.QUICKBOOKS_MINOR_VERSION}
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self.access_token}"}
        if text is not None:
            headers["Content-Type"] = "application/text"
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=body,
                data=text.encode() if text is not None else None,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.Timeout as error:
            raise ConnectorError(f"QuickBooks {method} {path}: timed out", retryable=True) from error
        except requests.RequestException as error:
            raise ConnectorError(f"QuickBooks {method} {path}: {error}", retryable=True) from error
        status = response.status_code
        if status == 429:
            raw = response.headers.get("Retry-After", "")
            retry_after = int(raw) if raw.isdigit() else DEFAULT_RETRY_AFTER
            raise RateLimited(
                f"QuickBooks {method} {path}: rate limited",
                status=429,
                retry_after=retry_after,
                retryable=True,
            )
        if status == 401:
            raise TokenExpired(
                f"QuickBooks {method} {path}: access token refused", status=401, retryable=True
            )
        if status >= 500:
            raise ConnectorError(f"QuickBooks {method} {path}: HTTP {status}", status=status, retryable=True)
        try:
            answer = json.loads(response.content or b"{}", parse_float=Decimal)
        except ValueError as error:
            raise ConnectorError(
                f"QuickBooks {method} {path}: HTTP {status}, not JSON", status=status
            ) from error
        fault = answer.get("Fault") or answer.get("fault")
        if fault or status != 200:
            errors = (fault or {}).get("Error") or (fault or {}).get("error") or [{}]
            first = errors[0]
            code = str(first.get("code", ""))
            message = f"QuickBooks {code}: {first.get('Message') or first.get('message') or status}; {first.get('Detail') or first.get('detail') or ''}"
            if code == "5010":
                raise StaleVersion(message, status=status)
            if code == "3200":
                raise TokenExpired(message, status=status, retryable=True)
            raise QuickBooksFault(message, code=code, status=status)
        return answer

    # --- reading ---
    def get(self, kind, external_id) -> ExternalRecord | None:
        """The record, or None when QuickBooks has no such (or no longer such) object."""
        entity = ENTITY[kind]
        try:
            answer = self._call("GET", f"{entity.lower()}/{external_id}")
        except QuickBooksFault as error:
            if error.code == "610":
                return None
            raise
        return self._record(kind, answer[entity])

    def find(self, kind, *, name=None, number=None) -> ExternalRecord | None:
        """A customer by DisplayName (active or not), an invoice or credit memo by DocNumber: what
        to match on when QuickBooks refuses a duplicate (6240, 6140). Not part of the interface."""
        entity = ENTITY[kind]
        value = (name if kind == "contact" else number) or ""
        field = "DisplayName" if kind == "contact" else "DocNumber"
        active = " AND Active IN (true, false)" if kind == "contact" else ""
        quoted = value.replace("\\", "\\\\").replace("'", "\\'")
        answer = self._call(
            "POST", "query", text=f"SELECT * FROM {entity} WHERE {field} = '{quoted}'{active}"
        )
        objects = answer.get("QueryResponse", {}).get(entity, [])
        return self._record(kind, objects[0]) if objects else None

    def changes(self, kind, *, cursor, page_token=None) -> Page:
        if page_token:
            return self._listing_page(kind, json.loads(page_token))
        since = _utc(cursor) if cursor else None
        if since is None or since < dt.datetime.now(dt.UTC) - CDC_LOOK_BACK + CDC_SAFETY:
            return self._listing_page(kind, {"start": 1, "since": cursor, "cursor": None})
        cached = self._cdc.get(cursor)
        if cached is None or kind in cached["served"]:
            try:
                cached = self._change_data_capture(since)
                self._cdc = {cursor: cached}  # only the answer being served is kept
            except QuickBooksFault as error:
                if "older than" not in str(error):
                    raise
                # the server's clock says the cursor is too old after all
                return self._listing_page(kind, {"start": 1, "since": cursor, "cursor": None})
        cached["served"].add(kind)
        if cached["cut"]:
            deletions = [record for record in cached["kinds"][kind] if record.version == "deleted"]
            return self._listing_page(
                kind, {"start": 1, "since": cursor, "cursor": cached["cursor"]}, deletions
            )
        return Page(records=list(cached["kinds"][kind]), next_page=None, cursor=cached["cursor"])

    def _change_data_capture(self, since):
        entities = ",".join(ENTITY.values())
        answer = self._call("GET", "cdc", params={"entities": entities, "changedSince": _stamp(since)})
        kinds, count = {kind: [] for kind in ENTITY}, 0
        for block in answer["CDCResponse"]:
            for response in block.get("QueryResponse", []):
                for entity, objects in response.items():
                    if entity in KIND:
                        kinds[KIND[entity]].extend(self._record(KIND[entity], obj) for obj in objects)
                        count += len(objects)
        return {
            "kinds": kinds,
            "served": set(),
            "cut": count >= CDC_MAX_OBJECTS,
            "cursor": _stamp(_utc(answer["time"]) - CURSOR_OVERLAP),
        }

    def _listing_page(self, kind, state, extra=()):
        entity = ENTITY[kind]
        conditions = ["Active IN (true, false)"] if entity == "Customer" else []
        if state["since"]:
            conditions.append(f"MetaData.LastUpdatedTime >= '{_stamp(_utc(state['since']))}'")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        query = (
            f"SELECT * FROM {entity}{where} ORDERBY Id STARTPOSITION {state['start']} MAXRESULTS {PAGE_SIZE}"
        )
        answer = self._call("POST", "query", text=query)
        objects = answer.get("QueryResponse", {}).get(entity, [])
        cursor = state["cursor"] or _stamp(_utc(answer["time"]) - CURSOR_OVERLAP)
        fresh = objects
        # pages overlap by PAGE_OVERLAP rows so that deletions between two pages skip nothing; drop
        # what the previous page ended with (when it is still there)
        ids = [str(obj.get("Id")) for obj in objects]
        if state.get("last") in ids:
            fresh = objects[ids.index(state["last"]) + 1 :]
        records = list(extra) + [self._record(kind, obj) for obj in fresh]
        next_page = None
        if len(objects) == PAGE_SIZE:
            next_page = json.dumps(
                {
                    "start": state["start"] + PAGE_SIZE - PAGE_OVERLAP,
                    "since": state["since"],
                    "cursor": cursor,
                    "last": ids[-1],
                }
            )
        return Page(records=records, next_page=next_page, cursor=cursor)

    # --- QuickBooks objects -> ExternalRecord ---
    def _record(self, kind, obj):
        meta = obj.get("MetaData") or {}
        updated_at = _utc(meta["LastUpdatedTime"]) if meta.get("LastUpdatedTime") else dt.datetime.now(dt.UTC)
        if obj.get("status") == "Deleted":
            return ExternalRecord(kind, str(obj["Id"]), "deleted", updated_at, {}, tombstone=True)
        data = getattr(self, f"_{kind}_data")(obj)
        tombstone = data.get("status") == "void" or (kind == "contact" and not obj.get("Active", True))
        return ExternalRecord(
            kind, str(obj["Id"]), str(obj.get("SyncToken", "")), updated_at, data, tombstone=tombstone
        )

    def _contact_data(self, obj):
        data = {"name": obj.get("DisplayName", ""), "currency": (obj.get("CurrencyRef") or {}).get("value")}
        if (obj.get("PrimaryEmailAddr") or {}).get("Address"):
            data["email"] = obj["PrimaryEmailAddr"]["Address"]
        if (obj.get("PrimaryPhone") or {}).get("FreeFormNumber"):
            data["phone"] = obj["PrimaryPhone"]["FreeFormNumber"]
        return data

    @staticmethod
    def _voided(obj):
        return str(obj.get("PrivateNote") or "").startswith("Voided") and _dec(obj.get("TotalAmt")) == 0

    def _lines(self, obj):
        lines = []
        for line in obj.get("Line") or []:
            detail = line.get("SalesItemLineDetail")
            if detail is None:
                continue
            lines.append(
                {
                    "description": line.get("Description", ""),
                    "quantity": _dec(detail.get("Qty", 1)),
                    "unit_price": _dec(detail.get("UnitPrice", line.get("Amount"))),
                    "amount": _dec(line.get("Amount")),
                }
            )
        return lines

    def _invoice_data(self, obj):
        total, balance = _dec(obj.get("TotalAmt")), _dec(obj.get("Balance"))
        tax = _dec((obj.get("TxnTaxDetail") or {}).get("TotalTax"))
        lines = self._lines(obj)
        if self._voided(obj):
            status = "void"
        elif balance == 0:
            status = "paid"
        else:
            status = "open"
        return {
            "number": obj.get("DocNumber") or "",
            "contact_id": str((obj.get("CustomerRef") or {}).get("value", "")),
            "issue_date": _date(obj.get("TxnDate")),
            "due_date": _date(obj.get("DueDate")),
            "currency": (obj.get("CurrencyRef") or {}).get("value"),
            "exchange_rate": _dec(obj.get("ExchangeRate") or 1),
            "subtotal": total - tax,
            "tax": tax,
            "total": total,
            "amount_due": balance,
            "status": status,
            "lines": lines,
        }

    def _payment_data(self, obj):
        invoices, credits = [], []
        for line in obj.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                target = (link["TxnType"], str(link["TxnId"]), _dec(line.get("Amount")))
                (invoices if link["TxnType"] == "Invoice" else credits).append(target)
        allocations, credit_allocations = [], []
        pool = [[credit_id, amount] for _, credit_id, amount in credits if amount > 0]
        for _, invoice_id, amount in invoices:
            rest = amount
            while rest > 0 and pool:
                used = min(rest, pool[0][1])
                credit_allocations.append(
                    {"credit_note_id": pool[0][0], "invoice_id": invoice_id, "amount": used}
                )
                rest -= used
                pool[0][1] -= used
                if pool[0][1] == 0:
                    pool.pop(0)
            if rest > 0:
                allocations.append({"invoice_id": invoice_id, "amount": rest})
        voided = self._voided(obj)
        return {
            "contact_id": str((obj.get("CustomerRef") or {}).get("value", "")),
            "date": _date(obj.get("TxnDate")),
            "amount": _dec(obj.get("TotalAmt")),
            "currency": (obj.get("CurrencyRef") or {}).get("value"),
            "reference": obj.get("PaymentRefNum") or "",
            "allocations": [] if voided else allocations,
            "credit_allocations": [] if voided else credit_allocations,
            **({"status": "void"} if voided else {}),
        }

    def _credit_note_data(self, obj):
        return {
            "number": obj.get("DocNumber") or "",
            "contact_id": str((obj.get("CustomerRef") or {}).get("value", "")),
            "date": _date(obj.get("TxnDate")),
            "currency": (obj.get("CurrencyRef") or {}).get("value"),
            "total": _dec(obj.get("TotalAmt")),
            "remaining": _dec(obj.get("RemainingCredit")),
            "status": "approved",
            "lines": self._lines(obj),
        }

    # --- writing ---
    def upsert(
        self, kind, data, *, idempotency_key, external_id=None, expected_version=None
    ) -> ExternalRecord:
        """Create (no external_id) or sparse-update. Without expected_version an update reads the
        current SyncToken first (last writer wins); with it, a stale one raises StaleVersion."""
        entity = ENTITY[kind]
        body = getattr(self, f"_{kind}_body")(data, creating=external_id is None)
        if external_id is not None:
            if expected_version is None:
                expected_version = self._current_version(kind, external_id)
            body.update(Id=str(external_id), SyncToken=str(expected_version), sparse=True)
        answer = self._call(
            "POST", entity.lower(), params={"requestid": _request_id(idempotency_key)}, body=body
        )
        return self._record(kind, answer[entity])

    def _current_version(self, kind, external_id):
        """The record's SyncToken as QuickBooks has it now (last writer wins); 610 when it is gone."""
        current = self.get(kind, external_id)
        if current is None:
            raise QuickBooksFault(
                f"QuickBooks 610: {ENTITY[kind]} {external_id} not found", code="610", status=400
            )
        return current.version

    def void(self, kind, external_id, *, idempotency_key, expected_version=None) -> ExternalRecord:
        """Invoices and payments are voided; credit memos (no void in the API) deleted; customers made
        inactive. The record returned is a tombstone."""
        entity = ENTITY[kind]
        if expected_version is None:
            expected_version = self._current_version(kind, external_id)
        body = {"Id": str(external_id), "SyncToken": str(expected_version)}
        params = {"requestid": _request_id(idempotency_key)}
        if kind == "contact":
            body.update(sparse=True, Active=False)
        else:
            params["operation"] = "delete" if kind == "credit_note" else "void"
        answer = self._call("POST", entity.lower(), params=params, body=body)
        obj = answer[entity]
        if obj.get("status") == "Deleted" and "MetaData" not in obj:
            obj = {**obj, "MetaData": {"LastUpdatedTime": answer.get("time")}}
        return self._record(kind, obj)

    def allocate_credit(self, credit_note_id, invoice_id, amount, *, idempotency_key) -> ExternalRecord:
        """A Payment of 0 linking the invoice and the credit memo, as QuickBooks applies credits; the
        record returned is that payment (kind "payment", amount 0, one `credit_allocations` entry)."""
        memo = self._call("GET", f"creditmemo/{credit_note_id}")["CreditMemo"]
        amount = _money(amount)
        body = {
            "CustomerRef": {"value": memo["CustomerRef"]["value"]},
            "TotalAmt": 0,
            "Line": [
                {"Amount": amount, "LinkedTxn": [{"TxnId": str(invoice_id), "TxnType": "Invoice"}]},
                {"Amount": amount, "LinkedTxn": [{"TxnId": str(credit_note_id), "TxnType": "CreditMemo"}]},
            ],
        }
        answer = self._call("POST", "payment", params={"requestid": _request_id(idempotency_key)}, body=body)
        return self._record("payment", answer["Payment"])

    @staticmethod
    def _contact_body(data, *, creating):
        body = {}
        if data.get("name"):
            body["DisplayName"] = data["name"]
        if data.get("email"):
            body["PrimaryEmailAddr"] = {"Address": data["email"]}
        if data.get("phone"):
            body["PrimaryPhone"] = {"FreeFormNumber": data["phone"]}
        if creating and data.get("currency"):
            body["CurrencyRef"] = {"value": data["currency"]}  # fixed once the customer has transactions
        return body

    @staticmethod
    def _lines_body(lines, total, description):
        if not lines:
            return [
                {"Amount": _money(total), "DetailType": "SalesItemLineDetail", "Description": description}
            ]
        body = []
        for line in lines:
            detail = {"ItemRef": {"value": "1", "name": "Services"}}
            if line.get("quantity") is not None and line.get("unit_price") is not None:
                detail.update(Qty=_money(line["quantity"]), UnitPrice=_money(line["unit_price"]))
            body.append(
                {
                    "Amount": _money(line["amount"]),
                    "DetailType": "SalesItemLineDetail",
                    "Description": line.get("description", ""),
                    "SalesItemLineDetail": detail,
                }
            )
        return body

    def _document_body(self, data, *, creating):
        body = {"CustomerRef": {"value": str(data["contact_id"])}} if data.get("contact_id") else {}
        if data.get("number"):
            body["DocNumber"] = data["number"]
        if data.get("currency") and creating:
            body["CurrencyRef"] = {"value": data["currency"]}
        if data.get("lines") is not None or data.get("total") is not None:
            body["Line"] = self._lines_body(data.get("lines"), data.get("total"), data.get("number") or "")
        if data.get("tax"):
            body["TxnTaxDetail"] = {"TotalTax": _money(data["tax"])}
        return body

    def _invoice_body(self, data, *, creating):
        body = self._document_body(data, creating=creating)
        for key, field in (("issue_date", "TxnDate"), ("due_date", "DueDate")):
            if data.get(key):
                body[field] = data[key].isoformat()
        if data.get("exchange_rate"):
            body["ExchangeRate"] = _money(data["exchange_rate"])
        return body

    def _credit_note_body(self, data, *, creating):
        body = self._document_body(data, creating=creating)
        if data.get("date"):
            body["TxnDate"] = data["date"].isoformat()
        return body

    @staticmethod
    def _payment_body(data, *, creating):
        body = {}
        if data.get("contact_id"):
            body["CustomerRef"] = {"value": str(data["contact_id"])}
        if data.get("amount") is not None:
            body["TotalAmt"] = _money(data["amount"])
        if data.get("date"):
            body["TxnDate"] = data["date"].isoformat()
        if data.get("reference"):
            body["PaymentRefNum"] = str(data["reference"])[:21]  # QuickBooks keeps 21 characters
        if data.get("allocations") is not None:
            body["Line"] = [
                {
                    "Amount": _money(a["amount"]),
                    "LinkedTxn": [{"TxnId": str(a["invoice_id"]), "TxnType": "Invoice"}],
                }
                for a in data["allocations"]
            ]
        return body

    # --- webhooks ---
    def verify_webhook(self, body: bytes, headers) -> bool:
        """`intuit-signature` is the base64 HMAC-SHA256 of the raw body with the verifier token."""
        token = settings.QUICKBOOKS_WEBHOOK_TOKEN
        signature = _header(headers, "intuit-signature")
        if not token or not signature:
            return False
        expected = base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, signature.strip())

    @staticmethod
    def webhook_events(body: bytes) -> list:
        """[(realm id, kind, external id, operation)] named in a verified notification."""
        events = []
        for notification in json.loads(body).get("eventNotifications", []):
            for entity in (notification.get("dataChangeEvent") or {}).get("entities", []):
                if entity.get("name") in KIND:
                    events.append(
                        (
                            notification.get("realmId"),
                            KIND[entity["name"]],
                            str(entity["id"]),
                            entity.get("operation"),
                        )
                    )
        return events


def _header(headers, name):
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered or key.lower() == f"http_{lowered.replace('-', '_')}":
                return candidate
    return value
