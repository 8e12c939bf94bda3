"""The Xero webhook: signed by Xero's HMAC or refused; each connected organisation it names syncs once.

Signatures are made here as Xero makes them (base64 HMAC-SHA256 of the raw body with the webhook
key); the syncs it starts run in Celery's eager mode against the local Xero.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.utils import timezone

from accounting.models import Connection, ConnectionStatus, SyncRun, SyncStatus
from invoices.models import Invoice
from tests.accounting.conftest import XERO_WEBHOOK_KEY

URL = "/webhooks/xero/"
pytestmark = pytest.mark.django_db


def sign(body, key=XERO_WEBHOOK_KEY):
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def event(tenant_id, category="INVOICE"):
    return {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{tenant_id[:8]}",
        "resourceId": "0e5a3a3f-7c2f-4c38-9e38-6d9c1f3e5a11",
        "eventDateUtc": "2026-11-23T10:00:00.000",
        "eventType": "UPDATE",
        "eventCategory": category,
        "tenantId": tenant_id,
        "tenantType": "ORGANISATION",
    }


def payload(*events):
    return json.dumps(
        {
            "events": list(events),
            "firstEventSequence": 1,
            "lastEventSequence": len(events),
            "entropy": "QWERTY",
        }
    ).encode()


def post(client, body, signature):
    headers = {"HTTP_X_XERO_SIGNATURE": signature} if signature is not None else {}
    return client.post(URL, body, content_type="application/json", **headers)


@pytest.fixture
def eager_celery():
    from peakflo.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def connection_for(xero, tenant_id, name, status=ConnectionStatus.CONNECTED):
    tokens = xero.issue_tokens()
    connection = Connection(
        provider="xero",
        tenant_id=tenant_id,
        tenant_name=name,
        status=status,
        token_expires_at=timezone.now() + dt.timedelta(minutes=30),
    )
    connection.access_token, connection.refresh_token = tokens["access_token"], tokens["refresh_token"]
    connection.save()
    return connection


@pytest.mark.parametrize("signature", [None, "", "bm90IHRoZSBzaWduYXR1cmU=", "wrong key"])
def test_a_missing_or_bad_signature_is_401_and_nothing_happens(
    client, xero, eager_celery, django_capture_on_commit_callbacks, signature
):
    connection_for(xero, xero.tenant_id, "Demo Company (SG)")
    body = payload(event(xero.tenant_id))
    if signature == "wrong key":
        signature = sign(body, key="someone-elses-key")
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = post(client, body, signature)
    assert response.status_code == 401 and response.content == b""
    assert queued == [] and not SyncRun.objects.exists()


def test_a_signature_of_another_body_is_refused(client, xero, django_capture_on_commit_callbacks):
    connection_for(xero, xero.tenant_id, "Demo Company (SG)")
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = post(client, payload(event(xero.tenant_id)), sign(payload()))
    assert response.status_code == 401 and queued == []


def test_without_a_webhook_key_every_delivery_is_refused(client, xero, settings):
    settings.XERO_WEBHOOK_KEY = ""
    body = payload()
    assert post(client, body, sign(body)).status_code == 401


def test_the_intent_to_receive_handshake(client, xero):
    """Xero sends an empty list of events, signed well and badly, and wants 200 (empty) then 401."""
    body = payload()
    good = post(client, body, sign(body))
    assert good.status_code == 200 and good.content == b""
    assert post(client, body, sign(body, key="x")).status_code == 401
    assert not SyncRun.objects.exists()


def test_each_connected_organisation_named_syncs_once_at_once(
    client, xero, eager_celery, django_capture_on_commit_callbacks
):
    other = xero.add_tenant("Second Branch Pte Ltd")
    archived = xero.add_tenant("Old Branch Pte Ltd")
    contact = xero.add_contact("Harbour Freight Pte Ltd")
    xero.add_invoice(contact, "250.00", number="INV-9001")
    demo = connection_for(xero, xero.tenant_id, "Demo Company (SG)")
    second = connection_for(xero, other, "Second Branch Pte Ltd")
    connection_for(xero, archived, "Old Branch Pte Ltd", status=ConnectionStatus.DISCONNECTED)
    body = payload(
        event(xero.tenant_id),
        event(xero.tenant_id, "CONTACT"),
        event(other),
        event(archived),
        event("00000000-0000-0000-0000-000000000000"),  # an organisation not connected here
    )
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = post(client, body, sign(body))
    assert response.status_code == 200 and response.content == b""
    assert len(queued) == 2
    runs = SyncRun.objects.order_by("connection_id")
    assert [(run.connection_id, run.trigger, run.status) for run in runs] == [
        (demo.pk, "webhook", SyncStatus.SUCCEEDED),
        (second.pk, "webhook", SyncStatus.SUCCEEDED),
    ]
    assert Invoice.objects.get().number == "INV-9001"


def test_only_post_and_no_csrf_token_needed(client, xero):
    from django.test import Client

    assert client.get(URL).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    body = payload()
    assert post(strict, body, sign(body)).status_code == 200


def test_a_signed_body_that_is_not_json_is_refused_and_changes_nothing(
    client, xero, django_capture_on_commit_callbacks
):
    body = b"not json"
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = post(client, body, sign(body))
    assert response.status_code == 400 and b"not the JSON Xero sends" in response.content
    assert queued == []
