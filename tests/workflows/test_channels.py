"""Each channel over a real socket: email to a local SMTP server, the HTTP providers to a local server."""

import base64
import json
import urllib.parse

import pytest

from customers.models import Customer
from peakflo.models import Company
from tests.workflows.local_servers import HttpServer
from workflows.channels import (
    ChannelError,
    ChannelUncertain,
    EmailChannel,
    LineChannel,
    TwilioSmsChannel,
    TwilioWhatsAppChannel,
    WhatsAppCloudChannel,
    get_channel,
)
from workflows.models import Action, Channel, Message, Workflow


@pytest.fixture
def http():
    server = HttpServer().start()
    yield server
    server.stop()


@pytest.fixture
def customer(am_alice):
    return Customer.objects.create(code="CH-1", name="Channel Co", account_manager=am_alice)


def message(customer, channel=Channel.EMAIL, to="ann@channel.test", **fields):
    return Message.objects.create(
        customer=customer,
        channel=channel,
        to=to,
        subject="Invoice INV-1 is due",
        body="Please pay INV-1.",
        **fields,
    )


# Email


def test_email_goes_out_with_text_html_and_the_pdf_reply_to_the_account_manager(smtp, customer):
    Company.objects.update_or_create(pk=1, defaults={"sender_email": "ar@seller.test"})
    sent = message(customer, cc="boss@channel.test", bcc="audit@seller.test")

    provider_id = EmailChannel().send(
        sent, [("INV-1.pdf", b"%PDF-1.7 fake", "application/pdf")], html="<p>Please pay <b>INV-1</b>.</p>"
    )

    [received] = smtp.messages
    assert sorted(received["rcpt"]) == ["ann@channel.test", "audit@seller.test", "boss@channel.test"]
    mail = received["message"]
    assert mail["Message-ID"] == provider_id
    assert mail["From"] == "ar@seller.test"
    assert mail["Reply-To"] == "alice@example.com"
    assert mail["Subject"] == "Invoice INV-1 is due"
    assert "Bcc" not in mail
    assert mail.get_body(("plain",)).get_content().strip() == "Please pay INV-1."
    assert mail.get_body(("html",)).get_content().strip() == "<p>Please pay <b>INV-1</b>.</p>"
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "INV-1.pdf"
    assert attachment.get_content() == b"%PDF-1.7 fake"


def test_email_uses_the_workflows_from_and_reply_to(smtp, customer):
    workflow = Workflow.objects.create(
        name="Own addresses", from_email="dunning@seller.test", reply_to="ar@seller.test"
    )
    action = Action.objects.create(workflow=workflow, name="First reminder")

    EmailChannel().send(message(customer, action=action))

    mail = smtp.messages[0]["message"]
    assert mail["From"] == "dunning@seller.test"
    assert mail["Reply-To"] == "ar@seller.test"


def test_one_connection_serves_many_emails(smtp, customer):
    with EmailChannel() as channel:
        ids = {channel.send(message(customer, to=f"c{i}@channel.test")) for i in range(5)}
    assert len(ids) == 5
    assert len(smtp.messages) == 5


def test_a_refused_recipient_is_a_final_error(settings, customer):
    class Refusing:
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 5.1.1 No such user"

    from aiosmtpd.controller import Controller

    from tests.workflows.local_servers import free_port

    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        with pytest.raises(ChannelError) as error:
            EmailChannel().send(message(customer))
    finally:
        controller.stop()
    assert "refused ann@channel.test (550" in error.value.reason
    assert not error.value.retryable


def test_no_mail_server_is_an_error_worth_retrying(settings, customer):
    from tests.workflows.local_servers import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    with pytest.raises(ChannelError) as error:
        EmailChannel().send(message(customer))
    assert error.value.retryable
    assert "could not be reached" in error.value.reason


# Twilio: SMS and WhatsApp


@pytest.fixture
def twilio(settings, http):
    settings.TWILIO_ACCOUNT_SID = "AC123"
    settings.TWILIO_AUTH_TOKEN = "secret-token"
    settings.TWILIO_FROM_NUMBER = "+6560000000"
    settings.TWILIO_WHATSAPP_FROM = "+14155238886"
    settings.TWILIO_BASE_URL = http.url
    return http


def form(request):
    return dict(urllib.parse.parse_qsl(request["body"].decode()))


def test_sms_through_twilio(settings, twilio, customer):
    twilio.default = (201, {"sid": "SM0001", "status": "queued"})

    settings.SITE_URL = "http://testserver"
    sent = message(customer, channel=Channel.SMS, to="+6591234567")
    provider_id = TwilioSmsChannel().send(sent)

    assert provider_id == "SM0001"
    [request] = twilio.requests
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"AC123:secret-token").decode()
    assert form(request) == {
        "To": "+6591234567",
        "From": "+6560000000",
        "Body": "Please pay INV-1.",
        "StatusCallback": f"http://testserver/webhooks/twilio/status/?message={sent.pk}",
    }


def test_whatsapp_through_twilio_to_every_recipient(twilio, customer):
    twilio.replies = [(201, {"sid": "SM1"}), (201, {"sid": "SM2"})]

    provider_id = get_channel(Channel.WHATSAPP).send(
        message(customer, channel=Channel.WHATSAPP, to="+6591234567, +6598765432")
    )

    assert provider_id == "SM1,SM2"
    assert [form(r)["To"] for r in twilio.requests] == ["whatsapp:+6591234567", "whatsapp:+6598765432"]
    assert {form(r)["From"] for r in twilio.requests} == {"whatsapp:+14155238886"}


def test_a_twilio_4xx_is_final_and_says_why(twilio, customer):
    twilio.default = (
        400,
        {"code": 21211, "message": "The 'To' number 12 is not a valid phone number.", "status": 400},
    )
    with pytest.raises(ChannelError) as error:
        TwilioSmsChannel().send(message(customer, channel=Channel.SMS, to="12"))
    assert error.value.reason == (
        "Twilio refused the message (HTTP 400): The 'To' number 12 is not a valid phone number."
    )
    assert not error.value.retryable


def test_a_twilio_5xx_may_be_retried(twilio, customer):
    twilio.default = (503, {"message": "Service unavailable"})
    with pytest.raises(ChannelError) as error:
        TwilioSmsChannel().send(message(customer, channel=Channel.SMS, to="+6591234567"))
    assert error.value.retryable
    assert "HTTP 503" in error.value.reason


def test_a_failure_after_a_first_recipient_got_it_is_never_retried(twilio, customer):
    twilio.replies = [(201, {"sid": "SM1"}), (500, {"message": "boom"})]
    with pytest.raises(ChannelUncertain) as error:
        TwilioSmsChannel().send(message(customer, channel=Channel.SMS, to="+6511111111, +6522222222"))
    assert error.value.reason.startswith("Sent to +6511111111; not to +6522222222")
    assert not error.value.retryable


@pytest.mark.parametrize(
    ("channel_class", "kind", "missing"),
    [
        (TwilioSmsChannel, Channel.SMS, "SMS is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN"),
        (
            TwilioWhatsAppChannel,
            Channel.WHATSAPP,
            "WhatsApp (Twilio) is not configured: set TWILIO_ACCOUNT_SID",
        ),
        (
            WhatsAppCloudChannel,
            Channel.WHATSAPP,
            "WhatsApp (Cloud API) is not configured: set WHATSAPP_CLOUD_TOKEN",
        ),
        (LineChannel, Channel.LINE, "LINE is not configured: set LINE_CHANNEL_ACCESS_TOKEN"),
    ],
)
def test_a_channel_without_credentials_says_so(settings, customer, channel_class, kind, missing):
    for name in ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "TWILIO_WHATSAPP_FROM"]:
        setattr(settings, name, "")
    settings.WHATSAPP_CLOUD_TOKEN = settings.WHATSAPP_CLOUD_PHONE_NUMBER_ID = (
        settings.LINE_CHANNEL_ACCESS_TOKEN
    ) = ""
    with pytest.raises(ChannelError) as error:
        channel_class().send(message(customer, channel=kind, to="+6591234567"))
    assert error.value.reason.startswith(missing)
    assert not error.value.retryable


# WhatsApp Cloud API


def test_whatsapp_through_the_cloud_api(settings, http, customer):
    settings.WHATSAPP_PROVIDER = "cloud"
    settings.WHATSAPP_CLOUD_TOKEN = "EAAG-token"
    settings.WHATSAPP_CLOUD_PHONE_NUMBER_ID = "1098765"
    settings.WHATSAPP_CLOUD_BASE_URL = http.url + "/v21.0"
    http.default = (200, {"messaging_product": "whatsapp", "messages": [{"id": "wamid.HBgL"}]})

    provider_id = get_channel(Channel.WHATSAPP).send(
        message(customer, channel=Channel.WHATSAPP, to="+6591234567")
    )

    assert provider_id == "wamid.HBgL"
    [request] = http.requests
    assert request["path"] == "/v21.0/1098765/messages"
    assert request["headers"]["Authorization"] == "Bearer EAAG-token"
    assert json.loads(request["body"]) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "6591234567",
        "type": "text",
        "text": {"preview_url": False, "body": "Please pay INV-1."},
    }


def test_a_cloud_api_error_names_its_reason(settings, http, customer):
    settings.WHATSAPP_CLOUD_TOKEN, settings.WHATSAPP_CLOUD_PHONE_NUMBER_ID = "t", "1"
    settings.WHATSAPP_CLOUD_BASE_URL = http.url
    http.default = (401, {"error": {"message": "Invalid OAuth access token.", "code": 190}})
    with pytest.raises(ChannelError, match=r"HTTP 401\): Invalid OAuth access token\."):
        WhatsAppCloudChannel().send(message(customer, channel=Channel.WHATSAPP, to="+6591234567"))


# LINE


def test_line_push(settings, http, customer):
    settings.LINE_CHANNEL_ACCESS_TOKEN = "line-token"
    settings.LINE_BASE_URL = http.url
    http.default = (200, {"sentMessages": [{"id": "461230966842064897", "quoteToken": "q"}]})
    sent = message(customer, channel=Channel.LINE, to="U4af4980629")

    provider_id = LineChannel().send(sent)

    assert provider_id == "461230966842064897"
    [request] = http.requests
    assert request["path"] == "/v2/bot/message/push"
    assert request["headers"]["Authorization"] == "Bearer line-token"
    assert request["headers"]["X-Line-Retry-Key"]
    assert json.loads(request["body"]) == {
        "to": "U4af4980629",
        "messages": [{"type": "text", "text": "Please pay INV-1."}],
    }

    LineChannel().send(sent)  # the same message again carries the same retry key: LINE keeps one
    assert http.requests[1]["headers"]["X-Line-Retry-Key"] == request["headers"]["X-Line-Retry-Key"]


def test_an_unreachable_provider_may_be_retried(settings, customer):
    from tests.workflows.local_servers import free_port

    settings.LINE_CHANNEL_ACCESS_TOKEN = "line-token"
    settings.LINE_BASE_URL = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChannelError) as error:
        LineChannel().send(message(customer, channel=Channel.LINE, to="U1"))
    assert error.value.retryable
    assert error.value.reason.startswith("LINE could not be reached")
