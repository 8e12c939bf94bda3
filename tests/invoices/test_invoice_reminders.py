from customers.models import Activity, ActivityKind
from invoices.models import Invoice
from tests.conftest import PASSWORD


def url(invoice):
    return f"/invoices/{invoice.pk}/reminders/"


def test_an_invoices_reminders_pause_with_a_reason_and_resume(client, book, am_alice):
    invoice = book["invoices"][0]
    assert client.login(email=am_alice.email, password=PASSWORD)

    refused = client.post(url(invoice), {"action": "pause", "reason": " "}, follow=True)
    assert "Say why the reminders pause" in refused.text
    assert not Invoice.objects.get(pk=invoice.pk).reminders_paused

    client.post(url(invoice), {"action": "pause", "reason": "Waiting for the purchase order"})
    invoice.refresh_from_db()
    assert invoice.reminders_paused and invoice.reminders_pause_reason == "Waiting for the purchase order"
    assert "Resume reminders" in client.get(f"/invoices/{invoice.pk}/").text

    client.post(url(invoice), {"action": "resume"})
    invoice.refresh_from_db()
    assert not invoice.reminders_paused
    entries = Activity.objects.filter(invoice=invoice, kind=ActivityKind.WORKFLOW).order_by("created_at")
    assert [e.data["reminders"] for e in entries] == ["paused", "resumed"]


def test_outsiders_and_auditors_cannot_pause(client, book, am_bob, auditor):
    invoice = book["invoices"][0]  # Acme's, Alice's customer
    assert client.login(email=am_bob.email, password=PASSWORD)
    assert client.post(url(invoice), {"action": "pause", "reason": "x"}).status_code == 404
    assert client.login(email=auditor.email, password=PASSWORD)
    assert client.post(url(invoice), {"action": "pause", "reason": "x"}).status_code == 403
    assert client.get(url(invoice)).status_code in (302, 405)
    assert not Invoice.objects.filter(reminders_paused=True).exists()


def test_a_disputed_invoice_says_the_dispute_holds_its_reminders(client, book, am_alice):
    from disputes.models import DisputeReason
    from disputes.services import raise_dispute

    invoice = book["invoices"][0]
    reason, _ = DisputeReason.objects.get_or_create(name="Double charged")
    dispute = raise_dispute(invoice=invoice, reason=reason, actor=am_alice, comment="Paid twice")
    assert client.login(email=am_alice.email, password=PASSWORD)

    page = client.get(f"/invoices/{invoice.pk}/").text
    reminders = page[page.index('id="reminders"') :]
    reminders = reminders[: reminders.index("</div>")]
    assert "Held" in reminders and f"/disputes/{dispute.pk}/" in reminders
    assert "Pause reminders" not in reminders
