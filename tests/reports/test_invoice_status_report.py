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
from invoices.models import Invoice, InvoiceStatus
from peakflo.models import Company
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


@pytest.fixture
def book(am_alice, am_bob):
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
