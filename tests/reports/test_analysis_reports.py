"""Aging by account manager, disputes and actions reports against hand-computed values.

The fixed book, dated relative to the company's today (T) so the pages and the queries agree
(base currency SGD):

    Alice's Apex (SGD)
      A1 issued T−20  due T+10   total   200                                    current
      A2 issued T−42  due T−12   total   500                                    1–30
      A3 issued T−75  due T−45   total 1,000, paid 400 on T−20 → due 600        31–60
      A4 issued T−130 due T−100  total   300, approved credit 50 on T−10 → 250  over 90
    Alice's Bayside (USD at 1.5)
      B1 issued T−100 due T−70   total 200 USD = 300 SGD                        61–90
      B2 issued T−70  due T−40   total 100 USD, paid on T−5                     paid
    Bob's Xylo (SGD): X1 issued T−35 due T−5 total 10,000                      1–30
    Bob's Zed: no invoices
    Nobody's Nomad (SGD): N1 issued T−61 due T−31 total 80                      31–60
"""

import datetime as dt
import io
import re
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.template.defaultfilters import floatformat
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from customers.models import Customer
from disputes.models import Dispute, DisputeReason, DisputeStatus
from invoices.models import CreditNote, CreditNoteStatus, Invoice, InvoiceStatus, Payment, PaymentAllocation
from peakflo.models import Company
from reports import analysis
from reports.figures import refresh_figures
from reports.models import FiguresRun
from reports.templatetags.dashboard_format import one_decimal, whole_money
from workflows.models import ActionType, Task, TaskStatus

pytestmark = pytest.mark.django_db

BUCKETS = ("current", "d1_30", "d31_60", "d61_90", "d90_plus")


def approx(value):
    return pytest.approx(Decimal(value), abs=Decimal("0.0001"))


def make_invoice(customer, number, issued, due, total, *, paid=0, credited=0, rate="1"):
    total, paid, credited = Decimal(total), Decimal(paid), Decimal(credited)
    amount_due = total - paid - credited
    return Invoice.objects.create(
        number=number,
        customer=customer,
        issue_date=issued,
        due_date=due,
        currency=customer.currency,
        exchange_rate=Decimal(rate),
        subtotal=total,
        total=total,
        amount_paid=paid,
        amount_credited=credited,
        amount_due=amount_due,
        status=InvoiceStatus.OPEN if amount_due else InvoiceStatus.PAID,
    )


def pay(invoice, on, amount):
    payment = Payment.objects.create(
        customer=invoice.customer, date=on, amount=Decimal(amount), currency=invoice.currency
    )
    PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=Decimal(amount))


@pytest.fixture
def today(db):
    return Company.load().today()


def day(today, offset):
    return today + dt.timedelta(days=offset)


def noon(on):
    return dt.datetime.combine(on, dt.time(12), tzinfo=Company.load().tz)


@pytest.fixture
def fixed_book(today, am_alice, am_bob):
    def t(offset):
        return day(today, offset)

    apex = Customer.objects.create(code="APEX", name="Apex Trading", currency="SGD", account_manager=am_alice)
    bayside = Customer.objects.create(
        code="BAY", name="Bayside Inc.", currency="USD", account_manager=am_alice
    )
    xylo = Customer.objects.create(code="XYLO", name="Xylo Holdings", currency="SGD", account_manager=am_bob)
    Customer.objects.create(code="ZED", name="Zed Foods", currency="SGD", account_manager=am_bob)
    nomad = Customer.objects.create(code="NOMAD", name="Nomad Goods", currency="SGD")

    a1 = make_invoice(apex, "A1", t(-20), t(10), 200)
    a2 = make_invoice(apex, "A2", t(-42), t(-12), 500)
    a3 = make_invoice(apex, "A3", t(-75), t(-45), 1000, paid=400)
    pay(a3, t(-20), 400)
    a4 = make_invoice(apex, "A4", t(-130), t(-100), 300, credited=50)
    CreditNote.objects.create(
        number="CN-A4",
        customer=apex,
        invoice=a4,
        date=t(-10),
        amount=Decimal(50),
        currency="SGD",
        status=CreditNoteStatus.APPROVED,
    )
    b1 = make_invoice(bayside, "B1", t(-100), t(-70), 200, rate="1.5")
    b2 = make_invoice(bayside, "B2", t(-70), t(-40), 100, paid=100, rate="1.5")
    pay(b2, t(-5), 100)
    x1 = make_invoice(xylo, "X1", t(-35), t(-5), 10000)
    n1 = make_invoice(nomad, "N1", t(-61), t(-31), 80)
    return {inv.number: inv for inv in (a1, a2, a3, a4, b1, b2, x1, n1)}


def aging_rows(report):
    return {
        row.name: {"customers": row.customers, **row.buckets} for row in [*report["rows"], report["totals"]]
    }


def figures(customers, current=0, d1_30=0, d31_60=0, d61_90=0, d90_plus=0):
    amounts = dict(zip(BUCKETS, (current, d1_30, d31_60, d61_90, d90_plus), strict=True))
    return {"customers": customers, **{key: approx(str(value)) for key, value in amounts.items()}}


# --- aging by account manager --------------------------------------------------------------------


def test_aging_per_account_manager_today(fixed_book, admin_user, am_bob, today):
    with CaptureQueriesContext(connection) as queries:
        report = analysis.aging_by_manager(admin_user, today=today)
    # A few grouped queries whatever the book (one for the amounts, one for the customer counts, one
    # for the managers' names, and the scope's own): a larger book asks no more.
    assert len(queries) <= 6
    more = Customer.objects.create(code="MORE", name="More Co", currency="SGD", account_manager=am_bob)
    for n in range(5):
        make_invoice(more, f"M{n}", day(today, -40), day(today, -10), 10)
    with CaptureQueriesContext(connection) as again:
        analysis.aging_by_manager(admin_user, today=today)
    assert len(again) == len(queries)
    report_with_more = analysis.aging_by_manager(admin_user, today=today)
    assert aging_rows(report_with_more)["Bob"] == figures(3, 0, 10050)
    # Alice: A1 200 current; A2 500 (12 days); A3 600 (45 days); B1 200 USD × 1.5 = 300 (70 days);
    # A4 250 (100 days). Bob: X1 10,000 (5 days) and Zed with nothing. Nobody's: N1 80 (31 days).
    assert aging_rows(report) == {
        "Alice": figures(2, 200, 500, 600, 300, 250),
        "Bob": figures(2, 0, 10000),
        "No account manager": figures(1, 0, 0, 80),
        "Total": figures(5, 200, 10500, 680, 300, 250),
    }
    assert [row.name for row in report["rows"]] == ["Alice", "Bob", "No account manager"]
    assert report["totals"].total == approx("11930")


def test_aging_as_of_a_past_date(fixed_book, admin_user, today):
    report = analysis.aging_by_manager(admin_user, today=today, as_of=day(today, -30))
    # On T−30: A1 not issued yet. A2 due T−12: current 500. A3 1,000 (paid on T−20, later), 15 days.
    # A4 300 (credit on T−10, later), 70 days. B1 300, 40 days. B2 150 (paid T−5), 10 days.
    # X1 issued T−35, due T−5: current 10,000. N1 due T−31: 1 day, 80.
    assert aging_rows(report) == {
        "Alice": figures(2, 500, 1150, 300, 300, 0),
        "Bob": figures(2, 10000),
        "No account manager": figures(1, 0, 80),
        "Total": figures(5, 10500, 1230, 300, 300, 0),
    }


def test_an_account_manager_sees_only_their_own_row(fixed_book, am_alice, today):
    report = analysis.aging_by_manager(am_alice, today=today)
    assert aging_rows(report) == {
        "Alice": figures(2, 200, 500, 600, 300, 250),
        "Total": figures(2, 200, 500, 600, 300, 250),
    }


def test_a_default_viewer_sees_the_viewed_customers_labelled_as_such(client, fixed_book, am_alice, today):
    xylo, nomad = fixed_book["X1"].customer, fixed_book["N1"].customer
    xylo.default_viewers.add(am_alice)
    nomad.default_viewers.add(am_alice)
    report = analysis.aging_by_manager(am_alice, today=today)
    # Only the customers Alice views: Xylo (10,000), not Bob's Zed; the row does not pass for
    # Bob's whole book, nor for Alice's own.
    assert aging_rows(report) == {
        "Alice": figures(2, 200, 500, 600, 300, 250),
        "Customers you view, managed by Bob": figures(1, 0, 10000),
        "Customers you view, with no account manager": figures(1, 0, 0, 80),
        "Total": figures(4, 200, 10500, 680, 300, 250),
    }
    assert [row.viewed for row in report["rows"]] == [False, True, True]

    client.force_login(am_alice)
    html = client.get(reverse("report_aging_by_manager")).content.decode()
    assert _row_cells(html, "manager", "Customers you view, managed by Bob")[:3] == [
        "Customers you view, managed by Bob",
        "1",
        "—",
    ]
    assert '<th scope="row">Bob</th>' not in html
    rows = _sheet(client.get(reverse("report_aging_by_manager_export")))
    assert [row[0] for row in rows[1:]] == [
        "Alice",
        "Customers you view, managed by Bob",
        "Customers you view, with no account manager",
        "Total",
    ]
    # An admin sees Bob's whole book under his name.
    assert aging_rows(analysis.aging_by_manager(fixed_book["X1"].customer.account_manager, today=today))[
        "Bob"
    ] == figures(2, 0, 10000)


def test_todays_aging_reads_the_figures_kept_ready_and_says_when(
    client, fixed_book, admin_user, am_alice, today
):
    refresh_figures(today=today)
    taken = FiguresRun.objects.get().started_at.astimezone(Company.load().tz)
    # An invoice recorded since is not in the figures yet; the report as of a past date is live.
    make_invoice(fixed_book["X1"].customer, "X2", day(today, -1), day(today, 29), 700)
    report = analysis.aging_by_manager(admin_user, today=today)
    assert report["figures_taken_at"] is not None
    assert aging_rows(report)["Bob"] == figures(2, 0, 10000)
    assert aging_rows(report)["Total"] == figures(5, 200, 10500, 680, 300, 250)
    yesterday = analysis.aging_by_manager(admin_user, today=today, as_of=day(today, -1))
    assert yesterday["figures_taken_at"] is None
    assert aging_rows(yesterday)["Bob"] == figures(2, 700, 10000)

    client.force_login(am_alice)
    html = client.get(reverse("report_aging_by_manager")).content.decode()
    assert f"Figures as of {taken:%H:%M}" in html
    assert "Bob" not in html and "10,000" not in html
    assert _row_cells(html, "manager", "Total")[-1] == "1,850"
    past = client.get(reverse("report_aging_by_manager"), {"as_of": day(today, -1).isoformat()})
    assert "Figures as of" not in past.content.decode()


def test_figures_of_another_day_are_not_used(fixed_book, admin_user, today):
    refresh_figures(today=day(today, -1))
    report = analysis.aging_by_manager(admin_user, today=today)
    assert report["figures_taken_at"] is None
    assert aging_rows(report)["Total"] == figures(5, 200, 10500, 680, 300, 250)


def test_amounts_link_to_the_invoices_behind_them(client, fixed_book, am_alice, today):
    client.force_login(am_alice)
    html = client.get(reverse("report_aging_by_manager")).content.decode()
    links = re.findall(r'<a href="(/invoices/\?[^"]+)">', html)
    one_to_thirty = next(unescape(link) for link in links if "due_from" in link and "status=overdue" in link)
    listed = client.get(one_to_thirty).content.decode()
    assert "A2" in listed  # 12 days past due
    assert ">A3<" not in listed and "A3</a>" not in listed  # 45 days: another bucket


def _row_cells(html, attribute, name):
    """The text of each cell of the row marked data-<attribute>="<name>"."""
    row = re.search(rf'<tr[^>]*data-{attribute}="{re.escape(name)}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]


def _sheet(response):
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def money_cell(value):
    """Whole money as the page prints it, its no-break space read as a space."""
    return " ".join(whole_money(value, "SGD").split())


def _shown(value):
    """How the aging table prints an exported amount: a dash for nothing, else whole units."""
    return "—" if not value else floatformat(value, "0g")


def test_the_aging_export_matches_the_page(client, fixed_book, admin_user):
    client.force_login(admin_user)
    html = client.get(reverse("report_aging_by_manager")).content.decode()
    rows = _sheet(client.get(reverse("report_aging_by_manager_export")))
    assert rows[0][:2] == ["Account manager", "Customers"]
    assert [row[0] for row in rows[1:]] == ["Alice", "Bob", "No account manager", "Total"]
    for row in rows[1:]:
        page = _row_cells(html, "manager", row[0])
        assert page[1] == str(row[1])
        assert page[2:] == [_shown(value) for value in row[2:]]


def test_an_account_manager_exports_nothing_of_anothers_customers(client, fixed_book, am_alice, am_bob):
    client.force_login(am_alice)
    html = client.get(reverse("report_aging_by_manager")).content.decode()
    assert "Bob" not in html and "10,000" not in html
    rows = _sheet(client.get(reverse("report_aging_by_manager_export")))
    assert [row[0] for row in rows[1:]] == ["Alice", "Total"]
    assert rows[-1][-1] == approx("1850")

    client.force_login(am_bob)
    rows = _sheet(client.get(reverse("report_aging_by_manager_export")))
    assert [row[0] for row in rows[1:]] == ["Bob", "Total"]
    assert rows[-1][-1] == approx("10000")


def test_the_as_of_field_redraws_the_table_and_refuses_a_bad_date(client, fixed_book, admin_user, today):
    client.force_login(admin_user)
    as_of = day(today, -30).isoformat()
    partial = client.get(reverse("report_aging_by_manager"), {"as_of": as_of}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert "<html" not in body and 'id="aging-table"' in body
    assert _row_cells(body, "manager", "Total")[-1] == "12,330"
    assert "/invoices/?" not in body  # the invoice list shows today's amounts: no links

    bad = client.get(reverse("report_aging_by_manager"), {"as_of": "2026-13-40"}).content.decode()
    assert "As of" in bad and "2026-13-40" in bad and "Enter a valid date" in bad
    assert _row_cells(bad, "manager", "Total")[-1] == "11,930"

    future = client.get(reverse("report_aging_by_manager"), {"as_of": day(today, 3).isoformat()})
    assert "is in the future" in future.content.decode()


@pytest.mark.parametrize(
    "name", ["report_aging_by_manager", "report_aging_by_manager_export", "report_disputes",
             "report_disputes_export", "report_actions", "report_actions_export"],
)  # fmt: skip
def test_reports_refuse_someone_not_signed_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_reports_index_lists_the_analysis_reports(client, admin_user):
    client.force_login(admin_user)
    html = client.get(reverse("reports")).content.decode()
    for name in ("report_aging_by_manager", "report_disputes", "report_actions"):
        assert f'href="{reverse(name)}"' in html


# --- disputes ------------------------------------------------------------------------------------


@pytest.fixture
def disputes(fixed_book, today):
    wrong = DisputeReason.objects.create(name="Wrong amount", position=1)
    missing = DisputeReason.objects.create(name="Goods not received", position=2)

    def dispute(invoice, reason, raised, resolved=None):
        return Dispute.objects.create(
            invoice=invoice,
            customer=invoice.customer,
            reason=reason,
            raised_at=noon(day(today, raised)),
            status=DisputeStatus.RESOLVED if resolved is not None else DisputeStatus.OPEN,
            resolved_at=noon(day(today, resolved)) if resolved is not None else None,
        )

    book = fixed_book
    # Open
    dispute(book["A2"], wrong, -3)  # under 7 days
    dispute(book["A3"], wrong, -10)  # 7–30
    dispute(book["B1"], missing, -40)  # 31–90
    dispute(book["X1"], missing, -200)  # over 90 (Bob's)
    # Resolved: days from raised to resolved
    dispute(book["A4"], wrong, -20, -10)  # 10 days
    dispute(book["A1"], wrong, -30, -26)  # 4 days
    dispute(book["A2"], wrong, -50, -44)  # 6 days
    dispute(book["B1"], missing, -150, -95)  # 55 days, resolved before the last 90 days
    dispute(book["X1"], missing, -30, -28)  # 2 days (Bob's)


def open_table(report):
    return {
        line.reason: (line.in_order(), line.total, line.amount)
        for line in [*report["rows"], report["totals"]]
    }


def test_open_disputes_by_reason_and_age(disputes, admin_user, am_alice, today):
    # Wrong amount: A2 500 + A3 600; Goods not received: B1 300 + X1 10,000.
    assert open_table(analysis.open_disputes_by_reason(admin_user, today=today)) == {
        "Goods not received": ([0, 0, 1, 1], 2, approx("10300")),
        "Wrong amount": ([1, 1, 0, 0], 2, approx("1100")),
        "Total": ([1, 1, 1, 1], 4, approx("11400")),
    }
    assert open_table(analysis.open_disputes_by_reason(am_alice, today=today)) == {
        "Wrong amount": ([1, 1, 0, 0], 2, approx("1100")),
        "Goods not received": ([0, 0, 1, 0], 1, approx("300")),
        "Total": ([1, 1, 1, 0], 3, approx("1400")),
    }


def resolution_table(report):
    rows = [*report["rows"], {**report["totals"], "reason__name": "Total"}]
    return {
        row["reason__name"]: (row["disputes"], pytest.approx(row["average"]), pytest.approx(row["median"]))
        for row in rows
    }


def test_resolution_time_per_reason(disputes, admin_user, am_alice, today):
    last_90 = {"resolved_from": day(today, -90), "resolved_to": today}
    # Wrong amount: 10, 4, 6 days → average 6.667, median 6. Goods not received: Bob's 2 days only.
    # All: 10, 4, 6, 2 → average 5.5, median 5.
    assert resolution_table(analysis.resolution_times(admin_user, **last_90)) == {
        "Goods not received": (1, 2.0, 2.0),
        "Wrong amount": (3, 20 / 3, 6.0),
        "Total": (4, 5.5, 5.0),
    }
    assert resolution_table(analysis.resolution_times(am_alice, **last_90)) == {
        "Wrong amount": (3, 20 / 3, 6.0),
        "Total": (3, 20 / 3, 6.0),
    }
    longer = analysis.resolution_times(am_alice, resolved_from=day(today, -100), resolved_to=today)
    # B1's 55 days join in: Goods not received 55; all: 10, 4, 6, 55 → average 18.75, median 8.
    assert resolution_table(longer)["Goods not received"] == (1, 55.0, 55.0)
    assert resolution_table(longer)["Total"] == (4, 18.75, 8.0)


def test_the_disputes_page_and_export_agree_and_keep_to_the_users_customers(client, disputes, am_alice):
    client.force_login(am_alice)
    html = client.get(reverse("report_disputes")).content.decode()
    rows = _sheet(client.get(reverse("report_disputes_export")))
    blank = next(i for i, row in enumerate(rows) if not any(row))
    open_rows, resolved_rows = rows[1:blank], rows[blank + 2 :]
    assert [row[0] for row in open_rows] == ["Wrong amount", "Goods not received", "Total"]
    assert open_rows[-1][5:] == [3, approx("1400")]  # nothing of Bob's X1 (10,000)
    for row in open_rows:
        page = _row_cells(html, "reason", row[0])
        assert page[1:5] == [str(n) if n else ("—" if row[0] != "Total" else "0") for n in row[1:5]]
        assert page[5:] == [str(row[5]), money_cell(row[6])]
    assert [row[:2] for row in resolved_rows] == [["Wrong amount", 3], ["Total", 3]]
    for row in resolved_rows:
        page = _row_cells(html, "resolved", row[0])
        assert page[1:] == [str(row[1]), one_decimal(row[2]), one_decimal(row[3])]
    assert "10,000" not in html and "Goods not received" in html


def test_a_backwards_period_is_named_and_the_default_shown(client, disputes, admin_user, today):
    client.force_login(admin_user)
    html = client.get(
        reverse("report_disputes"), {"date_from": today.isoformat(), "date_to": day(today, -5).isoformat()}
    ).content.decode()
    assert "after it ends" in html and "Showing the last 90 days instead" in html
    assert _row_cells(html, "resolved", "Total")[-3:] == ["4", "5.5", "5.0"]


# --- actions -------------------------------------------------------------------------------------


@pytest.fixture
def tasks(fixed_book, today, am_alice, am_bob):
    apex = fixed_book["A1"].customer
    xylo = fixed_book["X1"].customer
    nomad = fixed_book["N1"].customer

    def task(customer, owner, kind, due, completed=None):
        return Task.objects.create(
            customer=customer,
            owner=owner,
            kind=kind,
            title=f"{kind} due {due}",
            due_on=day(today, due),
            status=TaskStatus.DONE if completed is not None else TaskStatus.OPEN,
            completed_at=noon(day(today, completed)) if completed is not None else None,
        )

    call, letter = ActionType.PHONE_CALL, ActionType.LETTER
    task(apex, am_alice, call, -5, -6)  # due, done on time
    task(apex, am_alice, call, -10, -8)  # due, done late
    task(apex, am_alice, call, -3)  # due, overdue
    task(apex, am_alice, call, 0)  # due today: not overdue yet
    task(apex, am_alice, call, 2)  # due after the period
    task(apex, am_alice, letter, -40, -2)  # done in the period, due before it, late
    task(apex, am_alice, call, -45, -40)  # neither due nor done in the period
    task(xylo, am_bob, call, -1)  # due, overdue (Bob's)
    task(nomad, None, letter, -4, -4)  # due, done on the day: on time


def actions_table(report):
    return {
        (line.owner, line.kind_label): (line.due, line.done, line.done_on_time, line.overdue)
        for line in [*report["rows"], report["totals"]]
    }


def test_actions_per_owner_and_type(tasks, admin_user, am_alice, today):
    last_30 = {"today": today, "period_from": day(today, -29), "period_to": today}
    assert actions_table(analysis.actions_by_owner(admin_user, **last_30)) == {
        ("Alice", "Letter"): (0, 1, 0, 0),
        ("Alice", "Phone call"): (4, 2, 1, 1),
        ("Bob", "Phone call"): (1, 0, 0, 1),
        ("Unassigned", "Letter"): (1, 1, 1, 0),
        ("Total", ""): (6, 4, 2, 2),
    }
    assert actions_table(analysis.actions_by_owner(am_alice, **last_30)) == {
        ("Alice", "Letter"): (0, 1, 0, 0),
        ("Alice", "Phone call"): (4, 2, 1, 1),
        ("Total", ""): (4, 3, 1, 1),
    }


def test_the_actions_page_and_export_agree(client, tasks, admin_user, am_bob, today):
    client.force_login(admin_user)
    html = client.get(reverse("report_actions")).content.decode()
    rows = _sheet(client.get(reverse("report_actions_export")))
    assert rows[0][:6] == ["Owner", "Task type", "Due", "Done", "Done on time", "Overdue"]
    assert len(rows) == 1 + 5
    page_rows = [
        [" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r'<tr data-owner="[^"]*" data-kind="[^"]*">(.*?)</tr>', html, re.S)
    ]  # fmt: skip
    # One line per owner and type, in the same order, with the same figures.
    assert [row[:2] for row in page_rows] == [row[:2] for row in rows[1:-1]]
    assert [row[2:6] for row in page_rows] == [[str(n) for n in row[2:6]] for row in rows[1:-1]]
    page_total = _row_cells(html, "owner", "Total")
    assert page_total[1:5] == [str(n) for n in rows[-1][2:6]] == ["6", "4", "2", "2"]
    assert page_total[5] == "50.0 %"

    client.force_login(am_bob)
    html = client.get(reverse("report_actions")).content.decode()
    rows = _sheet(client.get(reverse("report_actions_export")))
    assert [row[0] for row in rows[1:]] == ["Bob", "Total"]
    assert "Alice" not in html and "Unassigned" not in html
