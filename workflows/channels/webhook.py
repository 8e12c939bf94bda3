"""Webhook actions: a JSON POST signed with HMAC-SHA256 to the URL in WORKFLOW_WEBHOOK_URL."""

import hashlib
import hmac
import json
import uuid

from django.conf import settings

from .base import post, require


class WebhookChannel:
    name = "Webhook"

    def __init__(self):
        self.url = getattr(settings, "WORKFLOW_WEBHOOK_URL", "")
        self.secret = getattr(settings, "WORKFLOW_WEBHOOK_SECRET", "")

    def send(self, message, attachments=(), *, html=None):
        require(self.name, WORKFLOW_WEBHOOK_URL=self.url, WORKFLOW_WEBHOOK_SECRET=self.secret)
        payload = {
            "message_id": message.pk,
            "customer": {
                "id": message.customer_id,
                "code": message.customer.code,
                "name": message.customer.name,
            },
            "action": message.action.name if message.action_id else None,
            "subject": message.subject,
            "body": message.body,
        }
        data = json.dumps(payload, sort_keys=True)
        signature = hmac.new(self.secret.encode(), data.encode(), hashlib.sha256).hexdigest()
        delivery = str(uuid.uuid4())
        headers = {"X-Peakflo-Signature": f"sha256={signature}", "X-Peakflo-Delivery": delivery}
        post(self.url, provider="The webhook", json_body=data, headers=headers)
        return delivery
