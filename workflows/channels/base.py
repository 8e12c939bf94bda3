"""What every channel shares: its errors, and JSON/form POSTs over urllib to a provider's API."""

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

HTTP_TIMEOUT_SECONDS = 20


class ChannelError(Exception):
    """The provider did not take the message; `reason` says why in words a person can act on."""

    def __init__(self, reason, *, retryable=False):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class ChannelUncertain(ChannelError):
    """The provider may or may not have taken the message: never retried, a person checks."""


def recipients(message):
    return [to.strip() for to in message.to.split(",") if to.strip()]


def require(channel_name, **values):
    """Raise a clear 'not configured' error naming every empty setting."""
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ChannelError(f"{channel_name} is not configured: set {', '.join(missing)} in the environment.")


def basic_auth(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def post(url, *, provider, json_body=None, form=None, headers=None):
    """POST to a provider and return its decoded JSON answer, or raise ChannelError."""
    headers = dict(headers or {})
    if isinstance(json_body, (str, bytes)):  # already serialised (a signed webhook body)
        data = json_body.encode() if isinstance(json_body, str) else json_body
        headers["Content-Type"] = "application/json"
    elif json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    else:
        data = urllib.parse.urlencode(form or {}).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    timeout = getattr(settings, "CHANNEL_HTTP_TIMEOUT_SECONDS", HTTP_TIMEOUT_SECONDS)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        detail = _error_detail(error.read())
        retryable = error.code == 429 or error.code >= 500
        raise ChannelError(
            f"{provider} refused the message (HTTP {error.code}): {detail}", retryable=retryable
        ) from None
    except TimeoutError as error:
        raise ChannelUncertain(
            f"{provider} did not answer in {timeout} s: check by hand whether it was sent."
        ) from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise ChannelUncertain(
                f"{provider} did not answer in {timeout} s: check by hand whether it was sent."
            ) from error
        # Nothing reached the provider (refused, unknown host): safe to try again.
        raise ChannelError(f"{provider} could not be reached: {error.reason}", retryable=True) from error
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return {}


def _error_detail(body):
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300] or "no details"
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):  # WhatsApp Cloud: {"error": {"message": …}}
            return str(error.get("message") or error)[:300]
        for key in ("message", "error_message", "detail", "error"):
            if data.get(key):
                return str(data[key])[:300]
    return text[:300]


def send_to_each(message, send_one, *, what):
    """Send to every recipient of `message` in turn; the provider ids joined by commas.

    A failure after some recipients got the message is final (retrying would send them a second
    copy), and its reason names those who got it.
    """
    to = recipients(message)
    if not to:
        raise ChannelError(f"There is no {what} to send this message to.")
    ids = []
    for number, recipient in enumerate(to):
        try:
            ids.append(send_one(recipient))
        except ChannelError as error:
            if number == 0:
                raise
            sent = ", ".join(to[:number])
            raise ChannelUncertain(f"Sent to {sent}; not to {recipient}: {error.reason}") from error
    return ",".join(ids)
