"""The reminder email as dispatch writes it for an SMTP server, read back by a real one (aiosmtpd).

The channel writes the MIME message itself for Django's SMTP backend (Django's EmailMessage costs
several milliseconds a message): what a mail client reads must be exactly what was meant.
"""

import datetime as dt

import pytest
from django.core import mail

from customers.models import Contact, Customer
from peakflo.models import Company
from tests.workflows.local_servers import Mailbox, SmtpServer
from workflows.channels import ChannelError, EmailChannel
from workflows.dispatch import dispatch_due_runs
from workflows.models import Action, ActionRun, ActionType, Message, MessageStatus, RunStatus, Workflow

from .test_dispatch import make_invoice


class RawMailbox(Mailbox):
    """Keeps each message's bytes as they came over the wire too."""

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        with self.lock:
            self.messages[-1]["raw"] = envelope.original_content
        return answer


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    server.mailbox = server.controller.handler = RawMailbox()
    server.start()
    server.use_in(settings)
    yield server
    server.stop()


@pytest.fixture
def company(db):
    company, _ = Company.objects.update_or_create(
        pk=1,
        defaults={
            "name": "Seller Pte Ltd",
            "send_window_start": dt.time(0),
            "send_window_end": dt.time.max,
            "send_weekdays": list(range(7)),
            "sender_email": "ar@seller.test",
        },
    )
    return company


@pytest.fixture
def workflow(db):
    Workflow.objects.update(is_default=False)
    return Workflow.objects.create(
        name="Mail", is_default=True, contact_delay_days=3, from_email="", reply_to=""
    )


def text_of(part):
    """A text part's content with the line ends the sender wrote (the wire's are CRLF)."""
    return part.get_content().replace("\r\n", "\n")


def message(customer, **fields):
    values = {
        "customer": customer,
        "channel": "email",
        "to": "ann@channel.test",
        "subject": "Invoice INV-1 is due",
        "body": "Please pay INV-1.",
        **fields,
    }
    return Message.objects.create(**values)


@pytest.fixture
def customer(am_alice):
    return Customer.objects.create(code="EM-1", name="Mail Co", account_manager=am_alice)


def test_non_ascii_text_long_html_lines_and_leading_dots_arrive_exactly(smtp, company, customer):
    subject = "Rappel : facture n° INV-1 échue — merci de régler avant le 1er décembre 2026, s'il vous plaît"
    body = "Bonjour Zoë,\n.\n.leading dot\nMontant : 1 234,00 €\n\n" + "ligne " * 400 + "\nFin"
    html = "<p>Bonjour Zoë</p>" + "<td style='padding:4px 8px'>INV</td>" * 300  # one line of ~12 kB
    sent = message(customer, subject=subject, body=body, cc="boss@channel.test", bcc="audit@seller.test")

    provider_id = EmailChannel().send(sent, html=html)

    [received] = smtp.messages
    assert sorted(received["rcpt"]) == ["ann@channel.test", "audit@seller.test", "boss@channel.test"]
    assert received["from"] == "ar@seller.test"
    parsed = received["message"]
    assert parsed["Subject"] == subject
    assert parsed["Message-ID"] == provider_id
    assert parsed["To"] == "ann@channel.test" and parsed["Cc"] == "boss@channel.test"
    assert "Bcc" not in parsed
    assert parsed["Reply-To"] == "alice@example.com"
    assert parsed["Date"].datetime.tzinfo is not None
    assert text_of(parsed.get_body(("plain",))) == body
    assert text_of(parsed.get_body(("html",))) == html
    assert not parsed.defects
    # Every line on the wire within SMTP's limit, in 7-bit ASCII.
    assert max(len(line) for line in received["raw"].split(b"\r\n")) <= 998
    assert received["raw"].isascii()


def test_names_are_encoded_and_international_domains_become_punycode(smtp, company, customer):
    Company.objects.filter(pk=1).update(sender_email="Ärger Accounts <ar@seller.test>")
    channel = EmailChannel(company=Company.load())

    with pytest.raises(ChannelError) as error:
        channel.send(message(customer, to="zoë.kunde@bücher.test"))  # no SMTPUTF8: cannot be sent
    assert (
        error.value.reason == "“zoë.kunde@bücher.test” cannot be sent to: its part before the @ is not ASCII."
    )
    assert smtp.messages == []

    channel.send(message(customer, to="zoe@bücher.test"))

    [received] = smtp.messages
    assert received["rcpt"] == ["zoe@xn--bcher-kva.test"]
    assert received["from"] == "ar@seller.test"
    assert received["message"]["From"].addresses[0].display_name == "Ärger Accounts"
    assert received["message"]["From"].addresses[0].addr_spec == "ar@seller.test"
    assert received["message"]["To"] == "zoe@xn--bcher-kva.test"
    assert received["raw"].isascii()


def test_text_only_email_is_one_plain_part(smtp, company, customer):
    EmailChannel().send(message(customer, body="Just text, no HTML."))

    parsed = smtp.messages[0]["message"]
    assert parsed.get_content_type() == "text/plain"
    assert text_of(parsed).rstrip("\n") == "Just text, no HTML."  # the server ends the data with a line end


def test_other_email_backends_get_the_same_message_from_django(settings, company, customer):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sent = message(customer, subject="Fälligkeit INV-1", body="Bitte zahlen.", cc="boss@channel.test")

    provider_id = EmailChannel().send(sent, html="<p>Bitte zahlen.</p>")

    [outgoing] = mail.outbox
    assert (outgoing.subject, outgoing.body, outgoing.to, outgoing.cc) == (
        "Fälligkeit INV-1",
        "Bitte zahlen.",
        ["ann@channel.test"],
        ["boss@channel.test"],
    )
    assert outgoing.alternatives[0].content == "<p>Bitte zahlen.</p>"
    assert outgoing.reply_to == ["alice@example.com"]
    assert outgoing.extra_headers["Message-ID"] == provider_id


def test_a_bad_cc_address_fails_the_reminder_with_its_reason_and_nothing_is_sent(smtp, company, workflow):
    action = Action.objects.create(
        workflow=workflow,
        name="Reminder",
        action_type=ActionType.EMAIL,
        subject="{{ invoiceNumber }} is due",
        body="Please pay.",
        cc="not an address",
    )
    customer = Customer.objects.create(code="BAD-1", name="Bad Cc Co", currency="SGD")
    Contact.objects.create(customer=customer, name="Ann", email="ann@badcc.test", is_main=True)
    today = company.today()
    run = ActionRun.objects.create(
        action=action, invoice=make_invoice(customer, "INV-BAD", today), due_on=today
    )

    summary = dispatch_due_runs()

    assert (summary.sent, summary.failed, summary.unknown) == (0, 1, 0)
    assert smtp.messages == []
    sent = Message.objects.get()
    assert sent.status == MessageStatus.FAILED
    assert sent.error == "“not an address” is not an email address."
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
