"""Who is signed in to the portal: one contact of one customer, held in the session.

The session keeps the customer's `portal_generation` from sign-in; an account manager who revokes
the customer's portal access raises it, and every open portal session of that customer ends.
"""

from functools import wraps

from django.shortcuts import redirect
from django.utils.cache import patch_cache_control

from customers.models import Contact

SESSION_KEY = "portal"
NEXT_KEY = "portal_next"  # the portal page a signed-out visitor wanted


def sign_in(request, contact):
    request.session.cycle_key()  # no session fixation across the sign-in
    request.session[SESSION_KEY] = {
        "contact": contact.pk,
        "customer": contact.customer_id,
        "generation": contact.customer.portal_generation,
    }


def sign_out(request):
    request.session.pop(SESSION_KEY, None)


def signed_in_contact(request):
    """The portal contact of this request, or None (never signed in, revoked, or contact removed)."""
    held = request.session.get(SESSION_KEY)
    if not held:
        return None
    contact = Contact.objects.select_related("customer").filter(pk=held["contact"]).first()
    if (
        contact is None
        or contact.customer_id != held["customer"]
        or contact.customer.portal_generation != held["generation"]
    ):
        sign_out(request)
        return None
    return contact


def portal_login_required(view):
    """Sets request.portal_contact and request.portal_customer, or sends the visitor to sign in."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        contact = signed_in_contact(request)
        if contact is None:
            if request.method == "GET":  # the sign-in link they ask for will lead back here
                request.session[NEXT_KEY] = request.get_full_path()
            return redirect("portal_sign_in")
        request.portal_contact, request.portal_customer = contact, contact.customer
        response = view(request, *args, **kwargs)
        # A customer's balances and invoices must not linger in shared or browser caches.
        patch_cache_control(response, private=True, no_store=True)
        return response

    return wrapper
