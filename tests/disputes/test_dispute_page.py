"""The dispute page: invoice, thread with files from both sides, the account manager's actions, resolving."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Activity, ActivityKind, Source
from disputes.models import DisputeReason, DisputeStatus
from disputes.services import add_comment, raise_dispute, resolve_dispute
from tests.conftest import PASSWORD

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def dispute(book, am_alice):
    return raise_dispute(
        invoice=book["invoices"][0],
        reason=DisputeReason.objects.get(name="Incorrect amount charged"),
        actor=am_alice,
        comment="Customer says the unit price should be 90.",
    )


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def page_url(dispute, suffix=""):
    return reverse("dispute_detail", args=[dispute.pk]) + suffix


def test_the_page_shows_the_invoice_the_thread_and_the_recent_timeline(client, dispute, book, am_alice):
    contact = book["acme"].contacts.get()
    add_comment(dispute=dispute, actor=contact, body="We were quoted 90, not 100.")
    login(client, am_alice)

    response = client.get(page_url(dispute))

    assert response.status_code == 200
    text = response.text
    assert "Dispute on invoice INV-0001" in text and "Incorrect amount charged" in text
    assert "SGD\xa0109.00" in text  # total and amount due of the invoice
    assert "Customer says the unit price should be 90." in text
    # The customer's words stand apart from the team's.
    assert 'class="thread-entry from-customer"' in text and "Ann Acme" in text
    assert "We were quoted 90, not 100." in text
    assert "Reminders for INV-0001 are paused" in text
    # The customer's timeline, newest first, through the shared partial.
    assert "Recent on Acme Pte Ltd" in text and "Dispute comment" in text
    # Read as sentences on the timeline.
    assert "Invoice <strong>INV-0001</strong> disputed: Incorrect amount charged." in text
    assert "On the dispute about <strong>INV-0001</strong>: We were quoted 90, not 100." in text


def test_the_account_manager_can_reach_mark_paid_credit_note_and_edit(client, dispute, am_alice):
    login(client, am_alice)

    text = client.get(page_url(dispute)).text

    invoice = dispute.invoice
    assert reverse("invoice_mark_paid", args=[invoice.pk]) in text
    assert f"{reverse('credit_note_add')}?invoice={invoice.pk}" in text
    assert reverse("invoice_edit", args=[invoice.pk]) in text
    assert reverse("dispute_resolve", args=[dispute.pk]) in text


def test_an_invoice_from_the_accounting_system_cannot_be_edited_from_here(client, dispute, am_alice):
    dispute.invoice.source = Source.ACCOUNTING
    dispute.invoice.save(update_fields=["source"])
    login(client, am_alice)

    text = client.get(page_url(dispute)).text

    assert reverse("invoice_edit", args=[dispute.invoice.pk]) not in text
    assert "came from the accounting system" in text


def test_a_comment_with_a_screenshot_joins_the_thread_and_the_timeline(client, dispute, am_alice):
    login(client, am_alice)

    response = client.post(
        page_url(dispute, "comments/"),
        {"body": "Their WhatsApp message:", "file": SimpleUploadedFile("whatsapp.png", PNG, "image/png")},
        follow=True,
    )

    comment = dispute.comments.get()
    assert comment.author_user == am_alice and comment.filename == "whatsapp.png"
    file_url = reverse("dispute_file", args=[dispute.pk, comment.pk])
    assert (
        "Their WhatsApp message:" in response.text
        and f'<img class="timeline-image" src="{file_url}"' in response.text
    )
    entry = Activity.objects.get(kind=ActivityKind.DISPUTE_COMMENT)
    assert entry.data["file"] == "whatsapp.png" and entry.actor_user == am_alice
    # The file comes back only through the dispute's visibility: an image opens in the browser.
    download = client.get(file_url)
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content) == PNG


def test_a_pdf_downloads_as_an_attachment(client, dispute, am_alice):
    comment = add_comment(
        dispute=dispute,
        actor=am_alice,
        upload=SimpleUploadedFile("delivery-note.pdf", PDF, "application/pdf"),
    )
    login(client, am_alice)

    download = client.get(reverse("dispute_file", args=[dispute.pk, comment.pk]))

    assert download["Content-Type"] == "application/pdf"
    assert (
        download["Content-Disposition"].startswith("attachment")
        and "delivery-note.pdf" in download["Content-Disposition"]
    )


def test_an_empty_comment_or_a_bad_file_is_refused_and_nothing_is_added(client, dispute, am_alice):
    login(client, am_alice)

    empty = client.post(page_url(dispute, "comments/"), {"body": "   "})
    bad = client.post(
        page_url(dispute, "comments/"),
        {"body": "see file", "file": SimpleUploadedFile("script.exe", b"MZ\x90\x00" + b"\x00" * 40)},
    )

    assert empty.status_code == 400 and "Write a comment or attach a file." in empty.text
    assert bad.status_code == 400 and "script.exe is not an accepted kind of file" in bad.text
    assert not dispute.comments.exists()


def test_resolving_asks_for_a_note_then_closes_the_dispute_and_records_it(client, dispute, am_alice):
    login(client, am_alice)

    confirm = client.get(page_url(dispute, "resolve/"))
    missing = client.post(page_url(dispute, "resolve/"), {"resolution": "  "})
    done = client.post(
        page_url(dispute, "resolve/"), {"resolution": "Credit note CN-00012 for the difference."}, follow=True
    )

    assert confirm.status_code == 200 and "Resolve the dispute on INV-0001?" in confirm.text
    assert missing.status_code == 400 and "Write how it was resolved" in missing.text
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.RESOLVED and dispute.resolved_by == am_alice
    assert dispute.resolution == "Credit note CN-00012 for the difference."
    assert "Resolved" in done.text and "Reminders resume from the next step" in done.text
    entry = Activity.objects.get(kind=ActivityKind.DISPUTE_RESOLVED)
    assert entry.data["resolution"] == "Credit note CN-00012 for the difference."
    assert (
        "Dispute on <strong>INV-0001</strong> resolved: Credit note CN-00012 for the difference." in done.text
    )
    # Once resolved the alerts go away and the thread is closed.
    invoice_page = client.get(reverse("invoice_detail", args=[dispute.invoice.pk])).text
    assert "alert-dispute" not in invoice_page and "Raise Dispute" in invoice_page
    assert client.post(page_url(dispute, "comments/"), {"body": "late"}).status_code == 302
    assert not dispute.comments.exists()


def test_a_resolved_dispute_cannot_be_resolved_again(client, dispute, am_alice):
    resolve_dispute(dispute=dispute, actor=am_alice, resolution="Settled by phone.")
    login(client, am_alice)

    response = client.post(page_url(dispute, "resolve/"), {"resolution": "Again"}, follow=True)

    dispute.refresh_from_db()
    assert dispute.resolution == "Settled by phone." and "already resolved" in response.text


def test_another_account_manager_gets_404_everywhere(client, dispute, am_bob):
    comment = add_comment(dispute=dispute, actor=dispute.raised_by_user, body="internal")
    login(client, am_bob)

    assert client.get(page_url(dispute)).status_code == 404
    assert client.post(page_url(dispute, "comments/"), {"body": "Hi"}).status_code == 404
    assert client.get(page_url(dispute, "resolve/")).status_code == 404
    assert client.post(page_url(dispute, "resolve/"), {"resolution": "Mine now"}).status_code == 404
    assert client.get(reverse("dispute_file", args=[dispute.pk, comment.pk])).status_code == 404
    dispute.refresh_from_db()
    assert dispute.is_open and dispute.comments.count() == 1


def test_a_default_viewer_sees_the_dispute(client, book, am_alice, am_bob):
    initech_dispute = raise_dispute(
        invoice=book["invoices"][2], reason=DisputeReason.objects.first(), actor=am_bob
    )
    login(client, am_alice)  # a default viewer of Bob's Initech

    assert client.get(page_url(initech_dispute)).status_code == 200


def test_auditors_read_but_cannot_comment_or_resolve(client, dispute, auditor):
    login(client, auditor)

    text = client.get(page_url(dispute)).text

    assert "Add to thread" not in text and reverse("dispute_resolve", args=[dispute.pk]) not in text
    assert reverse("invoice_mark_paid", args=[dispute.invoice.pk]) not in text
    assert client.post(page_url(dispute, "comments/"), {"body": "Hi"}).status_code == 403
    assert client.post(page_url(dispute, "resolve/"), {"resolution": "x"}).status_code == 403
    dispute.refresh_from_db()
    assert dispute.is_open


def test_anonymous_is_sent_to_login(client, dispute):
    response = client.get(page_url(dispute))
    assert response.status_code == 302 and "/login" in response["Location"]
