"""The Customer Status Tracking Report: figures against hand-computed values, filters, export, visibility."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from customers.models import Activity, ActivityKind, Customer, Tag
from customers.services import add_note
from invoices.models import Invoice, InvoiceStatus, Payment, PaymentAllocation
from peakflo.models import Company
from tests.conftest import PASSWORD
from workflows.models import Task

URL = "/reports/customers/"
D = Decimal


@pytest.fixture
def today(db):
    return Company.load().today()


_numbers = iter(range(1, 10_000))


def invoice(customer, *, due, amount, status=InvoiceStatus.OPEN, amount_due=None):
    return Invoice.objects.create(
        number=f"CS-{next(_numbers):05d}",
        customer=customer,
        currency=customer.currency,
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        subtotal=D(amount),
        tax=D("0"),
        total=D(amount),
        amount_due=D(amount) if amount_due is None else D(amount_due),
        amount_paid=D(amount) - (D(amount) if amount_due is None else D(amount_due)),
        status=status,
    )


def paid(customer, *, due, amount, days_after_due):
    """An invoice paid in full `days_after_due` days after its due date (negative: early)."""
    inv = invoice(customer, due=due, amount=amount, status=InvoiceStatus.PAID, amount_due=0)
    payment = Payment.objects.create(
        customer=customer,
        date=due + dt.timedelta(days=days_after_due),
        amount=D(amount),
        currency=customer.currency,
    )
    PaymentAllocation.objects.create(payment=payment, invoice=inv, amount=D(amount))


def log_in(client, user):
    assert client.login(email=user.email, password=PASSWORD)
    return client


def rows_of(page):
    return {c.name: c for c in page.context["page"].object_list}


def test_behaviour_phrases_from_hand_computed_payment_histories(client, admin_user, am_alice, today):
    late = Customer.objects.create(code="B-1", name="Late Ltd", account_manager=am_alice)
    # (100 × 10 + 300 × 2) / 400 = 4 days late on average, weighted by amount
    paid(late, due=today - dt.timedelta(days=60), amount="100", days_after_due=10)
    paid(late, due=today - dt.timedelta(days=40), amount="300", days_after_due=2)
    early = Customer.objects.create(code="B-2", name="Early Ltd", account_manager=am_alice)
    # (200 × −5 + 100 × 1) / 300 = −3: early
    paid(early, due=today - dt.timedelta(days=50), amount="200", days_after_due=-5)
    paid(early, due=today - dt.timedelta(days=20), amount="100", days_after_due=1)
    on_time = Customer.objects.create(code="B-3", name="On Time Ltd", account_manager=am_alice)
    # (100 × 2 + 100 × −2) / 200 = 0, and −2 is still on time
    paid(on_time, due=today - dt.timedelta(days=30), amount="100", days_after_due=2)
    paid(on_time, due=today - dt.timedelta(days=10), amount="100", days_after_due=-2)
    edge = Customer.objects.create(code="B-4", name="Edge Ltd", account_manager=am_alice)
    paid(edge, due=today - dt.timedelta(days=30), amount="50", days_after_due=-3)
    old = Customer.objects.create(code="B-5", name="Old Ltd", account_manager=am_alice)
    # paid 400 days ago: outside the year, so no history counts
    paid(old, due=today - dt.timedelta(days=420), amount="100", days_after_due=20)
    Customer.objects.create(code="B-6", name="New Ltd", account_manager=am_alice)

    rows = rows_of(log_in(client, admin_user).get(URL))

    assert rows["Late Ltd"].behaviour_text == "Usually pays about 4 days late"
    assert rows["Early Ltd"].behaviour_text == "Pays early"
    assert rows["On Time Ltd"].behaviour_text == "Pays on time"
    assert rows["Edge Ltd"].behaviour_text == "Pays early"
    assert rows["Old Ltd"].behaviour_text == "No payment history yet"
    assert rows["New Ltd"].behaviour_text == "No payment history yet"
    page = client.get(URL)
    assert "Usually pays about 4 days late" in page.text

    late_only = client.get(URL, {"behaviour": "late"})
    assert set(rows_of(late_only)) == {"Late Ltd"}
    none = client.get(URL, {"behaviour": "none"})
    assert set(rows_of(none)) == {"Old Ltd", "New Ltd"}


def test_aging_buckets_sum_open_invoices_by_days_past_due(client, admin_user, am_alice, today):
    acme = Customer.objects.create(code="A-1", name="Acme", currency="SGD", account_manager=am_alice)
    for days_past_due, amount in [(-5, 10), (0, 20), (1, 30), (30, 40), (31, 50), (90, 60), (91, 70)]:
        invoice(acme, due=today - dt.timedelta(days=days_past_due), amount=amount)
    invoice(acme, due=today - dt.timedelta(days=100), amount=999, status=InvoiceStatus.VOID)
    invoice(acme, due=today - dt.timedelta(days=100), amount=999, status=InvoiceStatus.PAID, amount_due=0)
    # two tags: filtering by one of them must not multiply the sums
    acme.tags.add(Tag.objects.create(name="Key account"), Tag.objects.create(name="Slow"))

    log_in(client, admin_user)
    for params in ({}, {"tag": Tag.objects.get(name="Slow").pk}):
        row = rows_of(client.get(URL, params))["Acme"]
        assert (row.current, row.d1_30, row.d31_60, row.d61_90, row.d90_plus) == (
            D("30.00"), D("70.00"), D("50.00"), D("60.00"), D("70.00"),
        )  # fmt: skip
        assert row.balance == D("280.00") and row.overdue == D("250.00")


def test_filters_on_name_manager_promise_date_and_tag(client, admin_user, am_alice, am_bob, today):
    vip = Tag.objects.create(name="VIP")
    a = Customer.objects.create(code="F-1", name="Alpha Trading", account_manager=am_alice,
                                promise_amount=D("50"), promise_date=today + dt.timedelta(days=3))  # fmt: skip
    b = Customer.objects.create(code="F-2", name="Beta Foods", account_manager=am_bob,
                                promise_amount=D("70"), promise_date=today + dt.timedelta(days=20))  # fmt: skip
    Customer.objects.create(code="F-3", name="Gamma Alpha", account_manager=am_bob)
    b.tags.add(vip)
    log_in(client, admin_user)

    assert set(rows_of(client.get(URL, {"q": "alpha"}))) == {"Alpha Trading", "Gamma Alpha"}
    assert set(rows_of(client.get(URL, {"account_manager": am_bob.pk}))) == {"Beta Foods", "Gamma Alpha"}
    week = {"promise_from": today.isoformat(), "promise_to": (today + dt.timedelta(days=7)).isoformat()}
    assert set(rows_of(client.get(URL, week))) == {"Alpha Trading"}
    assert set(rows_of(client.get(URL, {"tag": vip.pk}))) == {"Beta Foods"}
    by_manager = client.get(URL, {"account_manager": am_alice.pk}, headers={"HX-Request": "true"})
    assert "Alpha Trading" in by_manager.text and "Beta Foods" not in by_manager.text
    assert "<html" not in by_manager.text  # HTMX gets the table alone
    assert (
        a.pk
        and client.get(URL, {"sort": "-promise_date"}).context["page"].object_list[0].name == "Beta Foods"
    )


def _export(client, params):
    response = client.get(URL + "export/", params)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    return rows[0], rows[1:]


def test_export_has_exactly_the_filtered_rows(client, admin_user, am_alice, am_bob, today):
    alpha = Customer.objects.create(code="E-1", name="Alpha", account_manager=am_alice)
    Customer.objects.create(code="E-2", name="Beta", account_manager=am_bob)
    Customer.objects.create(code="E-3", name="Gamma", account_manager=am_alice)
    invoice(alpha, due=today - dt.timedelta(days=45), amount=120)
    paid(alpha, due=today - dt.timedelta(days=80), amount="100", days_after_due=12)
    add_note(customer=alpha, text="Called, will pay Friday", actor=am_alice)
    log_in(client, admin_user)

    params = {"account_manager": am_alice.pk}
    headers, rows = _export(client, params)
    on_screen = [c.code for c in client.get(URL, params).context["page"].object_list]
    assert [row[0] for row in rows] == on_screen == ["E-1", "E-3"]
    alpha_row = dict(zip(headers, rows[0], strict=True))
    assert alpha_row["31–60 days"] == 120 and alpha_row["Overdue"] == 120
    assert alpha_row["Payment behaviour"] == "Usually pays about 12 days late"
    assert alpha_row["Course of action"] == "Note" and alpha_row["Last input by"] == am_alice.get_full_name()


def test_an_account_manager_sees_exports_and_edits_nothing_of_anothers(client, book, am_alice):
    log_in(client, am_alice)
    names = set(rows_of(client.get(URL)))
    assert names == {"Acme Pte Ltd", "Globex", "Initech"}  # Initech: Alice is a default viewer
    _, rows = _export(client, {})
    assert {row[1] for row in rows} == names
    assert _export(client, {"q": "Hooli"})[1] == []

    hooli = book["hooli"]
    assert client.get(f"{URL}{hooli.pk}/tags/?edit=1").status_code == 404
    assert client.post(f"{URL}{hooli.pk}/tags/", {"new_tags": "Mine"}).status_code == 404
    assert (
        client.post(
            f"{URL}{hooli.pk}/promise/", {"promise_amount": "5", "promise_date": "2030-01-01"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"{URL}{hooli.pk}/task/", {"kind": "phone_call", "title": "x", "due_on": "2030-01-01"}
        ).status_code
        == 404
    )
    hooli.refresh_from_db()
    assert not hooli.tags.exists() and hooli.promise_amount is None and not Task.objects.exists()


def test_auditor_reads_but_cannot_edit(client, book, auditor):
    log_in(client, auditor)
    page = client.get(URL)
    assert page.status_code == 200 and "Hooli" in page.text
    assert "Create task" not in page.text and "Edit the tags" not in page.text
    acme = book["acme"]
    assert client.post(f"{URL}{acme.pk}/tags/", {"new_tags": "Audited"}).status_code == 403
    assert (
        client.post(
            f"{URL}{acme.pk}/promise/", {"promise_amount": "5", "promise_date": "2030-01-01"}
        ).status_code
        == 403
    )
    assert client.get(f"{URL}{acme.pk}/task/").status_code == 403
    assert not acme.tags.exists()


def test_login_required(client):
    assert client.get(URL).status_code == 302


def test_inline_tags_and_promise_save_through_the_services(client, book, am_alice, today):
    acme = book["acme"]
    existing = Tag.objects.create(name="Key account")
    log_in(client, am_alice)

    form = client.get(f"{URL}{acme.pk}/tags/?edit=1")
    assert "Key account" in form.text and "Save tags" in form.text
    cell = client.post(f"{URL}{acme.pk}/tags/", {"tags": [existing.pk], "new_tags": "Slow payer, "})
    assert "Key account" in cell.text and "Slow payer" in cell.text
    assert set(acme.tags.values_list("name", flat=True)) == {"Key account", "Slow payer"}
    assert Activity.objects.filter(
        customer=acme, kind=ActivityKind.CUSTOMER_CHANGED, actor_user=am_alice
    ).exists()

    bad = client.post(f"{URL}{acme.pk}/promise/", {"promise_amount": "-5", "promise_date": "2030-01-01"})
    assert "greater than or equal to 0.01" in bad.text
    acme.refresh_from_db()
    assert acme.promise_amount is None

    date = today + dt.timedelta(days=5)
    cell = client.post(
        f"{URL}{acme.pk}/promise/", {"promise_amount": "250.00", "promise_date": date.isoformat()}
    )
    acme.refresh_from_db()
    assert (acme.promise_amount, acme.promise_date) == (D("250.00"), date)
    assert "250.00" in cell.text
    row = rows_of(client.get(URL))["Acme Pte Ltd"]
    assert row.course_of_action.kind == ActivityKind.PROMISE_TO_PAY
    assert row.last_input.actor_user == am_alice


def test_task_dialog_creates_a_task_and_records_the_promise(client, book, am_alice, today):
    acme = book["acme"]
    log_in(client, am_alice)
    dialog = client.get(f"{URL}{acme.pk}/task/", headers={"HX-Request": "true"})
    assert "New task for Acme Pte Ltd" in dialog.text and "<html" not in dialog.text

    missing_date = client.post(f"{URL}{acme.pk}/task/", {"kind": "phone_call", "title": "Call Ann",
                               "due_on": today.isoformat(), "promise_amount": "100"})  # fmt: skip
    assert "Give both the promised amount and its date" in missing_date.text
    assert not Task.objects.exists()

    done = client.post(
        f"{URL}{acme.pk}/task/",
        {"kind": "phone_call", "title": "Call Ann", "owner": am_alice.pk, "due_on": today.isoformat(),
         "promise_amount": "100", "promise_date": (today + dt.timedelta(days=7)).isoformat(),
         "details": "Ask about March", "next": URL + "?q=acme"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert done["HX-Redirect"] == URL + "?q=acme"
    task = Task.objects.get()
    assert (task.customer, task.owner, task.title, task.details) == (
        acme,
        am_alice,
        "Call Ann",
        "Ask about March",
    )
    acme.refresh_from_db()
    assert acme.promise_amount == D("100")


def test_query_count_does_not_grow_with_the_rows(client, admin_user, am_alice, today):
    log_in(client, admin_user)

    def make(n, start):
        tag = Tag.objects.get_or_create(name="T")[0]
        for i in range(start, start + n):
            c = Customer.objects.create(code=f"Q-{i}", name=f"Q {i}", account_manager=am_alice)
            c.tags.add(tag)
            invoice(c, due=today - dt.timedelta(days=i), amount=10)
            paid(c, due=today - dt.timedelta(days=50), amount="5", days_after_due=i)
            add_note(customer=c, text="hello", actor=am_alice)

    make(2, 0)
    client.get(URL)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    make(10, 2)
    with CaptureQueriesContext(connection) as many:
        assert len(rows_of(client.get(URL))) == 12
    assert len(many) == len(few)


def test_a_bad_filter_value_is_named_and_ignored(client, book, admin_user):
    page = log_in(client, admin_user).get(URL, {"promise_from": "31/02/2026"})
    assert page.status_code == 200
    assert "Promise from: Enter a valid date." in page.text
    assert len(page.context["page"].object_list) == 5  # the bad date narrows nothing
