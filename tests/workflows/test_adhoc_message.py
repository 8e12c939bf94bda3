"""Send a message by hand from the customer page: preview, send for real, failures, access, contact delay."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from customers.models import Activity, ActivityKind, Contact
from peakflo.models import Company
from tests.conftest import PASSWORD
from tests.workflows.local_servers import HttpServer
from tests.workflows.test_dispatch import due_run, make_customer, make_invoice
from workflows.dispatch import dispatch_due_runs
from workflows.models import Action, ActionType, Channel, Message, MessageStatus, RunStatus, Workflow


@pytest.fixture
def company(db):
    company, _ = Company.objects.update_or_create(
        pk=1,
        defaults={
            "name": "Seller Pte Ltd",
            "time_zone": "Asia/Singapore",
            "send_window_start": dt.time(9, 0),
            "send_window_end": dt.time(18, 0),
            "send_weekdays": [0, 1, 2, 3, 4, 5, 6],
            "sender_email": "ar@seller.test",
        },
    )
    return company


@pytest.fixture
def workflow(db):
    Workflow.objects.update(is_default=False)
    return Workflow.objects.create(name="Hand flow", is_default=True, contact_delay_days=3)


@pytest.fixture
def email_action(workflow):
    return Action.objects.create(
        workflow=workflow,
        name="Overdue reminder",
        action_type=ActionType.EMAIL,
        subject="Invoice {{ invoiceNumber }} is overdue",
        body="Dear {{ recipientName }},\n{{ table_outstanding_invoices }}",
    )


@pytest.fixture
def acme(company, am_alice):
    customer = make_customer("A-1", am_alice)
    today = company.today()
    make_invoice(customer, "INV-OLD", today - dt.timedelta(days=20))
    make_invoice(customer, "INV-NEW", today - dt.timedelta(days=3), amount="40.00")
    return customer


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def form_data(customer, **more):
    contact = customer.contacts.get(is_main=True)
    return {
        "channel": "email",
        "contact": contact.pk,
        "subject": "About {{ invoiceNumber }}",
        "body": "Hello {{ recipientName }}, you owe {{ totalAmountDue }}.",
        **more,
    }


def test_the_form_offers_contacts_templates_and_open_invoices(client, am_alice, acme, email_action):
    login(client, am_alice)
    page = client.get(reverse("customer_message", args=[acme.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "ap@customer.test" in html
    assert "Hand flow: Overdue reminder" in html
    assert "INV-OLD" in html and "INV-NEW" in html

    prefilled = client.get(reverse("customer_message", args=[acme.pk]), {"template": email_action.pk})
    assert "Invoice {{ invoiceNumber }} is overdue" in prefilled.content.decode()

    detail = client.get(reverse("customer_detail", args=[acme.pk]))
    assert reverse("customer_message", args=[acme.pk]) in detail.content.decode()


def test_an_email_goes_out_for_real_and_lands_on_the_timeline(client, smtp, am_alice, acme):
    login(client, am_alice)
    chosen = acme.invoices.get(number="INV-NEW")
    response = client.post(
        reverse("customer_message", args=[acme.pk]), form_data(acme, invoices=[chosen.pk]), follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("customer_detail", args=[acme.pk])
    assert "sent to ap@customer.test" in response.content.decode()
    [received] = smtp.messages
    assert received["rcpt"] == ["ap@customer.test"]
    mail = received["message"]
    assert mail["Subject"] == "About INV-NEW"
    assert "Hello Ann A-1, you owe SGD\xa040.00." in mail.get_body(("plain",)).get_content()
    assert mail.get_body(("html",)) is not None

    message = Message.objects.get(customer=acme)
    assert message.status == MessageStatus.SENT
    assert message.sent_by == am_alice and message.action is None
    assert message.provider_id == mail["Message-ID"]
    activity = Activity.objects.get(customer=acme, kind=ActivityKind.MESSAGE_SENT)
    assert activity.actor_user == am_alice
    assert activity.data["message_id"] == message.pk
    assert activity.invoice == chosen


def test_the_preview_renders_and_escapes_without_sending(client, smtp, am_alice, acme):
    acme.contacts.filter(is_main=True).update(name="<b>Ann</b>")
    login(client, am_alice)
    response = client.post(
        reverse("customer_message_preview", args=[acme.pk]),
        form_data(acme, body="Hi {{ recipientName }} <script>x()</script>\n{{ table_outstanding_invoices }}"),
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "About INV-OLD" in html
    assert "&lt;b&gt;Ann&lt;/b&gt;" in html and "<b>Ann</b>" not in html
    assert "&lt;script&gt;" in html and "<script>x()" not in html
    assert "<table" in html and "INV-NEW" in html
    assert smtp.messages == [] and not Message.objects.exists()


def test_an_unknown_placeholder_is_refused_and_nothing_is_sent(client, smtp, am_alice, acme):
    login(client, am_alice)
    data = form_data(acme, body="Hi {{ customer.secret }}")
    preview = client.post(reverse("customer_message_preview", args=[acme.pk]), data)
    assert "customer.secret" in preview.content.decode() and "not a placeholder" in preview.content.decode()

    response = client.post(reverse("customer_message", args=[acme.pk]), data)
    assert response.status_code == 200  # the form again, with the error
    assert "not a placeholder" in response.content.decode()
    assert smtp.messages == [] and not Message.objects.exists()


def test_sms_without_twilio_settings_is_failed_with_the_reason(client, settings, am_alice, acme):
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = settings.TWILIO_FROM_NUMBER = ""
    login(client, am_alice)
    response = client.post(
        reverse("customer_message", args=[acme.pk]),
        {"channel": "sms", "contact": acme.contacts.get().pk, "body": "Please pay {{ totalAmountDue }}."},
        follow=True,
    )
    page = response.content.decode()
    assert "The message was not sent: SMS is not configured" in page
    assert "TWILIO_ACCOUNT_SID" in page

    message = Message.objects.get(customer=acme)
    assert message.status == MessageStatus.FAILED and message.channel == Channel.SMS
    assert "SMS is not configured" in message.error
    assert message.body == "Please pay SGD\xa0140.00."
    failed = Activity.objects.get(customer=acme, kind=ActivityKind.MESSAGE_FAILED)
    assert "not configured" in failed.data["reason"]


def test_the_channel_offers_only_contacts_with_an_address_for_it(client, am_alice, acme):
    Contact.objects.create(customer=acme, name="No line", email="x@acme.test")
    Contact.objects.create(customer=acme, name="Lina", line_id="U123")
    login(client, am_alice)
    page = client.get(reverse("customer_message", args=[acme.pk]), {"channel": "line"}).content.decode()
    assert "Lina (U123)" in page and "No line" not in page and "Ann A-1" not in page


def test_an_outsider_gets_404_an_auditor_403_anonymous_the_login(client, am_bob, auditor, acme):
    url = reverse("customer_message", args=[acme.pk])
    preview = reverse("customer_message_preview", args=[acme.pk])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]
    login(client, am_bob)
    assert client.get(url).status_code == 404
    assert client.post(url, form_data(acme)).status_code == 404
    assert client.post(preview, form_data(acme)).status_code == 404
    client.logout()
    login(client, auditor)
    assert client.get(url).status_code == 403
    assert client.post(url, form_data(acme)).status_code == 403
    assert not Message.objects.exists()


def test_a_message_sent_by_hand_makes_the_next_reminder_wait_for_the_contact_delay(
    client, smtp, company, am_alice, acme, email_action
):
    login(client, am_alice)
    client.post(reverse("customer_message", args=[acme.pk]), form_data(acme))
    assert len(smtp.messages) == 1
    today = company.today()
    run = due_run(email_action, acme.invoices.get(number="INV-OLD"), today)
    inside_window = dt.datetime.combine(today, dt.time(10, 0), tzinfo=company.tz)

    summary = dispatch_due_runs(now=inside_window)

    assert summary.sent == 0 and not summary.closed
    run.refresh_from_db()
    assert run.status == RunStatus.PENDING
    assert len(smtp.messages) == 1


@pytest.fixture
def http():
    server = HttpServer(default=(200, {"sentMessages": [{"id": "line-42"}]})).start()
    yield server
    server.stop()


def test_a_line_message_goes_out_as_text_to_the_contacts_line_id(client, settings, http, am_alice, acme):
    settings.LINE_CHANNEL_ACCESS_TOKEN = "line-token"
    settings.LINE_BASE_URL = http.url
    lina = Contact.objects.create(customer=acme, name="Lina", line_id="U123")
    login(client, am_alice)
    client.post(
        reverse("customer_message", args=[acme.pk]),
        {
            "channel": "line",
            "contact": lina.pk,
            "body": "Hi {{ recipientName }} <3\n{{ table_outstanding_invoices }}",
        },
    )

    [request] = http.requests
    sent = json.loads(request["body"])
    assert sent["to"] == "U123"
    text = sent["messages"][0]["text"]
    assert text.startswith("Hi Lina <3\n") and "INV-OLD" in text and "<table" not in text
    message = Message.objects.get(customer=acme)
    assert (message.status, message.provider_id, message.subject) == (MessageStatus.SENT, "line-42", "")


def test_an_sms_template_starts_an_sms(client, am_alice, acme, workflow):
    sms = Action.objects.create(
        workflow=workflow, name="Nudge", action_type=ActionType.SMS, body="Pay {{ totalAmountDue }} please"
    )
    login(client, am_alice)
    page = client.get(reverse("customer_message", args=[acme.pk]), {"channel": "email", "template": sms.pk})
    form = page.context["form"]
    assert form.chosen_channel == Channel.SMS
    assert form.initial["body"] == "Pay {{ totalAmountDue }} please"
    assert 'name="subject"' not in page.content.decode()
