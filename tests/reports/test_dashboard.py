"""The dashboard's figures against hand-computed values, and whose customers it shows.

The fixed book (base currency SGD; "today" is Sunday 15 March 2026):

    Alice's customer Apex (SGD)
      I1  issued 2025-11-01 due 2025-12-01 total 1,000  paid 400 on 2026-01-10     due 600  (104 days late)
      I2  issued 2026-02-01 due 2026-03-03 total   500                             due 500  (12 days late)
      I3  issued 2026-03-01 due 2026-03-31 total   300  approved credit 100 on 03-05  due 200  (current)
      I4  issued 2026-01-05 due 2026-02-04 total   800  paid 800 on 2026-03-10     paid
      I5  issued 2025-06-01 due 2025-07-01 total   250                             due 250  (256 days late)
      IV  issued 2026-03-01 void, total 999: never counts
      a pending credit note of 50 on I2: never counts
    Alice's customer Bayside (USD, rate 1.5 SGD per USD)
      I6  issued 2026-01-20 due 2026-02-19 total 200 USD = 300 SGD                 due 300  (24 days late)
      I7  issued 2025-12-15 due 2026-01-14 total 100 USD = 150 SGD, paid on 2026-02-13  paid
    Bob's customer Xylo (SGD)
      I8  issued 2026-02-10 due 2026-03-12 total 10,000                            due 10,000
      I9  issued 2026-01-01 due 2026-01-31 total  5,000  paid 5,000 on 2026-03-01  paid
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from disputes.models import Dispute, DisputeReason, DisputeStatus
from invoices.models import CreditNote, CreditNoteStatus, Invoice, InvoiceStatus, Payment, PaymentAllocation
from peakflo.models import Company
from reports import selectors
from reports.figures import refresh_figures
from workflows.models import Task, TaskStatus

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 15)
D = dt.date


def approx(value):
    return pytest.approx(Decimal(value), abs=Decimal("0.0001"))


def make_invoice(customer, number, issued, due, total, *, paid=0, credited=0, rate="1", status=None):
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
        status=status or (InvoiceStatus.OPEN if amount_due else InvoiceStatus.PAID),
    )


def pay(invoice, on, amount):
    payment = Payment.objects.create(
        customer=invoice.customer, date=on, amount=Decimal(amount), currency=invoice.currency
    )
    PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=Decimal(amount))
    return payment


def credit(invoice, number, on, amount, status=CreditNoteStatus.APPROVED):
    return CreditNote.objects.create(
        number=number,
        customer=invoice.customer,
        invoice=invoice,
        date=on,
        amount=Decimal(amount),
        currency=invoice.currency,
        status=status,
    )


@pytest.fixture(params=["live", "live-large", "kept"])
def figures_source(request, monkeypatch):
    """Every figure is checked three ways: computed from the ledger for a book listed as ids first,
    the same for a book too large to list (the visibility subquery itself), and read from the kept
    figures beat rebuilds for large books (reports.figures) — all must give the hand-computed values."""
    if request.param == "live-large":
        monkeypatch.setattr(selectors, "IDS_UP_TO", 1)
    return request.param


@pytest.fixture
def fixed_book(am_alice, am_bob, figures_source):
    apex = Customer.objects.create(code="APEX", name="Apex Trading", currency="SGD", account_manager=am_alice)
    bayside = Customer.objects.create(
        code="BAY", name="Bayside Inc.", currency="USD", account_manager=am_alice
    )
    xylo = Customer.objects.create(code="XYLO", name="Xylo Holdings", currency="SGD", account_manager=am_bob)

    i1 = make_invoice(apex, "I1", D(2025, 11, 1), D(2025, 12, 1), 1000, paid=400)
    pay(i1, D(2026, 1, 10), 400)
    i2 = make_invoice(apex, "I2", D(2026, 2, 1), D(2026, 3, 3), 500)
    credit(i2, "CN-PENDING", D(2026, 3, 1), 50, status=CreditNoteStatus.PENDING_APPROVAL)
    i3 = make_invoice(apex, "I3", D(2026, 3, 1), D(2026, 3, 31), 300, credited=100)
    credit(i3, "CN-I3", D(2026, 3, 5), 100)
    i4 = make_invoice(apex, "I4", D(2026, 1, 5), D(2026, 2, 4), 800, paid=800)
    pay(i4, D(2026, 3, 10), 800)
    i5 = make_invoice(apex, "I5", D(2025, 6, 1), D(2025, 7, 1), 250)
    make_invoice(apex, "IV", D(2026, 3, 1), D(2026, 3, 31), 999, status=InvoiceStatus.VOID)

    i6 = make_invoice(bayside, "I6", D(2026, 1, 20), D(2026, 2, 19), 200, rate="1.5")
    i7 = make_invoice(bayside, "I7", D(2025, 12, 15), D(2026, 1, 14), 100, paid=100, rate="1.5")
    pay(i7, D(2026, 2, 13), 100)

    i8 = make_invoice(xylo, "I8", D(2026, 2, 10), D(2026, 3, 12), 10000)
    i9 = make_invoice(xylo, "I9", D(2026, 1, 1), D(2026, 1, 31), 5000, paid=5000)
    pay(i9, D(2026, 3, 1), 5000)
    if figures_source == "kept":
        refresh_figures(today=TODAY)
    return {
        "apex": apex,
        "bayside": bayside,
        "xylo": xylo,
        **{inv.number: inv for inv in (i1, i2, i3, i4, i5, i6, i7, i8, i9)},
    }


def figures_for(user, **narrowing):
    return selectors.dashboard_figures(selectors.dashboard_scope(user, today=TODAY, **narrowing))


def test_receivables_overdue_aging_and_doubtful_debt(fixed_book, am_alice):
    f = figures_for(am_alice)
    # Open: I1 600 + I2 500 + I3 200 + I5 250 + I6 200 USD × 1.5 = 300  → 1,850 (I4, I7 paid; IV void)
    assert f["receivables"] == approx("1850")
    assert f["open_count"] == 5
    # Not yet due: I3 200. Overdue: 1,850 − 200 = 1,650 on 4 invoices, 1,650 ÷ 1,850 = 89.1892 %
    assert f["current"] == approx("200")
    assert f["overdue"] == approx("1650")
    assert f["overdue_count"] == 4
    assert f["overdue_share"] == approx("89.1892")
    # Buckets by days past due on 15 March: I2 12 days and I6 24 days → 1–30: 500 + 300 = 800;
    # I1 104 days and I5 256 days → over 90: 600 + 250 = 850.
    assert {b["key"]: b["amount"] for b in f["aging"]} == {
        "current": approx("200"),
        "d1_30": approx("800"),
        "d31_60": approx("0"),
        "d61_90": approx("0"),
        "d90_plus": approx("850"),
    }
    # Over 180 days past due: only I5 (256 days), 250.
    assert f["doubtful"] == approx("250")
    assert f["doubtful_count"] == 1


def test_dso_and_average_days_delinquent(fixed_book, am_alice):
    f = figures_for(am_alice)
    # Credit sales issued in (15 Dec 2025, 15 Mar 2026]: I2 500 + I3 300 + I4 800 + I6 300 = 1,900
    # (I7, issued on 15 December itself, is outside the 90 days; the void IV is no sale).
    assert f["dso_sales"] == approx("1900")
    # DSO = 1,850 ÷ 1,900 × 90 = 87.6316 days
    assert f["dso"] == approx("87.6316")
    # Best possible DSO = current 200 ÷ 1,900 × 90 = 9.4737; days delinquent = 87.6316 − 9.4737 = 78.1579
    assert f["best_dso"] == approx("9.4737")
    assert f["days_delinquent"] == approx("78.1579")


def test_collection_effectiveness_over_30_and_90_days(fixed_book, am_alice):
    cei = {period["days"]: period for period in figures_for(am_alice)["cei"]}
    # 30 days, from 13 February. Balances on 13 Feb of invoices issued by then:
    #   I1 1,000 − 400 (paid 10 Jan) = 600; I2 500; I4 800 (paid later); I5 250; I6 300;
    #   I7 150 − 150 paid on 13 Feb itself = 0            → beginning 2,450
    # Sales in (13 Feb, 15 Mar]: I3 300. Ending total 1,850, ending current 200.
    # CEI = (2,450 + 300 − 1,850) ÷ (2,450 + 300 − 200) × 100 = 900 ÷ 2,550 × 100 = 35.2941 %
    assert cei[30]["beginning"] == approx("2450")
    assert cei[30]["sales"] == approx("300")
    assert cei[30]["value"] == approx("35.2941")
    # 90 days, from 15 December. Issued by then: I1 1,000 (paid later), I5 250, I7 150 → 1,400.
    # Sales 1,900 (as for DSO). CEI = (1,400 + 1,900 − 1,850) ÷ (1,400 + 1,900 − 200) × 100
    #   = 1,450 ÷ 3,100 × 100 = 46.7742 %
    assert cei[90]["beginning"] == approx("1400")
    assert cei[90]["value"] == approx("46.7742")


def test_time_to_pay_weighted_by_amount(fixed_book, am_alice):
    f = figures_for(am_alice)
    # I1 400 paid 10 Jan, issued 1 Nov: 70 days; I4 800 paid 10 Mar, issued 5 Jan: 64 days;
    # I7 150 SGD paid 13 Feb, issued 15 Dec: 60 days.
    # (400 × 70 + 800 × 64 + 150 × 60) ÷ (400 + 800 + 150) = 88,200 ÷ 1,350 = 65.3333 days
    assert f["time_to_pay"] == approx("65.3333")


def test_cash_collected_this_month_and_last(fixed_book, am_alice):
    f = figures_for(am_alice)
    # March (1–15): I4 800. February: I7 150 SGD, all of it by 15 February.
    assert f["cash_this_month"] == approx("800")
    assert f["cash_last_month"] == approx("150")
    assert f["cash_last_month_to_date"] == approx("150")
    # (800 − 150) ÷ 150 = +433.3333 %
    assert f["cash_change"] == approx("433.3333")


def test_twelve_month_trend(fixed_book, am_alice):
    trend = figures_for(am_alice)["trend"]
    assert [point["month"] for point in trend] == [D(2025, m, 1) for m in range(4, 13)] + [
        D(2026, m, 1) for m in (1, 2, 3)
    ]
    by_month = {point["month"]: point for point in trend}
    # Collections: January I1 400, February I7 150, March I4 800, nothing before.
    assert by_month[D(2026, 1, 1)]["collected"] == approx("400")
    assert by_month[D(2026, 2, 1)]["collected"] == approx("150")
    assert by_month[D(2026, 3, 1)]["collected"] == approx("800")
    assert by_month[D(2025, 12, 1)]["collected"] == approx("0")
    # DSO on 28 Feb: balances then (issued by 28 Feb) I1 600 + I2 500 + I4 800 + I5 250 + I6 300 = 2,450;
    # sales in (30 Nov, 28 Feb]: I7 150 + I4 800 + I6 300 + I2 500 = 1,750 → 2,450 ÷ 1,750 × 90 = 126.0
    assert by_month[D(2026, 2, 1)]["dso"] == approx("126")
    # This month's point is today's DSO.
    assert by_month[D(2026, 3, 1)]["dso"] == approx("87.6316")
    # April 2025: only I5 was not yet issued (June) — no sales in the 90 days, so no DSO.
    assert by_month[D(2025, 4, 1)]["dso"] is None


def test_main_debtors_in_base_currency(fixed_book, am_alice):
    debtors = selectors.main_debtors(selectors.dashboard_scope(am_alice, today=TODAY))
    # Apex 600 + 500 + 200 + 250 = 1,550 (1,350 overdue); Bayside 200 USD × 1.5 = 300.
    assert [(d["customer__name"], d["owed"], d["owed_overdue"]) for d in debtors] == [
        ("Apex Trading", approx("1550"), approx("1350")),
        ("Bayside Inc.", approx("300"), approx("300")),
    ]


def test_promises_due_this_week_and_broken(fixed_book, am_alice):
    invoices = fixed_book
    Invoice.objects.filter(pk=invoices["I2"].pk).update(
        promise_amount=100, promise_date=TODAY + dt.timedelta(3)
    )
    Invoice.objects.filter(pk=invoices["I1"].pk).update(
        promise_amount=600, promise_date=TODAY - dt.timedelta(2)
    )
    # Paid since: a passed promise on a paid invoice is kept, not broken.
    Invoice.objects.filter(pk=invoices["I4"].pk).update(
        promise_amount=800, promise_date=TODAY - dt.timedelta(5)
    )
    # Bayside promised for yesterday and I6 (due 19 Feb) is still unpaid: broken.
    Customer.objects.filter(pk=invoices["bayside"].pk).update(
        promise_amount=300, promise_date=TODAY - dt.timedelta(1)
    )
    # Apex promised on account for 21 March (the 7th day from today): due this week.
    Customer.objects.filter(pk=invoices["apex"].pk).update(
        promise_amount=50, promise_date=TODAY + dt.timedelta(6)
    )
    # Bob's customer: never on Alice's dashboard.
    Invoice.objects.filter(pk=invoices["I8"].pk).update(
        promise_amount=10, promise_date=TODAY + dt.timedelta(1)
    )

    promises = selectors.promises(selectors.dashboard_scope(am_alice, today=TODAY))
    assert [i.number for i in promises["due_invoices"]["rows"]] == ["I2"]
    assert [i.number for i in promises["broken_invoices"]["rows"]] == ["I1"]
    assert [c.name for c in promises["due_customers"]["rows"]] == ["Apex Trading"]
    assert [c.name for c in promises["broken_customers"]["rows"]] == ["Bayside Inc."]
    assert promises["broken_invoices"]["count"] == 1

    Customer.objects.filter(pk=invoices["apex"].pk).update(promise_date=TODAY + dt.timedelta(7))
    promises = selectors.promises(selectors.dashboard_scope(am_alice, today=TODAY))
    assert promises["due_customers"]["count"] == 0  # next Sunday is not this week


def test_open_disputes_and_my_tasks(fixed_book, am_alice, am_bob):
    reason = DisputeReason.objects.create(name="Wrong quantity")
    now = timezone.now()
    Dispute.objects.create(
        invoice=fixed_book["I2"], customer=fixed_book["apex"], reason=reason, raised_at=now
    )
    Dispute.objects.create(
        invoice=fixed_book["I1"],
        customer=fixed_book["apex"],
        reason=reason,
        raised_at=now,
        status=DisputeStatus.RESOLVED,
        resolved_at=now,
    )
    Dispute.objects.create(
        invoice=fixed_book["I8"], customer=fixed_book["xylo"], reason=reason, raised_at=now
    )
    disputes = selectors.open_disputes(selectors.dashboard_scope(am_alice, today=TODAY))
    assert disputes["count"] == 1
    assert [d.invoice.number for d in disputes["rows"]] == ["I2"]

    def task(title, due, owner=am_alice, customer=None, **fields):
        return Task.objects.create(
            customer=customer or fixed_book["apex"], title=title, due_on=due, owner=owner, **fields
        )

    task("Late call", TODAY - dt.timedelta(1))
    task("Today's visit", TODAY)
    task("Tomorrow's letter", TODAY + dt.timedelta(1))
    task("Done already", TODAY, status=TaskStatus.DONE)
    task("Bob's call", TODAY, owner=am_bob, customer=fixed_book["xylo"])
    tasks = selectors.my_tasks_due(am_alice, today=TODAY)
    assert [t.title for t in tasks["rows"]] == ["Late call", "Today's visit"]
    assert tasks["count"] == 2


def test_an_account_managers_dashboard_holds_nothing_of_anothers(client, fixed_book, am_alice, am_bob):
    Task.objects.create(
        customer=fixed_book["xylo"], title="Chase Xylo", due_on=timezone.localdate(), owner=am_bob
    )
    client.force_login(am_alice)
    response = client.get(reverse("dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["figures"]["receivables"] == approx("1850")
    assert "Apex Trading" in html
    assert "Xylo" not in html
    assert "Chase Xylo" not in html
    assert "10,000" not in html

    client.force_login(am_bob)
    html = client.get(reverse("dashboard")).content.decode()
    assert "Xylo Holdings" in html
    assert "Apex" not in html and "Bayside" not in html


def test_a_default_viewer_sees_the_customer_on_the_dashboard(client, fixed_book, am_alice):
    fixed_book["xylo"].default_viewers.add(am_alice)
    client.force_login(am_alice)
    response = client.get(reverse("dashboard"))
    # 1,850 of her own and Xylo's 10,000
    assert response.context["figures"]["receivables"] == approx("11850")
    assert "Xylo Holdings" in response.content.decode()


def test_an_admin_narrows_to_one_account_manager(client, fixed_book, admin_user, am_alice, am_bob):
    client.force_login(admin_user)
    everyone = client.get(reverse("dashboard"))
    # 1,850 of Alice's and 10,000 of Bob's
    assert everyone.context["figures"]["receivables"] == approx("11850")
    assert 'id="narrow-account-manager"' in everyone.content.decode()

    response = client.get(reverse("dashboard"), {"account_manager": am_bob.pk})
    html = response.content.decode()
    assert response.context["scope"].account_manager == am_bob
    assert response.context["figures"]["receivables"] == approx("10000")
    assert "The portfolio of Bob" in html
    assert f'<option value="{am_bob.pk}" selected>' in html
    assert "Xylo Holdings" in html
    assert "Apex" not in html and "Bayside" not in html


@pytest.mark.parametrize("who", ["ar_admin", "collections_user"])
def test_every_role_that_sees_all_may_narrow(client, fixed_book, request, who, am_alice):
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("dashboard"), {"account_manager": am_alice.pk})
    assert response.context["figures"]["receivables"] == approx("1850")


def test_an_account_manager_cannot_narrow_to_someone_else(client, fixed_book, am_alice, am_bob):
    client.force_login(am_alice)
    response = client.get(reverse("dashboard"), {"account_manager": am_bob.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["scope"].account_manager is None
    assert response.context["figures"]["receivables"] == approx("1850")  # still only her own
    assert "Xylo" not in html
    assert 'id="narrow-account-manager"' not in html


def test_narrowing_to_an_unknown_or_odd_value_shows_everyone(client, fixed_book, admin_user):
    client.force_login(admin_user)
    for value in ["999999", "abc", ""]:
        response = client.get(reverse("dashboard"), {"account_manager": value})
        assert response.status_code == 200
        assert response.context["scope"].account_manager is None
        assert response.context["figures"]["receivables"] == approx("11850")


def test_the_dso_formula_is_shown_on_hover(client, fixed_book, am_alice):
    client.force_login(am_alice)
    html = client.get(reverse("dashboard")).content.decode()
    assert 'title="DSO = receivables ÷ credit sales of the last 90 days × 90 = SGD' in html
    assert 'role="tooltip"' in html


def test_the_narrowed_dashboard_of_an_account_manager_without_customers(client, admin_user, am_bob):
    client.force_login(admin_user)
    html = client.get(reverse("dashboard"), {"account_manager": am_bob.pk}).content.decode()
    assert 'id="dashboard-empty"' in html
    assert "Bob has no customers yet" in html


def test_the_query_count_does_not_grow_with_the_data(client, fixed_book, admin_user, am_alice):
    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("dashboard")).status_code == 200
        return len(queries)

    client.force_login(admin_user)
    client.get(reverse("dashboard"))
    before = count_queries()

    reason = DisputeReason.objects.create(name="Price")
    today = timezone.localdate()
    for n in range(12):
        customer = Customer.objects.create(code=f"MORE-{n}", name=f"More {n}", account_manager=am_alice)
        invoice = make_invoice(
            customer, f"M-{n}", today - dt.timedelta(40), today - dt.timedelta(10), 100 + n
        )
        paid = make_invoice(
            customer, f"MP-{n}", today - dt.timedelta(60), today - dt.timedelta(30), 50, paid=50
        )
        pay(paid, today - dt.timedelta(n), 50)
        Dispute.objects.create(invoice=invoice, customer=customer, reason=reason, raised_at=timezone.now())
        Invoice.objects.filter(pk=invoice.pk).update(
            promise_amount=10, promise_date=today + dt.timedelta(n % 5)
        )
        Customer.objects.filter(pk=customer.pk).update(
            promise_amount=10, promise_date=today - dt.timedelta(1)
        )
        Task.objects.create(customer=customer, title=f"Call {n}", due_on=today, owner=admin_user)
    assert count_queries() == before


# --- the kept figures: when they are read, and what they lag behind ------------------------------


def scope_of(user, **narrowing):
    return selectors.dashboard_scope(user, today=TODAY, **narrowing)


@pytest.mark.parametrize("figures_source", ["kept"], indirect=True)
def test_kept_figures_are_read_only_while_fresh_for_today_and_nobody_changed_hands(fixed_book, am_alice):
    from customers import timeline
    from customers.models import ActivityKind
    from reports.models import FiguresRun

    assert scope_of(am_alice).figures_run is not None
    run = FiguresRun.objects.get()
    # taken for another day: live
    FiguresRun.objects.filter(pk=run.pk).update(day=TODAY - dt.timedelta(days=1))
    assert scope_of(am_alice).figures_run is None
    # taken 20 minutes ago (beat rebuilds them every 5): live
    FiguresRun.objects.filter(pk=run.pk).update(
        day=TODAY, finished_at=timezone.now() - dt.timedelta(minutes=20)
    )
    assert scope_of(am_alice).figures_run is None
    FiguresRun.objects.filter(pk=run.pk).update(finished_at=timezone.now())
    assert scope_of(am_alice).figures_run is not None
    # a customer changed hands since: the kept per-manager flows are wrong until the next rebuild
    timeline.record(fixed_book["xylo"], ActivityKind.ASSIGNMENT)
    assert scope_of(am_alice).figures_run is None


@pytest.mark.parametrize("figures_source", ["kept"], indirect=True)
def test_kept_figures_lag_a_payment_until_the_next_rebuild_and_say_when_they_were_taken(
    client, fixed_book, am_alice
):
    # Apex pays I2's 500 after the rebuild: the kept receivables still hold it…
    fixed_book["I2"].amount_paid = Decimal("500")
    fixed_book["I2"].amount_due = Decimal("0")
    fixed_book["I2"].status = InvoiceStatus.PAID
    fixed_book["I2"].save()
    pay(fixed_book["I2"], TODAY, 500)
    assert selectors.dashboard_figures(scope_of(am_alice))["receivables"] == approx("1850")
    # …until the next rebuild (or live figures, which are never behind).
    refresh_figures(today=TODAY)
    assert selectors.dashboard_figures(scope_of(am_alice))["receivables"] == approx("1350")

    # The page says when its figures were taken (beat's rebuild is of the company's real today).
    client.force_login(am_alice)
    assert "Figures as of" not in client.get(reverse("dashboard")).content.decode()
    run = refresh_figures()
    taken = run.started_at.astimezone(Company.load().tz)
    assert f"Figures as of {taken:%H:%M}." in client.get(reverse("dashboard")).content.decode()


@pytest.mark.parametrize("figures_source", ["kept"], indirect=True)
def test_kept_figures_of_a_default_viewer_add_the_viewed_customers_live(fixed_book, am_alice, am_bob):
    fixed_book["xylo"].default_viewers.add(am_alice)
    fixed_book["apex"].default_viewers.add(am_alice)  # her own customer: must not count twice
    refresh_figures(today=TODAY)
    kept = scope_of(am_alice)
    assert kept.figures_run is not None
    live = selectors.DashboardScope(
        user=am_alice, today=TODAY, customers=kept.customers, customer_ids=kept.customer_ids
    )
    kept_figures, live_figures = selectors.dashboard_figures(kept), selectors.dashboard_figures(live)
    # Alice's 1,850 and Xylo's 10,000, whichever way they are read
    assert kept_figures["receivables"] == approx("11850")
    assert kept_figures == live_figures
    assert selectors.main_debtors(kept) == selectors.main_debtors(live)
    # Bob's kept portfolio is his alone
    bob = selectors.dashboard_figures(scope_of(am_bob))
    assert bob["receivables"] == approx("10000")


def test_the_kept_figures_are_rebuilt_every_five_minutes_by_beat():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="reports.refresh_figures")
    assert task.enabled and (task.interval.every, task.interval.period) == (5, "minutes")


@pytest.mark.parametrize("figures_source", ["kept"], indirect=True)
def test_kept_figures_equal_live_ones_for_every_scope(fixed_book, admin_user, am_alice, am_bob):
    nobodys = Customer.objects.create(code="NONE", name="Nobody's Ltd", currency="SGD")
    lone = make_invoice(nobodys, "N1", D(2026, 1, 2), D(2026, 2, 1), 700, paid=100)
    pay(lone, D(2026, 2, 20), 100)
    fixed_book["apex"].default_viewers.add(am_bob)
    refresh_figures(today=TODAY)
    scopes = [
        (admin_user, {}),
        (admin_user, {"account_manager_id": am_alice.pk}),
        (admin_user, {"account_manager_id": am_bob.pk}),
        (am_alice, {}),
        (am_bob, {}),
    ]
    for user, narrowing in scopes:
        kept = scope_of(user, **narrowing)
        assert kept.figures_run is not None
        live = selectors.DashboardScope(
            user=user,
            today=TODAY,
            customers=kept.customers,
            account_manager=kept.account_manager,
            customer_ids=kept.customer_ids,
        )
        assert selectors.dashboard_figures(kept) == selectors.dashboard_figures(live), (user, narrowing)
        assert selectors.main_debtors(kept) == selectors.main_debtors(live), (user, narrowing)
    # everyone's book holds the customer nobody manages: 1,850 + 10,000 + 600
    assert selectors.dashboard_figures(scope_of(admin_user))["receivables"] == approx("12450")
    # Bob's holds Apex, which he views: 10,000 + Apex's 1,550
    assert selectors.dashboard_figures(scope_of(am_bob))["receivables"] == approx("11550")


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_of_the_kept_figures_already_under_way_makes_another_a_no_op():
    from django.db import connections

    from reports.figures import FIGURES_LOCK
    from reports.models import FiguresRun

    other = connections.create_connection("default")  # a second session, as another worker's
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FIGURES_LOCK])
            assert refresh_figures(today=TODAY) is None
            assert not FiguresRun.objects.exists()
            cursor.execute("COMMIT")
    finally:
        other.close()
    assert refresh_figures(today=TODAY) is not None


@pytest.mark.django_db(transaction=True)
def test_rebuilding_the_kept_figures_every_five_minutes_does_not_grow_their_table():
    """Each rebuild replaces every row; without a vacuum after it the dead rows pile up (tenfold
    between autovacuums on the large book) and every page reading the figures reads them too."""
    customers = Customer.objects.bulk_create(
        Customer(code=f"G{n:04d}", name=f"Growth {n}", currency="SGD") for n in range(400)
    )
    Invoice.objects.bulk_create(
        Invoice(
            number=f"G{n:04d}-1",
            customer=customer,
            currency="SGD",
            issue_date=TODAY - dt.timedelta(days=40),
            due_date=TODAY - dt.timedelta(days=10),
            subtotal=Decimal("10.00"),
            total=Decimal("10.00"),
            amount_due=Decimal("10.00"),
        )
        for n, customer in enumerate(customers)
    )

    def pages():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_relation_size('reports_customerfigures') / 8192")
            return cursor.fetchone()[0]

    refresh_figures(today=TODAY)
    one_copy = pages()
    assert one_copy > 1  # the figures of 400 customers span several pages
    seen = []
    for _ in range(8):
        refresh_figures(today=TODAY)
        seen.append(pages())
    # The old rows' space is reused: at most the new rows beside the old ones' freed pages.
    assert max(seen) <= 2 * one_copy + 1, seen
