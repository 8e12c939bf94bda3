"""Reminder channels behind one interface: `send(message, attachments=(), html=None) -> provider id`.

A channel raises ChannelError with a reason a person can act on. `retryable` says the provider
certainly did not take the message and may take it later (a 5xx, a refused connection); anything
else is final. ChannelUncertain means the provider may have taken it (no answer in time): it is
never retried, so a customer is never sent the same reminder twice.
"""

from ..models import ActionType, Channel
from .base import ChannelError, ChannelUncertain
from .email import EmailChannel
from .line import LineChannel
from .twilio import TwilioSmsChannel, TwilioWhatsAppChannel
from .webhook import WebhookChannel
from .whatsapp_cloud import WhatsAppCloudChannel

__all__ = [
    "ChannelError",
    "ChannelUncertain",
    "EmailChannel",
    "LineChannel",
    "TwilioSmsChannel",
    "TwilioWhatsAppChannel",
    "WebhookChannel",
    "WhatsAppCloudChannel",
    "channel_kind",
    "get_channel",
]

CHANNEL_OF_ACTION = {
    ActionType.EMAIL: Channel.EMAIL,
    ActionType.INTERNAL_EMAIL: Channel.EMAIL,
    ActionType.SMS: Channel.SMS,
    ActionType.WHATSAPP: Channel.WHATSAPP,
    ActionType.LINE: Channel.LINE,
    ActionType.WEBHOOK: Channel.WEBHOOK,
}


def channel_kind(action_type):
    """The Message.channel an automatic action type sends on."""
    return CHANNEL_OF_ACTION[action_type]


def get_channel(kind):
    """A channel object for a Message.channel value, following the provider settings."""
    from django.conf import settings

    if kind == Channel.EMAIL:
        return EmailChannel()
    if kind == Channel.SMS:
        return TwilioSmsChannel()
    if kind == Channel.WHATSAPP:
        provider = (getattr(settings, "WHATSAPP_PROVIDER", "") or "twilio").lower()
        if provider == "cloud":
            return WhatsAppCloudChannel()
        if provider == "twilio":
            return TwilioWhatsAppChannel()
        raise ChannelError(f"WHATSAPP_PROVIDER={provider!r} is not a provider: use twilio or cloud.")
    if kind == Channel.LINE:
        return LineChannel()
    if kind == Channel.WEBHOOK:
        return WebhookChannel()
    raise ChannelError(f"There is no channel {kind!r}.")
