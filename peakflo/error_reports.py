"""What error pages and error emails may show of the settings."""

import re

from django.views.debug import SafeExceptionReporterFilter


class SecretsFilter(SafeExceptionReporterFilter):
    # Django's own list (API, AUTH, TOKEN, KEY, SECRET, PASS, SIGNATURE, cookies) plus the connection
    # URLs, which carry the database's and the broker's passwords inside them, and the webhook URL,
    # which may carry a key in its query.
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DATABASE_URL|BROKER_URL|WEBHOOK_URL|DSN",
        flags=re.I,
    )
