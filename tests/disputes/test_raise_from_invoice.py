"""Raising a dispute from the invoice page: the dialog's form, the pause, the email, and the yellow alerts."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Activity, ActivityKind
from disputes.models import Dispute, DisputeReason
from disputes.services import raise_dispute
from invoices.models import InvoiceStatus
from invoices.services import void_invoice
from tests.conftest import PASSWORD

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def double_charged():
    return DisputeReason.objects.get(name="Double charged")


def test_the_invoice_page_offers_raise_dispute_with_the_active_reasons(client, book, am_alice):
    DisputeReason.objects.filter(name="Delivery not made").update(is_retired=True)
    login(client, am_alice)

    page = client.get(reverse("invoice_detail", args=[book["invoices"][0].pk]))

    assert "Raise Dispute" in page.text
    assert reverse("dispute_raise", args=[book["invoices"][0].pk]) in page.text
    assert "Double charged" in page.text and "Delivery not made" not in page.text


def test_raising_pauses_reminders_emails_the_account_manager_and_shows_the_alert(
    client, book, collections_user, am_alice, django_capture_on_commit_callbacks
):
    invoice = book["invoices"][0]  # Acme's, managed by Alice
    login(client, collections_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("dispute_raise", args=[invoice.pk]),
            {"reason": double_charged().pk, "comment": "Paid twice by bank transfer."},
            follow=True,
        )

    dispute = Dispute.objects.get(invoice=invoice)
    assert dispute.is_open and dispute.raised_by_user == collections_user
    assert dispute.comment == "Paid twice by bank transfer."
    assert response.redirect_chain[-1][0] == reverse("invoice_detail", args=[invoice.pk])
    text = response.text
    assert "its reminders are paused until it is resolved" in text
    # The yellow alert: reason, who, when, the way to the dispute, and the pause.
    assert 'class="alert alert-dispute' in text and "Disputed: Double charged." in text
    assert "Raised by Collections" in text and "Automatic reminders are paused" in text
    assert reverse("dispute_detail", args=[dispute.pk]) in text
    assert "Raise Dispute</a>" not in text  # one open dispute at a time: the button now opens it
    # The account manager is told, with a link to the dispute.
    assert [m.to for m in mail.outbox] == [[am_alice.email]]
    assert invoice.number in mail.outbox[0].subject or invoice.number in mail.outbox[0].body
    assert reverse("dispute_detail", args=[dispute.pk]) in mail.outbox[0].body
    # And the customer's timeline says so.
    entry = Activity.objects.get(customer=invoice.customer, kind=ActivityKind.DISPUTE_RAISED)
    assert entry.actor_user == collections_user and entry.data["reason"] == "Double charged"


def test_a_file_given_when_raising_starts_the_thread(client, book, am_alice):
    invoice = book["invoices"][0]
    login(client, am_alice)

    client.post(
        reverse("dispute_raise", args=[invoice.pk]),
        {"reason": double_charged().pk, "file": SimpleUploadedFile("bank-statement.png", PNG, "image/png")},
    )

    comment = Dispute.objects.get(invoice=invoice).comments.get()
    assert comment.filename == "bank-statement.png" and comment.author_user == am_alice


def test_a_bad_file_or_no_reason_changes_nothing_and_says_why(client, book, am_alice):
    invoice = book["invoices"][0]
    login(client, am_alice)

    no_reason = client.post(reverse("dispute_raise", args=[invoice.pk]), {"comment": "Hmm"})
    bad_file = client.post(
        reverse("dispute_raise", args=[invoice.pk]),
        {
            "reason": double_charged().pk,
            "file": SimpleUploadedFile("virus.exe", b"MZ\x90\x00\x03" + b"\x00" * 40),
        },
    )

    assert no_reason.status_code == 400 and "Choose the reason the customer gives." in no_reason.text
    assert bad_file.status_code == 400 and "virus.exe is not an accepted kind of file" in bad_file.text
    assert not Dispute.objects.exists()
    assert not Activity.objects.filter(kind=ActivityKind.DISPUTE_RAISED).exists()


def test_a_retired_reason_cannot_be_posted(client, book, am_alice):
    retired = double_charged()
    retired.is_retired = True
    retired.save()
    login(client, am_alice)

    response = client.post(reverse("dispute_raise", args=[book["invoices"][0].pk]), {"reason": retired.pk})

    assert response.status_code == 400 and not Dispute.objects.exists()


def test_no_button_on_paid_or_void_invoices_and_raising_there_is_refused(client, book, am_alice):
    invoice = book["invoices"][0]
    void_invoice(invoice=invoice, actor=am_alice, reason="Issued twice")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID
    login(client, am_alice)

    page = client.get(reverse("invoice_detail", args=[invoice.pk]))
    posted = client.post(reverse("dispute_raise", args=[invoice.pk]), {"reason": double_charged().pk})

    assert "Raise Dispute" not in page.text
    assert posted.status_code == 400 and f"Invoice {invoice.number} is void" in posted.text
    assert not Dispute.objects.exists()


def test_auditors_get_no_button_and_a_403(client, book, auditor):
    login(client, auditor)
    invoice = book["invoices"][0]

    page = client.get(reverse("invoice_detail", args=[invoice.pk]))
    posted = client.post(reverse("dispute_raise", args=[invoice.pk]), {"reason": double_charged().pk})

    assert "Raise Dispute" not in page.text and posted.status_code == 403
    assert not Dispute.objects.exists()


def test_an_account_manager_cannot_raise_on_another_managers_invoice(client, book, am_alice):
    hooli_invoice = book["invoices"][3]  # Bob's customer; Alice is no viewer
    login(client, am_alice)

    response = client.post(reverse("dispute_raise", args=[hooli_invoice.pk]), {"reason": double_charged().pk})

    assert response.status_code == 404 and not Dispute.objects.exists()


def test_the_customer_page_shows_a_yellow_alert_per_open_dispute(client, book, am_alice):
    acme = book["acme"]
    dispute = raise_dispute(invoice=book["invoices"][0], reason=double_charged(), actor=am_alice)
    login(client, am_alice)

    page = client.get(reverse("customer_detail", args=[acme.pk])).text

    assert page.count('class="alert alert-dispute"') == 1
    assert "Invoice INV-0001 is disputed: Double charged." in page
    assert reverse("dispute_detail", args=[dispute.pk]) in page
    # Globex has no dispute: no alert there.
    assert "alert-dispute" not in client.get(reverse("customer_detail", args=[book["globex"].pk])).text


def test_the_invoice_list_flags_disputed_invoices_without_a_query_per_row(client, book, admin_user):
    login(client, admin_user)
    client.get(reverse("invoices"))  # warm the session and company caches
    with CaptureQueriesContext(connection) as undisputed:
        client.get(reverse("invoices"))
    first = raise_dispute(invoice=book["invoices"][0], reason=double_charged(), actor=admin_user)
    raise_dispute(invoice=book["invoices"][2], reason=double_charged(), actor=admin_user)

    with CaptureQueriesContext(connection) as disputed:
        response = client.get(reverse("invoices"))

    assert len(disputed) == len(undisputed)
    flagged = {i.number for i in response.context["page"].object_list if i.open_dispute_id}
    assert flagged == {"INV-0001", "INV-0003"}
    assert response.text.count(">Disputed</a>") == 2
    assert reverse("dispute_detail", args=[first.pk]) in response.text
