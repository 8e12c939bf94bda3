"""Twilio's signed delivery-status callback: a send names it, a signed callback updates the message and
the timeline, a bad signature changes nothing."""

import datetime as dt
import urllib.parse
from decimal import Decimal

import pytest

from customers.models import Activity, ActivityKind, Customer
from invoices.models import Invoice
from tests.workflows.local_servers import HttpServer
from workflows.channels import TwilioSmsChannel, TwilioWhatsAppChannel
from workflows.models import Action, ActionRun, Channel, Message, MessageStatus, RunStatus, Task, Workflow
from workflows.webhooks import twilio_signature

TOKEN = "twilio-auth-token"
SITE = "https://ar.example.com"


@pytest.fixture
def twilio_settings(settings):
    settings.SITE_URL = SITE
    settings.TWILIO_ACCOUNT_SID = "AC123"
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_FROM_NUMBER = "+6560000000"
    settings.TWILIO_WHATSAPP_FROM = "+14155238886"
    return settings


@pytest.fixture
def customer(am_alice):
    return Customer.objects.create(code="TW-1", name="Texting Co", account_manager=am_alice)


@pytest.fixture
def sent_sms(customer):
    """An SMS reminder the engine sent for one invoice, as dispatch leaves it."""
    invoice = Invoice.objects.create(
        number="INV-TW1",
        customer=customer,
        currency="SGD",
        issue_date=dt.date(2026, 10, 1),
        due_date=dt.date(2026, 10, 31),
        subtotal=Decimal("100.00"),
        total=Decimal("100.00"),
        amount_due=Decimal("100.00"),
    )
    action = Action.objects.create(
        workflow=Workflow.objects.create(name="SMS flow"), name="SMS on the due date", action_type="sms"
    )
    message = Message.objects.create(
        customer=customer,
        channel=Channel.SMS,
        action=action,
        to="+6591234567",
        body="Please pay INV-TW1.",
        status=MessageStatus.SENT,
        provider_id="SM0001",
    )
    ActionRun.objects.create(
        action=action, invoice=invoice, due_on=invoice.due_date, status=RunStatus.DONE, message=message
    )
    return message


def callback(client, message, *, sid="SM0001", status="delivered", token=TOKEN, signature=None, **more):
    """POST what Twilio posts, signed as Twilio signs it (or with the given signature)."""
    path = f"/webhooks/twilio/status/?message={message.pk}" if message else "/webhooks/twilio/status/"
    params = {
        "AccountSid": "AC123",
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": "+6591234567",
        "From": "+6560000000",
        "ApiVersion": "2010-04-01",
        **more,
    }
    if signature is None:
        signature = twilio_signature(SITE + path, _multi(params), token)
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature else {}
    return client.post(path, params, **headers)


def _multi(params):
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for name, value in params.items():
        query[name] = value
    return query


def timeline_kinds(customer):
    return list(Activity.objects.filter(customer=customer).values_list("kind", flat=True))


# The send names the callback


@pytest.mark.parametrize("channel_class", [TwilioSmsChannel, TwilioWhatsAppChannel])
def test_each_twilio_send_asks_for_status_callbacks_at_our_address(twilio_settings, customer, channel_class):
    server = HttpServer(default=(201, {"sid": "SM42", "status": "queued"})).start()
    try:
        twilio_settings.TWILIO_BASE_URL = server.url
        message = Message.objects.create(customer=customer, channel=Channel.SMS, to="+6591234567", body="Hi")
        assert channel_class().send(message) == "SM42"
    finally:
        server.stop()
    [request] = server.requests
    form = dict(urllib.parse.parse_qsl(request["body"].decode()))
    assert form["StatusCallback"] == f"{SITE}/webhooks/twilio/status/?message={message.pk}"


def test_the_callback_url_twilio_was_given_accepts_its_signed_callback(twilio_settings, client, customer):
    """Round trip: the URL the send passed to (local) Twilio is the one the callback is checked against."""
    server = HttpServer(default=(201, {"sid": "SM77"})).start()
    try:
        twilio_settings.TWILIO_BASE_URL = server.url
        message = Message.objects.create(customer=customer, channel=Channel.SMS, to="+6591234567", body="Hi")
        provider_id = TwilioSmsChannel().send(message)
    finally:
        server.stop()
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.SENT, provider_id=provider_id)
    url = dict(urllib.parse.parse_qsl(server.requests[0]["body"].decode()))["StatusCallback"]
    params = {"MessageSid": "SM77", "MessageStatus": "delivered", "To": "+6591234567"}
    signature = twilio_signature(url, _multi(params), TOKEN)

    response = client.post(url.removeprefix(SITE), params, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


# Delivered and failed


def test_delivered_updates_the_message_and_the_timeline(twilio_settings, client, sent_sms):
    response = callback(client, sent_sms, status="delivered")

    assert response.status_code == 200
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.DELIVERED
    [entry] = Activity.objects.filter(customer=sent_sms.customer)
    assert entry.kind == ActivityKind.MESSAGE_DELIVERED
    assert entry.invoice.number == "INV-TW1"
    assert entry.data["to"] == "+6591234567"
    assert entry.data["channel"] == "SMS"


def test_a_repeated_callback_records_nothing_more(twilio_settings, client, sent_sms):
    callback(client, sent_sms, status="delivered")
    callback(client, sent_sms, status="delivered")
    callback(client, sent_sms, status="read")
    assert timeline_kinds(sent_sms.customer) == [ActivityKind.MESSAGE_DELIVERED]


def test_failed_keeps_twilios_error_code_on_the_message_the_timeline_and_a_task(
    twilio_settings, client, sent_sms, am_alice
):
    response = callback(client, sent_sms, status="failed", ErrorCode="30003")

    assert response.status_code == 200
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.FAILED
    assert "error 30003" in sent_sms.error
    assert "unreachable" in sent_sms.error
    [entry] = Activity.objects.filter(customer=sent_sms.customer, kind=ActivityKind.MESSAGE_FAILED)
    assert "error 30003" in entry.data["reason"]
    [task] = Task.objects.filter(customer=sent_sms.customer)
    assert task.owner == am_alice
    assert "error 30003" in task.details


def test_undelivered_is_failed(twilio_settings, client, sent_sms):
    callback(client, sent_sms, status="undelivered", ErrorCode="30005")
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.FAILED
    assert "(error 30005): the number is unknown" in sent_sms.error
    assert ActivityKind.MESSAGE_FAILED in timeline_kinds(sent_sms.customer)


def test_a_delivered_callback_after_a_failure_for_another_recipient_leaves_it_failed(
    twilio_settings, client, sent_sms
):
    Message.objects.filter(pk=sent_sms.pk).update(provider_id="SM0001,SM0002")
    callback(client, sent_sms, sid="SM0002", status="failed", ErrorCode="21610")
    callback(client, sent_sms, sid="SM0001", status="delivered")
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.FAILED
    assert "opted out" in sent_sms.error


def test_found_by_its_sid_when_the_url_names_no_message(twilio_settings, client, sent_sms):
    Message.objects.filter(pk=sent_sms.pk).update(provider_id="SM0009,SM0001")
    callback(client, None, sid="SM0001", status="delivered")
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.DELIVERED


def test_a_message_whose_fate_was_unknown_becomes_delivered(twilio_settings, client, sent_sms):
    Message.objects.filter(pk=sent_sms.pk).update(status=MessageStatus.UNKNOWN)
    callback(client, sent_sms, status="delivered")
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.DELIVERED


def test_intermediate_statuses_change_nothing(twilio_settings, client, sent_sms):
    for status in ["queued", "sending", "sent"]:
        assert callback(client, sent_sms, status=status).status_code == 200
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.SENT
    assert timeline_kinds(sent_sms.customer) == []


# Refused and ignored


@pytest.mark.parametrize(
    "how",
    ["missing", "garbage", "other token", "tampered"],
)
def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(twilio_settings, client, sent_sms, how):
    if how == "missing":
        response = callback(client, sent_sms, signature="")
    elif how == "garbage":
        response = callback(client, sent_sms, signature="bm90IGEgc2lnbmF0dXJl")
    elif how == "other token":
        response = callback(client, sent_sms, token="someone-elses-token")
    else:  # signed for "delivered", posted as "failed"
        path = f"/webhooks/twilio/status/?message={sent_sms.pk}"
        good = {"MessageSid": "SM0001", "MessageStatus": "delivered"}
        signature = twilio_signature(SITE + path, _multi(good), TOKEN)
        response = client.post(path, {**good, "MessageStatus": "failed"}, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 403
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.SENT
    assert sent_sms.error == ""
    assert timeline_kinds(sent_sms.customer) == []
    assert not Task.objects.exists()


def test_without_a_twilio_token_every_callback_is_refused(twilio_settings, client, sent_sms):
    path = f"/webhooks/twilio/status/?message={sent_sms.pk}"
    params = {"MessageSid": "SM0001", "MessageStatus": "delivered"}
    good_signature = twilio_signature(SITE + path, _multi(params), TOKEN)
    twilio_settings.TWILIO_AUTH_TOKEN = ""
    assert client.post(path, params, HTTP_X_TWILIO_SIGNATURE=good_signature).status_code == 403
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.SENT


def test_an_unknown_message_is_acknowledged_and_changes_nothing(twilio_settings, client, sent_sms):
    response = callback(client, None, sid="SM9999", status="failed", ErrorCode="30003")
    assert response.status_code == 200
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.SENT
    assert timeline_kinds(sent_sms.customer) == []


def test_a_message_id_in_the_url_with_another_sid_changes_nothing(twilio_settings, client, sent_sms):
    response = callback(client, sent_sms, sid="SM-OTHER", status="failed", ErrorCode="30003")
    assert response.status_code == 200
    sent_sms.refresh_from_db()
    assert sent_sms.status == MessageStatus.SENT


def test_only_post_is_answered(twilio_settings, client):
    assert client.get("/webhooks/twilio/status/").status_code == 405


def test_a_delivery_report_that_beats_dispatch_recording_sent_is_kept(twilio_settings, client, sent_sms):
    # Twilio can call back before dispatch has written `sent`: the report must not be overwritten.
    from django.utils import timezone

    from workflows.dispatch import _record_sent

    Message.objects.filter(pk=sent_sms.pk).update(status=MessageStatus.SENDING, provider_id="")
    assert callback(client, sent_sms).status_code == 200
    assert Message.objects.get(pk=sent_sms.pk).status == MessageStatus.DELIVERED

    sent_sms.status, sent_sms.provider_id, sent_sms.attempts = MessageStatus.SENT, "SM0001", 1
    _record_sent([sent_sms], timezone.now())

    message = Message.objects.get(pk=sent_sms.pk)
    assert (message.status, message.provider_id) == (MessageStatus.DELIVERED, "SM0001")
