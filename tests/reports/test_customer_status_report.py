"""The Customer Status Tracking Report: figures against hand-computed values, filters, export, visibility."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from customers.models import Activity, ActivityKind, Customer, Tag
from customers.services import add_note
from invoices.models import CreditNote, CreditNoteStatus, Invoice, InvoiceStatus, Payment, PaymentAllocation
from peakflo.models import Company
from reports import customer_status
from reports.customer_status import KeptOrder
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


@pytest.fixture(params=["listed", "large"])
def book_size(request, monkeypatch):
    """Both ways of filtering and sorting: a book read as ids first, and one too large for that."""
    if request.param == "large":
        monkeypatch.setattr(customer_status, "IDS_UP_TO", 1)
    return request.param


def test_behaviour_phrases_from_hand_computed_payment_histories(
    client, admin_user, am_alice, today, book_size
):
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
    assert set(rows_of(client.get(URL, {"behaviour": "early"}))) == {"Early Ltd", "Edge Ltd"}
    assert set(rows_of(client.get(URL, {"behaviour": "on_time"}))) == {"On Time Ltd"}
    # slowest first (4, 0, −3, −3 days), ties by name, no history last
    slowest = client.get(URL, {"sort": "-days_late"}).context["page"].object_list
    assert [c.name for c in slowest] == [
        "Late Ltd",
        "On Time Ltd",
        "Early Ltd",
        "Edge Ltd",
        "New Ltd",
        "Old Ltd",
    ]


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
    alpha.tags.add(Tag.objects.create(name="Slow"), Tag.objects.create(name="Key account"))
    log_in(client, admin_user)

    params = {"account_manager": am_alice.pk}
    headers, rows = _export(client, params)
    on_screen = [c.code for c in client.get(URL, params).context["page"].object_list]
    assert [row[0] for row in rows] == on_screen == ["E-1", "E-3"]
    alpha_row = dict(zip(headers, rows[0], strict=True))
    assert alpha_row["31–60 days"] == 120 and alpha_row["Overdue"] == 120
    assert alpha_row["Payment behaviour"] == "Usually pays about 12 days late"
    assert alpha_row["Course of action"] == "Note" and alpha_row["Last input by"] == am_alice.get_full_name()
    assert (
        alpha_row["Tags"] == "Key account, Slow" and alpha_row["Account manager"] == am_alice.get_full_name()
    )
    assert dict(zip(headers, rows[1], strict=True))["Payment behaviour"] == "No payment history yet"


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


# --- as of a past date ---------------------------------------------------------------------------


def _pay(customer, inv, *, on, amount):
    payment = Payment.objects.create(customer=customer, date=on, amount=D(amount), currency=customer.currency)
    PaymentAllocation.objects.create(payment=payment, invoice=inv, amount=D(amount))


def _credit(customer, inv, *, on, amount, number):
    CreditNote.objects.create(
        number=number, customer=customer, invoice=inv, date=on, amount=D(amount),
        currency=customer.currency, status=CreditNoteStatus.APPROVED,
    )  # fmt: skip


def _issued(customer, *, issued, due, total, paid="0", credited="0", status=InvoiceStatus.OPEN):
    due_now = D(total) - D(paid) - D(credited)
    return Invoice.objects.create(
        number=f"CS-{next(_numbers):05d}", customer=customer, currency=customer.currency,
        issue_date=issued, due_date=due, subtotal=D(total), tax=D("0"), total=D(total),
        amount_paid=D(paid), amount_credited=D(credited), amount_due=due_now,
        status=InvoiceStatus.PAID if status == InvoiceStatus.OPEN and not due_now else status,
    )  # fmt: skip


def _at(day, hour=12):
    return dt.datetime.combine(day, dt.time(hour), tzinfo=Company.load().tz)


@pytest.fixture
def history(db, am_alice, am_bob, admin_user, today):
    """Acme's book, 30 days ago (D) and today (T = D + 30); amounts in SGD."""
    d = today - dt.timedelta(days=30)
    acme = Customer.objects.create(code="H-1", name="Acme", currency="SGD", account_manager=am_alice)
    # A: 1,000 due D−40; 300 paid D−10 (30 days late), 700 paid D+5 (45 days late): owed 700 at D
    a = _issued(
        acme, issued=d - dt.timedelta(days=60), due=d - dt.timedelta(days=40), total="1000", paid="1000"
    )
    _pay(acme, a, on=d - dt.timedelta(days=10), amount="300")
    _pay(acme, a, on=d + dt.timedelta(days=5), amount="700")
    # B: 500 due D+10, 100 credited D+2: 500 (current) at D, 400 (1–30 days) today
    b = _issued(
        acme, issued=d - dt.timedelta(days=20), due=d + dt.timedelta(days=10), total="500", credited="100"
    )
    _credit(acme, b, on=d + dt.timedelta(days=2), amount="100", number="CN-H1")
    # C: 200 due D−95, paid D−5 (90 days late): nothing owed at D
    c = _issued(
        acme, issued=d - dt.timedelta(days=100), due=d - dt.timedelta(days=95), total="200", paid="200"
    )
    _pay(acme, c, on=d - dt.timedelta(days=5), amount="200")
    # E: issued after D: only today's figures see it (900, current)
    _issued(acme, issued=d + dt.timedelta(days=3), due=d + dt.timedelta(days=33), total="900")
    # F: 50 due D−150, 20 credited D−1: 30 over 90 days, at D and today
    f = _issued(
        acme, issued=d - dt.timedelta(days=200), due=d - dt.timedelta(days=150), total="50", credited="20"
    )
    _credit(acme, f, on=d - dt.timedelta(days=1), amount="20", number="CN-H2")
    # a voided invoice never counts
    _issued(acme, issued=d - dt.timedelta(days=50), due=d - dt.timedelta(days=20), total="999",
            status=InvoiceStatus.VOID)  # fmt: skip

    # Gamma owed 5,000 at D (paid D+1, due D−3); nothing today
    gamma = Customer.objects.create(code="H-2", name="Gamma", currency="SGD", account_manager=am_alice)
    g = _issued(
        gamma, issued=d - dt.timedelta(days=33), due=d - dt.timedelta(days=3), total="5000", paid="5000"
    )
    _pay(gamma, g, on=d + dt.timedelta(days=1), amount="5000")
    Customer.objects.create(code="H-3", name="Bob's Own", currency="SGD", account_manager=am_bob)

    old_note = add_note(customer=acme, text="Called, promised next week", actor=am_alice)
    Activity.objects.filter(pk=old_note.pk).update(created_at=_at(d - dt.timedelta(days=3)))
    # on the evening of D itself (company time): still counts for D
    evening = add_note(customer=gamma, text="Late call", actor=am_alice)
    Activity.objects.filter(pk=evening.pk).update(created_at=_at(d, hour=23))
    add_note(customer=acme, text="Paid most of it", actor=admin_user)  # today
    return {"d": d, "acme": acme, "gamma": gamma}


def test_as_of_a_past_date_balances_aging_behaviour_and_activity(client, admin_user, history, today):
    log_in(client, admin_user)
    d = history["d"]

    past = rows_of(client.get(URL, {"as_of": d.isoformat()}))
    acme = past["Acme"]
    assert (acme.balance, acme.overdue) == (D("1230.00"), D("730.00"))  # 700 + 500 + 30; 700 + 30
    assert (acme.current, acme.d1_30, acme.d31_60, acme.d61_90, acme.d90_plus) == (
        D("500.00"), D("0"), D("700.00"), D("0"), D("30.00"),
    )  # fmt: skip
    # (300 × 30 + 200 × 90) / 500 = 54 days late, from the payments dated by D only
    assert acme.behaviour_text == "Usually pays about 54 days late"
    assert acme.course_of_action.data["text"] == "Called, promised next week"
    assert acme.last_input.actor_user == acme.account_manager
    assert past["Gamma"].balance == D("5000.00") and past["Gamma"].d1_30 == D("5000.00")
    assert past["Gamma"].course_of_action.data["text"] == "Late call"

    now = rows_of(client.get(URL))
    acme = now["Acme"]
    assert (acme.balance, acme.overdue) == (D("1330.00"), D("430.00"))  # 400 + 900 + 30; 400 + 30
    assert (acme.current, acme.d1_30, acme.d31_60, acme.d90_plus) == (
        D("900.00"),
        D("400.00"),
        D("0"),
        D("30.00"),
    )
    # + 700 × 45: (9,000 + 18,000 + 31,500) / 1,200 = 48.75
    assert acme.behaviour_text == "Usually pays about 49 days late"
    assert acme.course_of_action.data["text"] == "Paid most of it"
    assert now["Gamma"].balance == D("0")


def test_as_of_sorts_by_that_days_balance_and_the_export_follows(client, am_alice, history, today, book_size):
    log_in(client, am_alice)
    d = history["d"]
    params = {"as_of": d.isoformat(), "sort": "-balance"}
    page = client.get(URL, params)
    assert [c.name for c in page.context["page"].object_list] == ["Gamma", "Acme"]  # Bob's customer: hidden
    assert [c.name for c in client.get(URL, {"sort": "-balance"}).context["page"].object_list] == [
        "Acme",
        "Gamma",
    ]

    response = client.get(URL + "export/", params)
    assert f"customer-status-{d:%Y-%m-%d}.xlsx" in response["Content-Disposition"]
    headers, rows = _export(client, params)
    assert [(row[1], row[4], row[5]) for row in rows] == [("Gamma", 5000, 5000), ("Acme", 1230, 730)]
    acme = dict(zip(headers, rows[1], strict=True))
    assert acme["Current"] == 500 and acme["31–60 days"] == 700 and acme["Over 90 days"] == 30
    assert acme["Payment behaviour"] == "Usually pays about 54 days late"


def test_the_past_view_reads_only_and_says_so(client, admin_user, history, today):
    log_in(client, admin_user)
    page = client.get(URL, {"as_of": history["d"].isoformat()})
    assert "Drawn as of" in page.text and "Tags and promises are today's" in page.text
    assert "Edit the tags" not in page.text and "Edit the promise" not in page.text
    assert "Create a task" not in page.text
    today_page = client.get(URL)
    assert "Edit the tags of Acme" in today_page.text and "Create a task for Acme" in today_page.text


def test_a_future_as_of_date_is_refused_by_name(client, admin_user, history, today):
    log_in(client, admin_user)
    tomorrow = today + dt.timedelta(days=1)
    page = client.get(URL, {"as_of": tomorrow.isoformat()})
    assert page.status_code == 200
    assert f"As of: {tomorrow:%-d %b %Y} is in the future; choose today or an earlier date." in page.text
    assert rows_of(page)["Acme"].balance == D("1330.00")  # today's figures, not a guess at tomorrow


def test_sorting_by_balance_reads_the_kept_figures_when_they_are_todays(
    client, admin_user, history, today, book_size
):
    from reports.figures import refresh_figures

    log_in(client, admin_user)
    assert "Ordered by balances as of" not in client.get(URL, {"sort": "-balance"}).text  # none kept: live
    refresh_figures(today=today)
    # a payment after the figures were taken: the order stays that of the kept figures, the amounts are live
    acme = history["acme"]
    Invoice.objects.filter(customer=acme, status=InvoiceStatus.OPEN).update(
        amount_due=D("0"), amount_paid=F("total") - F("amount_credited"), status=InvoiceStatus.PAID
    )
    page = client.get(URL, {"sort": "-balance"})
    assert "Ordered by balances as of" in page.text
    rows = page.context["page"].object_list
    # Acme owed 1,330 when they were taken; those owing nothing follow by name
    assert [c.name for c in rows] == ["Acme", "Bob's Own", "Gamma"] and rows[0].balance == D("0")
    ascending = client.get(URL, {"sort": "balance"}).context["page"].object_list
    assert [c.name for c in ascending] == ["Bob's Own", "Gamma", "Acme"]
    # a page that straddles the owing customers and the others
    ids = {c.name: c.pk for c in rows}
    order = KeptOrder(Customer.objects.all(), "balance", descending=True)
    assert (order.count(), order[0:1], order[1:3], list(order)) == (
        3, [ids["Acme"]], [ids["Bob's Own"], ids["Gamma"]], [ids["Acme"], ids["Bob's Own"], ids["Gamma"]],
    )  # fmt: skip
    assert rows_of(client.get(URL, {"sort": "-balance", "q": "gam"})).keys() == {"Gamma"}
