"""Recording payments by hand and the payments list: access, allocation, refusals that save nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from customers.models import Activity, ActivityKind
from invoices.models import InvoiceStatus, Payment, PaymentAllocation
from invoices.services import record_payment
from tests.conftest import PASSWORD

D = Decimal
TODAY = dt.date(2026, 3, 1)


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def form_data(customer, amount, allocations=None, **extra):
    data = {
        "customer": customer.pk,
        "date": TODAY.isoformat(),
        "amount": str(amount),
        "currency": customer.currency,
        "method": "bank_transfer",
        "reference": "TT-777",
        **extra,
    }
    for invoice, value in (allocations or {}).items():
        data[f"alloc-{invoice.pk}"] = str(value)
    return data


def assert_consistent():
    call_command("check_consistency")  # raises CommandError (exit 1) when anything disagrees


@pytest.mark.parametrize(
    "path",
    ["/payments/", "/payments/new/", "/payments/new/allocations/", "/payments/import/", "/payments/export/"],
)
def test_anonymous_goes_to_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_outsiders_get_404(client, book, am_bob):
    login(client, am_bob)
    acme = book["acme"]

    assert client.get(f"/payments/new/?customer={acme.pk}").status_code == 404
    assert client.get(f"/payments/new/allocations/?customer={acme.pk}").status_code == 404
    response = client.post("/payments/new/", form_data(acme, 109, {book["invoices"][0]: 109}))
    assert response.status_code == 404
    assert not Payment.objects.exists()


def test_auditors_may_look_but_not_record(client, book, auditor):
    login(client, auditor)
    acme = book["acme"]

    assert client.get("/payments/").status_code == 200
    assert client.get("/payments/new/").status_code == 403
    assert client.post("/payments/new/", form_data(acme, 109)).status_code == 403
    assert client.get(f"/payments/new/allocations/?customer={acme.pk}").status_code == 403
    assert client.get("/payments/import/").status_code == 403
    assert not Payment.objects.exists()


def test_the_list_shows_only_visible_payments_and_filters(client, book, am_alice, am_bob):
    acme, hooli = book["acme"], book["hooli"]
    record_payment(
        customer=acme, date=TODAY, amount=D("50"), currency="SGD", allocations=[], reference="ACME-1"
    )
    record_payment(
        customer=hooli, date=TODAY, amount=D("70"), currency="IDR", allocations=[], reference="HOOLI-1"
    )
    login(client, am_alice)

    response = client.get("/payments/")
    assert response.status_code == 200
    assert "ACME-1" in response.text and "HOOLI-1" not in response.text

    assert "ACME-1" not in client.get("/payments/?q=nothing").text
    assert "ACME-1" in client.get("/payments/?q=acme").text
    assert "ACME-1" not in client.get(f"/payments/?date_from={TODAY + dt.timedelta(days=1)}").text
    assert "ACME-1" in client.get("/payments/?method=bank_transfer&source=manual").text
    partial = client.get("/payments/?q=acme", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "ACME-1" in partial.text

    client.logout()
    login(client, am_bob)
    assert "ACME-1" not in client.get("/payments/").text


def test_the_form_offers_only_visible_customers_and_their_open_invoices(client, book, am_alice):
    login(client, am_alice)

    response = client.get(f"/payments/new/?customer={book['acme'].pk}")

    assert response.status_code == 200
    customers = set(response.context["form"].fields["customer"].queryset.values_list("code", flat=True))
    assert customers == {"C-001", "C-002", "C-003"}
    assert "INV-0001" in response.text and "INV-0002" not in response.text
    assert 'value="SGD"' in response.text

    partial = client.get(f"/payments/new/allocations/?customer={book['globex'].pk}&changed=customer")
    assert "INV-0002" in partial.text and "INV-0001" not in partial.text
    assert 'hx-swap-oob="true"' in partial.text and 'value="USD"' in partial.text


def test_a_partial_payment_leaves_the_rest_unallocated(client, book, am_alice):
    login(client, am_alice)
    acme, invoice = book["acme"], book["invoices"][0]

    response = client.post("/payments/new/", form_data(acme, "200.00", {invoice: "109.00"}), follow=True)

    assert response.status_code == 200
    payment = Payment.objects.get()
    assert (payment.amount, payment.created_by, payment.reference) == (D("200.00"), am_alice, "TT-777")
    assert list(payment.allocations.values_list("invoice__number", "amount")) == [("INV-0001", D("109.00"))]
    invoice.refresh_from_db()
    assert (invoice.amount_due, invoice.status) == (D("0.00"), InvoiceStatus.PAID)
    text = response.text
    assert "91.00 SGD stays unallocated" in text and "109.00 to INV-0001" in text
    assert Activity.objects.filter(customer=acme, kind=ActivityKind.PAYMENT).count() == 1
    assert_consistent()


def test_part_of_an_invoice_can_be_paid(client, book, am_alice):
    login(client, am_alice)
    invoice = book["invoices"][0]

    client.post("/payments/new/", form_data(book["acme"], "40", {invoice: "40"}))

    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.amount_due, invoice.status) == (
        D("40.00"),
        D("69.00"),
        InvoiceStatus.OPEN,
    )
    assert_consistent()


def test_a_payment_with_no_allocation_stays_on_account(client, book, am_alice):
    login(client, am_alice)

    response = client.post("/payments/new/", form_data(book["acme"], "25"), follow=True)

    assert PaymentAllocation.objects.count() == 0
    assert Payment.objects.get().amount == D("25.00")
    assert "25.00 SGD stays unallocated" in response.text
    assert_consistent()


@pytest.mark.parametrize(
    "amount, allocated, message",
    [
        ("100.00", "109.00", "exceed the payment"),
        ("500.00", "150.00", "more than its amount due"),
    ],
)
def test_over_allocation_is_refused_and_nothing_is_saved(client, book, am_alice, amount, allocated, message):
    login(client, am_alice)
    invoice = book["invoices"][0]

    response = client.post("/payments/new/", form_data(book["acme"], amount, {invoice: allocated}))

    assert response.status_code == 400
    assert "Nothing was saved" in response.text and message in response.text
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.amount_due == D("109.00")
    assert not Activity.objects.filter(kind=ActivityKind.PAYMENT).exists()
    assert_consistent()


def test_a_payment_in_another_currency_than_the_invoice_is_refused(client, book, am_alice):
    login(client, am_alice)

    response = client.post(
        "/payments/new/", form_data(book["acme"], "109", {book["invoices"][0]: "109"}, currency="USD")
    )

    assert response.status_code == 400 and "is in SGD, the payment in USD" in response.text
    assert not Payment.objects.exists()


def test_text_in_an_allocation_is_shown_next_to_the_invoice(client, book, am_alice):
    login(client, am_alice)

    response = client.post("/payments/new/", form_data(book["acme"], "109", {book["invoices"][0]: "lots"}))

    assert response.status_code == 400 and "is not an amount" in response.text
    assert not Payment.objects.exists()


def test_fill_oldest_first_spreads_the_amount(client, book, am_alice):
    acme, older = book["acme"], book["invoices"][0]
    from invoices.services import LineInput, issue_invoice

    newer = issue_invoice(
        customer=acme,
        number="INV-0100",
        issue_date=dt.date.today(),
        due_date=dt.date.today() + dt.timedelta(days=30),
        lines=[LineInput("Service", D("1"), D("100"))],
    )
    login(client, am_alice)

    response = client.get(
        "/payments/new/allocations/", {"customer": acme.pk, "amount": "150", "currency": "SGD", "fill": "1"}
    )

    rows = {row["invoice"].number: row["value"] for row in response.context["rows"]}
    assert rows == {older.number: D("109.00"), newer.number: D("41.00")}
    assert response.context["summary"]["unallocated"] == D("0.00")


def test_the_summary_says_what_stays_unallocated(client, book, am_alice):
    login(client, am_alice)
    invoice = book["invoices"][0]

    response = client.get(
        "/payments/new/allocations/",
        {
            "customer": book["acme"].pk,
            "amount": "150",
            "currency": "SGD",
            f"alloc-{invoice.pk}": "100",
            "part": "summary",
        },
    )

    assert "50.00 SGD" in response.text and "stays unallocated" in response.text
