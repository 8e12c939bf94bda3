"""LINE through the Messaging API's push endpoint: POST /v2/bot/message/push with a bearer token."""

import uuid

from django.conf import settings

from .base import post, require, send_to_each

# X-Line-Retry-Key makes LINE accept one push per key: a retry of the same message is never doubled.
RETRY_KEY_NAMESPACE = uuid.UUID("6f1c1f0e-4b7a-4d59-9b1e-6b8f7b0c2a11")


class LineChannel:
    name = "LINE"

    def __init__(self):
        self.token = settings.LINE_CHANNEL_ACCESS_TOKEN
        self.base_url = settings.LINE_BASE_URL.rstrip("/")

    def send(self, message, attachments=(), *, html=None):
        require(self.name, LINE_CHANNEL_ACCESS_TOKEN=self.token)
        url = f"{self.base_url}/v2/bot/message/push"

        def send_one(user_id):
            retry_key = uuid.uuid5(RETRY_KEY_NAMESPACE, f"{message.pk}:{user_id}")
            headers = {"Authorization": f"Bearer {self.token}", "X-Line-Retry-Key": str(retry_key)}
            body = {"to": user_id, "messages": [{"type": "text", "text": message.body[:5000]}]}
            answer = post(url, provider="LINE", json_body=body, headers=headers)
            sent = answer.get("sentMessages") or []
            # Older answers are an empty object: the retry key is then the message's id.
            return str(sent[0].get("id")) if sent and sent[0].get("id") else str(retry_key)

        return send_to_each(message, send_one, what="LINE id")
