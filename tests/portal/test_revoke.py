"""Revoke portal access: from the customer page, by its account manager, AR admins and admins; every link
and every open portal session of the customer ends, and the timeline says so."""

import pytest
from django.test import Client

from customers.models import Activity, ActivityKind
from portal.links import reminder_link
from portal.models import PortalLink
from tests.conftest import PASSWORD

from .conftest import sign_in_client

pytestmark = pytest.mark.django_db


def staff_client(user):
    client = Client()
    client.login(email=user.email, password=PASSWORD)
    return client


def revoke_url(customer):
    return f"/portal/staff/customers/{customer.pk}/revoke/"


def test_revoking_ends_an_open_session_and_every_link(portal_book, am_alice):
    ann = sign_in_client(Client(), portal_book["ann"])
    gus = sign_in_client(Client(), portal_book["gus"])
    link = reminder_link(customer=portal_book["acme"])
    assert ann.get("/portal/invoices/").status_code == 200

    alice = staff_client(am_alice)
    page = alice.get(f"/customers/{portal_book['acme'].pk}/").content.decode()
    assert "Revoke portal access" in page
    confirm = alice.get(revoke_url(portal_book["acme"]))
    assert confirm.status_code == 200 and "signed out at once" in confirm.content.decode()
    assert ann.get("/portal/invoices/").status_code == 200  # the confirmation page changes nothing

    done = alice.post(revoke_url(portal_book["acme"]), follow=True)
    assert "Portal access of Acme Pte Ltd revoked" in done.content.decode()

    response = ann.get("/portal/invoices/")
    assert response.status_code == 302 and response["Location"] == "/portal/sign-in/"
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert Client().post(path).status_code == 410
    assert PortalLink.objects.filter(customer=portal_book["acme"], revoked_at__isnull=True).count() == 0
    assert gus.get("/portal/invoices/").status_code == 200  # another customer's session goes on
    entry = Activity.objects.get(customer=portal_book["acme"], kind=ActivityKind.CUSTOMER_CHANGED)
    assert entry.actor_user == am_alice and "revoked" in entry.data["portal access"]
    # A contact can still ask for a new link and sign in again.
    assert sign_in_client(Client(), portal_book["ann"]).get("/portal/").status_code == 200


@pytest.mark.parametrize("who", ["admin_user", "ar_admin"])
def test_admins_and_ar_admins_may_revoke(portal_book, who, request):
    client = staff_client(request.getfixturevalue(who))
    assert client.post(revoke_url(portal_book["acme"])).status_code == 302
    portal_book["acme"].refresh_from_db()
    assert portal_book["acme"].portal_generation == 1


@pytest.mark.parametrize("who", ["collections_user", "auditor"])
def test_others_who_see_the_customer_may_not(portal_book, who, request):
    client = staff_client(request.getfixturevalue(who))
    assert "Revoke portal access" not in client.get(f"/customers/{portal_book['acme'].pk}/").content.decode()
    assert client.get(revoke_url(portal_book["acme"])).status_code == 403
    assert client.post(revoke_url(portal_book["acme"])).status_code == 403
    portal_book["acme"].refresh_from_db()
    assert portal_book["acme"].portal_generation == 0


def test_a_default_viewer_who_is_not_the_manager_may_not(portal_book, am_bob):
    portal_book["acme"].default_viewers.add(am_bob)
    client = staff_client(am_bob)
    assert client.post(revoke_url(portal_book["acme"])).status_code == 403


def test_an_account_manager_of_other_customers_gets_404(portal_book, am_bob):
    client = staff_client(am_bob)
    assert client.get(revoke_url(portal_book["acme"])).status_code == 404
    assert client.post(revoke_url(portal_book["acme"])).status_code == 404


def test_revoking_needs_a_login_and_a_csrf_token(portal_book, am_alice):
    assert Client().post(revoke_url(portal_book["acme"])).status_code == 302  # to the login page
    client = Client(enforce_csrf_checks=True)
    client.login(email=am_alice.email, password=PASSWORD)
    assert client.post(revoke_url(portal_book["acme"])).status_code == 403
    portal_book["acme"].refresh_from_db()
    assert portal_book["acme"].portal_generation == 0
