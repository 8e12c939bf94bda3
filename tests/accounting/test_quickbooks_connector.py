"""The QuickBooks Online connector against the local QuickBooks emulator, over HTTP."""

import datetime as dt
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from quickbooks.cdc import change_data_capture
from quickbooks.client import QuickBooks
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.payment import Payment
from requests_oauthlib import OAuth2Session

from accounting.connectors.base import ConnectorError, RateLimited, StaleVersion, TokenExpired
from accounting.connectors.quickbooks import QuickBooksConnector, QuickBooksFault
from tests.accounting.quickbooks_emulator import DEFAULT_REALM

REDIRECT = "https://peakflo.example/settings/integrations/quickbooks/callback/"


def consent(quickbooks, connector, state="st4te"):
    """Follow the authorize URL as a browser would; the emulator consents at once."""
    answer = requests.get(
        connector.authorization_url(state=state, redirect_uri=REDIRECT), allow_redirects=False
    )
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def connect(quickbooks):
    connector = QuickBooksConnector(timeout=5)
    callback = consent(quickbooks, connector)
    connector.realm_id = callback["realmId"]
    return connector, connector.exchange_code(code=callback["code"], redirect_uri=REDIRECT)


@pytest.fixture
def connected(quickbooks):
    return connect(quickbooks)[0]


def invoice_data(contact_id, number, amount, **extra):
    return {
        "contact_id": contact_id,
        "number": number,
        "issue_date": dt.date(2026, 11, 2),
        "due_date": dt.date(2026, 12, 2),
        "lines": [
            {"description": "Consulting", "quantity": Decimal(2), "unit_price": amount / 2, "amount": amount}
        ],
        **extra,
    }


def api_calls(quickbooks, resource):
    return [path for _, path, _ in quickbooks.requests if path.endswith(f"/{resource}")]


def test_oauth_code_exchange_refresh_rotation_and_company(quickbooks, settings):
    connector = QuickBooksConnector(timeout=5)
    callback = consent(quickbooks, connector, state="abc123")
    assert callback["state"] == "abc123"
    assert callback["realmId"] == DEFAULT_REALM
    before = dt.datetime.now(dt.UTC)
    tokens = connector.exchange_code(code=callback["code"], redirect_uri=REDIRECT)
    assert before + dt.timedelta(minutes=59) < tokens.expires_at <= before + dt.timedelta(minutes=61)
    connector.realm_id = callback["realmId"]
    assert connector.tenants(tokens) == [(DEFAULT_REALM, "Sandbox Company_US_1")]

    # an authorization code works once
    with pytest.raises(QuickBooksFault) as spent_code:
        connector.exchange_code(code=callback["code"], redirect_uri=REDIRECT)
    assert spent_code.value.code == "invalid_grant"

    renewed = connector.refresh(tokens.refresh_token)
    assert renewed.refresh_token != tokens.refresh_token
    assert connector.tenants(None) == [(DEFAULT_REALM, "Sandbox Company_US_1")]  # the new access token
    # the refresh token rotates: the spent one is refused, the new one works
    with pytest.raises(QuickBooksFault) as spent_refresh:
        connector.refresh(tokens.refresh_token)
    assert spent_refresh.value.code == "invalid_grant"
    assert spent_refresh.value.status == 400
    latest = connector.refresh(renewed.refresh_token)
    # the token endpoint wants the app's own credentials (HTTP Basic)
    settings.QUICKBOOKS_CLIENT_SECRET = "not-the-secret"
    with pytest.raises(QuickBooksFault) as wrong_client:
        connector.refresh(latest.refresh_token)
    assert (wrong_client.value.status, wrong_client.value.code) == (401, "invalid_client")
    settings.QUICKBOOKS_CLIENT_SECRET = quickbooks.client_secret

    # disconnecting revokes the refresh token and the access tokens it issued
    connector.revoke(latest.refresh_token)
    with pytest.raises(QuickBooksFault):
        connector.refresh(latest.refresh_token)
    with pytest.raises(TokenExpired):
        connector.tenants(None)


def test_access_token_expires_after_its_lifetime_and_refresh_recovers(quickbooks):
    quickbooks.access_token_seconds = 600
    connector = QuickBooksConnector(realm_id=DEFAULT_REALM, timeout=5)
    callback = consent(quickbooks, connector)
    tokens = connector.exchange_code(code=callback["code"], redirect_uri=REDIRECT)
    customer = connector.upsert("contact", {"name": "Acme Pte Ltd"}, idempotency_key="c-1")
    quickbooks.advance(601)
    with pytest.raises(TokenExpired) as expired:
        connector.get("contact", customer.external_id)
    assert expired.value.status == 401
    connector.refresh(tokens.refresh_token)
    assert connector.get("contact", customer.external_id).data["name"] == "Acme Pte Ltd"


def test_records_are_normalised_amounts_dates_versions_and_utc_times(quickbooks, connected):
    acme = connected.upsert(
        "contact",
        {"name": "Acme Pte Ltd", "email": "ap@acme.example", "phone": "+65 6123 4567", "currency": "SGD"},
        idempotency_key="contact-acme",
    )
    assert acme.kind == "contact"
    assert acme.version == "0"
    assert acme.data == {
        "name": "Acme Pte Ltd",
        "email": "ap@acme.example",
        "phone": "+65 6123 4567",
        "currency": "SGD",
    }
    invoice = connected.upsert(
        "invoice",
        invoice_data(acme.external_id, "INV-1", Decimal("1234.50"), tax=Decimal("86.42")),
        idempotency_key="inv-1",
    )
    stored = quickbooks.qb_get("Invoice", invoice.external_id)
    # the company answers in its own zone (UTC-8); the record says UTC
    assert stored["MetaData"]["LastUpdatedTime"].endswith("-08:00")
    assert invoice.updated_at == dt.datetime.fromisoformat(stored["MetaData"]["LastUpdatedTime"]).astimezone(
        dt.UTC
    )
    assert invoice.updated_at.tzinfo == dt.UTC
    assert invoice.data == {
        "number": "INV-1",
        "contact_id": acme.external_id,
        "issue_date": dt.date(2026, 11, 2),
        "due_date": dt.date(2026, 12, 2),
        "currency": "SGD",
        "exchange_rate": Decimal(1),
        "subtotal": Decimal("1234.50"),
        "tax": Decimal("86.42"),
        "total": Decimal("1320.92"),
        "amount_due": Decimal("1320.92"),
        "status": "open",
        "lines": [
            {
                "description": "Consulting",
                "quantity": Decimal(2),
                "unit_price": Decimal("617.25"),
                "amount": Decimal("1234.50"),
            }
        ],
    }
    # what the emulator answers is what python-quickbooks' models read
    parsed = Invoice.from_json(stored)
    assert (parsed.DocNumber, parsed.Balance, parsed.CustomerRef.value) == (
        "INV-1",
        1320.92,
        acme.external_id,
    )
    assert Customer.from_json(quickbooks.qb_get("Customer", acme.external_id)).Balance == 1320.92


def test_change_data_capture_since_a_cursor_with_deletions(quickbooks, connected):
    acme, globex = quickbooks.seed(customers=2, invoices=3)
    quickbooks.advance(300)  # the new cursor overlaps the last minute: keep the seed out of it
    first = connected.changes("invoice", cursor=None)  # no cursor yet: the full listing
    assert [r.data["number"] for r in first.records] == ["1001", "1002", "1003"]
    assert first.next_page is None
    cursor = first.cursor
    quickbooks.advance(300)

    # a user in QuickBooks: changes an amount, deletes an invoice, records a payment, adds a customer
    invoices = quickbooks.qb_all("Invoice")
    quickbooks.qb_update(
        "Invoice",
        invoices[0]["Id"],
        {"Line": [{"Amount": 250, "DetailType": "SalesItemLineDetail", "Description": "More"}]},
    )
    quickbooks.qb_delete("Invoice", invoices[1]["Id"])
    payment = quickbooks.qb_create(
        "Payment",
        {
            "CustomerRef": {"value": acme["Id"]},
            "TotalAmt": 40,
            "PaymentRefNum": "CHQ-77",
            "Line": [{"Amount": 40, "LinkedTxn": [{"TxnId": invoices[2]["Id"], "TxnType": "Invoice"}]}],
        },
    )
    quickbooks.qb_create("Customer", {"DisplayName": "Initech"})
    quickbooks.qb_update("Customer", globex["Id"], {"Active": False})

    changed = {r.external_id: r for r in connected.changes("invoice", cursor=cursor).records}
    assert set(changed) == {invoices[0]["Id"], invoices[1]["Id"], invoices[2]["Id"]}
    assert changed[invoices[0]["Id"]].data["total"] == Decimal("250.00")
    assert changed[invoices[0]["Id"]].version == "1"
    assert changed[invoices[1]["Id"]].tombstone is True
    assert changed[invoices[1]["Id"]].version == "deleted"
    assert changed[invoices[2]["Id"]].data["amount_due"] == Decimal("60.00")  # 100 less the 40 paid

    payments = connected.changes("payment", cursor=cursor)
    assert [
        (r.external_id, r.data["amount"], r.data["reference"], r.data["allocations"])
        for r in payments.records
    ] == [
        (
            payment["Id"],
            Decimal("40.00"),
            "CHQ-77",
            [{"invoice_id": invoices[2]["Id"], "amount": Decimal("40.00")}],
        )
    ]
    contacts = {r.data["name"]: r for r in connected.changes("contact", cursor=cursor).records}
    assert set(contacts) == {"Initech", "Customer 2"}
    assert contacts["Customer 2"].tombstone is True  # made inactive in QuickBooks
    assert connected.changes("credit_note", cursor=cursor).records == []
    # one CDC call served the four kinds, and they all move to the same new cursor
    assert len(api_calls(quickbooks, "cdc")) == 1
    assert payments.cursor > cursor
    # asking a kind again (the next run) reads CDC again
    connected.changes("invoice", cursor=cursor)
    assert len(api_calls(quickbooks, "cdc")) == 2


def test_a_cursor_older_than_30_days_falls_back_to_a_listing(quickbooks, connected):
    quickbooks.seed(customers=1, invoices=2)
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).isoformat(timespec="seconds")
    page = connected.changes("invoice", cursor=old)
    assert [r.data["number"] for r in page.records] == ["1001", "1002"]
    assert api_calls(quickbooks, "cdc") == []
    assert len(api_calls(quickbooks, "query")) == 1
    # the same listing asked with GET, as Intuit's reference shows it
    since = (quickbooks.now() - dt.timedelta(days=40)).isoformat()
    answer = connected._call(
        "GET",
        "query",
        params={
            "query": f"select * from Invoice where MetaData.LastUpdatedTime > '{since}' STARTPOSITION 2 MAXRESULTS 1000"
        },
    )
    assert [i["DocNumber"] for i in answer["QueryResponse"]["Invoice"]] == ["1002"]
    assert (answer["QueryResponse"]["startPosition"], answer["QueryResponse"]["maxResults"]) == (2, 1)
    # QuickBooks itself refuses CDC that far back
    with pytest.raises(QuickBooksFault) as refused:
        connected._call("GET", "cdc", params={"entities": "Invoice", "changedSince": old})
    assert refused.value.status == 400
    assert "older than" in str(refused.value)


def test_listings_page_past_1000_and_a_full_cdc_answer_falls_back_to_them(quickbooks):
    connected, tokens = connect(quickbooks)
    cursor = (quickbooks.now() - dt.timedelta(minutes=10)).isoformat()
    quickbooks.seed(customers=3, invoices=1050)
    pages = [connected.changes("invoice", cursor=None)]
    # someone deletes three invoices of the first page before the second is read: nothing slips past
    for deleted in quickbooks.qb_all("Invoice")[:3]:
        quickbooks.qb_delete("Invoice", deleted["Id"])
    # the access token expires between two pages: refreshed, the same page token goes on
    quickbooks.expire_tokens()
    with pytest.raises(TokenExpired):
        connected.changes("invoice", cursor=None, page_token=pages[-1].next_page)
    connected.refresh(tokens.refresh_token)
    while pages[-1].next_page:
        pages.append(connected.changes("invoice", cursor=None, page_token=pages[-1].next_page))
    assert [len(p.records) for p in pages] == [1000, 50]
    assert len({r.external_id for p in pages for r in p.records}) == 1050
    assert pages[0].cursor == pages[1].cursor

    # 1,053 objects changed since the cursor: CDC's answer stops at 1,000, so each kind is listed
    quickbooks.requests.clear()
    incremental = [connected.changes("invoice", cursor=cursor)]
    while incremental[-1].next_page:
        incremental.append(connected.changes("invoice", cursor=cursor, page_token=incremental[-1].next_page))
    assert [len(p.records) for p in incremental] == [1000, 47]
    assert len(api_calls(quickbooks, "cdc")) == 1
    assert len(api_calls(quickbooks, "query")) == 2
    assert len(connected.changes("contact", cursor=cursor).records) == 3
    # what QuickBooks answered: 1,000 objects, the oldest first (3 customers, then 997 invoices)
    answer = connected._call(
        "GET", "cdc", params={"entities": "Customer,Invoice,Payment,CreditMemo", "changedSince": cursor}
    )
    counts = [
        {k: len(v) for k, v in r.items() if isinstance(v, list)}
        for r in answer["CDCResponse"][0]["QueryResponse"]
    ]
    assert counts == [{"Customer": 3}, {"Invoice": 997}, {}, {}]


def test_requestid_makes_a_write_happen_once_even_after_a_timeout(quickbooks, connected):
    first = connected.upsert("contact", {"name": "Acme Pte Ltd"}, idempotency_key="push-contact-17")
    again = connected.upsert("contact", {"name": "Acme Pte Ltd"}, idempotency_key="push-contact-17")
    assert again.external_id == first.external_id
    assert len(quickbooks.qb_all("Customer")) == 1

    # the write lands but the answer comes too late; the retry with the same key gets the same invoice
    connected.timeout = 0.3
    quickbooks.slow_next(1.0)
    with pytest.raises(ConnectorError) as timed_out:
        connected.upsert(
            "invoice", invoice_data(first.external_id, "INV-9", Decimal(500)), idempotency_key="push-inv-9"
        )
    assert timed_out.value.retryable is True
    connected.timeout = 5
    retried = connected.upsert(
        "invoice", invoice_data(first.external_id, "INV-9", Decimal(500)), idempotency_key="push-inv-9"
    )
    assert [i["Id"] for i in quickbooks.qb_all("Invoice")] == [retried.external_id]
    assert retried.data["total"] == Decimal("500.00")


def test_a_duplicate_doc_number_is_refused(quickbooks, connected):
    acme = connected.upsert("contact", {"name": "Acme Pte Ltd"}, idempotency_key="c")
    connected.upsert("invoice", invoice_data(acme.external_id, "INV-1", Decimal(100)), idempotency_key="i-1")
    with pytest.raises(QuickBooksFault) as duplicate:
        connected.upsert(
            "invoice", invoice_data(acme.external_id, "INV-1", Decimal(200)), idempotency_key="i-2"
        )
    assert duplicate.value.code == "6140"
    assert duplicate.value.retryable is False
    with pytest.raises(QuickBooksFault) as same_name:
        connected.upsert("contact", {"name": "ACME PTE LTD"}, idempotency_key="c-2")
    assert same_name.value.code == "6240"
    # what to match on after such a refusal
    assert connected.find("contact", name="Acme Pte Ltd").external_id == acme.external_id
    assert connected.find("invoice", number="INV-1").data["total"] == Decimal(100)
    assert connected.find("invoice", number="INV-404") is None
    brien = connected.upsert("contact", {"name": "O'Brien & Sons"}, idempotency_key="c-3")
    assert connected.find("contact", name="O'Brien & Sons").external_id == brien.external_id
    # a company that does not warn about duplicate numbers takes them
    quickbooks.company().refuse_duplicate_doc_numbers = False
    twin = connected.upsert(
        "invoice", invoice_data(acme.external_id, "INV-1", Decimal(200)), idempotency_key="i-3"
    )
    assert twin.data["number"] == "INV-1"


def test_a_stale_sync_token_raises_stale_version_then_a_reread_and_retry_succeeds(quickbooks, connected):
    acme = connected.upsert("contact", {"name": "Acme Pte Ltd"}, idempotency_key="c")
    sent = connected.upsert(
        "invoice", invoice_data(acme.external_id, "INV-1", Decimal(100)), idempotency_key="i-1"
    )
    assert sent.version == "0"
    quickbooks.qb_update("Invoice", sent.external_id, {"DueDate": "2026-12-31"})  # someone in QuickBooks
    change = {"lines": [{"description": "Consulting", "amount": Decimal(120)}]}
    with pytest.raises(StaleVersion):
        connected.upsert(
            "invoice", change, idempotency_key="i-1-edit", external_id=sent.external_id, expected_version="0"
        )
    current = connected.get("invoice", sent.external_id)
    assert current.version == "1"
    assert current.data["due_date"] == dt.date(2026, 12, 31)
    # the refused write was not remembered: the same key goes through once the version is right
    updated = connected.upsert(
        "invoice",
        change,
        idempotency_key="i-1-edit",
        external_id=sent.external_id,
        expected_version=current.version,
    )
    assert (updated.version, updated.data["total"], updated.data["due_date"]) == (
        "2",
        Decimal("120.00"),
        dt.date(2026, 12, 31),
    )


def test_void_invoice_and_payment(quickbooks, connected):
    acme = connected.upsert("contact", {"name": "Acme Pte Ltd"}, idempotency_key="c")
    invoice = connected.upsert(
        "invoice", invoice_data(acme.external_id, "INV-1", Decimal(300)), idempotency_key="i"
    )
    other = connected.upsert(
        "invoice", invoice_data(acme.external_id, "INV-2", Decimal(80)), idempotency_key="i2"
    )
    payment = connected.upsert(
        "payment",
        {
            "contact_id": acme.external_id,
            "amount": Decimal(80),
            "date": dt.date(2026, 11, 20),
            "reference": "portal 4471",
            "allocations": [{"invoice_id": other.external_id, "amount": Decimal(80)}],
        },
        idempotency_key="p",
    )
    assert connected.get("invoice", other.external_id).data["status"] == "paid"
    # more than is open on the invoice: refused, and nothing is left behind
    with pytest.raises(QuickBooksFault) as too_much:
        connected.upsert(
            "payment",
            {
                "contact_id": acme.external_id,
                "amount": Decimal(500),
                "allocations": [{"invoice_id": invoice.external_id, "amount": Decimal(500)}],
            },
            idempotency_key="p-too-much",
        )
    assert too_much.value.code == "6000"
    assert [p["Id"] for p in quickbooks.qb_all("Payment")] == [payment.external_id]
    assert connected.get("invoice", invoice.external_id).version == invoice.version

    voided = connected.void(
        "invoice", invoice.external_id, idempotency_key="void-i", expected_version=invoice.version
    )
    assert voided.tombstone is True
    assert (voided.data["status"], voided.data["total"], voided.data["amount_due"]) == (
        "void",
        Decimal(0),
        Decimal(0),
    )
    assert quickbooks.qb_get("Invoice", invoice.external_id)["PrivateNote"] == "Voided"

    voided_payment = connected.void("payment", payment.external_id, idempotency_key="void-p")
    assert voided_payment.tombstone is True
    reopened = connected.get("invoice", other.external_id)
    assert (reopened.data["status"], reopened.data["amount_due"]) == ("open", Decimal("80.00"))
    assert Payment.from_json(quickbooks.qb_get("Payment", payment.external_id)).TotalAmt == 0


def test_allocate_a_credit_note_to_an_invoice(quickbooks, connected):
    acme = connected.upsert("contact", {"name": "Acme Pte Ltd"}, idempotency_key="c")
    invoice = connected.upsert(
        "invoice", invoice_data(acme.external_id, "INV-1", Decimal(100)), idempotency_key="i"
    )
    credit = connected.upsert(
        "credit_note",
        {
            "contact_id": acme.external_id,
            "number": "CN-1",
            "date": dt.date(2026, 11, 5),
            "total": Decimal(30),
        },
        idempotency_key="cn",
    )
    assert (credit.data["total"], credit.data["remaining"], credit.data["status"]) == (
        Decimal(30),
        Decimal(30),
        "approved",
    )
    allocation = connected.allocate_credit(
        credit.external_id, invoice.external_id, Decimal(30), idempotency_key="alloc"
    )
    assert allocation.kind == "payment"
    assert allocation.data["amount"] == Decimal(0)
    assert allocation.data["allocations"] == []
    assert allocation.data["credit_allocations"] == [
        {"credit_note_id": credit.external_id, "invoice_id": invoice.external_id, "amount": Decimal(30)}
    ]
    # sent twice, it happens once
    connected.allocate_credit(credit.external_id, invoice.external_id, Decimal(30), idempotency_key="alloc")
    assert len(quickbooks.qb_all("Payment")) == 1
    assert connected.get("invoice", invoice.external_id).data["amount_due"] == Decimal(70)
    assert connected.get("credit_note", credit.external_id).data["remaining"] == Decimal(0)
    assert CreditMemo.from_json(quickbooks.qb_get("CreditMemo", credit.external_id)).RemainingCredit == 0
    # a credit memo cannot be voided through the API: void deletes it (once nothing is applied)
    spare = connected.upsert(
        "credit_note", {"contact_id": acme.external_id, "total": Decimal(5)}, idempotency_key="cn2"
    )
    gone = connected.void("credit_note", spare.external_id, idempotency_key="del-cn2")
    assert gone.tombstone is True
    assert connected.get("credit_note", spare.external_id) is None


def test_429_401_500_and_the_rate_limit_map_to_connector_errors(quickbooks, connected):
    acme = connected.upsert("contact", {"name": "Acme Pte Ltd"}, idempotency_key="c")
    quickbooks.fail_next(429, retry_after=7)
    with pytest.raises(RateLimited) as limited:
        connected.get("contact", acme.external_id)
    assert (limited.value.status, limited.value.retry_after, limited.value.retryable) == (429, 7, True)
    quickbooks.fail_next(401)
    with pytest.raises(TokenExpired):
        connected.get("contact", acme.external_id)
    quickbooks.fail_next(500)
    with pytest.raises(ConnectorError) as failed:
        connected.get("contact", acme.external_id)
    assert (failed.value.status, failed.value.retryable) == (500, True)
    quickbooks.fail_next(503)
    with pytest.raises(ConnectorError) as unavailable:
        connected.changes("invoice", cursor=None)
    assert unavailable.value.retryable is True
    assert connected.get("contact", acme.external_id).data["name"] == "Acme Pte Ltd"

    # 500 requests a minute per company: past it, 429 until the window frees
    quickbooks.rate_limit_per_minute = 3
    quickbooks.company().calls.clear()
    for _ in range(3):
        connected.get("contact", acme.external_id)
    with pytest.raises(RateLimited) as over:
        connected.get("contact", acme.external_id)
    assert 1 <= over.value.retry_after <= 60


def test_webhook_signature(quickbooks, settings):
    connector = QuickBooksConnector()
    body, headers = quickbooks.webhook_notification(
        [("Invoice", "130", "Update"), ("Payment", "7", "Create")]
    )
    assert connector.verify_webhook(body, headers) is True
    assert connector.verify_webhook(body, {"Intuit-Signature": headers["intuit-signature"]}) is True
    assert connector.verify_webhook(body.replace(b"130", b"131"), headers) is False
    assert connector.verify_webhook(body, {"intuit-signature": "bm90IHRoZSBzaWduYXR1cmU="}) is False
    assert connector.verify_webhook(body, {}) is False
    assert connector.webhook_events(body) == [
        (DEFAULT_REALM, "invoice", "130", "Update"),
        (DEFAULT_REALM, "payment", "7", "Create"),
    ]
    settings.QUICKBOOKS_WEBHOOK_TOKEN = "another-token"
    assert connector.verify_webhook(body, headers) is False
    assert json.loads(body)["eventNotifications"][0]["realmId"] == DEFAULT_REALM


def test_python_quickbooks_reads_and_writes_the_emulator(quickbooks, connected, monkeypatch):
    """The library built on Intuit's shapes understands the emulator's answers, faults included."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks plain HTTP
    client = QuickBooks(company_id=DEFAULT_REALM, minorversion=75)
    client.api_url_v3 = f"{quickbooks.url}/v3"
    client.session = OAuth2Session(
        quickbooks.client_id, token={"access_token": connected.access_token, "token_type": "Bearer"}
    )
    (acme,) = quickbooks.seed(customers=1, invoices=2)
    since = quickbooks.now()
    quickbooks.advance(60)
    invoices = Invoice.all(qb=client)
    assert [(i.DocNumber, i.Balance, i.CustomerRef.value) for i in invoices] == [
        ("1001", 100, acme["Id"]),
        ("1002", 100, acme["Id"]),
    ]
    assert Customer.get(acme["Id"], qb=client).Balance == 200
    assert [c.DisplayName for c in Customer.filter(Active=True, qb=client)] == ["Customer 1"]

    first = invoices[0]
    first.DueDate = "2026-12-15"
    first.save(qb=client)  # a full update through the library
    assert quickbooks.qb_get("Invoice", first.Id)["DueDate"] == "2026-12-15"
    stale = invoices[1]
    quickbooks.qb_update("Invoice", stale.Id, {"DueDate": "2026-12-20"})
    stale.DueDate = "2026-12-25"
    with pytest.raises(QuickbooksException) as refused:
        stale.save(qb=client)
    assert refused.value.error_code == 5010

    changes = change_data_capture([Invoice, Customer], since.isoformat(), qb=client)
    assert sorted(i.Id for i in changes.Invoice) == sorted([first.Id, stale.Id])


def test_tokens_reach_only_the_company_chosen_at_consent(quickbooks):
    quickbooks.add_company("9341453100000002", "Globex Books")
    quickbooks.consent_realm = "9341453100000002"
    connector, tokens = connect(quickbooks)
    assert connector.tenants(tokens) == [("9341453100000002", "Globex Books")]
    connector.upsert("contact", {"name": "Globex"}, idempotency_key="g")
    assert [c["DisplayName"] for c in quickbooks.qb_all("Customer", realm_id="9341453100000002")] == [
        "Globex"
    ]
    assert quickbooks.qb_all("Customer") == []
    other = QuickBooksConnector(DEFAULT_REALM, tokens.access_token)
    with pytest.raises(TokenExpired):
        other.changes("contact", cursor=None)
