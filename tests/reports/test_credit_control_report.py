"""Credit control report against hand-computed values on a fixed book (base currency SGD, today T).

Workflows: the default one (limit SGD 1,000 and 30 days overdue); "Strict" (10 days, no amount).

    Alice's Apex (SGD):    A1 600 due T+10, A2 500 due T−12        owes 1,100 (500 overdue, 12 days)
                           → over in money by 100
    Alice's Bayside (USD × 1.5): B1 200 USD due T−45               owes 300 (all overdue, 45 days)
                           → over in days by 15
    Alice's Calm (SGD):    C1 100 due T−5                           within both: not in the report
    Alice's Dormant:       no invoices, still flagged on hold       on hold, owes nothing
    Alice's Edge (Strict): E1 5,000 due T−11                        → over in days by 1 (no money limit)
    Bob's Xylo (SGD):      X1 2,000 due T−40, on hold               → over by 1,000 and by 10 days
    Bob's Yonder (SGD), Alice a default viewer: Y1 1,500 due T+5    → over in money by 500
    Nobody's Nomad (SGD):  N1 50 due T−100                          → over in days by 70
"""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from customers.models import Customer
from invoices.models import Invoice, InvoiceStatus
from peakflo.models import Company
from reports import credit_control_views
from reports.credit_control import credit_control_rows
from reports.figures import refresh_figures
from reports.models import FiguresRun
from tests.conftest import PASSWORD
from workflows.credit import update_credit_holds
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

URL = "/reports/credit-control/"
EXPORT = "/reports/credit-control/export/"
EVERYONE_BY_EXPOSURE = ["Edge", "Xylo", "Yonder", "Apex", "Bayside", "Nomad", "Dormant"]


@pytest.fixture
def today(db):
    company = Company.load()
    company.base_currency = "SGD"
    company.save()
    return company.today()


def make_invoice(customer, number, amount, due, *, rate="1"):
    amount = Decimal(amount)
    return Invoice.objects.create(
        number=number,
        customer=customer,
        currency=customer.currency,
        exchange_rate=Decimal(rate),
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        subtotal=amount,
        total=amount,
        amount_due=amount,
        status=InvoiceStatus.OPEN,
    )


@pytest.fixture
def book(today, am_alice, am_bob):
    def t(days):
        return today + dt.timedelta(days=days)

    Workflow.objects.filter(is_default=True).update(
        credit_limit_amount=Decimal("1000.00"), credit_limit_days=30
    )
    strict = Workflow.objects.create(name="Strict", credit_limit_days=10)
    since = timezone.now() - dt.timedelta(days=3)

    def customer(code, name, manager, **fields):
        return Customer.objects.create(
            code=code, name=name, currency=fields.pop("currency", "SGD"), account_manager=manager, **fields
        )

    apex = customer("APEX", "Apex", am_alice)
    make_invoice(apex, "A1", 600, t(10))
    make_invoice(apex, "A2", 500, t(-12))
    bayside = customer("BAY", "Bayside", am_alice, currency="USD")
    make_invoice(bayside, "B1", 200, t(-45), rate="1.5")
    calm = customer("CALM", "Calm", am_alice)
    make_invoice(calm, "C1", 100, t(-5))
    customer("DORM", "Dormant", am_alice, credit_hold=True, credit_hold_since=since)
    edge = customer("EDGE", "Edge", am_alice, workflow=strict)
    make_invoice(edge, "E1", 5000, t(-11))
    xylo = customer("XYLO", "Xylo", am_bob, credit_hold=True, credit_hold_since=since)
    make_invoice(xylo, "X1", 2000, t(-40))
    yonder = customer("YON", "Yonder", am_bob)
    yonder.default_viewers.add(am_alice)
    make_invoice(yonder, "Y1", 1500, t(5))
    nomad = customer("NOMAD", "Nomad", None)
    make_invoice(nomad, "N1", 50, t(-100))
    return {"since": since}


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)
    return client


def names(response):
    return [row.name for row in response.context["page"].object_list]


def money(value):
    return pytest.approx(Decimal(value), abs=Decimal("0.0001"))


def test_each_row_against_hand_computed_figures(client, admin_user, book, today):
    response = login(client, admin_user).get(URL)
    assert response.status_code == 200
    assert names(response) == EVERYONE_BY_EXPOSURE  # the largest exposure first
    rows = {row.name: row for row in response.context["page"].object_list}
    expected = {
        # name: limit (money, days), exposure, overdue, days late, over by (money, days), workflow
        "Apex": ("1000", 30, "1100", "500", 12, "100", None, "Standard reminders"),
        "Bayside": ("1000", 30, "300", "300", 45, None, 15, "Standard reminders"),
        "Dormant": ("1000", 30, "0", "0", 0, None, None, "Standard reminders"),
        "Edge": (None, 10, "5000", "5000", 11, None, 1, "Strict"),
        "Xylo": ("1000", 30, "2000", "2000", 40, "1000", 10, "Standard reminders"),
        "Yonder": ("1000", 30, "1500", "0", 0, "500", None, "Standard reminders"),
        "Nomad": ("1000", 30, "50", "50", 100, None, 70, "Standard reminders"),
    }
    default_name = Workflow.objects.get(is_default=True).name
    for name, (limit, days, exposure, overdue, late, by_money, by_days, workflow) in expected.items():
        row = rows[name]
        assert row.credit_limit_amount == (Decimal(limit) if limit else None), name
        assert row.credit_limit_days == days, name
        assert row.exposure == money(exposure), name
        assert row.overdue == money(overdue), name
        assert row.days_overdue == late, name
        assert row.over_by_amount == (money(by_money) if by_money else None), name
        assert row.over_by_days == by_days, name
        assert row.workflow_name == workflow.replace("Standard reminders", default_name), name
    assert rows["Xylo"].credit_hold_since == book["since"] and not rows["Apex"].credit_hold
    totals = response.context["totals"]
    assert totals.customers == 7
    assert totals.exposure == money("9950")  # 1,100 + 300 + 0 + 5,000 + 2,000 + 1,500 + 50
    page = response.content.decode()
    assert "7</strong> customers over their limit or on hold" in page
    assert "9,950.00 SGD" in page
    assert "Calm" not in page  # within both limits and not on hold


def test_the_report_and_the_credit_hold_agree_on_who_is_over(admin_user, book, today):
    over = credit_control_rows(admin_user, today=today).filter(hold=True)
    assert sorted(c.name for c in over) == ["Apex", "Bayside", "Edge", "Nomad", "Xylo", "Yonder"]
    update_credit_holds(today)  # puts on hold whoever the report says is over, lifts Dormant's
    held = Customer.objects.filter(credit_hold=True).values_list("name", flat=True)
    assert sorted(held) == ["Apex", "Bayside", "Edge", "Nomad", "Xylo", "Yonder"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("over=amount", ["Xylo", "Yonder", "Apex"]),
        ("over=days", ["Edge", "Xylo", "Bayside", "Nomad"]),
        ("over=either", ["Edge", "Xylo", "Yonder", "Apex", "Bayside", "Nomad"]),
        ("on_hold=yes", ["Xylo", "Dormant"]),
        ("on_hold=no&over=days", ["Edge", "Bayside", "Nomad"]),
        ("q=bay", ["Bayside"]),
        ("sort=over_by_days", ["Edge", "Xylo", "Bayside", "Nomad", "Apex", "Dormant", "Yonder"]),
        ("sort=-days_overdue", ["Nomad", "Bayside", "Xylo", "Apex", "Edge", "Dormant", "Yonder"]),
        ("sort=customer", sorted(EVERYONE_BY_EXPOSURE)),
    ],
)
def test_filters_and_sorting(client, admin_user, book, query, expected):
    response = login(client, admin_user).get(f"{URL}?{query}")
    assert names(response) == expected


def test_filter_by_account_manager_with_htmx_returns_the_table_only(client, admin_user, am_bob, book):
    response = login(client, admin_user).get(
        f"{URL}?account_manager={am_bob.pk}", headers={"HX-Request": "true"}
    )
    assert names(response) == ["Xylo", "Yonder"]
    assert response.context["totals"].exposure == money("3500")
    assert "<form" not in response.content.decode()  # the partial, not the page
    assert 'id="export-link"' in response.content.decode()  # the export link follows the filters


def test_an_account_manager_sees_and_exports_only_their_customers(client, am_alice, am_bob, book):
    response = login(client, am_alice).get(URL)
    # Her own four over or on hold, and Yonder where she is a default viewer; never Xylo or Nomad.
    assert names(response) == ["Edge", "Yonder", "Apex", "Bayside", "Dormant"]
    assert response.context["totals"].exposure == money("7900")
    page = response.content.decode()
    assert "Xylo" not in page and "Nomad" not in page
    # Bob's name is offered as an account manager only because Alice views Yonder.
    choices = [user.name for user in response.context["filter"].form.fields["account_manager"].queryset]
    assert sorted(choices) == sorted([am_alice.name, am_bob.name])

    sheet = load_workbook(io.BytesIO(client.get(f"{EXPORT}?over=amount").content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Customer ID", "Customer", "Account manager")
    assert [row[1] for row in rows[1:]] == ["Yonder", "Apex"]
    assert "Xylo" not in str(rows)


def test_empty_states(client, am_bob, admin_user, today):
    Workflow.objects.filter(is_default=True).update(credit_limit_amount=Decimal("1000.00"))
    within = Customer.objects.create(code="OK", name="Within", account_manager=am_bob)
    make_invoice(within, "OK-1", 999, today - dt.timedelta(days=300))
    response = login(client, admin_user).get(URL)
    assert "No customer is over their credit limit" in response.content.decode()
    assert response.context["totals"].customers == 0
    response = client.get(f"{URL}?q=nobody-by-this-name")
    assert "No customer matches these filters" in response.content.decode()


def test_export_of_the_filtered_rows_against_hand_computed_figures(client, admin_user, book, today):
    Customer.objects.filter(code="APEX").update(name="=HYPERLINK(1)")
    response = login(client, admin_user).get(f"{EXPORT}?over=amount&sort=customer")
    assert response["Content-Disposition"] == f'attachment; filename="credit-control-{today:%Y-%m-%d}.xlsx"'
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0] == (
        "Customer ID", "Customer", "Account manager", "Workflow", "Credit limit (SGD)",
        "Credit limit (days overdue)", "Exposure (SGD)", "Overdue (SGD)", "Oldest days past due",
        "Over by (SGD)", "Over by (days)", "On credit hold since",
    )  # fmt: skip
    apex, xylo, yonder = rows[1:]
    assert apex[:2] == ("APEX", "'=HYPERLINK(1)")  # a formula in user text stays text
    assert apex[4:11] == (1000, 30, 1100, 500, 12, 100, None)
    assert xylo[1] == "Xylo" and xylo[6:11] == (2000, 2000, 40, 1000, 10)
    since = book["since"].astimezone(Company.load().tz).replace(tzinfo=None)
    assert abs(xylo[11] - since) < dt.timedelta(seconds=1)  # local time, as the company reads it
    assert yonder[1] == "Yonder" and yonder[11] is None


def test_pages_carry_the_totals_and_a_page_past_the_end_shows_the_last(client, admin_user, book, monkeypatch):
    monkeypatch.setattr(credit_control_views, "PAGE_SIZE", 3)
    login(client, admin_user)
    second = client.get(f"{URL}?page=2")
    assert names(second) == ["Apex", "Bayside", "Nomad"]
    assert second.context["totals"].customers == 7
    past = client.get(f"{URL}?page=9")
    assert names(past) == ["Dormant"] and past.context["page"].number == 3
    assert "7–7 of 7" in past.content.decode()


def test_query_count_does_not_grow_with_the_rows(client, admin_user, am_alice, book, today):
    login(client, admin_user)
    client.get(URL)  # session and company loaded once, as every page after the first

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    before = queries()
    for n in range(5):
        extra = Customer.objects.create(code=f"MORE-{n}", name=f"More {n}", account_manager=am_alice)
        make_invoice(extra, f"M-{n}", 5000, today - dt.timedelta(days=60))
    assert queries() == before


def test_with_figures_kept_for_today_the_same_rows_and_when_they_were_taken(client, admin_user, book, today):
    login(client, admin_user)
    live = client.get(URL)
    assert "Figures as of" not in live.content.decode()  # no figures kept: live from the ledger
    run = refresh_figures(today=today)
    kept = client.get(URL)
    assert names(kept) == names(live) == EVERYONE_BY_EXPOSURE
    for before, after in zip(live.context["page"].object_list, kept.context["page"].object_list, strict=True):
        for figure in (
            "exposure",
            "overdue",
            "days_overdue",
            "over_by_amount",
            "over_by_days",
            "credit_limit_days",
        ):
            assert getattr(after, figure) == getattr(before, figure), (before.name, figure)
    assert kept.context["totals"].exposure == money("9950")
    taken = run.started_at.astimezone(Company.load().tz)
    assert f"Figures as of {taken:%H:%M}." in kept.content.decode()
    assert names(client.get(f"{URL}?over=days")) == ["Edge", "Xylo", "Bayside", "Nomad"]
    # Figures of another day are not read: back to the ledger.
    FiguresRun.objects.update(day=today - dt.timedelta(days=1))
    assert "Figures as of" not in client.get(URL).content.decode()


def test_an_account_manager_cannot_filter_their_way_into_another_book(
    client, am_alice, am_bob, admin_user, book
):
    login(client, am_alice)
    # Bob is offered because Alice views Yonder: filtering on him shows Yonder, never Xylo.
    assert names(client.get(f"{URL}?account_manager={am_bob.pk}")) == ["Yonder"]
    # A manager none of whose customers she sees is not a choice: nothing is shown or exported.
    response = client.get(f"{URL}?account_manager={admin_user.pk}")
    assert "Some filters could not be read" in response.content.decode()
    assert client.get(f"{EXPORT}?account_manager={admin_user.pk}").status_code == 400
