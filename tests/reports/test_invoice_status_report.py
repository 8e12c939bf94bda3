"""The Invoice Status Tracking Report: its rows and columns, each filter, sorting, the Excel export,
whose invoices it shows, and that a page costs the same number of queries however many rows it has.

The small book ("today" is the company's today, T):

    Alice's customer Apex Trading (SGD)
      A1  due T-30, 1,000 due            overdue 30 days, disputed
          "First reminder" e-mailed 2 days ago, task "Called Ann" done 1 day ago  -> last: Called Ann
          pending: "Final notice" on T+10, "Second reminder" on T+3               -> next: Second reminder
      A2  due T+20, 500 of which 200 paid: partly paid, 300 due
          e-mailed by hand 5 days ago; a failed SMS 1 hour ago does not count     -> last: Email sent by hand
      A3  due T-60, paid                  no action at all
      A4  due T-5, void
      A5  a draft: never listed
    Bob's customer Xylo Holdings (USD)
      B1  due T-70, 2,000 due             overdue 70 days; pending "Final notice" on T+1
"""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from customers.models import Customer
from disputes.models import Dispute, DisputeReason
from invoices.models import CreditNote, CreditNoteStatus, Invoice, InvoiceStatus, Payment, PaymentAllocation
from peakflo.models import Company
from reports import invoice_status
from workflows.models import (
    Action,
    ActionRun,
    Channel,
    Message,
    MessageStatus,
    RunStatus,
    Task,
    TaskStatus,
    Workflow,
)

pytestmark = pytest.mark.django_db

URL = reverse("report_invoice_status")
EXPORT = reverse("report_invoice_status_export")


def make_invoice(customer, number, today, *, due_in, total, paid=0, status=InvoiceStatus.OPEN):
    total = Decimal(total)
    paid = total if status == InvoiceStatus.PAID else Decimal(paid)
    return Invoice.objects.create(
        number=number,
        customer=customer,
        issue_date=today + dt.timedelta(days=due_in - 30),
        due_date=today + dt.timedelta(days=due_in),
        currency=customer.currency,
        subtotal=total,
        total=total,
        amount_paid=paid,
        amount_due=total - paid,
        status=status,
    )


def sent_message(customer, *, at, action=None, channel=Channel.EMAIL, status=MessageStatus.SENT):
    return Message.objects.create(
        customer=customer, channel=channel, action=action, to="ann@apex.test", body="Please pay",
        status=status, sent_at=at,
    )  # fmt: skip


@pytest.fixture(params=["listed", "large"])
def book_size(request, monkeypatch):
    """An account manager's book read as ids first, and one too large for that (the subquery)."""
    if request.param == "large":
        monkeypatch.setattr(invoice_status, "IDS_UP_TO", 1)
    return request.param


@pytest.fixture
def book(am_alice, am_bob, book_size):
    today = Company.load().today()
    now = timezone.now()
    apex = Customer.objects.create(
        code="C-APX", name="Apex Trading", currency="SGD", account_manager=am_alice
    )
    xylo = Customer.objects.create(code="C-XYL", name="Xylo Holdings", currency="USD", account_manager=am_bob)
    inv = {
        "A1": make_invoice(apex, "A1", today, due_in=-30, total=1000),
        "A2": make_invoice(apex, "A2", today, due_in=20, total=500, paid=200),
        "A3": make_invoice(apex, "A3", today, due_in=-60, total=800, status=InvoiceStatus.PAID),
        "A4": make_invoice(apex, "A4", today, due_in=-5, total=50, status=InvoiceStatus.VOID),
        "A5": make_invoice(apex, "A5", today, due_in=10, total=70, status=InvoiceStatus.DRAFT),
        "B1": make_invoice(xylo, "B1", today, due_in=-70, total=2000),
    }
    flow = Workflow.objects.create(name="Standard")
    first = Action.objects.create(workflow=flow, name="First reminder")
    second = Action.objects.create(workflow=flow, name="Second reminder", days=33)
    final = Action.objects.create(workflow=flow, name="Final notice", days=40)

    emailed = sent_message(apex, at=now - dt.timedelta(days=2), action=first)
    ActionRun.objects.create(action=first, invoice=inv["A1"], due_on=today - dt.timedelta(2),
                             status=RunStatus.DONE, message=emailed, finished_at=now - dt.timedelta(2))  # fmt: skip
    ActionRun.objects.create(action=final, invoice=inv["A1"], due_on=today + dt.timedelta(10))
    ActionRun.objects.create(action=second, invoice=inv["A1"], due_on=today + dt.timedelta(3))
    Task.objects.create(customer=apex, invoice=inv["A1"], title="Called Ann", due_on=today,
                        status=TaskStatus.DONE, completed_at=now - dt.timedelta(days=1))  # fmt: skip
    Task.objects.create(customer=apex, invoice=inv["A1"], title="Visit Apex", due_on=today)  # still open

    by_hand = sent_message(apex, at=now - dt.timedelta(days=5))
    ActionRun.objects.create(action=first, invoice=inv["A2"], due_on=today - dt.timedelta(5),
                             status=RunStatus.DONE, message=by_hand, finished_at=now - dt.timedelta(5))  # fmt: skip
    failed = sent_message(
        apex, at=now - dt.timedelta(hours=1), channel=Channel.SMS, status=MessageStatus.FAILED
    )
    ActionRun.objects.create(action=second, invoice=inv["A2"], due_on=today, status=RunStatus.FAILED,
                             message=failed, finished_at=now)  # fmt: skip
    # The hand-sent message is the one without an action.
    Message.objects.filter(pk=by_hand.pk).update(action=None)

    ActionRun.objects.create(action=final, invoice=inv["B1"], due_on=today + dt.timedelta(1))
    reason = DisputeReason.objects.create(name="Wrong price")
    dispute = Dispute.objects.create(invoice=inv["A1"], customer=apex, reason=reason, raised_at=now)
    return {"today": today, "now": now, "apex": apex, "xylo": xylo, "dispute": dispute, **inv}


def rows(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200
    return response, list(response.context["page"].object_list)


def numbers(client, **params):
    return [invoice.number for invoice in rows(client, **params)[1]]


def exported(client, **params):
    response = client.get(EXPORT, params)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    table = list(sheet.iter_rows(values_only=True))
    # A read-only sheet leaves off a row's empty cells at its end.
    return table[0], [row + (None,) * (len(table[0]) - len(row)) for row in table[1:]]


def test_one_row_per_invoice_with_its_last_and_next_action_and_dispute(client, admin_user, book):
    client.force_login(admin_user)
    response, listed = rows(client)
    by_number = {invoice.number: invoice for invoice in listed}
    today = book["today"]

    assert sorted(by_number) == ["A1", "A2", "A3", "A4", "B1"]  # the draft was never sent
    a1, a2, a3, b1 = by_number["A1"], by_number["A2"], by_number["A3"], by_number["B1"]
    assert (a1.days_late, a2.days_late, a3.days_late, b1.days_late) == (30, 0, 0, 70)
    assert a1.last_action == "Called Ann"
    assert a1.last_action_at == Task.objects.get(title="Called Ann").completed_at
    assert (a1.next_action_name, a1.next_action_due) == ("Second reminder", today + dt.timedelta(3))
    assert a1.open_dispute_id == book["dispute"].pk
    assert a2.last_action == "Email sent by hand"
    assert (a2.next_action_name, a2.open_dispute_id) == (None, None)
    assert (a3.last_action, a3.last_action_at, a3.next_action_name) == ("", None, None)
    assert (b1.next_action_name, b1.next_action_due) == ("Final notice", today + dt.timedelta(1))

    html = response.content.decode()
    for text in ("Apex Trading", "Xylo Holdings", "Alice", "Bob", "Called Ann", "Second reminder",
                 "Email sent by hand", "Nothing scheduled", "None yet", "Disputed", "Partly paid",
                 "Overdue", "Paid", "Void", "2,000.00"):  # fmt: skip
        assert text in html, text
    assert "Visit Apex" not in html  # an open task is not an action taken
    assert reverse("dispute_detail", args=[book["dispute"].pk]) in html


def test_the_last_action_is_a_message_when_it_came_after_the_task(client, admin_user, book):
    later = book["now"] - dt.timedelta(hours=3)
    message = sent_message(book["apex"], at=later, action=Action.objects.get(name="Second reminder"))
    ActionRun.objects.filter(invoice=book["A1"], action__name="Second reminder").update(
        status=RunStatus.DONE, message=message, finished_at=later
    )
    client.force_login(admin_user)
    a1 = next(i for i in rows(client)[1] if i.number == "A1")
    assert (a1.last_action, a1.last_action_at) == ("Second reminder", later)
    assert a1.next_action_name == "Final notice"


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"account_manager": "alice"}, ["A1", "A2", "A3", "A4"]),
        ({"account_manager": "bob"}, ["B1"]),
        ({"customer_name": "xylo"}, ["B1"]),
        ({"customer_name": "C-APX"}, ["A1", "A2", "A3", "A4"]),
        ({"q": "B1"}, ["B1"]),
        ({"status": "overdue"}, ["A1", "B1"]),
        ({"status": "open"}, ["A1", "A2", "B1"]),
        ({"status": "partly_paid"}, ["A2"]),
        ({"status": "not_due"}, ["A2"]),
        ({"status": "paid"}, ["A3"]),
        ({"status": "void"}, ["A4"]),
        ({"overdue_min": "40"}, ["B1"]),
        ({"overdue_min": "1", "overdue_max": "40"}, ["A1"]),
        ({"due_from": -65, "due_to": 0}, ["A1", "A3", "A4"]),
        ({"due_from": 1}, ["A2"]),
        ({"disputed": "yes"}, ["A1"]),
        ({"disputed": "no"}, ["A2", "A3", "A4", "B1"]),
        ({"amount_min": "400"}, ["A1", "B1"]),
        ({"amount_min": "300", "amount_max": "1000"}, ["A1", "A2"]),
        ({"account_manager": "alice", "status": "overdue"}, ["A1"]),
    ],
)
def test_each_filter(client, admin_user, am_alice, am_bob, book, params, expected):
    people = {"alice": am_alice.pk, "bob": am_bob.pk}
    query = {}
    for key, value in params.items():
        if key == "account_manager":
            value = people[value]
        elif key.startswith("due_"):
            value = (book["today"] + dt.timedelta(days=value)).isoformat()
        query[key] = value
    client.force_login(admin_user)
    assert sorted(numbers(client, **query)) == expected
    # The export holds exactly the rows on the screen.
    assert sorted(row[3] for row in exported(client, **query)[1]) == expected


def test_sorting(client, admin_user, book):
    client.force_login(admin_user)
    # Most overdue first by default.
    assert numbers(client)[:2] == ["B1", "A1"]
    assert numbers(client, sort="amount_due") == ["A3", "A4", "A2", "A1", "B1"]
    assert numbers(client, sort="-amount_due")[:2] == ["B1", "A1"]
    assert numbers(client, sort="due_date") == ["B1", "A3", "A1", "A4", "A2"]
    assert numbers(client, sort="number") == ["A1", "A2", "A3", "A4", "B1"]
    assert numbers(client, sort="customer")[-1] == "B1"
    # Invoices with no action sort last both ways.
    assert numbers(client, sort="-last_action")[:2] == ["A1", "A2"]
    assert numbers(client, sort="last_action")[:2] == ["A2", "A1"]
    assert numbers(client, sort="next_action")[:2] == ["B1", "A1"]
    assert set(numbers(client, sort="-next_action")[2:]) == {"A2", "A3", "A4"}


def test_the_export_holds_the_filtered_rows_in_order_with_every_column(client, admin_user, book):
    client.force_login(admin_user)
    on_screen = numbers(client, status="open", sort="-amount_due")
    headers, table = exported(client, status="open", sort="-amount_due")
    assert [row[3] for row in table] == on_screen == ["B1", "A1", "A2"]
    row = dict(zip(headers, table[1], strict=True))
    assert row["Customer"] == "Apex Trading" and row["Account manager"] == "Alice"
    assert row["Days overdue"] == 30 and row["Amount due"] == 1000 and row["Currency"] == "SGD"
    assert row["Status"] == "Overdue" and row["Disputed"] == "Yes"
    assert row["Last action"] == "Called Ann" and row["Last action at"] is not None
    assert row["Next action"] == "Second reminder"
    assert row["Next action due"].date() == book["today"] + dt.timedelta(3)
    partly = dict(zip(headers, table[2], strict=True))
    assert (partly["Status"], partly["Disputed"], partly["Next action"]) == ("Partly paid", "No", None)


def test_an_account_manager_sees_and_exports_nothing_of_anothers_customers(client, am_alice, am_bob, book):
    client.force_login(am_alice)
    response, listed = rows(client)
    assert sorted(i.number for i in listed) == ["A1", "A2", "A3", "A4"]
    html = response.content.decode()
    assert "Xylo" not in html and "2,000.00" not in html
    # Bob is not even offered as an account manager to narrow to.
    assert list(response.context["filter"].filters["account_manager"].queryset) == [am_alice]
    assert sorted(row[3] for row in exported(client)[1]) == ["A1", "A2", "A3", "A4"]
    # Asking for Bob's rows by hand is refused by name, not answered with his rows.
    html = client.get(URL, {"account_manager": am_bob.pk}).content.decode()
    assert "Account manager: Select a valid choice." in html
    assert "Xylo" not in html
    assert client.get(EXPORT, {"account_manager": am_bob.pk}).status_code == 400

    client.force_login(am_bob)
    assert numbers(client) == ["B1"]
    assert [row[3] for row in exported(client)[1]] == ["B1"]


def test_a_default_viewer_sees_the_customer(client, am_alice, book):
    book["xylo"].default_viewers.add(am_alice)
    client.force_login(am_alice)
    assert "B1" in numbers(client)


def test_the_wrong_user_is_refused(client, book):
    for url in (URL, EXPORT):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]


def test_an_unassigned_account_manager_is_told_why_the_report_is_empty(client, book):
    from tests.conftest import make_user

    client.force_login(make_user("carol@example.com", "account_manager"))
    response, listed = rows(client)
    assert listed == []
    assert "Ask an admin or AR admin to assign customers to you" in response.content.decode()
    assert exported(client)[1] == []


def test_a_filter_that_cannot_be_read_is_named_and_nothing_is_exported(client, admin_user, book):
    client.force_login(admin_user)
    response = client.get(URL, {"overdue_min": "lots"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Days overdue from: Enter a number." in html
    assert "<tbody>" not in html
    export = client.get(EXPORT, {"overdue_min": "lots"})
    assert export.status_code == 400
    assert "Days overdue from: Enter a number." in export.content.decode()


def test_the_htmx_request_returns_only_the_table(client, admin_user, book):
    client.force_login(admin_user)
    response = client.get(URL, {"customer_name": "xylo"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "invoice-status-filters" not in html
    assert "Xylo Holdings" in html and "Apex" not in html
    assert 'hx-swap-oob="true"' in html and "customer_name=xylo" in html


def test_the_reports_index_links_to_the_report(client, admin_user):
    client.force_login(admin_user)
    assert URL in client.get(reverse("reports")).content.decode()


def test_the_number_of_queries_does_not_grow_with_the_rows(client, admin_user, book):
    client.force_login(admin_user)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL)
        assert response.status_code == 200
        return len(captured), len(response.context["page"].object_list)

    before, shown = queries()
    flow_action = Action.objects.get(name="Final notice")
    for n in range(20):
        invoice = make_invoice(book["xylo"], f"X{n}", book["today"], due_in=-n, total=10 + n)
        ActionRun.objects.create(action=flow_action, invoice=invoice, due_on=book["today"])
        Task.objects.create(customer=book["xylo"], invoice=invoice, title=f"Call {n}", due_on=book["today"],
                            status=TaskStatus.DONE, completed_at=book["now"])  # fmt: skip
    after, shown_after = queries()
    assert shown_after == shown + 20
    assert after == before


# --- as of a past date ---------------------------------------------------------------------------
#
# D = T-20. Alice's customer Orbit (SGD), Bob's customer Zenith (USD):
#
#   P1  issued T-50, due T-30, 1,000: paid 400 on T-25 and 600 on T-10   at D: 600 due, 10 days late
#       task "Called Ann" done 25 days ago; "Second reminder" e-mailed 5 days ago
#   P2  issued T-100, due T-70, 500: credited 500 (approved) on T-5       at D: 500 due, 50 days late
#       dispute raised 30 days ago, resolved 10 days ago                  (disputed at D, not today)
#   P3  issued T-10, due T+20, 300 open                                   at D: not issued yet
#   P4  issued T-60, due T-40, 200: paid in full on T-30                  at D: paid
#   P5  issued T-40, due T-15, 800: paid 300 on T-22                      at D: 500 due, not yet due
#   P6  issued T-60, due T-30, void                                       never at D
#   P7  issued T-200, due T-170, 1,000: credited 300 on T-100             at D: 700 due, 150 days late
#       (a credit note dated T-21 still awaiting approval does not count)
#   Z1  issued T-90, due T-60, 2,000 open (Bob's)                         at D: 2,000 due, 40 days late

AS_OF_DAYS = 20


def dated_invoice(customer, number, today, *, issued, due, total, paid=0, credited=0, status=None):
    total, paid, credited = Decimal(total), Decimal(paid), Decimal(credited)
    due_now = total - paid - credited
    if status is None:
        status = InvoiceStatus.OPEN if due_now else InvoiceStatus.PAID
    return Invoice.objects.create(
        number=number, customer=customer, currency=customer.currency,
        issue_date=today - dt.timedelta(days=issued), due_date=today + dt.timedelta(days=due),
        subtotal=total, total=total, amount_paid=paid, amount_credited=credited, amount_due=due_now,
        status=status,
    )  # fmt: skip


def pay(invoice, amount, on):
    payment = Payment.objects.create(
        customer=invoice.customer, date=on, amount=Decimal(amount), currency=invoice.currency
    )
    PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=Decimal(amount))


def credit(invoice, number, amount, on, status=CreditNoteStatus.APPROVED):
    CreditNote.objects.create(
        number=number, customer=invoice.customer, invoice=invoice, date=on, amount=Decimal(amount),
        currency=invoice.currency, status=status,
    )  # fmt: skip


@pytest.fixture
def history(am_alice, am_bob):
    today = Company.load().today()
    now = timezone.now()
    day = lambda n: today - dt.timedelta(days=n)  # noqa: E731
    orbit = Customer.objects.create(
        code="C-ORB", name="Orbit Foods", currency="SGD", account_manager=am_alice
    )
    zenith = Customer.objects.create(code="C-ZEN", name="Zenith Ltd", currency="USD", account_manager=am_bob)
    inv = {
        "P1": dated_invoice(orbit, "P1", today, issued=50, due=-30, total=1000, paid=1000),
        "P2": dated_invoice(orbit, "P2", today, issued=100, due=-70, total=500, credited=500),
        "P3": dated_invoice(orbit, "P3", today, issued=10, due=20, total=300),
        "P4": dated_invoice(orbit, "P4", today, issued=60, due=-40, total=200, paid=200),
        "P5": dated_invoice(orbit, "P5", today, issued=40, due=-15, total=800, paid=300),
        "P6": dated_invoice(orbit, "P6", today, issued=60, due=-30, total=90, status=InvoiceStatus.VOID),
        "P7": dated_invoice(orbit, "P7", today, issued=200, due=-170, total=1000, credited=300),
        "Z1": dated_invoice(zenith, "Z1", today, issued=90, due=-60, total=2000),
    }
    pay(inv["P1"], 400, day(25))
    pay(inv["P1"], 600, day(10))
    credit(inv["P2"], "CN-2", 500, day(5))
    pay(inv["P4"], 200, day(30))
    pay(inv["P5"], 300, day(22))
    credit(inv["P7"], "CN-7", 300, day(100))
    credit(inv["P7"], "CN-7B", 50, day(21), status=CreditNoteStatus.PENDING_APPROVAL)

    Task.objects.create(customer=orbit, invoice=inv["P1"], title="Called Ann", due_on=day(25),
                        status=TaskStatus.DONE, completed_at=now - dt.timedelta(days=25))  # fmt: skip
    flow = Workflow.objects.create(name="History")
    second = Action.objects.create(workflow=flow, name="Second reminder", days=5)
    final = Action.objects.create(workflow=flow, name="Final notice", days=30)
    message = sent_message(orbit, at=now - dt.timedelta(days=5), action=second)
    ActionRun.objects.create(action=second, invoice=inv["P1"], due_on=day(5), status=RunStatus.DONE,
                             message=message, finished_at=message.sent_at)  # fmt: skip
    ActionRun.objects.create(action=final, invoice=inv["P3"], due_on=today + dt.timedelta(days=25))
    reason = DisputeReason.objects.create(name="Short delivery")
    Dispute.objects.create(
        invoice=inv["P2"], customer=orbit, reason=reason, raised_at=now - dt.timedelta(days=30),
        status="resolved", resolved_at=now - dt.timedelta(days=10), resolution="Credited",
    )  # fmt: skip
    return {"today": today, "as_of": day(AS_OF_DAYS), **inv}


def as_of_rows(client, history, **params):
    return rows(client, as_of=history["as_of"].isoformat(), **params)


def test_as_of_a_past_date_each_invoice_stands_as_it_did_then(client, admin_user, history):
    client.force_login(admin_user)
    response, listed = as_of_rows(client, history)
    # Most overdue first, then the rest by due date; P3 was not issued yet, P6 is void.
    assert [i.number for i in listed] == ["P7", "P2", "Z1", "P1", "P4", "P5"]
    by_number = {i.number: i for i in listed}
    assert {n: i.balance for n, i in by_number.items()} == {
        "P7": Decimal(700), "P2": Decimal(500), "Z1": Decimal(2000),
        "P1": Decimal(600), "P4": Decimal(0), "P5": Decimal(500),
    }  # fmt: skip
    assert {n: i.days_late for n, i in by_number.items()} == {
        "P7": 150,
        "P2": 50,
        "Z1": 40,
        "P1": 10,
        "P4": 0,
        "P5": 0,
    }
    assert {n: i.report_status for n, i in by_number.items()} == {
        "P7": "overdue", "P2": "overdue", "Z1": "overdue", "P1": "overdue", "P4": "paid", "P5": "partly_paid"
    }  # fmt: skip
    # The last action taken by then (the reminder came after it); the dispute open then.
    assert (by_number["P1"].last_action, by_number["P2"].open_dispute_id is not None) == ("Called Ann", True)
    html = response.content.decode()
    assert f"As of {history['as_of']:%-d %B %Y}" in html
    assert "Next action" not in html and "Nothing scheduled" not in html
    assert "600.00" in html and "Disputed" in html


def test_today_the_same_invoices_read_as_they_stand_now(client, admin_user, history):
    client.force_login(admin_user)
    by_number = {i.number: i for i in rows(client)[1]}
    assert sorted(by_number) == ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "Z1"]
    assert (by_number["P1"].balance, by_number["P1"].report_status) == (0, "paid")
    assert (by_number["P5"].balance, by_number["P5"].days_late) == (Decimal(500), 15)
    assert by_number["P1"].last_action == "Second reminder"
    assert by_number["P2"].open_dispute_id is None
    assert by_number["P3"].next_action_name == "Final notice"


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"bucket": "current"}, ["P5"]),
        ({"bucket": "d1_30"}, ["P1"]),
        ({"bucket": "d31_60"}, ["P2", "Z1"]),
        ({"bucket": "d61_90"}, []),
        ({"bucket": "d90_plus"}, ["P7"]),
        ({"status": "paid"}, ["P4"]),
        ({"status": "open"}, ["P1", "P2", "P5", "P7", "Z1"]),
        ({"status": "overdue"}, ["P1", "P2", "P7", "Z1"]),
        ({"status": "not_due"}, ["P5"]),
        ({"status": "partly_paid"}, ["P1", "P5", "P7"]),
        ({"status": "void"}, []),
        ({"amount_min": "600"}, ["P1", "P7", "Z1"]),
        ({"overdue_min": "40", "overdue_max": "100"}, ["P2", "Z1"]),
        ({"disputed": "yes"}, ["P2"]),
    ],
)
def test_each_filter_as_of_a_past_date(client, admin_user, history, params, expected):
    client.force_login(admin_user)
    assert sorted(i.number for i in as_of_rows(client, history, **params)[1]) == expected
    exported_numbers = [row[3] for row in exported(client, as_of=history["as_of"].isoformat(), **params)[1]]
    assert sorted(exported_numbers) == expected


def test_today_the_aging_buckets_count_days_past_due_now(client, admin_user, history):
    client.force_login(admin_user)
    assert sorted(numbers(client, bucket="current")) == ["P3"]
    assert sorted(numbers(client, bucket="d1_30")) == ["P5"]
    assert sorted(numbers(client, bucket="d31_60")) == ["Z1"]
    assert sorted(numbers(client, bucket="d90_plus")) == ["P7"]


def test_the_export_as_of_a_past_date(client, admin_user, history):
    client.force_login(admin_user)
    response = client.get(EXPORT, {"as_of": history["as_of"].isoformat()})
    assert f"as-of-{history['as_of']:%Y-%m-%d}" in response["Content-Disposition"]
    headers, table = exported(client, as_of=history["as_of"].isoformat())
    label = f"{history['as_of']:%Y-%m-%d}"
    assert "Next action" not in headers
    assert [row[3] for row in table] == ["P7", "P2", "Z1", "P1", "P4", "P5"]
    p1 = dict(zip(headers, table[3], strict=True))
    assert p1[f"Amount due ({label})"] == 600 and p1[f"Days overdue ({label})"] == 10
    assert p1[f"Status ({label})"] == "Overdue" and p1["Last action"] == "Called Ann"
    p5 = dict(zip(headers, table[5], strict=True))
    assert (p5[f"Amount due ({label})"], p5[f"Status ({label})"]) == (500, "Partly paid")


def test_a_date_in_the_future_is_refused_by_name(client, admin_user, history):
    client.force_login(admin_user)
    tomorrow = history["today"] + dt.timedelta(days=1)
    response = client.get(URL, {"as_of": tomorrow.isoformat()})
    html = response.content.decode()
    assert f"As of: {tomorrow:%-d %b %Y} is in the future" in html
    assert "<tbody>" not in html
    export = client.get(EXPORT, {"as_of": tomorrow.isoformat()})
    assert export.status_code == 400 and "As of: " in export.content.decode()
    # Today itself is today's report.
    assert [i.number for i in rows(client, as_of=history["today"].isoformat())[1]] == numbers(client)


def test_before_the_first_invoice_the_report_says_so(client, admin_user, history):
    client.force_login(admin_user)
    long_ago = history["today"] - dt.timedelta(days=365)
    response, listed = rows(client, as_of=long_ago.isoformat())
    assert listed == []
    assert f"No invoice had been issued by {long_ago:%-d %B %Y}" in response.content.decode()


def test_as_of_an_account_manager_sees_and_exports_only_their_customers(client, am_alice, am_bob, history):
    client.force_login(am_alice)
    response, listed = as_of_rows(client, history)
    assert sorted(i.number for i in listed) == ["P1", "P2", "P4", "P5", "P7"]
    assert "Zenith" not in response.content.decode()
    assert sorted(row[3] for row in exported(client, as_of=history["as_of"].isoformat())[1]) == [
        "P1", "P2", "P4", "P5", "P7"
    ]  # fmt: skip
    client.force_login(am_bob)
    assert [i.number for i in as_of_rows(client, history)[1]] == ["Z1"]
    assert [row[3] for row in exported(client, as_of=history["as_of"].isoformat())[1]] == ["Z1"]


def test_as_of_the_queries_do_not_grow_with_the_rows(client, admin_user, history):
    client.force_login(admin_user)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response, listed = as_of_rows(client, history)
        return len(captured), len(listed)

    before, shown = queries()
    for n in range(15):
        invoice = dated_invoice(history["P1"].customer, f"Q{n}", history["today"], issued=60, due=-35 - n,
                                total=100, paid=100)  # fmt: skip
        pay(invoice, 100, history["today"] - dt.timedelta(days=1))
        Task.objects.create(customer=invoice.customer, invoice=invoice, title=f"Call {n}",
                            due_on=history["today"], status=TaskStatus.DONE,
                            completed_at=timezone.now() - dt.timedelta(days=40))  # fmt: skip
    after, shown_after = queries()
    assert shown_after == shown + 15
    assert after == before


# --- pages ---------------------------------------------------------------------------------------


def test_pages_run_on_from_the_overdue_invoices_to_the_others(client, admin_user, am_alice):
    """Page 1 holds the 50 most overdue; page 2 the last two overdue, then the rest by due date."""
    today = Company.load().today()
    customer = Customer.objects.create(code="C-PG", name="Pager", currency="SGD", account_manager=am_alice)
    for n in range(52):
        make_invoice(customer, f"L{n:02}", today, due_in=-1 - n, total=10)
    for n in range(5):
        make_invoice(customer, f"F{n}", today, due_in=n, total=10)
    make_invoice(customer, "PAID", today, due_in=-90, total=10, status=InvoiceStatus.PAID)
    client.force_login(admin_user)
    first = numbers(client)
    second = numbers(client, page=2)
    assert first == [f"L{n:02}" for n in range(51, 1, -1)]
    assert second == ["L01", "L00", "PAID", "F0", "F1", "F2", "F3", "F4"]
    response = rows(client)[0]
    assert "1–50 of 58" in response.content.decode()


def test_a_large_book_is_counted_up_to_ten_thousand(client, admin_user, am_alice):
    today = Company.load().today()
    customer = Customer.objects.create(
        code="C-BIG", name="Big Book", currency="SGD", account_manager=am_alice
    )
    Invoice.objects.bulk_create(
        Invoice(number=f"BIG-{n:05}", customer=customer, issue_date=today, due_date=today, currency="SGD",
                subtotal=1, total=1, amount_due=1)
        for n in range(10_001)
    )  # fmt: skip
    client.force_login(admin_user)
    html = rows(client)[0].content.decode()
    assert "1–50 of more than 10,000" in html
    # Narrowed, the count is exact again.
    assert numbers(client, q="BIG-0004") == [f"BIG-{n:05}" for n in range(49, 39, -1)]
