"""The incremental tick: it looks only at steps that fell due since the last tick, plus a full pass for
invoices that newly meet a workflow, and schedules exactly what a full tick would.

A test clock stands in for Django's (every service and the engine read `timezone.now()`), so that
days pass between ticks and changes happen between them, as they do in production.
"""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from customers.services import bulk_update_customers, record_promise_to_pay, update_customer
from disputes.models import DisputeReason
from disputes.services import raise_dispute, resolve_dispute
from invoices.models import Invoice, InvoiceStatus
from invoices.services import (
    LineInput,
    issue_invoice,
    mark_invoice_paid,
    record_invoice_promise,
    set_invoice_reminders,
)
from peakflo.models import Company
from workflows.engine import schedule_due_runs
from workflows.models import Action, ActionRun, ActionType, RunStatus, Task, Trigger, Workflow
from workflows.services import create_action, set_default_workflow, update_action
from workflows.task_services import complete_task, create_task

DAY0 = dt.date(2026, 11, 2)


class Clock:
    """Now is what the test says: 09:00 on the day of a tick, noon for what people do in between."""

    def __init__(self):
        self.moment = None

    def at(self, day, hour=12, minute=0):
        tz = Company.load().tz
        self.moment = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)
        return self.moment

    def __call__(self):
        return self.moment


@pytest.fixture
def clock(db, monkeypatch):
    clock = Clock()
    clock.at(DAY0 - dt.timedelta(days=1))
    monkeypatch.setattr(timezone, "now", clock)
    return clock


def tick(clock, day, **options):
    clock.at(day, 9)
    return schedule_due_runs(today=day, **options)


@pytest.fixture
def flow(clock):
    """The default workflow: three emails around the due date and a phone call a week after."""
    Workflow.objects.update(is_default=False)
    flow = Workflow.objects.create(name="Incremental flow", is_default=True)
    for name, trigger, days, kind in [
        ("before 3", Trigger.BEFORE_DUE, 3, ActionType.EMAIL),
        ("on due", Trigger.AFTER_DUE, 0, ActionType.EMAIL),
        ("after 3", Trigger.AFTER_DUE, 3, ActionType.WHATSAPP),
        ("after 7", Trigger.AFTER_DUE, 7, ActionType.PHONE_CALL),
    ]:
        Action.objects.create(workflow=flow, name=name, trigger=trigger, days=days, action_type=kind)
    return flow


@pytest.fixture
def customer(flow):
    return Customer.objects.create(code="INC-1", name="Incremental Co", currency="SGD")


def new_invoice(customer, number, due, **options):
    return issue_invoice(
        customer=customer,
        number=number,
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        lines=[LineInput("Consulting", Decimal(1), Decimal("100.00"))],
        **options,
    )


def runs(inv):
    return {run.action.name: (run.status, run.due_on) for run in ActionRun.objects.filter(invoice=inv)}


# Invoices due 4 days before DAY0: by DAY0 + 2 "before 3", "on due" and "after 3" (DAY0 - 1) have
# fallen due, all before the last tick's day, so only a full pass for the invoice finds them.
DUE = DAY0 - dt.timedelta(days=4)
RESUMED = {
    "before 3": ("skipped", DUE - dt.timedelta(days=3)),
    "on due": ("skipped", DUE),
    "after 3": ("pending", DUE + dt.timedelta(days=3)),
}


def held_for_two_days_then(clock, inv, lift, *, lifted_on=DAY0 + dt.timedelta(days=2)):
    """Tick on DAY0 (full) and DAY0 + 1 while the invoice is held, lift the hold, tick again."""
    assert tick(clock, DAY0)["mode"] == "full"
    assert tick(clock, DAY0 + dt.timedelta(days=1))["mode"] == "incremental"
    assert runs(inv) == {}
    clock.at(DAY0 + dt.timedelta(days=1), 12)
    if lift:
        lift()
    result = tick(clock, lifted_on)
    assert result["mode"] == "incremental"
    return result


def test_the_first_tick_is_full_later_ones_incremental_and_a_missed_day_means_full(clock, customer):
    inv = new_invoice(customer, "INC-1", due=DAY0 + dt.timedelta(days=1))

    assert tick(clock, DAY0)["mode"] == "full"
    clock.at(DAY0, 15)
    assert schedule_due_runs(today=DAY0)["mode"] == "incremental"  # the same day, five minutes on
    assert tick(clock, DAY0 + dt.timedelta(days=1)) == {"scheduled": 1, "ended": 0, "mode": "incremental"}
    assert runs(inv) == {
        "before 3": ("pending", DAY0 - dt.timedelta(days=2)),  # the latest due at the first tick
        "on due": ("pending", DAY0 + dt.timedelta(days=1)),
    }
    assert tick(clock, DAY0 + dt.timedelta(days=3))["mode"] == "full"  # DAY0 + 2 was missed
    assert tick(clock, DAY0 + dt.timedelta(days=2))["mode"] == "full"  # the clock went back


def test_steps_falling_due_since_the_last_tick_are_found_by_date(clock, customer):
    invoices = [new_invoice(customer, f"INC-D{n}", due=DAY0 + dt.timedelta(days=n)) for n in range(8)]
    tick(clock, DAY0)

    for day in range(1, 12):
        assert tick(clock, DAY0 + dt.timedelta(days=day))["mode"] == "incremental"

    # Each invoice got every step on its day: the latest due pending, none skipped (no burst to avoid).
    for n, inv in enumerate(invoices):
        due = DAY0 + dt.timedelta(days=n)
        expected = {
            "before 3": due - dt.timedelta(days=3),
            "on due": due,
            "after 3": due + dt.timedelta(days=3),
        }
        if n + 7 <= 11:
            expected["after 7"] = due + dt.timedelta(days=7)
        assert {name: on for name, (_, on) in runs(inv).items()} == expected
    assert runs(invoices[0])["before 3"][0] == "skipped"  # already past at the first tick
    assert runs(invoices[5])["before 3"][0] == "pending"  # due on DAY0 + 2, after the first tick


def test_an_invoice_changed_behind_the_engines_back_waits_for_a_full_tick(clock, customer, am_alice):
    """The incremental tick trusts the timeline and the rows' save times: a raw UPDATE leaves neither."""
    inv = new_invoice(customer, "INC-RAW", due=DUE)
    set_invoice_reminders(invoice=inv, paused=True, actor=am_alice, reason="Customer asked for a week")

    held_for_two_days_then(
        clock, inv, lambda: Invoice.objects.filter(pk=inv.pk).update(reminders_paused=False)
    )
    assert runs(inv) == {}

    assert tick(clock, DAY0 + dt.timedelta(days=2), full=True)["mode"] == "full"
    assert runs(inv) == RESUMED


# --- Each way an invoice newly meets a workflow is picked up by the next incremental tick --------


def test_a_new_invoice(clock, customer):
    assert tick(clock, DAY0)["mode"] == "full"
    assert tick(clock, DAY0 + dt.timedelta(days=1))["mode"] == "incremental"
    clock.at(DAY0 + dt.timedelta(days=1), 12)
    inv = new_invoice(customer, "INC-NEW", due=DUE)  # entered late: its steps are long due

    assert tick(clock, DAY0 + dt.timedelta(days=2))["mode"] == "incremental"
    assert runs(inv) == RESUMED


def test_the_customers_workflow_changed(clock, customer, flow, am_alice):
    quiet = Workflow.objects.create(name="Nothing yet")
    Customer.objects.filter(pk=customer.pk).update(workflow=quiet)
    customer.refresh_from_db()
    inv = new_invoice(customer, "INC-WF", due=DUE)

    held_for_two_days_then(
        clock, inv, lambda: update_customer(customer=customer, actor=am_alice, workflow=flow)
    )

    assert runs(inv) == RESUMED


def test_the_workflow_pause_lifted(clock, customer, am_alice):
    inv = new_invoice(customer, "INC-PAUSE", due=DUE)
    customers = Customer.objects.filter(pk=customer.pk)
    bulk_update_customers(customers=customers, actor=am_alice, workflow_paused=True, pause_reason="Audit")

    held_for_two_days_then(
        clock, inv, lambda: bulk_update_customers(customers=customers, actor=am_alice, workflow_paused=False)
    )

    assert runs(inv) == RESUMED


def test_the_invoice_reminders_resumed(clock, customer, am_alice):
    inv = new_invoice(customer, "INC-REM", due=DUE)
    set_invoice_reminders(invoice=inv, paused=True, actor=am_alice, reason="Customer asked for a week")

    held_for_two_days_then(
        clock, inv, lambda: set_invoice_reminders(invoice=inv, paused=False, actor=am_alice)
    )

    assert runs(inv) == RESUMED


def test_the_dispute_resolved(clock, customer, am_alice):
    inv = new_invoice(customer, "INC-DSP", due=DUE)
    raised = raise_dispute(invoice=inv, reason=DisputeReason.objects.first(), actor=am_alice)

    held_for_two_days_then(
        clock, inv, lambda: resolve_dispute(dispute=raised, actor=am_alice, resolution="Price confirmed")
    )

    assert runs(inv) == RESUMED


def test_the_promised_date_passed(clock, customer, am_alice):
    inv = new_invoice(customer, "INC-PTP", due=DUE)
    record_invoice_promise(
        invoice=inv, amount=Decimal("100.00"), date=DAY0 + dt.timedelta(days=1), actor=am_alice
    )

    held_for_two_days_then(clock, inv, None)  # nothing happens: the date passes

    assert runs(inv) == RESUMED


def test_the_task_holding_reminders_fell_due(clock, customer, am_alice):
    inv = new_invoice(customer, "INC-TSK", due=DUE)
    create_task(
        customer=customer,
        kind=ActionType.PHONE_CALL,
        title="Call about the cheque",
        due_on=DAY0 + dt.timedelta(days=2),
        actor=am_alice,
    )

    held_for_two_days_then(clock, inv, None)  # the task is due on DAY0 + 2: it holds no longer

    assert runs(inv) == RESUMED


def test_an_action_added_and_an_action_switched_on(clock, customer, flow):
    Action.objects.filter(workflow=flow).exclude(name="on due").update(is_active=False)
    inv = new_invoice(customer, "INC-ACT", due=DUE)
    assert tick(clock, DAY0)["mode"] == "full"
    assert tick(clock, DAY0 + dt.timedelta(days=1))["mode"] == "incremental"
    assert runs(inv) == {"on due": ("pending", DUE)}

    clock.at(DAY0 + dt.timedelta(days=1), 12)
    create_action(workflow=flow, data={"name": "after 2", "trigger": Trigger.AFTER_DUE, "days": 2})
    assert tick(clock, DAY0 + dt.timedelta(days=2))["mode"] == "incremental"
    assert runs(inv)["after 2"] == ("pending", DUE + dt.timedelta(days=2))

    clock.at(DAY0 + dt.timedelta(days=2), 12)
    update_action(action=Action.objects.get(workflow=flow, name="after 3"), data={"is_active": True})
    assert tick(clock, DAY0 + dt.timedelta(days=3))["mode"] == "incremental"
    assert runs(inv)["after 3"] == ("pending", DUE + dt.timedelta(days=3))


def test_another_default_workflow(clock, flow):
    orphan = Customer.objects.create(code="INC-2", name="No workflow of its own", currency="SGD")
    inv = new_invoice(orphan, "INC-DEF", due=DUE)
    other = Workflow.objects.create(name="Other default")
    Action.objects.create(workflow=other, name="late", trigger=Trigger.AFTER_DUE, days=1)
    tick(clock, DAY0)
    assert "late" not in runs(inv)

    clock.at(DAY0, 12)
    set_default_workflow(workflow=other)
    tick(clock, DAY0 + dt.timedelta(days=1))

    assert runs(inv)["late"] == ("pending", DUE + dt.timedelta(days=1))


# --- Incremental equals full ---------------------------------------------------------------------


def snapshot():
    return sorted(
        ActionRun.objects.values_list("action_id", "invoice_id", "occurrence", "due_on", "status", "reason")
    )


class Book:
    """A small random book and the things people do to it, all through the services."""

    def __init__(self, rng, user):
        self.rng, self.user, self.count = rng, user, 0
        Workflow.objects.update(is_default=False)
        self.default = Workflow.objects.create(name="Random default", is_default=True)
        self.gentle = Workflow.objects.create(name="Random gentle")
        for name, trigger, days, kind, extra in [
            ("before 5", Trigger.BEFORE_DUE, 5, ActionType.EMAIL, {}),
            ("on due", Trigger.AFTER_DUE, 0, ActionType.SMS, {}),
            ("after 4", Trigger.AFTER_DUE, 4, ActionType.EMAIL, {"repeat_every_days": 3, "repeat_max": 3}),
            ("after 9", Trigger.AFTER_DUE, 9, ActionType.PHONE_CALL, {}),
            ("issue 20", Trigger.AFTER_ISSUE, 20, ActionType.EMAIL, {}),
            ("promise 1", Trigger.AFTER_PROMISE, 1, ActionType.EMAIL, {}),
            ("monthly", Trigger.MONTHLY, 0, ActionType.STATEMENT, {"day_of_month": 5}),
        ]:
            Action.objects.create(
                workflow=self.default, name=name, trigger=trigger, days=days, action_type=kind, **extra
            )
        for name, trigger, days, kind in [
            ("gentle 2", Trigger.AFTER_DUE, 2, ActionType.EMAIL),
            ("gentle 12", Trigger.AFTER_DUE, 12, ActionType.LETTER),
            ("dated", Trigger.ON_DATES, 0, ActionType.EMAIL),
        ]:
            Action.objects.create(
                workflow=self.gentle, name=name, trigger=trigger, days=days, action_type=kind
            )
        Action.objects.filter(name="dated").update(dates=["2026-11-06", "2026-11-13"])
        self.customers = [
            Customer.objects.create(
                code=f"R-{n}",
                name=f"Random {n}",
                currency="SGD",
                workflow=rng.choice([None, None, self.gentle]),
            )
            for n in range(10)
        ]
        for customer in self.customers:
            for _ in range(rng.randint(1, 3)):
                self.issue(customer, DAY0 + dt.timedelta(days=rng.randint(-30, 15)))

    def issue(self, customer, due):
        self.count += 1
        return new_invoice(customer, f"R-INV-{self.count}", due=due)

    def open_invoices(self):
        return list(Invoice.objects.filter(status=InvoiceStatus.OPEN, amount_due__gt=0).order_by("pk"))

    def something_happens(self, today):
        rng, user = self.rng, self.user
        customer = rng.choice(self.customers)
        invoices = self.open_invoices()
        inv = rng.choice(invoices) if invoices else None
        what = rng.choice(
            [
                "issue",
                "pay",
                "pause",
                "move",
                "invoice pause",
                "dispute",
                "promise",
                "customer promise",
                "task",
                "dispatch",
                "action",
            ]
        )
        if what == "issue":
            self.issue(customer, today + dt.timedelta(days=rng.randint(-20, 10)))
        elif what == "pay" and inv:
            mark_invoice_paid(invoice=inv, actor=user, date=today)
        elif what == "pause":
            customer.refresh_from_db()
            bulk_update_customers(
                customers=Customer.objects.filter(pk=customer.pk),
                actor=user,
                workflow_paused=not customer.workflow_paused,
                pause_reason="Random",
            )
        elif what == "move":
            update_customer(
                customer=customer, actor=user, workflow=rng.choice([None, self.default, self.gentle])
            )
        elif what == "invoice pause" and inv:
            set_invoice_reminders(invoice=inv, paused=not inv.reminders_paused, actor=user, reason="Random")
        elif what == "dispute" and inv:
            opened = inv.disputes.filter(status="open").first()
            if opened:
                resolve_dispute(dispute=opened, actor=user, resolution="Sorted")
            else:
                raise_dispute(invoice=inv, reason=DisputeReason.objects.first(), actor=user)
        elif what == "promise" and inv:
            record_invoice_promise(
                invoice=inv,
                amount=inv.amount_due,
                date=today + dt.timedelta(days=rng.randint(0, 3)),
                actor=user,
            )
        elif what == "customer promise":
            record_promise_to_pay(
                customer=customer, amount=Decimal("50.00"), date=today + dt.timedelta(days=rng.randint(-2, 3))
            )
        elif what == "task":
            task = Task.objects.filter(customer=customer, status="open").first()
            if task:
                complete_task(task=task, outcome="Done", actor=user)
            else:
                create_task(
                    customer=customer,
                    kind=ActionType.PHONE_CALL,
                    title="Follow up",
                    due_on=today + dt.timedelta(days=rng.randint(0, 3)),
                    actor=user,
                )
        elif what == "dispatch":  # what dispatch does to the runs it sends: done, with the time
            pending = list(ActionRun.objects.filter(status=RunStatus.PENDING).values_list("pk", flat=True))
            sent = rng.sample(pending, k=min(len(pending), rng.randint(1, 4)))
            ActionRun.objects.filter(pk__in=sent).update(status=RunStatus.DONE, finished_at=timezone.now())
        elif what == "action":
            workflow = rng.choice([self.default, self.gentle])
            action = rng.choice(list(Action.objects.filter(workflow=workflow)))
            change = rng.choice(["switch", "move", "add"])
            if change == "switch":
                update_action(action=action, data={"is_active": not action.is_active})
            elif change == "move":  # earlier or later: steps may fall due that lay ahead
                update_action(action=action, data={"days": max(0, action.days + rng.choice([-4, -2, 2]))})
            else:
                self.count += 1
                create_action(
                    workflow=workflow,
                    data={
                        "name": f"added {self.count}",
                        "trigger": rng.choice([Trigger.AFTER_DUE, Trigger.BEFORE_DUE]),
                        "days": rng.randint(0, 12),
                        "action_type": rng.choice([ActionType.EMAIL, ActionType.PHONE_CALL]),
                    },
                )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_incremental_tick_schedules_exactly_what_a_full_tick_would(clock, am_alice, seed):
    rng = random.Random(seed)
    book = Book(rng, am_alice)
    modes = []
    for offset in range(21):
        today = DAY0 + dt.timedelta(days=offset)
        for hour in (9, 15):  # two ticks a day, with changes before each
            for minute in range(rng.randint(0, 3)):
                clock.at(today, hour - 1, 10 * minute)
                book.something_happens(today)
            clock.at(today, hour)
            sid = transaction.savepoint()
            full = schedule_due_runs(today=today, full=True)
            after_full = snapshot()
            transaction.savepoint_rollback(sid)

            result = schedule_due_runs(today=today)

            assert snapshot() == after_full, f"day {offset}, {hour}:00"
            assert {k: result[k] for k in ("scheduled", "ended")} == {
                k: full[k] for k in ("scheduled", "ended")
            }
            modes.append(result["mode"])
    assert modes[0] == "full" and modes.count("incremental") == len(modes) - 1
    assert ActionRun.objects.filter(status=RunStatus.SKIPPED).exists()  # the book exercised no-burst
