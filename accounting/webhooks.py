"""Xero's webhook: a signed POST telling which organisations changed; each connected one syncs now.

Xero signs the raw body (HMAC-SHA256 with the webhook key, base64) in `x-xero-signature`; anything
unsigned or wrongly signed is answered 401 and changes nothing. That is also Xero's
"intent to receive" check: it sends good and bad signatures and expects 200 (empty body) and 401.
The events themselves are not trusted beyond naming a tenant: the sync reads what changed.
"""

import json
import logging

from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .connectors import connector_for
from .models import Connection, ConnectionStatus, Provider, SyncTrigger
from .tasks import sync_connection

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def xero(request):
    body = request.body
    if not connector_for(provider=Provider.XERO).verify_webhook(body, request.headers):
        return HttpResponse(status=401)
    try:
        events = json.loads(body or b"{}").get("events") or []
        tenants = {
            str(event["tenantId"]) for event in events if isinstance(event, dict) and event.get("tenantId")
        }
    except (ValueError, AttributeError, TypeError):
        log.warning("Xero webhook: a signed body that is not the JSON Xero sends; refused")
        return HttpResponse('The body is not the JSON Xero sends: {"events": [...]}.', status=400)
    if tenants:
        connections = list(
            Connection.objects.filter(
                provider=Provider.XERO, status=ConnectionStatus.CONNECTED, tenant_id__in=tenants
            ).values_list("pk", flat=True)
        )
        for pk in connections:  # once per organisation, however many of its records changed
            transaction.on_commit(lambda pk=pk: sync_connection.delay(pk, SyncTrigger.WEBHOOK))
        log.info("Xero webhook: %s event(s), %s organisation(s) to sync", len(events), len(connections))
    return HttpResponse(status=200)
