"""The admin pages of customers, invoices and workflows: they open, and lists run no query per row."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers import timeline
from customers.models import ActivityKind, Contact, Customer, Tag
from invoices.models import CreditNote, CreditNoteStatus, Invoice, InvoiceLine
from invoices.services import create_credit_note, record_payment
from tests.conftest import make_user
from workflows.models import Workflow

MODELS = [
    "customers.customer",
    "customers.contact",
    "customers.tag",
    "customers.activity",
    "invoices.invoice",
    "invoices.invoiceline",
    "invoices.payment",
    "invoices.paymentallocation",
    "invoices.creditnote",
    "workflows.workflow",
]


@pytest.fixture
def admin_user(db):
    """The admin of an installation (the seeded one too) is a superuser: every model, every permission."""
    return make_user("root@example.com", "admin", is_superuser=True)


def add_rows(book, user, n):
    """n more of everything, so a query per row would show as a growing count."""
    tag = Tag.objects.get_or_create(name="Key account")[0]
    workflow = Workflow.objects.get_or_create(name="Standard reminders")[0]
    start = Customer.objects.count()
    for i in range(start, start + n):
        customer = Customer.objects.create(
            code=f"X-{i}", name=f"Extra {i}", currency="SGD", account_manager=user, workflow=workflow
        )
        customer.tags.add(tag)
        Contact.objects.create(customer=customer, name=f"AP {i}", is_main=True)
        invoice = Invoice.objects.create(
            number=f"X-INV-{i}",
            customer=customer,
            currency="SGD",
            issue_date=dt.date(2026, 1, 1),
            due_date=dt.date(2026, 1, 31),
            subtotal=Decimal("10.00"),
            total=Decimal("10.00"),
            amount_due=Decimal("10.00"),
        )
        InvoiceLine.objects.create(
            invoice=invoice, description="Thing", unit_price=Decimal("10"), amount=Decimal("10")
        )
        record_payment(
            customer=customer,
            date=dt.date(2026, 2, 1),
            amount=Decimal("4.00"),
            currency="SGD",
            allocations=[(invoice, Decimal("4.00"))],
            created_by=user,
        )
        create_credit_note(
            customer=customer,
            number=f"X-CN-{i}",
            date=dt.date(2026, 2, 1),
            amount=Decimal("1.00"),
            invoice=invoice,
            created_by=user,
        )
        timeline.record(customer, ActivityKind.NOTE, invoice=invoice, actor=user)


def changelist_queries(client, model):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(f"admin:{model.replace('.', '_')}_changelist"))
    assert response.status_code == 200, model
    return len(queries)


@pytest.mark.parametrize("model", MODELS)
def test_changelist_queries_do_not_grow_with_rows(client, book, admin_user, model):
    client.force_login(admin_user)
    add_rows(book, admin_user, 2)
    few = changelist_queries(client, model)
    add_rows(book, admin_user, 6)
    assert changelist_queries(client, model) == few


def test_change_pages_open(client, book, admin_user):
    client.force_login(admin_user)
    add_rows(book, admin_user, 1)
    invoice = Invoice.objects.get(number="X-INV-5")
    for model, obj in [
        ("customers_customer", invoice.customer),
        ("invoices_invoice", invoice),
        ("invoices_payment", invoice.allocations.get().payment),
        ("invoices_creditnote", CreditNote.objects.get()),
    ]:
        assert client.get(reverse(f"admin:{model}_change", args=[obj.pk])).status_code == 200
    response = client.get(reverse("admin:customers_activity_change", args=[invoice.activities.first().pk]))
    assert response.status_code == 200
    assert b"Save" not in response.content  # read-only
    assert client.get(reverse("admin:customers_activity_add")).status_code == 403


def test_approve_action_goes_through_the_service(client, book, admin_user, am_alice):
    client.force_login(admin_user)
    note = create_credit_note(
        customer=book["acme"],
        number="CN-9",
        date=dt.date(2026, 2, 1),
        amount=Decimal("9.00"),
        invoice=book["invoices"][0],
        created_by=am_alice,
    )
    response = client.post(
        reverse("admin:invoices_creditnote_changelist"),
        {"action": "approve", "_selected_action": [note.pk]},
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.status == CreditNoteStatus.APPROVED and note.approved_by == admin_user
    book["invoices"][0].refresh_from_db()
    assert book["invoices"][0].amount_due == Decimal("100.00")


def test_editing_an_invoice_total_keeps_amount_due_balanced(client, book, admin_user):
    client.force_login(admin_user)
    invoice = book["invoices"][0]
    url = reverse("admin:invoices_invoice_change", args=[invoice.pk])
    data = {
        "number": invoice.number,
        "customer": invoice.customer_id,
        "status": "open",
        "source": "manual",
        "external_id": "",
        "reference": "",
        "issue_date": "2026-01-01",
        "due_date": "2026-01-31",
        "currency": "SGD",
        "exchange_rate": "1",
        "subtotal": "200.00",
        "tax": "18.00",
        "total": "218.00",
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
        "allocations-TOTAL_FORMS": "0",
        "allocations-INITIAL_FORMS": "0",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    invoice.refresh_from_db()
    assert invoice.amount_due == Decimal("218.00")
