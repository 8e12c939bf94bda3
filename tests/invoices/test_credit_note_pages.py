"""Credit notes: created pending, approved by a second person only, approval lowers what is due, void reverses."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from customers.models import Activity, ActivityKind
from invoices.models import CreditNote, CreditNoteStatus, InvoiceStatus
from invoices.services import approve_credit_note, create_credit_note, record_payment
from tests.conftest import PASSWORD

D = Decimal
TODAY = dt.date(2026, 3, 1)


def login(client, user):
    client.logout()
    assert client.login(email=user.email, password=PASSWORD)


def note_for(invoice, user, number="CN-00001", amount="9.00"):
    return create_credit_note(
        customer=invoice.customer,
        invoice=invoice,
        number=number,
        date=TODAY,
        amount=D(amount),
        created_by=user,
    )


@pytest.fixture
def pending(book, am_alice):
    return note_for(book["invoices"][0], am_alice)


@pytest.mark.parametrize(
    "path",
    ["/credit-notes/", "/credit-notes/new/", "/credit-notes/export.xlsx", "/credit-notes/new/invoices/"],
)
def test_anonymous_goes_to_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_outsiders_get_404(client, book, pending, am_bob):
    login(client, am_bob)
    invoice = book["invoices"][0]

    assert client.get(f"/credit-notes/new/?invoice={invoice.pk}").status_code == 404
    assert client.get(f"/credit-notes/new/?customer={invoice.customer_id}").status_code == 404
    assert client.get(f"/credit-notes/new/invoices/?customer={invoice.customer_id}").status_code == 404
    assert client.get(f"/credit-notes/{pending.pk}/approve/").status_code == 404
    assert client.post(f"/credit-notes/{pending.pk}/void/").status_code == 404
    assert "CN-00001" not in client.get("/credit-notes/").text
    pending.refresh_from_db()
    assert pending.status == CreditNoteStatus.PENDING_APPROVAL


def test_auditors_may_look_but_not_write(client, book, pending, auditor):
    login(client, auditor)

    assert "CN-00001" in client.get("/credit-notes/").text
    assert client.get("/credit-notes/new/").status_code == 403
    assert client.post(f"/credit-notes/{pending.pk}/approve/").status_code == 403
    assert client.post(f"/credit-notes/{pending.pk}/void/").status_code == 403
    pending.refresh_from_db()
    assert pending.status == CreditNoteStatus.PENDING_APPROVAL


def test_the_form_is_prefilled_from_the_invoice_and_suggests_the_next_number(client, book, pending, am_alice):
    login(client, am_alice)
    invoice = book["invoices"][0]

    response = client.get(f"/credit-notes/new/?invoice={invoice.pk}")

    form = response.context["form"]
    assert form.initial["customer"] == invoice.customer and form.initial["invoice"] == invoice
    assert (form.initial["currency"], form.initial["number"]) == ("SGD", "CN-00002")
    assert 'value="CN-00002"' in response.text and "INV-0001" in response.text


def test_an_account_manager_creates_a_pending_note_that_changes_nothing_yet(client, book, am_alice):
    login(client, am_alice)
    invoice = book["invoices"][0]

    response = client.post(
        "/credit-notes/new/",
        {"customer": invoice.customer_id, "invoice": invoice.pk, "number": "CN-00001", "date": "2026-03-01",
         "amount": "20.00", "currency": "SGD", "reason": "Damaged goods"},
        follow=True,
    )  # fmt: skip

    note = CreditNote.objects.get()
    assert (note.status, note.created_by, note.amount) == (
        CreditNoteStatus.PENDING_APPROVAL,
        am_alice,
        D("20.00"),
    )
    assert "waiting for approval" in response.text
    invoice.refresh_from_db()
    assert invoice.amount_due == D("109.00")
    assert Activity.objects.filter(kind=ActivityKind.CREDIT_NOTE, invoice=invoice).count() == 1
    call_command("check_consistency")


def test_a_note_larger_than_the_amount_due_or_of_another_customer_is_refused(client, book, am_alice):
    login(client, am_alice)
    invoice = book["invoices"][0]
    data = {"customer": invoice.customer_id, "invoice": invoice.pk, "number": "CN-1", "date": "2026-03-01",
            "amount": "500", "currency": "SGD"}  # fmt: skip

    too_much = client.post("/credit-notes/new/", data)
    wrong_customer = client.post(
        "/credit-notes/new/", {**data, "amount": "5", "invoice": book["invoices"][1].pk}
    )

    assert too_much.status_code == 400 and "cannot be more than that" in too_much.text
    assert wrong_customer.status_code == 400 and "Nothing was saved" in wrong_customer.text
    assert not CreditNote.objects.exists()


def test_the_creator_cannot_approve_and_is_not_offered_the_button(client, book, ar_admin):
    note = note_for(book["invoices"][0], ar_admin)
    login(client, ar_admin)

    listing = client.get("/credit-notes/")
    response = client.post(f"/credit-notes/{note.pk}/approve/", follow=True)

    assert (
        f"/credit-notes/{note.pk}/approve/" not in listing.text
        and "by you: a colleague approves" in listing.text
    )
    assert "cannot be approved by the person who created it" in response.text
    note.refresh_from_db()
    assert note.status == CreditNoteStatus.PENDING_APPROVAL
    assert book["invoices"][0].__class__.objects.get(pk=book["invoices"][0].pk).amount_due == D("109.00")


def test_an_account_manager_cannot_approve(client, pending, am_alice, am_bob, book):
    book["acme"].default_viewers.add(am_bob)
    login(client, am_bob)

    assert f"/credit-notes/{pending.pk}/approve/" not in client.get("/credit-notes/").text
    response = client.post(f"/credit-notes/{pending.pk}/approve/", follow=True)

    assert "Only admins, AR admins and collections may approve" in response.text
    pending.refresh_from_db()
    assert pending.status == CreditNoteStatus.PENDING_APPROVAL


@pytest.mark.parametrize("approver", ["ar_admin", "admin_user", "collections_user"])
def test_approval_by_someone_else_lowers_the_amount_due(client, pending, book, request, approver):
    user = request.getfixturevalue(approver)
    login(client, user)
    invoice = book["invoices"][0]

    assert f"/credit-notes/{pending.pk}/approve/" in client.get("/credit-notes/").text
    confirm = client.get(f"/credit-notes/{pending.pk}/approve/")
    assert confirm.status_code == 200 and "Approve credit note CN-00001?" in confirm.text
    response = client.post(f"/credit-notes/{pending.pk}/approve/", follow=True)

    assert "CN-00001 approved" in response.text
    pending.refresh_from_db()
    invoice.refresh_from_db()
    assert (pending.status, pending.approved_by) == (CreditNoteStatus.APPROVED, user)
    assert (invoice.amount_credited, invoice.amount_due) == (D("9.00"), D("100.00"))
    assert Activity.objects.filter(kind=ActivityKind.CREDIT_NOTE, actor_user=user).exists()
    call_command("check_consistency")


def test_void_reverses_an_approved_note_and_reopens_a_paid_invoice(
    client, book, am_alice, ar_admin, admin_user
):
    invoice = book["invoices"][0]
    note = note_for(invoice, am_alice)
    approve_credit_note(credit_note=note, approver=ar_admin)
    record_payment(
        customer=invoice.customer,
        date=TODAY,
        amount=D("100"),
        currency="SGD",
        allocations=[(invoice, D("100"))],
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    login(client, admin_user)

    confirm = client.get(f"/credit-notes/{note.pk}/void/")
    response = client.post(f"/credit-notes/{note.pk}/void/", follow=True)

    assert "gives 9.00 SGD back to invoice INV-0001" in confirm.text
    assert "CN-00001 is void" in response.text
    note.refresh_from_db()
    invoice.refresh_from_db()
    assert note.status == CreditNoteStatus.VOID
    assert (invoice.amount_credited, invoice.amount_due, invoice.status) == (
        D("0.00"),
        D("9.00"),
        InvoiceStatus.OPEN,
    )
    entry = Activity.objects.filter(kind=ActivityKind.CREDIT_NOTE).order_by("-id").first()
    assert entry.data["status"] == "void" and entry.data["invoice_reopened"] is True
    call_command("check_consistency")


def test_an_account_manager_can_withdraw_their_pending_note_but_not_void_an_approved_one(
    client, book, am_alice, ar_admin
):
    invoice = book["invoices"][0]
    mine = note_for(invoice, am_alice)
    approved = note_for(invoice, am_alice, number="CN-00002", amount="5")
    approve_credit_note(credit_note=approved, approver=ar_admin)
    login(client, am_alice)

    client.post(f"/credit-notes/{mine.pk}/void/")
    response = client.post(f"/credit-notes/{approved.pk}/void/", follow=True)

    mine.refresh_from_db()
    approved.refresh_from_db()
    assert mine.status == CreditNoteStatus.VOID
    assert (
        approved.status == CreditNoteStatus.APPROVED and "may void an approved credit note" in response.text
    )
    invoice.refresh_from_db()
    assert invoice.amount_credited == D("5.00")
    call_command("check_consistency")


def test_pending_notes_come_first_and_the_status_filter_works(client, book, am_alice, ar_admin):
    older = note_for(book["invoices"][0], am_alice, number="CN-00001", amount="1")
    approve_credit_note(credit_note=older, approver=ar_admin)
    create_credit_note(customer=book["acme"], number="CN-00002", date=TODAY - dt.timedelta(days=30), amount=D("2"),
                       created_by=am_alice)  # fmt: skip
    login(client, am_alice)

    listing = client.get("/credit-notes/")
    approved_only = client.get("/credit-notes/", {"status": "approved"}, headers={"HX-Request": "true"})

    assert [n.number for n in listing.context["page"].object_list] == ["CN-00002", "CN-00001"]
    assert [n.number for n in approved_only.context["page"].object_list] == ["CN-00001"]
    assert "<html" not in approved_only.text


def test_export_holds_the_visible_notes(client, book, am_alice, am_bob):
    note_for(book["invoices"][0], am_alice)
    note_for(book["invoices"][3], am_bob, number="CN-00077")
    login(client, am_alice)

    response = client.get("/credit-notes/export.xlsx")

    rows = [
        list(r)
        for r in load_workbook(io.BytesIO(response.content), read_only=True)
        .worksheets[0]
        .iter_rows(values_only=True)
    ]
    assert rows[0][:8] == [
        "Number",
        "Date",
        "Customer ID",
        "Customer name",
        "Invoice number",
        "Amount",
        "Currency",
        "Status",
    ]
    assert [row[0] for row in rows[1:]] == ["CN-00001"]


def test_the_invoice_options_follow_the_customer(client, book, am_alice):
    login(client, am_alice)

    response = client.get("/credit-notes/new/invoices/", {"customer": book["globex"].pk})

    assert "INV-0002" in response.text and "INV-0001" not in response.text and 'value="USD"' in response.text


def test_the_invoice_options_refuse_a_customer_outside_visibility(client, book, am_bob, auditor):
    login(client, am_bob)
    assert client.get("/credit-notes/new/invoices/", {"customer": book["acme"].pk}).status_code == 404
    login(client, auditor)
    assert client.get("/credit-notes/new/invoices/", {"customer": book["acme"].pk}).status_code == 403


def test_the_confirm_page_warns_when_the_invoice_no_longer_owes_enough(client, book, pending, ar_admin):
    invoice = book["invoices"][0]
    record_payment(
        customer=invoice.customer,
        date=TODAY,
        amount=D("109"),
        currency="SGD",
        allocations=[(invoice, D("109"))],
    )
    login(client, ar_admin)

    confirm = client.get(f"/credit-notes/{pending.pk}/approve/")
    refused = client.post(f"/credit-notes/{pending.pk}/approve/", follow=True)

    assert "Approval would be refused" in confirm.text and "INV-0001 is paid" in confirm.text
    assert "Invoice INV-0001 is paid" in refused.text
    pending.refresh_from_db()
    assert pending.status == CreditNoteStatus.PENDING_APPROVAL
    call_command("check_consistency")
