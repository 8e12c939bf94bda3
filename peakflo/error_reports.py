"""What error pages and error emails may show of the settings and of the failing code's variables."""

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

    def get_traceback_frame_variables(self, request, tb_frame):
        # Django hides a frame's variables only where @sensitive_variables says so; code that calls a
        # provider holds tokens in variables (access_token, headers["Authorization"]) without it.
        # The same rule as for settings applies to every variable name and dictionary key.
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self._cleanse_variable(name, value)) for name, value in variables]

    def _cleanse_variable(self, name, value):
        try:
            return self.cleanse_setting(name, value)
        except RecursionError:  # a dictionary that holds itself
            return self.cleansed_substitute
