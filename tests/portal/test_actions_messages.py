"""Questions from the portal and the account manager's answers from the customer page."""

import pytest
from django.core import mail

from customers.models import Activity, ActivityKind
from portal.models import PortalMessage
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def staff_client(client, user):
    client.login(username=user.email, password=PASSWORD)
    return client


def test_customer_asks_a_question_about_an_invoice(
    ann_client, portal_book, django_capture_on_commit_callbacks
):
    invoice = portal_book["invoices"]["d75"]
    form = ann_client.get(f"/portal/messages/?invoice={invoice.pk}").content.decode()
    assert f'<option value="{invoice.pk}" selected>' in form
    with django_capture_on_commit_callbacks(execute=True):
        response = ann_client.post(
            "/portal/messages/", {"body": "Can we split A-103 in two payments?", "invoice": invoice.pk}
        )
    assert response.status_code == 302
    message = PortalMessage.objects.get()
    assert (message.customer, message.invoice, message.author_contact) == (
        portal_book["acme"],
        invoice,
        portal_book["ann"],
    )
    entry = Activity.objects.get(kind=ActivityKind.PORTAL_MESSAGE)
    assert entry.actor_contact == portal_book["ann"] and entry.invoice == invoice
    assert entry.data["question"] == "Can we split A-103 in two payments?"
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert mail.outbox[0].subject == "Question from Acme Pte Ltd about invoice A-103"
    assert f"/customers/{portal_book['acme'].pk}/portal-messages/" in mail.outbox[0].body
    page = ann_client.get("/portal/messages/").content.decode()
    assert "Can we split A-103 in two payments?" in page


def test_an_empty_question_is_refused(ann_client, portal_book):
    response = ann_client.post("/portal/messages/", {"body": "   "})
    assert response.status_code == 400 and "Write your question first." in response.content.decode()
    assert not PortalMessage.objects.exists()


def test_a_question_cannot_name_another_customers_invoice(ann_client, portal_book):
    response = ann_client.post(
        "/portal/messages/", {"body": "About yours", "invoice": portal_book["other_invoice"].pk}
    )
    assert response.status_code == 400
    assert not PortalMessage.objects.exists()


def test_the_thread_shows_only_this_customers_messages(ann_client, portal_book):
    PortalMessage.objects.create(
        customer=portal_book["globex"], author_contact=portal_book["gus"], body="Globex secret"
    )
    assert "Globex secret" not in ann_client.get("/portal/messages/").content.decode()


def test_account_manager_answers_from_the_customer_page_and_the_customer_reads_it(
    client, ann_client, portal_book, am_alice, django_capture_on_commit_callbacks
):
    acme = portal_book["acme"]
    PortalMessage.objects.create(customer=acme, author_contact=portal_book["ann"], body="When is A-101 due?")
    staff = staff_client(client.__class__(), am_alice)
    detail = staff.get(f"/customers/{acme.pk}/").content.decode()
    assert 'id="portal-messages"' in detail and "When is A-101 due?" in detail

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"/customers/{acme.pk}/portal-messages/", {"body": "It was due last week."})
    assert response.status_code == 302
    answer = PortalMessage.objects.get(author_user=am_alice)
    assert answer.customer == acme and not answer.from_customer
    entry = Activity.objects.get(kind=ActivityKind.PORTAL_MESSAGE, actor_user=am_alice)
    assert entry.data["answer"] == "It was due last week."
    assert [m.to for m in mail.outbox] == [["ann@acme.test"]]  # told an answer waits, not the answer itself
    assert "It was due last week." not in mail.outbox[0].body

    page = ann_client.get("/portal/messages/").content.decode()
    assert "It was due last week." in page and "Alice" in page


def test_the_answer_panel_swaps_itself_for_htmx(client, portal_book, am_alice):
    acme = portal_book["acme"]
    PortalMessage.objects.create(customer=acme, author_contact=portal_book["ann"], body="Hello?")
    staff = staff_client(client, am_alice)
    response = staff.post(
        f"/customers/{acme.pk}/portal-messages/", {"body": "Hi Ann"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith("<div") and "Hi Ann" in html
    assert "<html" not in html


def test_an_empty_answer_is_refused_and_nothing_is_saved(client, portal_book, am_alice):
    acme = portal_book["acme"]
    staff = staff_client(client, am_alice)
    response = staff.post(f"/customers/{acme.pk}/portal-messages/", {"body": ""})
    assert response.status_code == 400 and "Write your message first." in response.content.decode()
    assert not PortalMessage.objects.exists()


def test_other_account_managers_get_404_and_auditors_only_read(client, portal_book, am_bob, auditor):
    acme = portal_book["acme"]
    PortalMessage.objects.create(customer=acme, author_contact=portal_book["ann"], body="Question")
    bob = staff_client(client, am_bob)
    assert bob.get(f"/customers/{acme.pk}/portal-messages/").status_code == 404
    assert bob.post(f"/customers/{acme.pk}/portal-messages/", {"body": "Not mine"}).status_code == 404

    reader = staff_client(client.__class__(), auditor)
    page = reader.get(f"/customers/{acme.pk}/portal-messages/")
    assert page.status_code == 200 and "Question" in page.content.decode()
    assert "Send answer" not in page.content.decode()
    assert reader.post(f"/customers/{acme.pk}/portal-messages/", {"body": "Sneaky"}).status_code == 403
    assert PortalMessage.objects.count() == 1


def test_staff_thread_needs_a_login(client, portal_book):
    response = client.get(f"/customers/{portal_book['acme'].pk}/portal-messages/")
    assert response.status_code == 302 and "/login/" in response["Location"]
