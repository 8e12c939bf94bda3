"""User-written text never runs as HTML or script, wherever it is shown.

Text with a <script> tag and an attribute break-out ("><img onerror=…>) is written into every place
text goes in — through the product's forms where there is one, its services otherwise — and every
page, partial, preview, email and PDF template that shows it is fetched: the raw tags never appear,
and the text is shown escaped (so the test would notice a page that drops it instead).
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from customers import services as customer_services
from customers.models import Contact, Customer
from disputes.models import Dispute, DisputeReason
from invoices.models import CreditNote, CreditNoteStatus, Invoice, InvoiceLine, Payment
from invoices.pdf import invoice_context
from peakflo.models import Company, Holiday
from tests.conftest import PASSWORD
from tests.peakflo.test_settings_company import valid as company_form
from tests.portal.conftest import sign_in_client
from workflows.adhoc import send_adhoc_message
from workflows.models import Action, Task, Workflow

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
RAW = ("<script>alert(1)", "<img src=x onerror")
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def evil(label, limit=None):
    text = f"{label} {SCRIPT}{BREAKOUT}"
    return text[:limit] if limit else text


def assert_inert(where, html):
    for raw in RAW:
        assert raw not in html, (
            f"{where} shows user text as HTML: …{html[max(html.find(raw) - 200, 0) :][:400]}…"
        )


@pytest.fixture
def book(db, admin_user, am_alice, django_capture_on_commit_callbacks):
    admin, staff, portal = Client(), Client(), Client()
    assert admin.login(email=admin_user.email, password=PASSWORD)
    assert staff.login(email=am_alice.email, password=PASSWORD)
    for user, label in ((admin_user, "Ada"), (am_alice, "Alice")):
        user.name = evil(label, 150)
        user.save()
    today = Company.load().today()
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(
            reverse("settings_company"),
            company_form(name=evil("Company", 200), invoice_footer=evil("Footer"), address=evil("Street")),
        ).status_code in (200, 302)
        assert Company.load().name == evil("Company", 200)
        workflow = Workflow.objects.create(name=evil("Workflow", 120), description=evil("Described"))
        action = Action.objects.create(
            workflow=workflow,
            name=evil("Step", 120),
            subject=evil("Subject {{ customerName }}"),
            body=evil("Body for {{ customerName }}") + "\n{{ table_outstanding_invoices }}",
            days=1,
        )
        customer = customer_services.create_customer(
            actor=admin_user,
            code="X-001",
            name=evil("Customer", 200),
            account_manager=am_alice,
            new_tags=[SCRIPT],
            workflow=workflow,
        )
        contact = Contact.objects.create(
            customer=customer,
            name=evil("Contact", 150),
            email="ann@x.test",
            phone="+6590000000",
            is_main=True,
        )
        assert (
            staff.post(reverse("customer_add_note", args=[customer.pk]), {"text": evil("Note")}).status_code
            == 302
        )
        invoices = [
            Invoice.objects.create(
                number=f"X-INV-{n}" if n < 3 else evil("N", 64),
                customer=customer,
                currency="SGD",
                issue_date=today - dt.timedelta(days=60),
                due_date=today - dt.timedelta(days=30),
                subtotal=Decimal("100.00"),
                total=Decimal("100.00"),
                amount_due=Decimal("100.00"),
                reference=evil("Reference", 200),
            )
            for n in (1, 2, 3)
        ]
        for invoice in invoices:
            InvoiceLine.objects.create(
                invoice=invoice,
                description=evil("Line"),
                unit_price=Decimal("100.00"),
                amount=Decimal("100.00"),
            )
        reason = DisputeReason.objects.create(name=evil("Reason", 120))
        assert (
            staff.post(
                reverse("dispute_raise", args=[invoices[0].pk]),
                {"reason": reason.pk, "comment": evil("Dispute")},
            ).status_code
            == 302
        )
        dispute = Dispute.objects.get(invoice=invoices[0])
        assert (
            staff.post(reverse("dispute_comment", args=[dispute.pk]), {"body": evil("Comment")}).status_code
            == 302
        )
        assert staff.post(
            reverse("task_add", args=[customer.pk]),
            {
                "kind": "phone_call",
                "title": evil("Task", 200),
                "due_on": today.isoformat(),
                "owner": am_alice.pk,
                "invoice": invoices[0].pk,
                "details": evil("Details"),
            },
        ).status_code in (200, 302)
        task = Task.objects.get(customer=customer)
        CreditNote.objects.create(
            number="X-CN-1",
            customer=customer,
            invoice=invoices[1],
            date=today,
            amount=Decimal("10.00"),
            currency="SGD",
            reason=evil("Credit"),
            status=CreditNoteStatus.APPROVED,
        )
        Payment.objects.create(
            customer=customer,
            date=today,
            amount=Decimal("5.00"),
            currency="SGD",
            reference=evil("Payment", 200),
        )
        Holiday.objects.create(date=today + dt.timedelta(days=5), name=evil("Holiday", 120))
        sign_in_client(portal, contact)
        assert portal.post("/portal/messages/", {"body": evil("Question")}).status_code in (200, 302)
        assert (
            portal.post(
                f"/portal/invoices/{invoices[1].pk}/dispute/",
                {"reason": reason.pk, "comment": evil("Portal dispute")},
            ).status_code
            == 302
        )
        portal_dispute = Dispute.objects.get(invoice=invoices[1])
        assert (
            portal.post(f"/portal/disputes/{portal_dispute.pk}/", {"body": evil("Answer")}).status_code == 302
        )
    return {
        "admin": admin,
        "staff": staff,
        "portal": portal,
        "customer": customer,
        "contact": contact,
        "invoices": invoices,
        "dispute": dispute,
        "portal_dispute": portal_dispute,
        "task": task,
        "workflow": workflow,
        "action": action,
        "users": (admin_user, am_alice),
    }


def staff_pages(b):
    customer, invoice, alice = b["customer"], b["invoices"][0], b["users"][1]
    yield from [
        ("dashboard", {}),
        ("customers", {}),
        ("customers", {"q": "Customer"}),
        ("customer_detail", {"args": [customer.pk]}),
        ("customer_timeline", {"args": [customer.pk]}),
        ("customer_edit", {"args": [customer.pk]}),
        ("customer_portal_messages", {"args": [customer.pk]}),
        ("customer_message", {"args": [customer.pk]}),
        ("invoices", {}),
        ("invoice_detail", {"args": [invoice.pk]}),
        ("invoice_edit", {"args": [b["invoices"][1].pk]}),
        ("payments", {}),
        ("credit_notes", {}),
        ("actions", {"query": {"owner": "anyone"}}),
        ("task_detail", {"args": [b["task"].pk]}),
        ("task_add", {"args": [customer.pk]}),
        ("disputes", {}),
        ("dispute_detail", {"args": [b["dispute"].pk]}),
        ("dispute_detail", {"args": [b["portal_dispute"].pk]}),
        ("dispute_raise", {"args": [b["invoices"][2].pk]}),
        ("reports", {}),
        ("report_invoice_status", {}),
        ("report_customer_status", {}),
        ("report_aging_by_manager", {}),
        ("report_dashboard_aging", {}),
        ("report_disputes", {}),
        ("report_actions", {}),
        ("report_credit_control", {}),
        ("report_team_activity", {}),
        ("settings_index", {}),
        ("settings_company", {}),
        ("settings_holidays", {}),
        ("settings_users", {}),
        ("settings_user_edit", {"args": [alice.pk]}),
        ("workflows", {}),
        ("workflow_edit", {"args": [b["workflow"].pk]}),
        ("action_edit", {"args": [b["action"].pk]}),
        ("dispute_reasons", {}),
        ("credit_note_add", {}),
        ("payment_add", {}),
    ]


PORTAL_PAGES = [
    "/portal/",
    "/portal/invoices/",
    "/portal/invoices/{invoice}/",
    "/portal/invoices/{undisputed}/dispute/",
    "/portal/credit-notes/",
    "/portal/payments/",
    "/portal/statement/",
    "/portal/disputes/",
    "/portal/disputes/{dispute}/",
    "/portal/messages/",
    "/portal/pay/",
]


def test_no_staff_page_shows_user_text_as_html(book):
    shown = set()
    for client in (book["admin"], book["staff"]):
        for name, how in staff_pages(book):
            response = client.get(reverse(name, args=how.get("args", [])), how.get("query", {}))
            where = f"{name} {how}"
            if client is book["staff"] and response.status_code == 403:
                continue  # a settings page: the admin's visit above covers it
            assert response.status_code == 200, f"{where}: {response.status_code}"
            html = response.content.decode()
            assert_inert(where, html)
            if ESCAPED in html:
                shown.add(name)
    # The text is there, escaped, on the pages that show it (not dropped).
    expected = {"customer_detail", "customer_timeline", "customers", "invoice_detail", "dispute_detail", "actions",
                "task_detail", "disputes", "credit_notes", "payments", "settings_holidays", "settings_users",
                "workflow_edit", "action_edit", "report_customer_status", "report_credit_control", "dashboard"}  # fmt: skip
    assert expected - shown == set()


def test_no_portal_page_shows_user_text_as_html(book):
    shown = []
    for path in PORTAL_PAGES:
        path = path.format(
            invoice=book["invoices"][1].pk,
            undisputed=book["invoices"][2].pk,
            dispute=book["portal_dispute"].pk,
        )
        response = book["portal"].get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        html = response.content.decode()
        assert_inert(path, html)
        shown += [path] if ESCAPED in html else []
    assert {"/portal/", f"/portal/disputes/{book['portal_dispute'].pk}/", "/portal/messages/"} <= set(shown)


@pytest.mark.parametrize("action_type", ["email", "sms", "whatsapp", "phone_call", "letter"])
def test_the_action_editors_live_preview_escapes_the_text(book, action_type):
    response = book["admin"].post(
        reverse("action_preview"),
        {
            "action_type": action_type,
            "subject": evil("Subject {{ customerName }}"),
            "body": evil(
                "Hello {{ recipientName }} for {{ accountManagerName }} at {{ companyName }} about {{ invoiceNumber }}"
            )
            + "\n{{ table_outstanding_invoices }}",
        },
    )

    assert response.status_code == 200
    assert_inert(f"action preview ({action_type})", response.content.decode())
    assert ESCAPED in response.content.decode()


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_the_hand_written_messages_preview_escapes_the_text_and_the_customers_values(book, channel):
    customer = book["customer"]
    response = book["staff"].post(
        reverse("customer_message_preview", args=[customer.pk]),
        {
            "channel": channel,
            "contact": book["contact"].pk,
            "subject": evil("Subject {{ customerName }}"),
            "body": evil(
                "Dear {{ recipientName }} for {{ accountManagerName }} at {{ companyName }} about {{ invoiceNumber }} of {{ customerName }}"
            )
            + "\n{{ table_outstanding_invoices }}",
            "invoices": [invoice.pk for invoice in book["invoices"]],
        },
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert_inert(f"message preview ({channel})", html)
    assert ESCAPED in html


def test_emails_and_the_invoice_pdf_escape_the_text(book, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send_adhoc_message(
            customer=book["customer"],
            channel="email",
            contact=book["contact"],
            subject=evil("Subject {{ customerName }}"),
            body=evil("Dear {{ recipientName }} of {{ customerName }}")
            + "\n{{ table_outstanding_invoices }}",
            actor=book["users"][1],
        )
    html_parts = [
        (f"email {message.subject!r}", content)
        for message in mail.outbox
        for content, mimetype in getattr(message, "alternatives", [])
        if mimetype == "text/html"
    ]
    assert mail.outbox, "writing the book sends emails (a dispute, a portal question)"
    assert len(html_parts) >= 3  # the dispute and portal emails, and the reminder written by hand
    for where, content in html_parts:
        assert_inert(where, content)
    assert ESCAPED in html_parts[-1][1]
    pdf_html = render_to_string("invoices/pdf.html", invoice_context(book["invoices"][0]))
    assert_inert("invoice PDF", pdf_html)
    assert ESCAPED in pdf_html


def test_the_stored_text_is_kept_as_written(book):
    """Escaping is done when shown, never by changing what the user wrote."""
    assert Customer.objects.get(code="X-001").name == evil("Customer", 200)
    assert book["task"].details == evil("Details")
