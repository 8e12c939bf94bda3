"""SMS and WhatsApp through Twilio's REST API: POST /2010-04-01/Accounts/{sid}/Messages.json.

Each send passes a StatusCallback, so Twilio tells us when the message is delivered or failed
(workflows/webhooks.py).
"""

from django.conf import settings

from ..webhooks import twilio_status_callback_url
from .base import ChannelError, basic_auth, post, require, send_to_each


class TwilioSmsChannel:
    name = "SMS"
    what = "phone number"
    setting_from = "TWILIO_FROM_NUMBER"

    def __init__(self):
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.auth_token = settings.TWILIO_AUTH_TOKEN
        self.sender = getattr(settings, self.setting_from)
        self.base_url = settings.TWILIO_BASE_URL.rstrip("/")

    def address(self, number):
        return number

    def send(self, message, attachments=(), *, html=None):
        require(
            self.name,
            TWILIO_ACCOUNT_SID=self.account_sid,
            TWILIO_AUTH_TOKEN=self.auth_token,
            **{self.setting_from: self.sender},
        )
        url = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        auth = {"Authorization": basic_auth(self.account_sid, self.auth_token)}
        status_callback = twilio_status_callback_url(message)

        def send_one(number):
            form = {
                "To": self.address(number),
                "From": self.address(self.sender),
                "Body": message.body,
                "StatusCallback": status_callback,
            }
            answer = post(url, provider="Twilio", form=form, headers=auth)
            if not answer.get("sid"):
                raise ChannelError(f"Twilio answered without a message id: {answer!r}"[:300])
            return answer["sid"]

        return send_to_each(message, send_one, what=self.what)


class TwilioWhatsAppChannel(TwilioSmsChannel):
    name = "WhatsApp (Twilio)"
    what = "WhatsApp number"
    setting_from = "TWILIO_WHATSAPP_FROM"

    def address(self, number):
        return number if number.startswith("whatsapp:") else f"whatsapp:{number}"
