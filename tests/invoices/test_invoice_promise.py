"""A promise to pay one invoice, from its page: reminders wait until the promised date, and say so."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import Activity, ActivityKind
from peakflo.models import Company
from tests.conftest import PASSWORD
from workflows.engine import schedule_due_runs
from workflows.models import ActionRun, RunStatus, Task


@pytest.fixture
def today(db):
    return Company.load().today()


@pytest.fixture
def acme_invoice(book):
    return book["invoices"][0]  # Acme's INV-0001: SGD 109.00 due, 10 days overdue, Alice's customer


def log_in(client, user):
    client.login(email=user.email, password=PASSWORD)
    return client


def promise(client, invoice, **data):
    return client.post(f"/invoices/{invoice.pk}/promise/", data, follow=True)


def test_an_account_manager_records_a_promise_and_the_page_says_reminders_wait(
    client, am_alice, acme_invoice, today
):
    date = today + dt.timedelta(days=7)
    response = promise(log_in(client, am_alice), acme_invoice, amount="50.00", date=date.isoformat())

    acme_invoice.refresh_from_db()
    assert (acme_invoice.promise_amount, acme_invoice.promise_date) == (Decimal("50.00"), date)
    page = response.text
    assert (
        f"Reminders wait until <strong>{date:%-d %b %Y}</strong>: promise to pay <strong>SGD\u00a050.00</strong>"
        in page
    )
    assert "recorded: reminders for INV-0001 wait until then." in page
    [entry] = Activity.objects.filter(kind=ActivityKind.PROMISE_TO_PAY, invoice=acme_invoice)
    assert entry.actor_user == am_alice
    assert entry.data == {
        "invoice": "INV-0001",
        "amount": "50.00",
        "currency": "SGD",
        "date": date.isoformat(),
    }


def test_the_customer_timeline_says_the_reminders_wait(client, am_alice, acme_invoice, today, book):
    date = today + dt.timedelta(days=5)
    promise(log_in(client, am_alice), acme_invoice, amount="109.00", date=date.isoformat())

    page = client.get(f"/customers/{book['acme'].pk}/").text

    assert (
        f"Reminders wait until <strong>{date.isoformat()}</strong>: promise to pay "
        "<strong>SGD\u00a0109.00</strong> on invoice INV-0001." in page
    )


def test_the_engine_sends_no_automatic_reminder_while_the_promise_stands(
    client, am_alice, acme_invoice, today
):
    promise(
        log_in(client, am_alice),
        acme_invoice,
        amount="109.00",
        date=(today + dt.timedelta(days=3)).isoformat(),
    )

    schedule_due_runs(today=today)

    pending = ActionRun.objects.filter(invoice=acme_invoice, status=RunStatus.PENDING)
    assert not [run for run in pending.select_related("action") if not run.action.is_manual]


@pytest.mark.parametrize(
    ("amount", "days", "message"),
    [
        ("500.00", 7, "SGD\u00a0500.00 is more than the SGD\u00a0109.00 still due on invoice INV-0001."),
        ("0", 7, "A promise to pay must be more than zero."),
        ("abc", 7, "The amount must be a number."),
        ("50.00", -1, "The promised date cannot be in the past."),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    client, am_alice, acme_invoice, today, amount, days, message
):
    response = promise(
        log_in(client, am_alice),
        acme_invoice,
        amount=amount,
        date=(today + dt.timedelta(days=days)).isoformat(),
    )

    assert "The promise was not saved." in response.text
    assert message in response.text
    acme_invoice.refresh_from_db()
    assert acme_invoice.promise_date is None
    assert not Activity.objects.filter(kind=ActivityKind.PROMISE_TO_PAY).exists()


def test_a_date_that_is_not_a_date_is_named(client, am_alice, acme_invoice):
    response = promise(log_in(client, am_alice), acme_invoice, amount="10", date="next friday")
    assert "“next friday” is not a date: write it as YYYY-MM-DD." in response.text
    acme_invoice.refresh_from_db()
    assert acme_invoice.promise_date is None


def test_withdrawing_the_promise_lets_the_reminders_resume(client, am_alice, acme_invoice, today):
    log_in(client, am_alice)
    promise(client, acme_invoice, amount="60.00", date=(today + dt.timedelta(days=4)).isoformat())

    response = promise(client, acme_invoice, action="withdraw")

    acme_invoice.refresh_from_db()
    assert acme_invoice.promise_date is None and acme_invoice.promise_amount is None
    assert "Promise withdrawn: reminders for INV-0001 follow the workflow again." in response.text
    assert "Reminders wait until" not in response.text
    assert Activity.objects.filter(kind=ActivityKind.PROMISE_TO_PAY, data__withdrawn=True).count() == 1


def test_an_open_task_for_the_customer_shows_where_the_reminders_would_be(
    client, am_alice, acme_invoice, today, book
):
    due = today + dt.timedelta(days=6)
    task = Task.objects.create(
        customer=book["acme"], title="Call Ann about the delivery", owner=am_alice, due_on=due
    )

    page = log_in(client, am_alice).get(f"/invoices/{acme_invoice.pk}/").text

    assert f"Automatic reminders wait until <strong>{due:%-d %b %Y}</strong>: open task" in page
    assert f'href="/actions/{task.pk}/"' in page


def test_an_auditor_sees_the_hold_but_cannot_record_a_promise(client, auditor, acme_invoice, today):
    acme_invoice.promise_amount, acme_invoice.promise_date = Decimal("20.00"), today + dt.timedelta(days=2)
    acme_invoice.save()
    log_in(client, auditor)
    page = client.get(f"/invoices/{acme_invoice.pk}/").text
    assert "Reminders wait until" in page
    assert "Record promise" not in page and "Change promise" not in page

    response = client.post(
        f"/invoices/{acme_invoice.pk}/promise/", {"amount": "5", "date": today.isoformat()}
    )

    assert response.status_code == 403
    acme_invoice.refresh_from_db()
    assert acme_invoice.promise_amount == Decimal("20.00")


def test_an_account_manager_outside_the_customer_gets_404(client, am_bob, acme_invoice, today):
    response = log_in(client, am_bob).post(
        f"/invoices/{acme_invoice.pk}/promise/", {"amount": "5", "date": today.isoformat()}
    )
    assert response.status_code == 404
    acme_invoice.refresh_from_db()
    assert acme_invoice.promise_date is None


def test_only_post_is_accepted(client, am_alice, acme_invoice):
    assert log_in(client, am_alice).get(f"/invoices/{acme_invoice.pk}/promise/").status_code == 405
