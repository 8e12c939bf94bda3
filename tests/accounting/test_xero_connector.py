"""The Xero connector against the local Xero emulator, every body checked against Xero's schemas."""

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from accounting.connectors.base import ConnectorError, RateLimited, StaleVersion, TokenExpired
from accounting.connectors.xero import XeroConnector
from tests.accounting.conftest import XERO_WEBHOOK_KEY

T0 = dt.datetime(2026, 11, 23, 9, 0, 0, tzinfo=dt.UTC)
REDIRECT = "http://testserver/settings/integrations/xero/callback"


@pytest.fixture
def connector(xero):
    xero.freeze(T0)
    return XeroConnector(tenant_id=xero.tenant_id, access_token=xero.issue_tokens()["access_token"])


def read_all(connector, kind, cursor=None):
    return read_all_from(connector, kind, None, cursor)


def read_all_from(connector, kind, token, cursor=None):
    pages = []
    while True:
        page = connector.changes(kind, cursor=cursor, page_token=token)
        pages.append(page)
        token = page.next_page
        if token is None:
            return pages


def test_oauth_consent_code_exchange_tenants_and_single_use_refresh(xero):
    connector = XeroConnector()
    url = connector.authorization_url(state="state-42", redirect_uri=REDIRECT)
    consent = requests.get(url, allow_redirects=False, timeout=5)
    assert consent.status_code == 302
    location = urlsplit(consent.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["state-42"]

    before = dt.datetime.now(dt.UTC)
    tokens = connector.exchange_code(code=query["code"][0], redirect_uri=REDIRECT)
    assert before + dt.timedelta(seconds=1795) <= tokens.expires_at <= before + dt.timedelta(seconds=1805)
    with pytest.raises(ConnectorError, match="invalid_grant"):  # a code works once
        connector.exchange_code(code=query["code"][0], redirect_uri=REDIRECT)

    assert connector.tenants(tokens) == [(xero.tenant_id, "Demo Company (SG)")]

    renewed = connector.refresh(tokens.refresh_token)
    assert renewed.access_token != tokens.access_token
    assert renewed.refresh_token != tokens.refresh_token
    with pytest.raises(ConnectorError, match="invalid_grant") as refused:  # the old one is spent
        connector.refresh(tokens.refresh_token)
    assert refused.value.status == 400 and not refused.value.retryable

    xero.add_contact("Acme Pte Ltd")
    reader = XeroConnector(tenant_id=xero.tenant_id, access_token=renewed.access_token)
    assert [r.data["name"] for r in reader.changes("contact", cursor=None).records] == ["Acme Pte Ltd"]


def test_250_invoices_come_in_three_pages_and_the_cursor_is_the_latest_change(xero, connector):
    acme = xero.add_contact("Acme Pte Ltd", ContactNumber="C-001", EmailAddress="ap@acme.test")
    ids = []
    for n in range(250):
        xero.advance(1)
        ids.append(xero.add_invoice(acme, "100.00", tax="7.00", number=f"INV-{n:04d}"))

    pages = read_all(connector, "invoice")

    # each full page is followed by a read from the second before its last change: 1-100, 99-198, 197-250
    assert [len(p.records) for p in pages] == [100, 100, 54]
    # the latest change read so far: a run that dies after a page resumes from there
    assert [p.cursor for p in pages] == [
        "2026-11-23T09:01:40.000+00:00",  # T0 + 100 s
        "2026-11-23T09:03:18.000+00:00",  # T0 + 198 s
        "2026-11-23T09:04:10.000+00:00",  # T0 + 250 s
    ]
    read = [r.external_id for p in pages for r in p.records]
    assert list(dict.fromkeys(read)) == ids  # oldest change first, none missing
    asked = [
        (parse_qs(urlsplit(path).query), headers.get("If-Modified-Since"))
        for _m, path, headers in xero.requests
    ]
    order = {"page": ["1"], "order": ["UpdatedDateUTC ASC"], "includeArchived": ["True"]}
    assert asked == [(order, None), (order, "2026-11-23T09:01:39"), (order, "2026-11-23T09:03:17")]
    first = pages[0].records[0]
    assert first.version == "2026-11-23T09:00:01.000+00:00"
    assert first.updated_at == dt.datetime(2026, 11, 23, 9, 0, 1, tzinfo=dt.UTC)
    assert first.data == {
        "number": "INV-0000",
        "contact_id": acme,
        "issue_date": dt.date(2026, 11, 1),
        "due_date": dt.date(2026, 12, 1),
        "currency": "SGD",
        "exchange_rate": Decimal("1.00000000"),
        "subtotal": Decimal("100.00"),
        "tax": Decimal("7.00"),
        "total": Decimal("107.00"),
        "amount_paid": Decimal("0.00"),
        "amount_credited": Decimal("0.00"),
        "amount_due": Decimal("107.00"),
        "status": "open",
        "reference": "",
        "lines": [
            {
                "description": "Services",
                "quantity": Decimal("1"),
                "unit_price": Decimal("100"),
                "amount": Decimal("100.00"),
            }
        ],
    }
    assert not first.tombstone


def test_a_change_while_paging_does_not_hide_a_record(xero, connector):
    acme = xero.add_contact("Acme Pte Ltd")
    ids = []
    for _ in range(250):
        xero.advance(1)
        ids.append(xero.add_invoice(acme, "10.00"))
    first = connector.changes("invoice", cursor=None)
    xero.advance(1)
    xero.update("invoice", ids[9], Reference="changed while we read")  # moves to the end of the listing
    pages = [first, *read_all_from(connector, "invoice", first.next_page)]

    seen = {r.external_id: r for p in pages for r in p.records}
    assert set(seen) == set(ids)  # with plain page numbers the 101st would slip onto page 1, unread
    assert seen[ids[9]].data["reference"] == "changed while we read"
    assert pages[-1].cursor == "2026-11-23T09:04:11.000+00:00"


def test_a_burst_of_changes_in_one_second_pages_by_number(xero, connector):
    acme = xero.add_contact("Acme Pte Ltd")
    ids = [xero.add_invoice(acme, "10.00") for _ in range(150)]  # all at T0

    pages = read_all(connector, "invoice")

    assert [len(p.records) for p in pages] == [100, 50]
    assert [r.external_id for p in pages for r in p.records] == sorted(ids)  # same time: by id
    assert [parse_qs(urlsplit(path).query)["page"] for _m, path, _h in xero.requests] == [["1"], ["2"]]


def test_foreign_currency_contact_and_payment_are_mapped(xero, connector):
    globex = xero.add_contact(
        "Globex",
        AccountNumber="G-7",
        Phones=[{"PhoneType": "DEFAULT", "PhoneCountryCode": "65", "PhoneNumber": "61234567"}],
    )
    invoice = xero.add_invoice(globex, "200.00", currency="USD", rate="0.75")
    xero.advance(5)
    payment = xero.add_payment(invoice, "50.00", date=dt.date(2026, 11, 20), reference="wire 1")

    (contact,) = connector.changes("contact", cursor=None).records
    assert contact.data == {
        "name": "Globex",
        "number": "G-7",
        "email": "",
        "phone": "65 61234567",
        "currency": "",
    }
    (read,) = connector.changes("invoice", cursor=None).records
    assert read.data["exchange_rate"] == Decimal("1.33333333")  # 1 / 0.75 SGD per USD
    assert (read.data["amount_paid"], read.data["amount_due"]) == (Decimal("50.00"), Decimal("150.00"))
    (paid,) = connector.changes("payment", cursor=None).records
    assert paid.external_id == payment
    assert paid.data == {
        "contact_id": globex,
        "date": dt.date(2026, 11, 20),
        "amount": Decimal("50.00"),
        "currency": "USD",
        "reference": "wire 1",
        "allocations": [{"invoice_id": invoice, "amount": Decimal("50.00")}],
    }


def test_overlap_returns_the_edge_again_and_the_cursor_moves_to_the_latest_change(xero, connector):
    acme = xero.add_contact("Acme Pte Ltd")
    first = xero.add_invoice(acme, "10.00")  # T0
    xero.advance(10)
    second = xero.add_invoice(acme, "20.00")  # T0 + 10 s
    (page,) = read_all(connector, "invoice")
    assert page.cursor == "2026-11-23T09:00:10.000+00:00"

    xero.advance(10)
    xero.update("invoice", first, Reference="PO 7")  # T0 + 20 s
    (page,) = read_all(connector, "invoice", cursor=page.cursor)

    assert xero.requests[-1][2]["If-Modified-Since"] == "2026-11-23T09:00:08"  # cursor - 2 s
    # the second invoice again, unchanged (same version: the caller skips it), and the changed one
    assert [(r.external_id, r.version) for r in page.records] == [
        (second, "2026-11-23T09:00:10.000+00:00"),
        (first, "2026-11-23T09:00:20.000+00:00"),
    ]
    assert page.records[1].data["reference"] == "PO 7"
    assert page.cursor == "2026-11-23T09:00:20.000+00:00"

    (again,) = read_all(connector, "invoice", cursor=page.cursor)
    assert [r.external_id for r in again.records] == [first]
    assert again.cursor == page.cursor  # nothing newer: the cursor stays


def test_voids_deletes_and_merges_arrive_as_tombstones(xero, connector):
    acme = xero.add_contact("Acme Pte Ltd")
    acme_old = xero.add_contact("ACME (old)")
    voided = xero.add_invoice(acme, "10.00")
    draft = xero.add_invoice(acme, "11.00", status="DRAFT")
    moved = xero.add_invoice(acme_old, "12.00")
    paid = xero.add_invoice(acme, "13.00")
    payment = xero.add_payment(paid, "13.00")
    cursor = read_all(connector, "invoice")[-1].cursor

    xero.advance(5)
    xero.void("invoice", voided)
    xero.void("invoice", draft)
    xero.void("payment", payment)
    xero.merge_contacts(acme_old, acme)

    invoices = {r.external_id: r for r in connector.changes("invoice", cursor=cursor).records}
    assert (invoices[voided].tombstone, invoices[voided].data["status"]) == (True, "void")
    assert (invoices[draft].tombstone, invoices[draft].data["status"]) == (True, "void")  # DELETED
    assert invoices[moved].data["contact_id"] == acme and not invoices[moved].tombstone
    assert (invoices[paid].data["status"], invoices[paid].data["amount_due"]) == ("open", Decimal("13.00"))
    (deleted,) = connector.changes("payment", cursor=cursor).records
    assert (deleted.external_id, deleted.tombstone) == (payment, True)
    contacts = {r.external_id: r for r in connector.changes("contact", cursor=cursor).records}
    assert (contacts[acme_old].tombstone, contacts[acme_old].merged_into) == (True, acme)

    # voiding through the connector, twice with one key: one change in Xero
    open_one = xero.add_invoice(acme, "14.00")
    version = connector.get("invoice", open_one).version
    done = connector.void("invoice", open_one, idempotency_key="void-1", expected_version=version)
    assert (done.tombstone, xero.record("invoice", open_one)["Status"]) == (True, "VOIDED")
    assert connector.void("invoice", open_one, idempotency_key="void-1").version == done.version


def test_void_each_kind_through_the_connector(xero, connector):
    acme = xero.add_contact("Acme Pte Ltd")
    paid = xero.add_invoice(acme, "50.00")
    payment = xero.add_payment(paid, "20.00")
    credit = xero.add_credit_note(acme, "5.00")
    draft_credit = xero.add_credit_note(acme, "6.00", status="DRAFT")
    assert connector.get("invoice", "00000000-0000-0000-0000-000000000009") is None

    with pytest.raises(ConnectorError, match="cannot be voided as it has payments") as refused:
        connector.void("invoice", paid, idempotency_key="v-1")
    assert refused.value.status == 400
    assert connector.void("payment", payment, idempotency_key="v-2").tombstone
    assert xero.record("invoice", paid)["AmountDue"] == 50.0  # the payment no longer counts
    assert connector.void("invoice", paid, idempotency_key="v-3").data["status"] == "void"
    assert connector.void("credit_note", credit, idempotency_key="v-4").data["status"] == "void"
    assert xero.record("credit_note", draft_credit)["Status"] == "DRAFT"
    assert connector.void("credit_note", draft_credit, idempotency_key="v-5").tombstone
    assert xero.record("credit_note", draft_credit)["Status"] == "DELETED"  # a draft is deleted
    archived = connector.void("contact", acme, idempotency_key="v-6")
    assert (archived.tombstone, xero.record("contact", acme)["ContactStatus"]) == (True, "ARCHIVED")


def test_contacts_are_created_and_updated_and_a_taken_name_is_refused_by_name(xero, connector):
    created = connector.upsert(
        "contact",
        {
            "name": "Initech",
            "number": "C-003",
            "email": "ar@initech.test",
            "phone": "555 0101",
            "currency": "THB",
        },
        idempotency_key="contact-1",
    )
    stored = xero.record("contact", created.external_id)
    assert (stored["Name"], stored["ContactNumber"], stored["DefaultCurrency"]) == ("Initech", "C-003", "THB")
    assert created.data["phone"] == "555 0101"

    xero.advance(3)
    updated = connector.upsert(
        "contact",
        {"name": "Initech Ltd", "email": "billing@initech.test"},
        idempotency_key="contact-2",
        external_id=created.external_id,
        expected_version=created.version,
    )
    assert (updated.data["name"], updated.data["email"], updated.data["number"]) == (
        "Initech Ltd",
        "billing@initech.test",
        "C-003",
    )
    with pytest.raises(StaleVersion):
        connector.upsert(
            "contact",
            {"name": "Initech X"},
            idempotency_key="contact-3",
            external_id=created.external_id,
            expected_version=created.version,
        )

    with pytest.raises(ConnectorError, match="active contact named 'initech ltd'") as refused:
        connector.upsert("contact", {"name": "initech ltd"}, idempotency_key="contact-4")
    assert refused.value.status == 400 and not refused.value.retryable
    assert len(xero.all("contact")) == 1


def test_writes_sent_twice_with_one_key_happen_once(xero, connector):
    acme = xero.add_contact("Acme Pte Ltd")
    invoice = xero.add_invoice(acme, "100.00")

    contact = [connector.upsert("contact", {"name": "Hooli"}, idempotency_key="c-hooli") for _ in range(2)]
    assert contact[0].external_id == contact[1].external_id
    assert sorted(c["Name"] for c in xero.all("contact")) == ["Acme Pte Ltd", "Hooli"]

    payment_data = {
        "date": dt.date(2026, 11, 21),
        "reference": "portal 9",
        "allocations": [{"invoice_id": invoice, "amount": Decimal("40.00")}],
    }
    paid = [connector.upsert("payment", payment_data, idempotency_key="pay-9") for _ in range(2)]
    assert paid[0].external_id == paid[1].external_id
    assert len(xero.all("payment")) == 1
    assert xero.record("invoice", invoice)["AmountDue"] == 60.0

    credit_data = {
        "number": "CN-77",
        "contact_id": acme,
        "date": dt.date(2026, 11, 21),
        "total": Decimal("25.00"),
        "status": "approved",
    }
    credit = [connector.upsert("credit_note", credit_data, idempotency_key="cn-77") for _ in range(2)]
    assert credit[0].external_id == credit[1].external_id
    assert credit[0].data["remaining"] == Decimal("25.00")
    assert xero.record("credit_note", credit[0].external_id)["LineAmountTypes"] == "Inclusive"
    allocated = [
        connector.allocate_credit(
            credit[0].external_id, invoice, Decimal("25.00"), idempotency_key="alloc-77"
        )
        for _ in range(2)
    ]
    assert allocated[1].data["remaining"] == Decimal("0.00")
    assert allocated[1].data["allocations"] == [{"invoice_id": invoice, "amount": Decimal("25.00")}]
    assert xero.record("invoice", invoice)["AmountDue"] == 35.0  # 100 - 40 - 25, each once


def test_429_is_rate_limited_with_retry_after(xero, connector):
    xero.fail_next(status=429, retry_after=7)
    with pytest.raises(RateLimited) as limited:
        connector.changes("contact", cursor=None)
    assert (limited.value.retry_after, limited.value.status) == (7, 429)
    assert connector.changes("contact", cursor=None).records == []  # the next call goes through

    answer = requests.get(
        f"{xero.url}/api.xro/2.0/Contacts",
        headers={"Authorization": f"Bearer {connector.access_token}", "xero-tenant-id": xero.tenant_id},
        timeout=5,
    )
    assert (answer.headers["X-MinLimit-Remaining"], answer.headers["X-DayLimit-Remaining"]) == ("57", "4997")
    xero.calls_per_minute = 5  # Xero's own minute limit, counted by the emulator
    with pytest.raises(RateLimited) as limited:
        for _ in range(3):
            connector.get("contact", "00000000-0000-0000-0000-000000000001")
    assert 0 < limited.value.retry_after <= 60
    assert "minute" in str(limited.value)


def test_an_expired_access_token_is_token_expired_and_a_refreshed_one_works(xero, connector):
    xero.add_contact("Acme Pte Ltd")
    xero.expire_access_token()
    with pytest.raises(TokenExpired, match="TokenExpired: token expired at"):
        connector.changes("contact", cursor=None)
    connector.access_token = xero.issue_tokens()["access_token"]
    assert len(connector.changes("contact", cursor=None).records) == 1

    xero.expire_access_token(after=1)  # during a run: one call goes through, the next is refused
    assert connector.get("contact", "00000000-0000-0000-0000-000000000001") is None
    with pytest.raises(TokenExpired):
        connector.changes("contact", cursor=None)

    xero.access_token_seconds = 0  # tokens that expire as they are issued
    connector.access_token = xero.issue_tokens()["access_token"]
    with pytest.raises(TokenExpired):
        connector.get("contact", "00000000-0000-0000-0000-000000000001")


def test_500_and_a_timeout_are_retryable(xero, connector):
    xero.add_invoice(xero.add_contact("Acme Pte Ltd"), "10.00")
    xero.fail_next(status=500, after=1)  # the second call fails, the others go through
    assert len(connector.changes("invoice", cursor=None).records) == 1
    with pytest.raises(ConnectorError) as failed:
        connector.changes("invoice", cursor=None)
    assert (failed.value.status, failed.value.retryable) == (500, True)
    assert len(connector.changes("invoice", cursor=None).records) == 1

    impatient = XeroConnector(tenant_id=xero.tenant_id, access_token=connector.access_token, timeout=0.3)
    xero.slow_next(seconds=1.5)
    with pytest.raises(ConnectorError) as timed_out:
        impatient.changes("invoice", cursor=None)
    assert timed_out.value.retryable and not isinstance(timed_out.value, (RateLimited, TokenExpired))
    assert len(impatient.changes("invoice", cursor=None).records) == 1


def test_webhook_signature_good_and_bad(xero):
    connector = XeroConnector()
    invoice = xero.add_invoice(xero.add_contact("Acme Pte Ltd"), "10.00")
    body, headers = xero.webhook([("INVOICE", invoice, "UPDATE")], key=XERO_WEBHOOK_KEY)
    assert connector.verify_webhook(body, headers)
    assert json.loads(body)["events"][0]["tenantId"] == xero.tenant_id
    assert not connector.verify_webhook(body + b" ", headers)  # the body changed on the way
    assert not connector.verify_webhook(body, {"X-Xero-Signature": base64.b64encode(b"x" * 32).decode()})
    assert not connector.verify_webhook(body, {})

    # the intent-to-receive check: one delivery signed right, one wrong
    assert connector.verify_webhook(*xero.intent_to_receive(key=XERO_WEBHOOK_KEY))
    assert not connector.verify_webhook(*xero.intent_to_receive(key=XERO_WEBHOOK_KEY, valid=False))
    expected = base64.b64encode(hmac.new(XERO_WEBHOOK_KEY.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["x-xero-signature"] == expected


def test_five_calls_at_once_is_the_limit(xero, connector):
    xero.slow_next(5, seconds=10)
    with ThreadPoolExecutor(5) as pool:
        readers = [
            XeroConnector(tenant_id=xero.tenant_id, access_token=connector.access_token) for _ in range(5)
        ]
        running = [pool.submit(reader.changes, "contact", cursor=None) for reader in readers]
        deadline = time.monotonic() + 5
        while xero.books().in_flight < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(RateLimited, match="concurrent") as limited:
            connector.changes("contact", cursor=None)
        assert limited.value.retry_after == 1
        xero.release_slow()
        assert [future.result().records for future in running] == [[]] * 5


def test_the_schema_check_catches_a_body_xero_would_not_send(xero_spec):
    bad = json.dumps({"Invoices": [{"InvoiceID": "not-a-uuid", "Total": "107.00"}]}).encode()
    errors = xero_spec.response_errors("GET", "/api.xro/2.0/Invoices", b"", 200, bad)
    assert len(errors) == 1 and "not-a-uuid" in errors[0] and "'107.00' is not of type 'number'" in errors[0]
    assert xero_spec.webhook_errors({"events": [{"resourceId": "x"}], "entropy": "E"}) != []
