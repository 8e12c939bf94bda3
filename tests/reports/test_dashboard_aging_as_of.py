"""The dashboard's aging card as of a chosen date, against hand-computed figures, within the scope.

The fixed book, dated relative to the company's today (T), base currency SGD:

    Alice's Apex (SGD)
      A1 issued T−20  due T+10   total   200
      A2 issued T−42  due T−12   total   500
      A3 issued T−75  due T−45   total 1,000, paid 400 on T−20
      A4 issued T−130 due T−100  total   300, approved credit 50 on T−10
    Alice's Bayside (USD at 1.5)
      B1 issued T−100 due T−70   total 200 USD = 300 SGD
      B2 issued T−70  due T−40   total 100 USD = 150 SGD, paid on T−5
    Bob's Xylo (SGD): X1 issued T−35 due T−5 total 10,000
    Nobody's Nomad (SGD): N1 issued T−61 due T−31 total 80

Alice's aging as of T−30 (payments and credits dated later do not count, A1 not issued yet):
    current  A2 500 (due T−12, not yet due)                                      500
    1–30     A3 1,000 (15 days) + B2 150 (10 days)                              1,150
    31–60    B1 300 (40 days)                                                     300
    61–90    A4 300 (70 days)                                                     300
    over 90  —                                                                      0
    total 2,250: shares 22.2 %, 51.1 %, 13.3 %, 13.3 %, 0.0 %
Alice's as of T−60 (A1 and A2 not issued yet): current A3 1,000 + B2 150 = 1,150 (due T−45 and
T−40); 1–30 B1 300 (10 days); 31–60 A4 300 (40 days) — total 1,750.
"""

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer
from invoices.models import CreditNote, CreditNoteStatus
from peakflo.models import Company
from reports import analysis, selectors
from reports.figures import refresh_figures

from .test_analysis_reports import make_invoice, pay

pytestmark = pytest.mark.django_db

URL = reverse("report_dashboard_aging")


@pytest.fixture
def today(db):
    return Company.load().today()


@pytest.fixture
def book(today, am_alice, am_bob):
    def t(offset):
        return today + dt.timedelta(days=offset)

    apex = Customer.objects.create(code="APEX", name="Apex Trading", currency="SGD", account_manager=am_alice)
    bayside = Customer.objects.create(
        code="BAY", name="Bayside Inc.", currency="USD", account_manager=am_alice
    )
    xylo = Customer.objects.create(code="XYLO", name="Xylo Holdings", currency="SGD", account_manager=am_bob)
    nomad = Customer.objects.create(code="NOMAD", name="Nomad Goods", currency="SGD")
    make_invoice(apex, "A1", t(-20), t(10), 200)
    make_invoice(apex, "A2", t(-42), t(-12), 500)
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
    make_invoice(bayside, "B1", t(-100), t(-70), 200, rate="1.5")
    b2 = make_invoice(bayside, "B2", t(-70), t(-40), 100, paid=100, rate="1.5")
    pay(b2, t(-5), 100)
    make_invoice(xylo, "X1", t(-35), t(-5), 10000)
    make_invoice(nomad, "N1", t(-61), t(-31), 80)
    return {"apex": apex, "xylo": xylo}


def card(client, **params):
    """Per bucket, the amount and share the HTMX partial prints, and the partial's text."""
    response = client.get(URL, params, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    cells = dict(re.findall(r'<td class="num" id="aging-(\w+)">(.*?)</td>', html, re.S))
    shown = {key: " ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for key, cell in cells.items()}
    return shown, html


def amounts(scope_aging):
    return [(bucket["key"], bucket["amount"]) for bucket in scope_aging]


def approx(value):
    return pytest.approx(Decimal(value), abs=Decimal("0.0001"))


def test_alices_aging_thirty_days_ago(client, book, am_alice, today):
    client.force_login(am_alice)
    shown, html = card(client, as_of=(today - dt.timedelta(days=30)).isoformat())
    assert shown == {
        "current": "500.00 22.2%",
        "d1_30": "1,150.00 51.1%",
        "d31_60": "300.00 13.3%",
        "d61_90": "300.00 13.3%",
        "d90_plus": "0.00 0.0%",
    }
    # Only the card's body comes back, saying which day it shows and what that means.
    assert "<html" not in html and 'id="dash-aging-body"' in html
    assert "payments and credits dated later do not count" in html
    # The chart is drawn from the same figures: the tallest bar is 1–30.
    assert re.search(r"1–30 days past due: SGD\s1,150", html)


def test_sixty_days_ago_leaves_out_invoices_issued_later(book, am_alice, today):
    scope = selectors.dashboard_scope(am_alice, today=today)
    aging = analysis.dashboard_aging(scope, as_of=today - dt.timedelta(days=60))
    assert amounts(aging) == [
        ("current", approx("1150")),
        ("d1_30", approx("300")),
        ("d31_60", approx("300")),
        ("d61_90", approx("0")),
        ("d90_plus", approx("0")),
    ]


def test_as_of_today_is_the_dashboards_own_aging(client, book, am_alice, admin_user, today):
    # The card shows the dashboard's own aging today; the as-of sums agree with it at today.
    for user in (am_alice, admin_user):
        scope = selectors.dashboard_scope(user, today=today)
        live = analysis.aged_amounts(scope.of, today=today, as_of=today, manager_path=None)[None]
        assert amounts(selectors.open_book(scope)["aging"]) == [
            (key, approx(live[key])) for key in ("current", "d1_30", "d31_60", "d61_90", "d90_plus")
        ]
    client.force_login(am_alice)
    dashboard = client.get(reverse("dashboard")).content.decode()
    # Alice today: A1 200 current; A2 500 and 1–30; A3 600 31–60; B1 300 61–90; A4 250 over 90.
    assert 'id="aging-as-of"' in dashboard and f'value="{today.isoformat()}"' in dashboard
    shown, _ = card(client, as_of=today.isoformat())
    assert shown["d31_60"] == "600.00 32.4%" and shown["d90_plus"] == "250.00 13.5%"
    assert re.search(r'id="aging-d31_60">600.00<br><span class="muted small">32.4%', dashboard)


def test_an_admin_sees_everyone_or_the_account_manager_narrowed_to(client, book, admin_user, am_bob, today):
    client.force_login(admin_user)
    as_of = (today - dt.timedelta(days=30)).isoformat()
    everyone, _ = card(client, as_of=as_of)
    # Alice's figures, Bob's X1 10,000 (current then) and Nomad's N1 80 (1 day past due).
    assert everyone["current"] == "10,500.00 85.2%"
    assert everyone["d1_30"] == "1,230.00 10.0%"
    bob, _ = card(client, as_of=as_of, account_manager=am_bob.pk)
    assert bob == {
        "current": "10,000.00 100.0%",
        "d1_30": "0.00 0.0%",
        "d31_60": "0.00 0.0%",
        "d61_90": "0.00 0.0%",
        "d90_plus": "0.00 0.0%",
    }
    # The narrowing travels with the date field, so the next date keeps to Bob's book.
    dashboard = client.get(reverse("dashboard"), {"account_manager": am_bob.pk}).content.decode()
    assert f'<input type="hidden" name="account_manager" value="{am_bob.pk}">' in dashboard


def test_an_account_manager_cannot_see_a_colleagues_book_through_the_card(
    client, book, am_alice, am_bob, today
):
    client.force_login(am_alice)
    as_of = (today - dt.timedelta(days=30)).isoformat()
    own, _ = card(client, as_of=as_of)
    asking_for_bob, html = card(client, as_of=as_of, account_manager=am_bob.pk)
    assert asking_for_bob == own  # the colleague's id is ignored: still Alice's 2,250
    assert "10,000" not in html and "10k" not in html
    page = client.get(URL, {"as_of": as_of, "account_manager": am_bob.pk}).content.decode()
    assert "10,000" not in page and "10k" not in page and "1,150.00" in page

    client.force_login(am_bob)
    bob, html = card(client, as_of=as_of)
    assert bob["current"] == "10,000.00 100.0%" and "1,150" not in html


def test_a_default_viewer_sees_the_viewed_customer_in_the_card(client, book, am_alice, today):
    book["xylo"].default_viewers.add(am_alice)
    client.force_login(am_alice)
    shown, _ = card(client, as_of=(today - dt.timedelta(days=30)).isoformat())
    assert shown["current"] == "10,500.00 85.7%"  # 500 + Xylo's 10,000 of 12,250


def test_a_future_date_is_refused_and_today_shown(client, book, am_alice, today):
    client.force_login(am_alice)
    future = today + dt.timedelta(days=3)
    shown, html = card(client, as_of=future.isoformat())
    assert f"As of {future:%d %b %Y} is in the future; choose today or earlier." in html
    assert "Showing today&#x27;s aging instead." in html or "Showing today's aging instead." in html
    assert shown["d31_60"] == "600.00 32.4%"
    _, html = card(client, as_of="2026-02-31")
    assert "Enter a valid date" in html


def test_without_javascript_the_card_is_a_page_of_its_own(client, book, am_alice, today):
    client.force_login(am_alice)
    as_of = today - dt.timedelta(days=30)
    html = client.get(URL, {"as_of": as_of.isoformat()}).content.decode()
    assert "<html" in html and f"Aging as of {as_of:%-d %B %Y}" in html
    assert 'id="aging-d1_30">1,150.00' in html


def test_the_card_refuses_someone_not_signed_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_query_count_does_not_grow_with_the_book(client, book, am_alice, today):
    client.force_login(am_alice)
    as_of = (today - dt.timedelta(days=30)).isoformat()

    def count():
        with CaptureQueriesContext(connection) as queries:
            card(client, as_of=as_of)
        return len(queries)

    before = count()
    for n in range(5):
        invoice = make_invoice(book["apex"], f"MORE-{n}", today - dt.timedelta(days=50), today, 10)
        pay(invoice, today - dt.timedelta(days=1), 5)
    assert count() == before


def test_today_the_card_agrees_with_the_dashboard_when_it_reads_kept_figures(client, book, am_alice, today):
    refresh_figures(today=today)
    # An invoice recorded after the figures were taken: today's card, like the dashboard, shows the
    # figures (until the next rebuild); a past date is summed from the ledger and counts it.
    make_invoice(book["apex"], "LATE", today - dt.timedelta(days=2), today - dt.timedelta(days=1), 1000)
    client.force_login(am_alice)
    shown, _ = card(client, as_of=today.isoformat())
    assert shown["d1_30"] == "500.00 27.0%"  # A2 only, of 1,850
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert re.search(r'id="aging-d1_30">500.00<br>', dashboard)
    yesterday, _ = card(client, as_of=(today - dt.timedelta(days=1)).isoformat())
    # On T−1: A1 200 and LATE 1,000 (due T−1, not yet past due) current; A2 500 (11 days) 1–30.
    assert yesterday["current"].startswith("1,200.00") and yesterday["d1_30"].startswith("500.00")
