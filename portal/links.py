"""Magic links into the portal: a random token in the URL, only its SHA-256 in the database.

A sign-in link (asked for on the sign-in page) lasts PORTAL_SIGN_IN_LINK_MINUTES and works once;
a reminder link (a placeholder inside reminders) lasts PORTAL_REMINDER_LINK_DAYS and may be opened
again. Either opens one customer only, and dies when revoked or when the customer's
portal_generation is raised.
"""

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer

from .models import LinkPurpose, PortalLink


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def link_lifetime(purpose):
    if purpose == LinkPurpose.SIGN_IN:
        return dt.timedelta(minutes=settings.PORTAL_SIGN_IN_LINK_MINUTES)
    return dt.timedelta(days=settings.PORTAL_REMINDER_LINK_DAYS)


def make_link(*, customer, contact=None, purpose, next_path=""):
    """A new link for `customer` (optionally naming the contact it was sent to): its absolute URL."""
    if purpose not in LinkPurpose.values:
        raise ValueError(f"Unknown portal link purpose {purpose!r}.")
    if contact is not None and contact.customer_id != customer.pk:
        raise ValueError(f"{contact} is not a contact of {customer}.")
    token = secrets.token_urlsafe(32)
    # Read afresh: a customer object loaded before a revocation must not mint links that still work.
    generation = Customer.objects.filter(pk=customer.pk).values_list("portal_generation", flat=True).get()
    PortalLink.objects.create(
        customer=customer,
        contact=contact,
        purpose=purpose,
        token_hash=hash_token(token),
        generation=generation,
        expires_at=timezone.now() + link_lifetime(purpose),
    )
    url = settings.SITE_URL + reverse("portal_link", kwargs={"token": token})
    return f"{url}?{urlencode({'next': next_path})}" if next_path else url


def reminder_link(*, customer, contact=None):
    """The portal link a reminder carries: longer-lived, reusable, this customer's invoices only."""
    return make_link(customer=customer, contact=contact, purpose=LinkPurpose.REMINDER)


@dataclass(frozen=True)
class LinkCheck:
    link: PortalLink | None
    problem: str = ""  # "", "unknown", "expired", "used", "revoked"

    @property
    def usable(self):
        return self.link is not None and not self.problem


def check_link(token):
    """What a token opens, and why not when it opens nothing."""
    if not token or len(token) > 100:
        return LinkCheck(None, "unknown")
    link = (
        PortalLink.objects.select_related("customer", "contact").filter(token_hash=hash_token(token)).first()
    )
    if link is None:
        return LinkCheck(None, "unknown")
    if link.revoked_at is not None or link.generation != link.customer.portal_generation:
        return LinkCheck(link, "revoked")
    if link.expires_at <= timezone.now():
        return LinkCheck(link, "expired")
    if link.purpose == LinkPurpose.SIGN_IN and link.used_at is not None:
        return LinkCheck(link, "used")
    return LinkCheck(link, "")
