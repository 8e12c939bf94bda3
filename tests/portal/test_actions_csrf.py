"""CSRF holds on every form of the portal actions (and on the staff answer form): without the token a
POST is refused and changes nothing; with the token from the page it goes through."""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from customers.models import CustomerFile
from disputes.models import Dispute, DisputeComment, DisputeReason
from disputes.services import raise_dispute
from peakflo.models import Company
from portal import access
from portal.models import PortalMessage
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def portal_client(contact):
    client = Client(enforce_csrf_checks=True)
    session = client.session
    session[access.SESSION_KEY] = {
        "contact": contact.pk,
        "customer": contact.customer_id,
        "generation": contact.customer.portal_generation,
    }
    session.save()
    return client


def token_from(client, path):
    page = client.get(path)
    assert page.status_code == 200, path
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def post_both_ways(client, page_path, post_path, data_factory):
    """POST without a token (403), then with the page's token; returns the second response."""
    refused = client.post(post_path, data_factory())
    assert refused.status_code == 403
    return client.post(post_path, {**data_factory(), "csrfmiddlewaretoken": token_from(client, page_path)})


def test_dispute_form(portal_book):
    client, invoice = portal_client(portal_book["ann"]), portal_book["invoices"]["d15"]
    path = f"/portal/invoices/{invoice.pk}/dispute/"
    reason = DisputeReason.objects.get(name="Double charged")

    def data():
        assert not Dispute.objects.exists()  # the refused POST raised nothing
        return {"reason": reason.pk}

    assert post_both_ways(client, path, path, data).status_code == 302
    assert Dispute.objects.count() == 1


def test_dispute_reply_form(portal_book):
    client = portal_client(portal_book["ann"])
    dispute = raise_dispute(
        invoice=portal_book["invoices"]["d15"],
        reason=DisputeReason.objects.get(name="Double charged"),
        actor=portal_book["ann"],
    )
    path = f"/portal/disputes/{dispute.pk}/"
    assert post_both_ways(client, path, path, lambda: {"body": "Any news?"}).status_code == 302
    assert DisputeComment.objects.filter(dispute=dispute).count() == 1


def test_promise_form(portal_book):
    client, invoice = portal_client(portal_book["ann"]), portal_book["invoices"]["d15"]
    path = f"/portal/invoices/{invoice.pk}/promise/"
    by = (Company.load().today() + dt.timedelta(days=5)).isoformat()
    assert post_both_ways(client, path, path, lambda: {"amount": "10.00", "date": by}).status_code == 302
    invoice.refresh_from_db()
    assert invoice.promise_date is not None


def test_document_form(portal_book):
    client, invoice = portal_client(portal_book["ann"]), portal_book["invoices"]["d15"]
    path = f"/portal/invoices/{invoice.pk}/documents/"

    def data():
        assert not CustomerFile.objects.exists()
        return {"kind": "tax_certificate", "file": SimpleUploadedFile("cert.pdf", b"%PDF-1.4 cert")}

    assert post_both_ways(client, path, path, data).status_code == 302
    assert CustomerFile.objects.count() == 1


def test_question_form(portal_book):
    client = portal_client(portal_book["ann"])
    response = post_both_ways(client, "/portal/messages/", "/portal/messages/", lambda: {"body": "Hello"})
    assert response.status_code == 302 and PortalMessage.objects.count() == 1


def test_paid_notice_form(portal_book, settings):
    settings.STRIPE_SECRET_KEY = ""
    client = portal_client(portal_book["ann"])
    today = Company.load().today().isoformat()
    response = post_both_ways(
        client, "/portal/pay/", "/portal/pay/bank-transfer/", lambda: {"amount": "200.00", "date": today}
    )
    assert response.status_code == 302


def test_pay_form(portal_book, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # never reached: the refused POST stops first
    client = portal_client(portal_book["ann"])
    refused = client.post("/portal/pay/", {"invoices": [portal_book["invoices"]["d15"].pk]})
    assert refused.status_code == 403
    token_from(client, "/portal/pay/")  # the page carries a token for the form


def test_staff_answer_form(portal_book, am_alice):
    acme = portal_book["acme"]
    PortalMessage.objects.create(customer=acme, author_contact=portal_book["ann"], body="Question")
    client = Client(enforce_csrf_checks=True)
    client.login(username=am_alice.email, password=PASSWORD)
    path = f"/customers/{acme.pk}/portal-messages/"
    response = post_both_ways(client, path, path, lambda: {"body": "Answer"})
    assert response.status_code == 302
    assert PortalMessage.objects.filter(author_user=am_alice).count() == 1
