"""The customer disputes an invoice in the portal, follows and answers the thread, sees it resolved."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Activity, ActivityKind
from disputes.models import Dispute, DisputeReason, DisputeStatus
from disputes.services import add_comment, raise_dispute, resolve_dispute

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def reason(name="Incorrect amount charged"):
    return DisputeReason.objects.get(name=name)


def test_dispute_page_offers_only_active_reasons(ann_client, portal_book):
    retired = DisputeReason.objects.create(name="Old reason nobody uses", is_retired=True)
    invoice = portal_book["invoices"]["d15"]
    page = ann_client.get(f"/portal/invoices/{invoice.pk}/dispute/").content.decode()
    assert "Double charged" in page and "Delivery not made" in page
    assert retired.name not in page


def test_customer_raises_a_dispute_with_a_file_and_the_workflow_pauses(
    ann_client, portal_book, django_capture_on_commit_callbacks
):
    invoice = portal_book["invoices"]["d15"]
    with django_capture_on_commit_callbacks(execute=True):
        response = ann_client.post(
            f"/portal/invoices/{invoice.pk}/dispute/",
            {
                "reason": reason().pk,
                "comment": "We were charged twice the quantity.",
                "file": SimpleUploadedFile("delivery-note.png", PNG, content_type="image/png"),
            },
        )
    dispute = Dispute.objects.get(invoice=invoice)
    assert response.status_code == 302 and response["Location"] == f"/portal/disputes/{dispute.pk}/"
    assert dispute.status == DisputeStatus.OPEN
    assert dispute.raised_by_contact == portal_book["ann"] and dispute.raised_by_user is None
    assert dispute.comment == "We were charged twice the quantity."
    assert dispute.comments.get().filename == "delivery-note.png"
    entry = Activity.objects.get(kind=ActivityKind.DISPUTE_RAISED, invoice=invoice)
    assert entry.actor_contact == portal_book["ann"]
    # The account manager (Alice) is emailed, exactly as when a dispute is raised in the dashboard.
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert "Ann Acme of Acme Pte Ltd" in mail.outbox[0].body

    page = ann_client.get(f"/portal/invoices/{invoice.pk}/").content.decode()
    assert "You disputed this invoice" in page and "Incorrect amount charged" in page


def test_dispute_needs_a_reason_and_nothing_is_saved_without_one(ann_client, portal_book):
    invoice = portal_book["invoices"]["d15"]
    response = ann_client.post(f"/portal/invoices/{invoice.pk}/dispute/", {"reason": "", "comment": "x"})
    assert response.status_code == 400
    assert "Choose the reason for the dispute." in response.content.decode()
    assert not Dispute.objects.exists()


def test_a_file_that_is_not_an_accepted_kind_is_refused_by_name(ann_client, portal_book):
    invoice = portal_book["invoices"]["d15"]
    response = ann_client.post(
        f"/portal/invoices/{invoice.pk}/dispute/",
        {"reason": reason().pk, "file": SimpleUploadedFile("run.exe", b"MZ\x90\x00\x03" + b"\x00" * 40)},
    )
    assert response.status_code == 400
    assert "run.exe is not an accepted kind of file" in response.content.decode()
    assert not Dispute.objects.exists()


def test_customer_follows_and_answers_the_thread_then_sees_the_resolution(ann_client, portal_book, am_alice):
    invoice = portal_book["invoices"]["d45"]
    dispute = raise_dispute(invoice=invoice, reason=reason("Double charged"), actor=portal_book["ann"])
    add_comment(dispute=dispute, actor=am_alice, body="Can you send the bank statement?")

    page = ann_client.get(f"/portal/disputes/{dispute.pk}/").content.decode()
    assert "Can you send the bank statement?" in page and "Alice" in page

    response = ann_client.post(
        f"/portal/disputes/{dispute.pk}/",
        {"body": "Attached.", "file": SimpleUploadedFile("statement.pdf", b"%PDF-1.4 statement")},
    )
    assert response.status_code == 302
    answer = dispute.comments.order_by("pk").last()
    assert answer.author_contact == portal_book["ann"] and answer.body == "Attached."
    download = ann_client.get(f"/portal/disputes/{dispute.pk}/files/{answer.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 statement"

    resolve_dispute(dispute=dispute, actor=am_alice, resolution="Refunded the double charge by credit note.")
    page = ann_client.get(f"/portal/disputes/{dispute.pk}/").content.decode()
    assert "Resolved" in page and "Refunded the double charge by credit note." in page
    assert 'name="body"' not in page  # a resolved thread takes no more answers
    invoice_page = ann_client.get(f"/portal/invoices/{invoice.pk}/").content.decode()
    assert "Your dispute (Double charged) was resolved" in invoice_page


def test_an_empty_answer_is_refused(ann_client, portal_book):
    dispute = raise_dispute(invoice=portal_book["invoices"]["d15"], reason=reason(), actor=portal_book["ann"])
    response = ann_client.post(f"/portal/disputes/{dispute.pk}/", {"body": "  "})
    assert response.status_code == 400 and "Write an answer or attach a file." in response.content.decode()
    assert not dispute.comments.exists()


def test_disputes_list_shows_only_this_customers_disputes(ann_client, portal_book, am_bob):
    mine = raise_dispute(invoice=portal_book["invoices"]["d15"], reason=reason(), actor=portal_book["ann"])
    theirs = raise_dispute(invoice=portal_book["other_invoice"], reason=reason(), actor=am_bob)
    page = ann_client.get("/portal/disputes/").content.decode()
    assert f"/portal/disputes/{mine.pk}/" in page and "G-900" not in page
    assert ann_client.get(f"/portal/disputes/{theirs.pk}/").status_code == 404
    assert ann_client.post(f"/portal/disputes/{theirs.pk}/", {"body": "hello"}).status_code == 404
    assert not theirs.comments.exists()


def test_another_customers_invoice_cannot_be_disputed(ann_client, portal_book):
    other = portal_book["other_invoice"]
    assert ann_client.get(f"/portal/invoices/{other.pk}/dispute/").status_code == 404
    response = ann_client.post(f"/portal/invoices/{other.pk}/dispute/", {"reason": reason().pk})
    assert response.status_code == 404
    assert not Dispute.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(client, portal_book):
    invoice = portal_book["invoices"]["d15"]
    response = client.post(f"/portal/invoices/{invoice.pk}/dispute/", {"reason": reason().pk})
    assert response.status_code == 302 and response["Location"] == "/portal/sign-in/"
    assert not Dispute.objects.exists()
