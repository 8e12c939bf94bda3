"""Ad-hoc messages: sent by hand from the customer page, on any channel, from a template or free text.

Same never-twice rule as dispatch: the Message is written `sending` (sent_by = the person, no action)
and COMMITTED before the channel is called; then `sent` with the provider's id, or `failed` /
`unknown` with the reason. A message sent by hand counts toward the contact delay (dispatch counts
every Message that may have reached the customer), so the engine does not follow it the next day.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers import timeline
from customers.models import ActivityKind
from invoices.models import Invoice
from peakflo.models import Company
from portal.links import reminder_link

from .channels import ChannelError, ChannelUncertain, get_channel
from .dispatch import UNKNOWN_REASON, contact_channel_address, message_timeline_data
from .messages import PORTAL_LINK, message_values, message_values_text
from .models import Channel, Message, MessageStatus
from .templating import TemplateError, check, render

ADHOC_CHANNELS = [Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.LINE]


@dataclass
class Rendered:
    subject: str
    body: str  # plain text: what SMS, WhatsApp and LINE send, and the email's text part
    html: str = ""  # the email's HTML part


def open_invoices(customer, chosen=None):
    """The chosen open invoices of the customer, or all of them when none are chosen; oldest first."""
    invoices = Invoice.objects.filter(customer=customer).outstanding().order_by("due_date", "number")
    if chosen:
        ids = [getattr(invoice, "pk", invoice) for invoice in chosen]
        invoices = invoices.filter(pk__in=ids)
    return list(invoices)


def contact_address(contact, channel):
    return (contact_channel_address(contact, channel) or "").strip() if contact else ""


def _render(*, customer, channel, contact, subject, body, invoices, sending=False):
    if channel not in ADHOC_CHANNELS:
        raise ValidationError(f"“{channel}” is not a channel messages can be sent on.")
    subject = subject if channel == Channel.EMAIL else ""
    try:
        check(subject, field="subject")
        check(body, field="message")
    except TemplateError as error:
        raise ValidationError(str(error)) from error
    company = Company.load()
    keywords = {
        "customer": customer,
        "invoices": open_invoices(customer, invoices),
        "contact": contact,
        "company": company,
        "today": company.today(),
    }
    if sending and PORTAL_LINK in subject + body:
        # A real link only for a message that goes out; the preview shows the portal's address.
        keywords["portal_link"] = reminder_link(customer=customer, contact=contact)
    text_values = message_values_text(**keywords)
    rendered = Rendered(
        subject=" ".join(render(subject, text_values).split())[:300],
        body=render(body, text_values),
    )
    if channel == Channel.EMAIL:
        rendered.html = render(body, message_values(**keywords), html=True)
    return rendered, keywords["invoices"]


def preview_adhoc_message(*, customer, channel, contact, subject, body, invoices=None):
    """The message as it would go out (subject, text body, and HTML body for email); nothing is sent."""
    rendered, _ = _render(
        customer=customer, channel=channel, contact=contact, subject=subject, body=body, invoices=invoices
    )
    return rendered


def _finish(message, invoices, *, status, reason, actor):
    message.status, message.error = status, reason
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(status=status, error=reason)
        timeline.record(
            message.customer,
            ActivityKind.MESSAGE_FAILED,
            invoice=invoices[0] if invoices else None,
            actor=actor,
            data=message_timeline_data(message, invoices, status=status, reason=reason, by_hand=True),
        )


def send_adhoc_message(*, customer, channel, contact, subject, body, invoices=None, actor):
    """Send one message by hand. Returns the Message (`sent`).

    Raises ValidationError before anything is written when the message cannot be made (unknown
    placeholder, no address); raises ValidationError after recording the Message as `failed` (or
    `unknown`) and on the timeline when the channel refuses it or is not configured.
    """
    if contact is None or contact.customer_id != customer.pk:
        raise ValidationError("Choose one of the customer's contacts.")
    address = contact_address(contact, channel)
    if not address:
        raise ValidationError(f"{contact.name} has no {Channel(channel).label} address.")
    rendered, invoices = _render(
        customer=customer,
        channel=channel,
        contact=contact,
        subject=subject,
        body=body,
        invoices=invoices,
        sending=True,
    )
    if not rendered.body.strip():
        raise ValidationError("The message is empty.")
    # Written `sending` and committed before the provider is called: a crash leaves `sending`,
    # which the sweep turns into `unknown` — never a second copy.
    with transaction.atomic():
        message = Message.objects.create(
            customer=customer,
            channel=channel,
            action=None,
            sent_by=actor,
            to=address[:1000],
            subject=rendered.subject,
            body=rendered.body,
            status=MessageStatus.SENDING,
            attempts=1,
        )
    try:
        provider = get_channel(channel)
        try:
            provider_id = provider.send(message, (), html=rendered.html or None)
        finally:
            if hasattr(provider, "close"):
                provider.close()
    except ChannelUncertain as error:
        _finish(message, invoices, status=MessageStatus.UNKNOWN, reason=error.reason, actor=actor)
        raise ValidationError(f"The message may not have gone out: {error.reason}") from error
    except ChannelError as error:
        _finish(message, invoices, status=MessageStatus.FAILED, reason=error.reason, actor=actor)
        raise ValidationError(f"The message was not sent: {error.reason}") from error
    except Exception as error:  # noqa: BLE001 (after `sending`: a person must check it)
        reason = f"Unexpected error while sending ({type(error).__name__}: {error}); {UNKNOWN_REASON}"
        _finish(message, invoices, status=MessageStatus.UNKNOWN, reason=reason, actor=actor)
        raise ValidationError(f"The message may not have gone out: {reason}") from error
    now = timezone.now()
    message.status, message.provider_id, message.sent_at = MessageStatus.SENT, (provider_id or "")[:200], now
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(
            status=message.status, provider_id=message.provider_id, sent_at=now, error=""
        )
        timeline.record(
            customer,
            ActivityKind.MESSAGE_SENT,
            invoice=invoices[0] if invoices else None,
            actor=actor,
            data=message_timeline_data(message, invoices, by_hand=True),
            at=now,
        )
    return message
