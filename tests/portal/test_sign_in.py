"""Asking for a sign-in link: the same answer for every address, one link per customer of the address,
limits per address and per client, redirects that stay on the portal, CSRF on every form, signing out."""

import re

import pytest
from django.core import mail
from django.test import Client, TestCase

from customers.models import Contact
from portal.models import LinkRequest, PortalLink

pytestmark = pytest.mark.django_db

NEUTRAL = "If that address is known, a link is on its way."


def ask(client, email, ip="203.0.113.5"):
    # The email goes out once the request's transaction commits; tests run inside one that never does.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/portal/sign-in/", {"email": email}, REMOTE_ADDR=ip)


def links_in(message):
    return re.findall(r"https?://\S+/portal/link/[\w-]+/", message.body)


def test_signed_out_visitors_are_asked_for_their_email(client, portal_book):
    response = client.get("/portal/", follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/portal/sign-in/"
    assert "Email me a sign-in link" in page and 'name="email"' in page


def test_the_answer_is_the_same_for_known_and_unknown_addresses(client, portal_book):
    known = ask(client, "ANN@acme.test")
    unknown = ask(client, "nobody@nowhere.test")
    assert known.status_code == unknown.status_code == 200
    assert NEUTRAL in known.content.decode()
    # Same body apart from the CSRF token and the CSP nonce, which differ per response.
    strip = lambda html: re.sub(r'(?:value|nonce)="[^"]{16,}"', "", html)  # noqa: E731
    assert strip(known.content.decode()) == strip(unknown.content.decode())
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ann@acme.test"]
    assert len(links_in(mail.outbox[0])) == 1


def test_a_contact_of_several_customers_gets_one_link_per_customer(client, portal_book):
    Contact.objects.create(customer=portal_book["globex"], name="Ann at Globex", email="ann@acme.test")
    ask(client, "ann@acme.test")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    urls = links_in(message)
    assert len(urls) == 2
    assert "Acme Pte Ltd" in message.body and "Globex" in message.body
    assert set(PortalLink.objects.values_list("customer__name", flat=True)) == {"Acme Pte Ltd", "Globex"}
    # Each link opens its own customer.
    path = "/" + urls[1].split("://", 1)[1].split("/", 1)[1]
    client.post(path)
    assert "Globex" in client.get("/portal/").content.decode()


def test_requests_are_limited_per_address_with_the_same_answer(client, portal_book, settings):
    settings.PORTAL_LINK_REQUESTS_PER_ADDRESS = 3
    answers = [ask(client, "ann@acme.test", ip=f"198.51.100.{i}") for i in range(5)]
    assert all(NEUTRAL in answer.content.decode() for answer in answers)
    assert len(mail.outbox) == 3
    assert LinkRequest.objects.filter(email="ann@acme.test").count() == 5


def test_requests_are_limited_per_client_address(client, portal_book, settings):
    settings.PORTAL_LINK_REQUESTS_PER_CLIENT = 4
    for i in range(4):
        ask(client, f"stranger{i}@nowhere.test", ip="192.0.2.7")
    answer = ask(client, "ann@acme.test", ip="192.0.2.7")
    assert NEUTRAL in answer.content.decode()
    assert mail.outbox == []
    # Another client is not held back by that one.
    ask(client, "ann@acme.test", ip="192.0.2.8")
    assert len(mail.outbox) == 1


def test_a_malformed_address_is_named_and_nothing_is_recorded(client, portal_book):
    response = ask(client, "not-an-address")
    assert "Enter a valid email address." in response.content.decode()
    assert LinkRequest.objects.count() == 0 and mail.outbox == []


def _link_path(client, portal_book, next_path=""):
    ask(client, "ann@acme.test")
    url = links_in(mail.outbox[-1])[0]
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/portal/",
        "//evil.example.com/portal/",
        "/customers/",
        "/admin/",
        "/portal\\..\\admin/",
        "/portal/../admin/",
        "/portal/%2e%2e/admin/",
        "https://testserver/portal/invoices/",
        "javascript:alert(1)",
    ],
)
def test_the_redirect_after_sign_in_stays_on_the_portal(client, portal_book, target):
    path = _link_path(client, portal_book)
    response = client.post(path, {"next": target})
    assert response.status_code == 302
    assert response["Location"] == "/portal/"


def test_the_redirect_after_sign_in_may_go_to_a_portal_page(client, portal_book):
    invoice = portal_book["invoices"]["d45"]
    path = _link_path(client, portal_book)
    page = client.get(path + f"?next=/portal/invoices/{invoice.pk}/").content.decode()
    assert f'value="/portal/invoices/{invoice.pk}/"' in page
    response = client.post(path, {"next": f"/portal/invoices/{invoice.pk}/"})
    assert response["Location"] == f"/portal/invoices/{invoice.pk}/"


def test_every_portal_form_needs_its_csrf_token(portal_book):
    csrf_client = Client(enforce_csrf_checks=True)
    assert csrf_client.post("/portal/sign-in/", {"email": "ann@acme.test"}).status_code == 403
    assert mail.outbox == [] and LinkRequest.objects.count() == 0

    page = csrf_client.get("/portal/sign-in/")
    token = page.cookies["csrftoken"].value
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = csrf_client.post(
            "/portal/sign-in/", {"email": "ann@acme.test", "csrfmiddlewaretoken": token}
        )
    assert answer.status_code == 200
    url = links_in(mail.outbox[0])[0]
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]

    assert csrf_client.post(path).status_code == 403  # the sign-in button
    assert PortalLink.objects.get().used_at is None
    form = csrf_client.get(path).content.decode()
    assert 'name="csrfmiddlewaretoken"' in form
    token = csrf_client.cookies["csrftoken"].value
    assert csrf_client.post(path, {"csrfmiddlewaretoken": token}).status_code == 302

    assert csrf_client.post("/portal/sign-out/").status_code == 403  # signing out
    assert csrf_client.get("/portal/").status_code == 200
    token = csrf_client.cookies["csrftoken"].value
    assert csrf_client.post("/portal/sign-out/", {"csrfmiddlewaretoken": token}).status_code == 200
    assert csrf_client.get("/portal/").status_code == 302


def test_signing_out_ends_the_portal_session(ann_client):
    assert ann_client.get("/portal/").status_code == 200
    response = ann_client.post("/portal/sign-out/")
    assert "You are signed out" in response.content.decode()
    assert ann_client.get("/portal/invoices/").status_code == 302


def test_signing_out_needs_a_post(ann_client):
    assert ann_client.get("/portal/sign-out/").status_code == 405
    assert ann_client.get("/portal/").status_code == 200


def test_a_page_asked_for_while_signed_out_is_where_the_emailed_link_leads(client, portal_book):
    invoice = portal_book["invoices"]["d120"]
    assert client.get(f"/portal/invoices/{invoice.pk}/")["Location"] == "/portal/sign-in/"
    ask(client, "ann@acme.test")
    link = re.search(r"https?://\S+/portal/link/\S+", mail.outbox[0].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert "next=%2Fportal%2Finvoices%2F" in path
    page = client.get(path)
    assert f'value="/portal/invoices/{invoice.pk}/"' in page.content.decode()
    response = client.post(path.split("?")[0], {"next": page.context["next"]})
    assert response["Location"] == f"/portal/invoices/{invoice.pk}/"
