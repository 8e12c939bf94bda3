"""Magic links: random tokens stored hashed, sign-in links single-use within the hour, reminder links
reusable for longer, and every link dead once revoked or once the customer's portal_generation is raised."""

import datetime as dt
import hashlib

import pytest
from django.utils import timezone

from customers.models import Customer
from portal.links import make_link, reminder_link
from portal.models import LinkPurpose, PortalLink

pytestmark = pytest.mark.django_db


def path_of(url):
    return "/" + url.split("://", 1)[-1].split("/", 1)[1]


def token_of(url):
    return path_of(url).rstrip("/").split("?")[0].rsplit("/", 1)[-1]


def test_only_the_hash_of_the_token_is_stored(portal_book):
    url = make_link(customer=portal_book["acme"], contact=portal_book["ann"], purpose=LinkPurpose.SIGN_IN)
    token = token_of(url)
    link = PortalLink.objects.get()
    assert len(token) >= 40
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in link.token_hash
    assert dt.timedelta(minutes=59) < link.expires_at - timezone.now() <= dt.timedelta(hours=1)


def test_opening_a_link_shows_a_button_and_uses_nothing(client, portal_book):
    url = make_link(customer=portal_book["acme"], contact=portal_book["ann"], purpose=LinkPurpose.SIGN_IN)
    for _ in range(3):  # a mail scanner following the link, several times
        page = client.get(path_of(url))
        assert page.status_code == 200
        assert "Sign in to your account" in page.content.decode()
    assert PortalLink.objects.get().used_at is None
    assert client.get("/portal/").status_code == 302  # still signed out


def test_the_button_signs_in_once(client, portal_book):
    url = make_link(customer=portal_book["acme"], contact=portal_book["ann"], purpose=LinkPurpose.SIGN_IN)
    response = client.post(path_of(url))
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert "Hello, Ann Acme" in client.get("/portal/").content.decode()

    other = client_class_fresh()
    again = other.post(path_of(url))
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert "Request a new link" in again.content.decode()
    assert other.get("/portal/").status_code == 302


def client_class_fresh():
    from django.test import Client

    return Client()


def test_an_expired_link_is_refused(client, portal_book):
    url = make_link(customer=portal_book["acme"], contact=portal_book["ann"], purpose=LinkPurpose.SIGN_IN)
    PortalLink.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    for response in (client.get(path_of(url)), client.post(path_of(url))):
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()
    assert client.get("/portal/").status_code == 302


def test_a_revoked_link_is_refused(client, portal_book):
    url = make_link(customer=portal_book["acme"], contact=portal_book["ann"], purpose=LinkPurpose.SIGN_IN)
    PortalLink.objects.update(revoked_at=timezone.now())
    response = client.post(path_of(url))
    assert response.status_code == 410 and "withdrawn" in response.content.decode()
    assert client.get("/portal/").status_code == 302


def test_raising_the_generation_kills_every_link_of_the_customer(client, portal_book):
    sign_in = make_link(customer=portal_book["acme"], contact=portal_book["ann"], purpose=LinkPurpose.SIGN_IN)
    reminder = reminder_link(customer=portal_book["acme"])
    globex_link = reminder_link(customer=portal_book["globex"])
    Customer.objects.filter(pk=portal_book["acme"].pk).update(portal_generation=1)
    assert client.post(path_of(sign_in)).status_code == 410
    assert client.post(path_of(reminder)).status_code == 410
    # Another customer's links are untouched.
    assert client.post(path_of(globex_link)).status_code == 302
    assert "Gus Globex" in client.get("/portal/").content.decode()


def test_an_unknown_or_mangled_token_is_refused(client, portal_book):
    url = make_link(customer=portal_book["acme"], contact=portal_book["ann"], purpose=LinkPurpose.SIGN_IN)
    response = client.post(path_of(url)[:-5] + "/")
    assert response.status_code == 410 and "does not work" in response.content.decode()
    assert client.get("/portal/link/" + "x" * 300 + "/").status_code == 410


def test_a_reminder_link_lasts_thirty_days_opens_again_and_signs_in_the_main_contact(client, portal_book):
    url = reminder_link(customer=portal_book["acme"])
    link = PortalLink.objects.get()
    assert link.purpose == LinkPurpose.REMINDER and link.contact is None
    assert dt.timedelta(days=29) < link.expires_at - timezone.now() <= dt.timedelta(days=30)
    assert client.post(path_of(url)).status_code == 302
    assert "Hello, Ann Acme" in client.get("/portal/").content.decode()
    client.post("/portal/sign-out/")
    assert client.post(path_of(url)).status_code == 302  # a reminder can be opened again
    PortalLink.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    client.post("/portal/sign-out/")
    assert client.post(path_of(url)).status_code == 410


def test_a_reminder_link_opens_only_its_customer(client, portal_book):
    url = reminder_link(customer=portal_book["acme"], contact=portal_book["ann"])
    client.post(path_of(url))
    assert client.get(f"/portal/invoices/{portal_book['invoices']['d15'].pk}/").status_code == 200
    assert client.get(f"/portal/invoices/{portal_book['other_invoice'].pk}/").status_code == 404


def test_a_link_refuses_a_contact_of_another_customer(portal_book):
    with pytest.raises(ValueError):
        make_link(customer=portal_book["acme"], contact=portal_book["gus"], purpose=LinkPurpose.SIGN_IN)


def test_the_link_url_is_built_from_site_url(settings, portal_book):
    settings.SITE_URL = "https://pay.example.com"
    url = reminder_link(customer=portal_book["acme"])
    assert url.startswith("https://pay.example.com/portal/link/")


def test_a_link_may_lead_to_one_invoice_after_sign_in(client, portal_book):
    invoice = portal_book["invoices"]["d75"]
    url = make_link(
        customer=portal_book["acme"],
        purpose=LinkPurpose.REMINDER,
        next_path=f"/portal/invoices/{invoice.pk}/",
    )
    page = client.get(path_of(url))
    response = client.post(path_of(url).split("?")[0], {"next": page.context["next"]})
    assert response["Location"] == f"/portal/invoices/{invoice.pk}/"
    assert "Invoice A-103" in client.get(response["Location"]).content.decode()


def test_signed_in_pages_are_never_cached(ann_client):
    response = ann_client.get("/portal/invoices/")
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
