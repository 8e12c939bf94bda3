"""WhatsApp through Meta's WhatsApp Cloud API: POST /{phone-number-id}/messages with a bearer token."""

from django.conf import settings

from .base import ChannelError, post, require, send_to_each


class WhatsAppCloudChannel:
    name = "WhatsApp (Cloud API)"

    def __init__(self):
        self.token = settings.WHATSAPP_CLOUD_TOKEN
        self.phone_number_id = settings.WHATSAPP_CLOUD_PHONE_NUMBER_ID
        self.base_url = settings.WHATSAPP_CLOUD_BASE_URL.rstrip("/")

    def send(self, message, attachments=(), *, html=None):
        require(
            self.name,
            WHATSAPP_CLOUD_TOKEN=self.token,
            WHATSAPP_CLOUD_PHONE_NUMBER_ID=self.phone_number_id,
        )
        url = f"{self.base_url}/{self.phone_number_id}/messages"
        auth = {"Authorization": f"Bearer {self.token}"}

        def send_one(number):
            body = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": number.lstrip("+"),
                "type": "text",
                "text": {"preview_url": False, "body": message.body},
            }
            answer = post(url, provider="WhatsApp Cloud API", json_body=body, headers=auth)
            try:
                return answer["messages"][0]["id"]
            except (KeyError, IndexError, TypeError):
                raise ChannelError(
                    f"WhatsApp Cloud API answered without a message id: {answer!r}"[:300]
                ) from None

        return send_to_each(message, send_one, what="WhatsApp number")
