"""The address a request came from, for the sign-in limits (staff login and the payer portal).

REMOTE_ADDR, unless TRUSTED_PROXY_COUNT says how many proxies of ours stand in front of the app, each
appending the address it saw to X-Forwarded-For: then the entry that many from the right — the one
the outermost of them saw. Entries further left are the client's to forge and are never read.
"""

import ipaddress

from django.conf import settings


def client_ip(request):
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= count:
            try:
                return str(ipaddress.ip_address(hops[-count]))
            except ValueError:
                pass  # not an address: something other than our proxy wrote it
    return request.META.get("REMOTE_ADDR") or None
