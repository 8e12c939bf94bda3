"""Writes of the portal's access: sign-in link requests, using a link, revoking a customer's access."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from customers import timeline
from customers.models import ActivityKind, Contact, Customer

from . import emails
from .links import make_link
from .models import LinkPurpose, LinkRequest, PortalLink


def normalise_email(email):
    return (email or "").strip().lower()


def is_rate_limited(*, email, client_ip, now=None):
    """True when this address or this client asked for links too often within the last hour."""
    since = (now or timezone.now()) - dt.timedelta(hours=1)
    recent = LinkRequest.objects.filter(requested_at__gte=since)
    if recent.filter(email=email).count() >= settings.PORTAL_LINK_REQUESTS_PER_ADDRESS:
        return True
    return bool(client_ip) and (
        recent.filter(client_ip=client_ip).count() >= settings.PORTAL_LINK_REQUESTS_PER_CLIENT
    )


def request_sign_in_links(*, email, client_ip, next_path=""):
    """Email a sign-in link for every customer the address is a contact of; returns how many links.

    `next_path`, a portal page, is where each link leads after sign-in.
    The caller answers the same whatever this returns, so the page never tells whether an address
    is known. Requests over the limit are recorded and send nothing.
    """
    email = normalise_email(email)
    with transaction.atomic():
        # Only the last hour counts; requests older than a day are dropped as new ones arrive.
        LinkRequest.objects.filter(requested_at__lt=timezone.now() - dt.timedelta(days=1)).delete()
        limited = is_rate_limited(email=email, client_ip=client_ip)
        LinkRequest.objects.create(email=email, client_ip=client_ip or None)
        if limited:
            return 0
        # One contact per customer: the same person may be a contact of several customers.
        contacts = {}
        for contact in (
            Contact.objects.select_related("customer")
            .filter(email__iexact=email)
            .order_by("customer__name", "-is_main", "pk")
        ):
            contacts.setdefault(contact.customer_id, contact)
        if not contacts:
            return 0
        links = [
            (
                contact.customer,
                make_link(
                    customer=contact.customer,
                    contact=contact,
                    purpose=LinkPurpose.SIGN_IN,
                    next_path=next_path,
                ),
            )
            for contact in contacts.values()
        ]
        name = next(iter(contacts.values())).name
        transaction.on_commit(lambda: emails.sign_in_links(to=email, name=name, links=links))
    return len(links)


def contact_for_link(link):
    """Who a link signs in: the contact it was sent to, else the customer's main (or first) contact."""
    if link.contact_id:
        return link.contact
    return Contact.objects.filter(customer_id=link.customer_id).order_by("-is_main", "pk").first()


def use_link(link):
    """Mark the link used. A sign-in link is used once: False when someone else used it first."""
    now = timezone.now()
    links = PortalLink.objects.filter(pk=link.pk, revoked_at__isnull=True)
    if link.purpose == LinkPurpose.SIGN_IN:
        return bool(links.filter(used_at__isnull=True).update(used_at=now))
    links.filter(used_at__isnull=True).update(used_at=now)  # first use, for the record
    return True


def revoke_portal_access(*, customer, by):
    """End every portal link and every open portal session of the customer, on its timeline."""
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(portal_generation=F("portal_generation") + 1)
        revoked = PortalLink.objects.filter(customer=customer, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        customer.refresh_from_db(fields=["portal_generation"])
        timeline.record(
            customer,
            ActivityKind.CUSTOMER_CHANGED,
            actor=by,
            data={"portal access": f"revoked: every portal link ({revoked}) and open session ended"},
        )
    return revoked
