import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from invoices.models import Invoice, InvoiceStatus
from invoices.services import LineInput, issue_invoice, record_payment
from tests.conftest import PASSWORD


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def numbers_in(response):
    return [invoice.number for invoice in response.context["page"].object_list]


def test_anonymous_is_sent_to_login(client, db):
    for name in ("invoices", "invoices_export"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login" in response["Location"]


def test_an_account_manager_sees_only_invoices_of_customers_they_may_see(client, book, am_alice):
    login(client, am_alice)

    response = client.get(reverse("invoices"))

    assert response.status_code == 200
    assert sorted(numbers_in(response)) == ["INV-0001", "INV-0002", "INV-0003"]


@pytest.mark.parametrize("role_fixture", ["admin_user", "ar_admin", "collections_user", "auditor"])
def test_roles_that_see_everything_see_every_invoice(client, book, role_fixture, request):
    login(client, request.getfixturevalue(role_fixture))

    response = client.get(reverse("invoices"))

    assert len(numbers_in(response)) == 5


def test_auditors_get_no_create_or_import_buttons(client, book, auditor):
    login(client, auditor)

    html = client.get(reverse("invoices")).content.decode()

    assert reverse("invoice_add") not in html and reverse("invoices_import") not in html


def test_filters_by_status_overdue_and_partly_paid(client, book, admin_user):
    acme = book["acme"]
    today = dt.date.today()
    future = issue_invoice(
        customer=acme,
        number="INV-FUTURE",
        issue_date=today,
        due_date=today + dt.timedelta(days=30),
        lines=[LineInput("Work", Decimal(1), Decimal("200"))],
    )
    record_payment(
        customer=acme, date=today, amount=Decimal("50"), currency="SGD", allocations=[(future, Decimal("50"))]
    )
    Invoice.objects.filter(number="INV-0005").update(status=InvoiceStatus.VOID)
    login(client, admin_user)

    overdue = numbers_in(client.get(reverse("invoices"), {"status": "overdue"}))
    partly = numbers_in(client.get(reverse("invoices"), {"status": "partly_paid"}))
    void = numbers_in(client.get(reverse("invoices"), {"status": "void"}))

    assert sorted(overdue) == ["INV-0001", "INV-0002", "INV-0003", "INV-0004"]
    assert partly == ["INV-FUTURE"]
    assert void == ["INV-0005"]


def test_filters_by_customer_manager_currency_number_and_dates(client, book, admin_user, am_bob):
    today = dt.date.today()
    Invoice.objects.filter(number="INV-0002").update(
        issue_date=today - dt.timedelta(days=5), due_date=today + dt.timedelta(days=25)
    )
    login(client, admin_user)
    invoices = reverse("invoices")

    assert numbers_in(client.get(invoices, {"customer": book["globex"].pk})) == ["INV-0002"]
    assert numbers_in(client.get(invoices, {"customer_name": "initech"})) == ["INV-0003"]
    assert sorted(numbers_in(client.get(invoices, {"account_manager": am_bob.pk}))) == [
        "INV-0003",
        "INV-0004",
    ]
    assert numbers_in(client.get(invoices, {"currency": "IDR"})) == ["INV-0004"]
    assert numbers_in(client.get(invoices, {"q": "0005"})) == ["INV-0005"]
    issued_recently = client.get(invoices, {"issued_from": (today - dt.timedelta(days=7)).isoformat()})
    assert numbers_in(issued_recently) == ["INV-0002"]
    due_soon = client.get(
        invoices, {"due_from": today.isoformat(), "due_to": (today + dt.timedelta(days=30)).isoformat()}
    )
    assert numbers_in(due_soon) == ["INV-0002"]


def test_a_customer_outside_visibility_filters_to_nothing(client, book, am_alice):
    login(client, am_alice)

    response = client.get(reverse("invoices"), {"customer": book["hooli"].pk})

    assert "INV-0004" not in numbers_in(response)


def test_sorting_by_amount_due(client, book, admin_user):
    Invoice.objects.filter(number="INV-0003").update(subtotal=1000, tax=0, total=1000, amount_due=1000)
    login(client, admin_user)

    response = client.get(reverse("invoices"), {"sort": "-amount_due"})

    assert numbers_in(response)[0] == "INV-0003"


def test_htmx_requests_get_only_the_table(client, book, am_alice):
    login(client, am_alice)

    response = client.get(reverse("invoices"), {"q": "0001"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert "<html" not in html and "INV-0001" in html and "INV-0002" not in html


def test_the_page_has_an_empty_state(client, book, admin_user):
    login(client, admin_user)

    response = client.get(reverse("invoices"), {"q": "nothing-like-this"})

    assert "No invoice matches these filters" in response.content.decode()


def test_a_page_costs_the_same_queries_for_5_or_55_invoices(client, book, admin_user):
    login(client, admin_user)
    client.get(reverse("invoices"))  # the company row is created on first use

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("invoices"))
    acme, today = book["acme"], dt.date.today()
    Invoice.objects.bulk_create(
        Invoice(
            number=f"BULK-{i:03d}",
            customer=acme,
            currency="SGD",
            issue_date=today,
            due_date=today,
            subtotal=10,
            total=10,
            amount_due=10,
        )  # fmt: skip
        for i in range(50)
    )
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("invoices"))

    assert len(numbers_in(response)) == 50
    assert len(many) == len(few)


def test_export_holds_only_the_filtered_rows_the_user_may_see(client, book, am_alice):
    login(client, am_alice)

    response = client.get(reverse("invoices_export"), {"status": "overdue", "currency": "SGD"})

    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert rows[0][:3] == ("Invoice number", "Customer ID", "Customer")
    assert [row[0] for row in rows[1:]] == ["INV-0001"]

    everything = client.get(reverse("invoices_export"))
    rows = list(load_workbook(io.BytesIO(everything.content)).active.iter_rows(values_only=True))
    assert sorted(row[0] for row in rows[1:]) == ["INV-0001", "INV-0002", "INV-0003"]
