"""Delivery-status webhooks from the providers: Twilio's signed status callback (SMS and WhatsApp).

Twilio POSTs to the StatusCallback URL each send passed (workflows/channels/twilio.py) every time
the message's status changes. Only the final outcomes matter to a person: delivered, or failed /
undelivered with Twilio's error code. Everything else (queued, sending, sent) is acknowledged and
changes nothing.
"""

import base64
import hashlib
import hmac
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse, HttpResponseForbidden
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from customers import timeline
from customers.models import ActivityKind

from .models import Message, MessageStatus

log = logging.getLogger(__name__)

TWILIO_DELIVERED = {"delivered", "read"}  # "read": WhatsApp, after delivered
TWILIO_FAILED = {"failed", "undelivered"}
# What the codes a collections team meets most often mean; others link to Twilio's page.
TWILIO_ERRORS = {
    "21408": "sending to this region is not enabled on the Twilio account",
    "21610": "the recipient has replied STOP and opted out",
    "21614": "the number is not a mobile number",
    "30003": "the handset is unreachable (switched off or out of coverage)",
    "30004": "the recipient blocked the message",
    "30005": "the number is unknown or no longer in service",
    "30006": "a landline or a carrier that cannot receive messages",
    "30007": "the carrier filtered the message as spam",
    "30008": "unknown error at the carrier",
    "63016": "WhatsApp only allows an approved template outside the 24-hour window",
}


def twilio_signature(url, params, auth_token):
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by each POST parameter,
    sorted by name, as name + value (repeated names: each value, sorted)."""
    payload = url + "".join(name + value for name in sorted(params) for value in sorted(params.getlist(name)))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_status_callback_url(message):
    """The StatusCallback a Twilio send passes: our public address, naming the message.

    The message's id rides in the (signed) URL because Twilio may call before dispatch has
    written the provider's id on the message.
    """
    base = settings.SITE_URL.rstrip("/") + reverse("twilio_status")
    return f"{base}?message={message.pk}" if message.pk else base


def _signed_url(request):
    # Twilio signs the URL it was given, SITE_URL based; behind a proxy request.build_absolute_uri()
    # may differ from it (http vs https, internal host).
    return settings.SITE_URL.rstrip("/") + request.get_full_path()


def _describe_error(code, recipient):
    words = TWILIO_ERRORS.get(code, "see twilio.com/docs/api/errors/" + code if code else "no reason given")
    who = f" to {recipient}" if recipient else ""
    return f"Twilio could not deliver the message{who} (error {code or 'unknown'}): {words}."


def _find_message(request, sid):
    """The message the callback is about: by the id in our URL (its provider id must agree), or by SID."""
    sid_matches = (
        Q(provider_id=sid) | Q(provider_id__startswith=f"{sid},") | Q(provider_id__endswith=f",{sid}")
    )
    sid_matches |= Q(provider_id__contains=f",{sid},")
    messages = Message.objects.select_for_update(of=("self",)).select_related("customer", "action")
    pk = request.GET.get("message", "")
    if pk.isdigit():
        return messages.filter(Q(provider_id="") | sid_matches, pk=int(pk)).first()
    return messages.filter(sid_matches).first() if sid else None


def _first_invoice(message):
    run = message.runs.select_related("invoice").order_by("invoice__due_date", "invoice_id").first()
    return run.invoice if run else None


@csrf_exempt  # Twilio cannot send our CSRF token; the signature authenticates the request instead.
@require_POST
def twilio_status(request):
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    expected = twilio_signature(_signed_url(request), request.POST, token) if token else ""
    if not token or not signature or not hmac.compare_digest(signature, expected):
        log.warning("Twilio status callback refused: bad or missing signature")
        return HttpResponseForbidden("Bad or missing X-Twilio-Signature.")

    sid = request.POST.get("MessageSid", "") or request.POST.get("SmsSid", "")
    status = (request.POST.get("MessageStatus", "") or request.POST.get("SmsStatus", "")).lower()
    if status not in TWILIO_DELIVERED | TWILIO_FAILED:
        return HttpResponse(status=200)  # queued, sending, sent: nothing a person needs to see
    with transaction.atomic():
        message = _find_message(request, sid)
        if message is None:
            # Authentic, but not a message of ours (sent by another app on the same Twilio account,
            # or deleted here): answering an error would only fill Twilio's debugger with retries.
            log.info("Twilio status %s for unknown message %s ignored", status, sid)
            return HttpResponse(status=200)
        if status in TWILIO_FAILED:
            _record_failed(message, request.POST.get("ErrorCode", ""), request.POST.get("To", ""))
        else:
            _record_delivered(message, request.POST.get("To", ""))
    return HttpResponse(status=200)


def _record_delivered(message, recipient):
    # A failure for one recipient stays failed; repeated callbacks record nothing new.
    if message.status in (MessageStatus.DELIVERED, MessageStatus.FAILED):
        return
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.DELIVERED, error="")
    invoice = _first_invoice(message)
    timeline.record(
        message.customer,
        ActivityKind.MESSAGE_DELIVERED,
        invoice=invoice,
        data={
            "channel": message.get_channel_display(),
            "to": recipient or message.to,
            "subject": message.subject,
            "message_id": message.pk,
        },
    )


def _record_failed(message, code, recipient):
    if message.status == MessageStatus.FAILED:
        return
    from .dispatch import finish_unsent  # timeline entry and a task for the owner, as a failed send

    finish_unsent(message, status=MessageStatus.FAILED, reason=_describe_error(code, recipient))


urlpatterns = [path("twilio/status/", twilio_status, name="twilio_status")]
