"""The portal's rows in the Django admin: admins can look, nobody edits a link, the token hash stays out."""

import pytest
from django.test import Client

from portal.links import reminder_link
from portal.models import PortalLink
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_admins_see_portal_links_without_their_hash(portal_book, admin_user):
    reminder_link(customer=portal_book["acme"])
    link = PortalLink.objects.get()
    client = Client()
    client.login(email=admin_user.email, password=PASSWORD)
    listing = client.get("/admin/portal/portallink/")
    assert listing.status_code == 200 and "Acme Pte Ltd" in listing.content.decode()
    detail = client.get(f"/admin/portal/portallink/{link.pk}/change/")
    assert detail.status_code == 200 and link.token_hash not in detail.content.decode()
    assert client.get("/admin/portal/portallink/add/").status_code == 403
    for model in ("linkrequest", "portalmessage", "stripecheckout", "stripeevent"):
        assert client.get(f"/admin/portal/{model}/").status_code == 200, model


def test_account_managers_have_no_admin(portal_book, am_alice):
    client = Client()
    client.login(email=am_alice.email, password=PASSWORD)
    assert client.get("/admin/portal/portallink/").status_code == 302
