"""`customerPortalLink` in a reminder or a hand-sent message is a working sign-in link for that customer only."""

import datetime as dt
import re

import pytest

from peakflo.models import Company
from portal.models import LinkPurpose, PortalLink
from tests.workflows.test_dispatch import due_run, make_customer, make_invoice
from tests.workflows.test_dispatch_holds import open_all_week
from workflows.adhoc import preview_adhoc_message, send_adhoc_message
from workflows.dispatch import dispatch_due_runs
from workflows.models import Action, ActionType, Channel, Workflow

LINK = re.compile(r"http://testserver/portal/link/[\w-]+/")


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "http://testserver"


@pytest.fixture
def company(db):
    company = Company.load()
    company.sender_email = "ar@seller.test"
    open_all_week(company)  # saves; these tests dispatch now, whatever the hour
    return company


def sign_in_through(client, link):
    page = client.get(link)
    assert page.status_code == 200 and "Sign in" in page.text
    return client.post(link, follow=True)


def test_a_reminder_carries_a_sign_in_link_that_opens_only_its_customer(smtp, company, am_alice, client):
    today = company.today()
    Workflow.objects.update(is_default=False)
    workflow = Workflow.objects.create(name="Portal", is_default=True, contact_delay_days=0)
    action = Action.objects.create(
        workflow=workflow,
        name="Reminder with link",
        action_type=ActionType.EMAIL,
        subject="Invoice {{ invoiceNumber }}",
        body="Pay or look at your account here: {{ customerPortalLink }}",
    )
    acme, other = make_customer("PL-1", am_alice), make_customer("PL-2", am_alice, email="x@other.test")
    mine = make_invoice(acme, "PL-INV-1", today - dt.timedelta(days=5))
    theirs = make_invoice(other, "PL-INV-2", today - dt.timedelta(days=5))
    due_run(action, mine, today)

    assert dispatch_due_runs().sent == 1

    [sent] = smtp.messages
    [link] = LINK.findall(sent["message"].get_body(("plain",)).get_content())
    assert PortalLink.objects.get().purpose == LinkPurpose.REMINDER
    signed_in = sign_in_through(client, link)
    assert "PL-INV-1" in signed_in.text
    assert client.get(f"/portal/invoices/{mine.pk}/").status_code == 200
    assert client.get(f"/portal/invoices/{theirs.pk}/").status_code == 404


def test_a_hand_sent_message_gets_a_link_but_its_preview_makes_none(smtp, company, am_alice):
    customer = make_customer("PL-3", am_alice)
    make_invoice(customer, "PL-INV-3", company.today() - dt.timedelta(days=2))
    contact = customer.contacts.get()
    body = "Your account: {{ customerPortalLink }}"

    preview = preview_adhoc_message(
        customer=customer, channel=Channel.EMAIL, contact=contact, subject="Hello", body=body
    )
    assert "http://testserver/portal/" in preview.body and not PortalLink.objects.exists()

    send_adhoc_message(
        customer=customer, channel=Channel.EMAIL, contact=contact, subject="Hello", body=body, actor=am_alice
    )
    [sent] = smtp.messages
    assert LINK.search(sent["message"].get_body(("plain",)).get_content())
    assert PortalLink.objects.get().customer == customer
