"""Stripe's webhook: signed by Stripe, not by a browser, so no CSRF token; the signature is the check."""

import json
import logging

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import stripe

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    payload = request.body
    try:
        stripe.verify_signature(
            payload, request.headers.get("Stripe-Signature", ""), secret=settings.STRIPE_WEBHOOK_SECRET
        )
    except stripe.SignatureError as error:
        log.warning("Stripe webhook refused: %s", error)
        return JsonResponse({"error": str(error)}, status=400)
    try:
        event = json.loads(payload)
    except ValueError:
        return JsonResponse({"error": "The body is not JSON."}, status=400)
    if not isinstance(event, dict) or not event.get("id"):
        return JsonResponse({"error": "The body is not a Stripe event (no id)."}, status=400)
    result = stripe.handle_event(event)
    log.info("Stripe event %s (%s): %s", event.get("id"), event.get("type"), result)
    return JsonResponse({"received": True, "result": result})
