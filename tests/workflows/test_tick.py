import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings

from customers.models import Customer
from invoices.models import Invoice
from workflows.engine import TICK_LOCK, schedule_due_runs
from workflows.models import Action, ActionRun, ActionType, RunStatus, Trigger, Workflow

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def workflow(db):
    Workflow.objects.update(is_default=False)
    flow = Workflow.objects.create(name="Test flow", is_default=True)
    for name, trigger, days in [
        ("before", Trigger.BEFORE_DUE, 3),
        ("on due", Trigger.AFTER_DUE, 0),
        ("after 3", Trigger.AFTER_DUE, 3),
        ("after 7", Trigger.AFTER_DUE, 7),
    ]:
        Action.objects.create(
            workflow=flow, name=name, trigger=trigger, days=days, action_type=ActionType.EMAIL
        )
    return flow


def invoice(customer, number, due, status="open", amount_due="100.00"):
    return Invoice.objects.create(
        number=number,
        customer=customer,
        currency="SGD",
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        subtotal=Decimal("100.00"),
        total=Decimal("100.00"),
        amount_paid=Decimal("100.00") - Decimal(amount_due),
        amount_due=Decimal(amount_due),
        status=status,
    )


def runs(inv):
    return {run.action.name: (run.status, run.due_on) for run in ActionRun.objects.filter(invoice=inv)}


@pytest.fixture
def customer(db):
    return Customer.objects.create(code="T-1", name="Tick Co", currency="SGD")


def test_an_invoice_meeting_the_workflow_gets_only_its_latest_due_step(workflow, customer):
    late = invoice(customer, "T-100", due=TODAY - dt.timedelta(days=5))

    assert schedule_due_runs(today=TODAY) == {"scheduled": 3, "ended": 0, "mode": "full"}

    assert runs(late) == {
        "before": ("skipped", TODAY - dt.timedelta(days=8)),
        "on due": ("skipped", TODAY - dt.timedelta(days=5)),
        "after 3": ("pending", TODAY - dt.timedelta(days=2)),
    }


def test_ticking_again_creates_nothing_and_the_next_step_follows_when_due(workflow, customer):
    inv = invoice(customer, "T-101", due=TODAY - dt.timedelta(days=5))
    schedule_due_runs(today=TODAY)

    assert schedule_due_runs(today=TODAY)["scheduled"] == 0
    assert schedule_due_runs(today=TODAY + dt.timedelta(days=2))["scheduled"] == 1

    assert runs(inv)["after 7"] == ("pending", TODAY + dt.timedelta(days=2))


def test_steps_not_yet_due_wait(workflow, customer):
    inv = invoice(customer, "T-102", due=TODAY + dt.timedelta(days=10))

    schedule_due_runs(today=TODAY)
    assert runs(inv) == {}
    schedule_due_runs(today=TODAY + dt.timedelta(days=7))
    assert runs(inv) == {"before": ("pending", TODAY + dt.timedelta(days=7))}


def test_paused_customers_paid_invoices_and_inactive_actions_get_nothing(workflow, customer):
    paused = Customer.objects.create(code="T-2", name="Paused", workflow_paused=True)
    invoice(paused, "T-103", due=TODAY)
    invoice(customer, "T-104", due=TODAY, status="paid", amount_due="0.00")
    Action.objects.filter(workflow=workflow).exclude(name="on due").update(is_active=False)
    live = invoice(customer, "T-105", due=TODAY)

    schedule_due_runs(today=TODAY)

    assert ActionRun.objects.count() == 1
    assert runs(live) == {"on due": ("pending", TODAY)}


def test_a_customer_on_its_own_workflow_follows_that_one(workflow, customer):
    own = Workflow.objects.create(name="Gentle")
    Action.objects.create(workflow=own, name="gentle", trigger=Trigger.AFTER_DUE, days=10)
    Customer.objects.filter(pk=customer.pk).update(workflow=own)
    inv = invoice(customer, "T-106", due=TODAY - dt.timedelta(days=12))

    schedule_due_runs(today=TODAY)

    assert runs(inv) == {"gentle": ("pending", TODAY - dt.timedelta(days=2))}


def test_a_payment_that_clears_the_invoice_ends_its_pending_runs(workflow, customer):
    inv = invoice(customer, "T-107", due=TODAY)
    schedule_due_runs(today=TODAY)
    Invoice.objects.filter(pk=inv.pk).update(status="paid", amount_paid=Decimal("100.00"), amount_due=0)

    pending = ActionRun.objects.get(invoice=inv, status=RunStatus.PENDING)

    assert schedule_due_runs(today=TODAY)["ended"] == 1

    pending.refresh_from_db()
    assert pending.status == RunStatus.SKIPPED and "paid" in pending.reason


def test_promise_triggers_count_from_the_promised_date(workflow, customer):
    Action.objects.create(workflow=workflow, name="promise check", trigger=Trigger.AFTER_PROMISE, days=1)
    Action.objects.filter(workflow=workflow).exclude(name="promise check").update(is_active=False)
    Customer.objects.filter(pk=customer.pk).update(promise_date=TODAY - dt.timedelta(days=1))
    inv = invoice(customer, "T-108", due=TODAY + dt.timedelta(days=20))

    schedule_due_runs(today=TODAY)

    assert runs(inv) == {"promise check": ("pending", TODAY)}


@pytest.mark.django_db(transaction=True)
def test_only_one_tick_runs_at_a_time(workflow, customer):
    invoice(customer, "T-109", due=TODAY)
    db = settings.DATABASES["default"]
    url = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname={db['NAME']}"
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [TICK_LOCK])

        assert schedule_due_runs(today=TODAY) is None
        assert not ActionRun.objects.exists()

        other.execute("SELECT pg_advisory_unlock(%s)", [TICK_LOCK])
    assert schedule_due_runs(today=TODAY)["scheduled"] == 2  # "on due" pending, "before" skipped


def only(workflow, name, **fields):
    """Keep one action of the workflow, with these fields."""
    Action.objects.filter(workflow=workflow).exclude(name=name).update(is_active=False)
    Action.objects.filter(workflow=workflow, name=name).update(**fields)


def test_monthly_actions_run_once_a_month_on_their_day(workflow, customer):
    only(workflow, "on due", trigger=Trigger.MONTHLY, day_of_month=15)
    inv = invoice(customer, "T-110", due=TODAY + dt.timedelta(days=10))

    schedule_due_runs(today=TODAY)  # 23 Nov: the 15 Nov occurrence
    schedule_due_runs(today=TODAY + dt.timedelta(days=5))  # 28 Nov: still the same month
    schedule_due_runs(today=dt.date(2026, 12, 15))

    assert sorted(ActionRun.objects.filter(invoice=inv).values_list("due_on", flat=True)) == [
        dt.date(2026, 11, 15),
        dt.date(2026, 12, 15),
    ]


def test_dated_actions_send_only_their_latest_past_date(workflow, customer):
    only(workflow, "on due", trigger=Trigger.ON_DATES, dates=["2026-11-01", "2026-11-20", "2026-12-24"])
    inv = invoice(customer, "T-111", due=TODAY + dt.timedelta(days=10))

    schedule_due_runs(today=TODAY)

    assert list(ActionRun.objects.filter(invoice=inv).values_list("due_on", "status")) == [
        (dt.date(2026, 11, 20), "pending")
    ]


def test_a_repeating_action_comes_back_n_days_after_completion_up_to_its_maximum(workflow, customer):
    only(workflow, "on due", repeat_every_days=7, repeat_max=2)
    inv = invoice(customer, "T-112", due=TODAY)
    schedule_due_runs(today=TODAY)
    first = ActionRun.objects.get(invoice=inv)
    completed = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
    ActionRun.objects.filter(pk=first.pk).update(status=RunStatus.DONE, finished_at=completed)

    schedule_due_runs(today=TODAY + dt.timedelta(days=6))
    assert ActionRun.objects.filter(invoice=inv).count() == 1
    schedule_due_runs(today=TODAY + dt.timedelta(days=7))
    second = ActionRun.objects.get(invoice=inv, occurrence=2)
    assert second.due_on == TODAY + dt.timedelta(days=7)
    ActionRun.objects.filter(pk=second.pk).update(
        status=RunStatus.DONE, finished_at=completed + dt.timedelta(days=7)
    )
    schedule_due_runs(today=TODAY + dt.timedelta(days=30))
    assert ActionRun.objects.filter(invoice=inv).count() == 2  # repeat_max reached


def test_paused_invoices_promises_and_open_tasks_hold_automatic_reminders_but_not_tasks(workflow, customer):
    from workflows.models import Task

    Action.objects.filter(workflow=workflow, name="after 3").update(action_type=ActionType.PHONE_CALL)
    paused = invoice(customer, "T-113", due=TODAY - dt.timedelta(days=3))
    Invoice.objects.filter(pk=paused.pk).update(reminders_paused=True)
    promised = invoice(customer, "T-114", due=TODAY - dt.timedelta(days=3))
    Invoice.objects.filter(pk=promised.pk).update(promise_date=TODAY + dt.timedelta(days=2))

    schedule_due_runs(today=TODAY)

    # Only the phone call (a manual step) is scheduled for either; no email goes out.
    for inv in (paused, promised):
        assert runs(inv) == {"after 3": ("pending", TODAY)}

    other = Customer.objects.create(code="T-3", name="Busy")
    busy = invoice(other, "T-115", due=TODAY)
    task = Task.objects.create(customer=other, title="Call back", due_on=TODAY + dt.timedelta(days=4))
    schedule_due_runs(today=TODAY)
    assert runs(busy) == {}
    Task.objects.filter(pk=task.pk).update(status="done")
    schedule_due_runs(today=TODAY)
    assert runs(busy)["on due"] == ("pending", TODAY)


# --- Disputes hold every step of their invoice ------------------------------------------------


def dispute(inv, user):
    from disputes.models import DisputeReason
    from disputes.services import raise_dispute

    return raise_dispute(
        invoice=inv, reason=DisputeReason.objects.first(), actor=user, comment="Wrong amount"
    )


def test_a_disputed_invoice_gets_nothing_not_even_its_manual_steps(workflow, customer, am_alice):
    Action.objects.filter(workflow=workflow, name="after 3").update(action_type=ActionType.PHONE_CALL)
    disputed = invoice(customer, "T-120", due=TODAY - dt.timedelta(days=5))
    other = invoice(customer, "T-121", due=TODAY - dt.timedelta(days=5))
    dispute(disputed, am_alice)

    schedule_due_runs(today=TODAY)

    assert runs(disputed) == {}
    assert runs(other)["after 3"] == ("pending", TODAY - dt.timedelta(days=2))


def test_raising_a_dispute_ends_the_pending_runs_of_its_invoice(workflow, customer, am_alice):
    from workflows.engine import SKIPPED_DISPUTED

    inv = invoice(customer, "T-122", due=TODAY)
    schedule_due_runs(today=TODAY)
    pending = ActionRun.objects.get(invoice=inv, status=RunStatus.PENDING)
    dispute(inv, am_alice)

    assert schedule_due_runs(today=TODAY)["ended"] == 1

    pending.refresh_from_db()
    assert (pending.status, pending.reason) == (RunStatus.SKIPPED, SKIPPED_DISPUTED)
    assert pending.finished_at is not None


def test_after_a_dispute_is_resolved_only_the_latest_due_step_is_pending(workflow, customer, am_alice):
    from disputes.services import resolve_dispute

    inv = invoice(customer, "T-123", due=TODAY)
    schedule_due_runs(today=TODAY)  # "on due" pending, "before" skipped
    raised = dispute(inv, am_alice)
    for day in range(1, 9):  # "after 3" and "after 7" fall due while the dispute is open
        schedule_due_runs(today=TODAY + dt.timedelta(days=day))
    assert runs(inv)["on due"][0] == "skipped" and "after 3" not in runs(inv)

    resolve_dispute(dispute=raised, actor=am_alice, resolution="Credit note agreed")
    schedule_due_runs(today=TODAY + dt.timedelta(days=9))

    assert runs(inv) == {
        "before": ("skipped", TODAY - dt.timedelta(days=3)),
        "on due": ("skipped", TODAY),
        "after 3": ("skipped", TODAY + dt.timedelta(days=3)),
        "after 7": ("pending", TODAY + dt.timedelta(days=7)),
    }
    assert ActionRun.objects.filter(invoice=inv, status=RunStatus.PENDING).count() == 1


def test_run_engine_ticks_by_hand_and_says_how(workflow, customer):
    from io import StringIO

    from django.core.management import CommandError, call_command

    invoice(customer, "T-124", due=TODAY - dt.timedelta(days=5))
    out = StringIO()

    call_command("run_engine", "--today", TODAY.isoformat(), "--full", stdout=out)

    assert out.getvalue().splitlines()[0] == (
        "Full tick: scheduled 3 runs; ended 0 runs of settled or disputed invoices."
    )
    with pytest.raises(CommandError, match="--today '23/11/2026' is not a date: use YYYY-MM-DD."):
        call_command("run_engine", "--today", "23/11/2026")
