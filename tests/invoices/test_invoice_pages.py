import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from customers.models import Activity, ActivityKind, CustomerFile, Source
from invoices.models import Invoice, InvoiceStatus, Payment
from invoices.services import LineInput, issue_invoice, record_payment
from peakflo.models import Company
from tests.conftest import PASSWORD

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def manual(book):
    today = dt.date.today()
    return issue_invoice(
        customer=book["acme"],
        number="M-0001",
        issue_date=today,
        due_date=today + dt.timedelta(days=30),
        lines=[LineInput("Consulting", Decimal(2), Decimal("150.00"), Decimal(9))],
    )


@pytest.fixture
def from_accounting(book):
    invoice = book["invoices"][0]
    Invoice.objects.filter(pk=invoice.pk).update(source=Source.ACCOUNTING, external_id="xero-1")
    invoice.refresh_from_db()
    return invoice


def line_post(lines, **fields):
    data = {"lines-TOTAL_FORMS": str(len(lines)), "lines-INITIAL_FORMS": "0", **fields}
    for i, (description, quantity, price, tax) in enumerate(lines):
        data |= {f"lines-{i}-description": description, f"lines-{i}-quantity": quantity,
                 f"lines-{i}-unit_price": price, f"lines-{i}-tax_rate": tax}  # fmt: skip
    return data


def consistent():
    call_command("check_consistency")  # raises CommandError when amounts disagree


# --- who may do what ---------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, manual):
    for url in [
        reverse("invoice_detail", args=[manual.pk]),
        reverse("invoice_add"),
        reverse("invoice_edit", args=[manual.pk]),
        reverse("invoice_void", args=[manual.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"], url


@pytest.mark.parametrize(
    "name,method",
    [
        ("invoice_detail", "get"),
        ("invoice_edit", "get"),
        ("invoice_void", "get"),
        ("invoice_void", "post"),
        ("invoice_mark_paid", "post"),
        ("invoice_attach", "post"),
    ],
)
def test_an_account_manager_outside_the_visibility_rule_gets_404(client, book, am_alice, name, method):
    hooli_invoice = book["invoices"][3]  # Bob's customer; Alice is no viewer
    login(client, am_alice)

    response = getattr(client, method)(reverse(name, args=[hooli_invoice.pk]))

    assert response.status_code == 404
    hooli_invoice.refresh_from_db()
    assert hooli_invoice.status == InvoiceStatus.OPEN


def test_files_of_invisible_invoices_are_not_served(client, book, am_alice, am_bob):
    hooli_invoice = book["invoices"][3]
    kept = CustomerFile.objects.create(
        customer=book["hooli"], invoice=hooli_invoice, file=SimpleUploadedFile("a.png", PNG),
        name="a.png", content_type="image/png", size=len(PNG),
    )  # fmt: skip
    login(client, am_alice)
    assert client.get(reverse("invoice_file", args=[hooli_invoice.pk, kept.pk])).status_code == 404
    login(client, am_bob)
    assert client.get(reverse("invoice_file", args=[hooli_invoice.pk, kept.pk])).status_code == 200


def test_an_account_manager_may_open_invoices_of_customers_they_view(client, book, am_alice):
    login(client, am_alice)

    response = client.get(reverse("invoice_detail", args=[book["invoices"][2].pk]))  # Initech: viewer

    assert response.status_code == 200 and b"INV-0003" in response.content


@pytest.mark.parametrize(
    "name,method",
    [
        ("invoice_add", "get"),
        ("invoice_add", "post"),
        ("invoice_edit", "get"),
        ("invoice_edit", "post"),
        ("invoice_void", "get"),
        ("invoice_void", "post"),
        ("invoice_mark_paid", "post"),
        ("invoice_attach", "post"),
    ],
)
def test_auditors_may_look_but_not_write(client, manual, auditor, name, method):
    login(client, auditor)
    args = [] if name == "invoice_add" else [manual.pk]

    response = getattr(client, method)(reverse(name, args=args))

    assert response.status_code == 403
    manual.refresh_from_db()
    assert manual.status == InvoiceStatus.OPEN and manual.amount_paid == 0


def test_auditors_see_the_invoice_without_its_action_buttons(client, manual, auditor):
    login(client, auditor)

    html = client.get(reverse("invoice_detail", args=[manual.pk])).content.decode()

    assert "M-0001" in html and "Download PDF" in html
    for action in ("invoice_edit", "invoice_void", "invoice_mark_paid", "invoice_attach"):
        assert reverse(action, args=[manual.pk]) not in html


# --- the invoice page ------------------------------------------------------------------------------


def test_the_page_shows_lines_totals_payments_and_customer(client, manual, am_alice):
    record_payment(
        customer=manual.customer, date=dt.date.today(), amount=Decimal("100"), currency="SGD",
        allocations=[(manual, Decimal("100"))], reference="BANK-REF-77",
    )  # fmt: skip
    login(client, am_alice)

    html = client.get(reverse("invoice_detail", args=[manual.pk])).content.decode()

    assert "Consulting" in html and "SGD\xa0327.00" in html  # 2 × 150 + 9% tax
    assert "BANK-REF-77" in html and "Partly paid" in html
    assert reverse("customer_detail", args=[manual.customer_id]) in html


# --- create ---------------------------------------------------------------------------------------


def test_the_add_page_suggests_the_next_number_and_the_customers_terms(client, book, am_alice):
    login(client, am_alice)

    response = client.get(reverse("invoice_add"), {"customer": book["globex"].pk})

    form = response.context["form"]
    assert form.initial["number"] == "INV-0006"
    assert form.initial["currency"] == "USD"
    # The company's today (Singapore), not the server's: they differ for eight hours a day.
    assert form.initial["due_date"] == Company.load().today() + dt.timedelta(days=30)
    # only visible customers are offered
    assert set(form.fields["customer"].queryset) == {book["acme"], book["globex"], book["initech"]}


def test_creating_an_invoice_with_lines_computes_totals_and_records_the_timeline(client, book, am_alice):
    login(client, am_alice)
    data = line_post(
        [("Design", "3", "100", "9"), ("Hosting", "1", "49.99", "")],
        customer=book["acme"].pk, number="NEW-1", issue_date="2026-03-01", due_date="",
        currency="", exchange_rate="1", reference="PO-9",
    )  # fmt: skip

    response = client.post(reverse("invoice_add"), data)

    invoice = Invoice.objects.get(number="NEW-1")
    assert response.status_code == 302 and response["Location"] == reverse(
        "invoice_detail", args=[invoice.pk]
    )
    assert invoice.subtotal == Decimal("349.99") and invoice.tax == Decimal("27.00")
    assert invoice.total == invoice.amount_due == Decimal("376.99")
    assert invoice.currency == "SGD" and invoice.due_date == dt.date(2026, 3, 31)  # customer's terms
    assert [line.description for line in invoice.lines.all()] == ["Design", "Hosting"]
    assert Activity.objects.filter(
        invoice=invoice, kind=ActivityKind.INVOICE_ISSUED, actor_user=am_alice
    ).exists()
    consistent()


def test_a_customer_outside_visibility_cannot_be_chosen(client, book, am_alice):
    login(client, am_alice)
    data = line_post([("X", "1", "10", "0")], customer=book["hooli"].pk, number="NEW-2",
                     issue_date="2026-03-01", exchange_rate="1")  # fmt: skip

    response = client.post(reverse("invoice_add"), data)

    assert response.status_code == 200 and "customer" in response.context["form"].errors
    assert not Invoice.objects.filter(number="NEW-2").exists()


def test_an_invoice_needs_a_line_and_a_free_number(client, book, am_alice):
    login(client, am_alice)
    no_lines = line_post([], customer=book["acme"].pk, number="NEW-3",
                         issue_date="2026-03-01", exchange_rate="1")  # fmt: skip
    taken = line_post([("X", "1", "10", "0")], customer=book["acme"].pk, number="INV-0001",
                      issue_date="2026-03-01", exchange_rate="1")  # fmt: skip

    assert "at least one line" in client.post(reverse("invoice_add"), no_lines).content.decode()
    assert "INV-0001 already exists" in client.post(reverse("invoice_add"), taken).content.decode()
    assert not Invoice.objects.filter(number="NEW-3").exists()


def test_add_line_without_javascript_posts_back_one_more_row(client, book, am_alice):
    login(client, am_alice)
    data = line_post([("Design", "1", "10", "0")], customer=book["acme"].pk, number="NEW-4",
                     issue_date="2026-03-01", exchange_rate="1", add_line="1")  # fmt: skip

    response = client.post(reverse("invoice_add"), data)

    assert response.status_code == 200 and len(response.context["lines"].forms) == 2
    assert not Invoice.objects.filter(number="NEW-4").exists()


# --- edit -----------------------------------------------------------------------------------------


def test_editing_lines_recomputes_totals_and_records_the_change(client, manual, am_alice):
    login(client, am_alice)
    data = line_post([("Consulting", "3", "150.00", "9")], number="M-0001", issue_date=manual.issue_date,
                     due_date=manual.due_date, currency="SGD", exchange_rate="1", reference="")  # fmt: skip

    response = client.post(reverse("invoice_edit", args=[manual.pk]), data)

    assert response.status_code == 302
    manual.refresh_from_db()
    assert manual.total == manual.amount_due == Decimal("490.50")
    change = Activity.objects.get(invoice=manual, kind=ActivityKind.INVOICE_CHANGED)
    assert change.data["changes"]["total"] == ["327.00", "490.50"]
    consistent()


def test_the_edit_page_shows_the_existing_lines(client, manual, am_alice):
    login(client, am_alice)

    response = client.get(reverse("invoice_edit", args=[manual.pk]))

    assert response.context["lines"].forms[0].initial["description"] == "Consulting"


def test_a_paid_invoice_only_changes_dates_and_says_so(client, manual, am_alice):
    record_payment(customer=manual.customer, date=dt.date.today(), amount=Decimal("10"), currency="SGD",
                   allocations=[(manual, Decimal("10"))])  # fmt: skip
    login(client, am_alice)

    page = client.get(reverse("invoice_edit", args=[manual.pk]))
    new_due = manual.due_date + dt.timedelta(days=14)
    response = client.post(
        reverse("invoice_edit", args=[manual.pk]),
        {"issue_date": manual.issue_date, "due_date": new_due, "reference": "extended", "number": "HACK"},
    )

    assert "only its dates and reference can change" in page.content.decode()
    assert response.status_code == 302
    manual.refresh_from_db()
    assert manual.due_date == new_due and manual.reference == "extended" and manual.number == "M-0001"
    consistent()


def test_editing_an_accounting_invoice_is_refused_with_a_message(client, from_accounting, admin_user):
    login(client, admin_user)
    before = Invoice.objects.values().get(pk=from_accounting.pk)
    data = line_post([("Changed", "1", "1", "0")], number="CHANGED", issue_date="2026-01-01",
                     due_date="2026-01-02", exchange_rate="1")  # fmt: skip

    response = client.post(reverse("invoice_edit", args=[from_accounting.pk]), data, follow=True)

    assert "came from the accounting system" in response.content.decode()
    assert Invoice.objects.values().get(pk=from_accounting.pk) == before
    assert not Activity.objects.filter(kind=ActivityKind.INVOICE_CHANGED).exists()


# --- void -----------------------------------------------------------------------------------------


def test_void_asks_first_then_voids_and_records_the_timeline(client, manual, am_alice):
    login(client, am_alice)

    confirm = client.get(reverse("invoice_void", args=[manual.pk]))
    manual.refresh_from_db()
    assert manual.status == InvoiceStatus.OPEN and "Void invoice M-0001" in confirm.content.decode()

    response = client.post(reverse("invoice_void", args=[manual.pk]), {"reason": "Raised twice"})

    assert response.status_code == 302
    manual.refresh_from_db()
    assert manual.status == InvoiceStatus.VOID
    voided = Activity.objects.get(invoice=manual, kind=ActivityKind.INVOICE_VOIDED)
    assert voided.data["reason"] == "Raised twice" and voided.actor_user == am_alice
    consistent()


def test_voiding_an_accounting_invoice_is_refused_with_a_message(client, from_accounting, admin_user):
    login(client, admin_user)

    confirm = client.get(reverse("invoice_void", args=[from_accounting.pk]))
    response = client.post(reverse("invoice_void", args=[from_accounting.pk]), follow=True)

    for page in (confirm, response):
        assert "came from the accounting system, so it cannot be voided here" in page.content.decode()
    from_accounting.refresh_from_db()
    assert from_accounting.status == InvoiceStatus.OPEN
    assert not Activity.objects.filter(kind=ActivityKind.INVOICE_VOIDED).exists()


def test_an_invoice_with_payments_cannot_be_voided(client, manual, am_alice):
    record_payment(customer=manual.customer, date=dt.date.today(), amount=Decimal("10"), currency="SGD",
                   allocations=[(manual, Decimal("10"))])  # fmt: skip
    login(client, am_alice)

    response = client.post(reverse("invoice_void", args=[manual.pk]), follow=True)

    assert "has payments or credits against it" in response.content.decode()
    manual.refresh_from_db()
    assert manual.status == InvoiceStatus.OPEN


# --- mark paid and attach -------------------------------------------------------------------------


def test_mark_paid_records_a_payment_for_the_amount_due(client, manual, am_alice):
    record_payment(customer=manual.customer, date=dt.date.today(), amount=Decimal("27"), currency="SGD",
                   allocations=[(manual, Decimal("27"))])  # fmt: skip
    login(client, am_alice)

    response = client.post(
        reverse("invoice_mark_paid", args=[manual.pk]),
        {"date": dt.date.today().isoformat(), "method": "bank_transfer", "reference": "TT-1"},
    )

    assert response.status_code == 302
    manual.refresh_from_db()
    assert manual.status == InvoiceStatus.PAID and manual.amount_due == 0
    payment = Payment.objects.get(reference="TT-1")
    assert payment.amount == Decimal("300.00") and payment.created_by == am_alice
    assert Activity.objects.filter(invoice=manual, kind=ActivityKind.INVOICE_PAID).exists()
    consistent()


def test_mark_paid_of_an_accounting_invoice_records_the_payment_too(client, from_accounting, am_alice):
    login(client, am_alice)

    client.post(
        reverse("invoice_mark_paid", args=[from_accounting.pk]), {"date": "2026-01-05", "method": "cash"}
    )

    from_accounting.refresh_from_db()
    assert from_accounting.status == InvoiceStatus.PAID
    consistent()


def test_marking_a_paid_invoice_paid_again_changes_nothing(client, manual, am_alice):
    login(client, am_alice)
    paid = {"date": dt.date.today().isoformat(), "method": "cash"}
    client.post(reverse("invoice_mark_paid", args=[manual.pk]), paid)

    response = client.post(reverse("invoice_mark_paid", args=[manual.pk]), paid, follow=True)

    assert "nothing is due on it" in response.content.decode()
    assert Payment.objects.count() == 1
    consistent()


def test_attaching_a_file_keeps_it_with_the_invoice_and_the_timeline(client, manual, am_alice):
    login(client, am_alice)

    client.post(
        reverse("invoice_attach", args=[manual.pk]),
        {"file": SimpleUploadedFile("remittance.png", PNG), "description": "Remittance advice"},
    )

    kept = CustomerFile.objects.get(invoice=manual)
    assert kept.customer == manual.customer and kept.content_type == "image/png"
    assert Activity.objects.filter(invoice=manual, kind=ActivityKind.FILE).exists()
    page = client.get(reverse("invoice_detail", args=[manual.pk])).content.decode()
    assert reverse("invoice_file", args=[manual.pk, kept.pk]) in page
    assert client.get(reverse("invoice_file", args=[manual.pk, kept.pk])).status_code == 200


def test_a_file_that_is_not_what_it_claims_is_refused(client, manual, am_alice):
    login(client, am_alice)

    response = client.post(
        reverse("invoice_attach", args=[manual.pk]),
        {"file": SimpleUploadedFile("evil.png", b"MZ\x90\x00\x03" + b"\x00" * 100)},
        follow=True,
    )

    assert "not an accepted kind of file" in response.content.decode()
    assert not CustomerFile.objects.exists()
