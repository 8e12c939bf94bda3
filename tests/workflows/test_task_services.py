import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django_celery_beat.models import PeriodicTask

from customers.models import Activity, ActivityKind
from peakflo.models import Company
from workflows import task_services
from workflows.models import ActionType, Task, TaskStatus
from workflows.task_selectors import task_holding_reminders

TODAY = dt.date(2026, 3, 10)


def make_task(customer, owner, *, due_on=TODAY, title="Call about INV-0001", **fields):
    return Task.objects.create(customer=customer, owner=owner, due_on=due_on, title=title, **fields)


def task_entries(customer):
    return list(Activity.objects.filter(customer=customer, kind=ActivityKind.TASK).order_by("id"))


def test_create_task_records_it_and_holds_the_reminders_until_its_due_date(book, am_alice):
    acme = book["acme"]
    task = task_services.create_task(
        customer=acme,
        kind=ActionType.PHONE_CALL,
        title="Follow up on the promise",
        due_on=TODAY + dt.timedelta(days=5),
        owner=am_alice,
        invoice=book["invoices"][0],
        actor=am_alice,
    )

    assert task.created_by == am_alice and task.status == TaskStatus.OPEN
    [entry] = task_entries(acme)
    assert entry.invoice == book["invoices"][0] and entry.actor_user == am_alice
    assert entry.data["action"] == "created" and entry.data["due"] == "2026-03-15"
    assert task_holding_reminders(acme, today=TODAY) == task
    assert task_holding_reminders(acme, today=TODAY + dt.timedelta(days=5)) is None


def test_create_task_refuses_another_customers_invoice(book, am_alice):
    with pytest.raises(ValidationError):
        task_services.create_task(
            customer=book["acme"],
            kind=ActionType.PHONE_CALL,
            title="x",
            due_on=TODAY,
            invoice=book["invoices"][1],
            actor=am_alice,
        )
    assert not Task.objects.exists()


def test_complete_keeps_the_outcome_and_writes_the_timeline(book, am_alice):
    task = make_task(book["acme"], am_alice)

    done = task_services.complete_task(task=task, outcome="  Ann pays Friday ", actor=am_alice)

    assert done.status == TaskStatus.DONE and done.outcome == "Ann pays Friday" and done.completed_at
    [entry] = task_entries(book["acme"])
    assert entry.data == {"task": task.title, "action": "completed", "outcome": "Ann pays Friday"}
    with pytest.raises(ValidationError):
        task_services.complete_task(task=done, outcome="again", actor=am_alice)
    assert len(task_entries(book["acme"])) == 1


def test_reschedule_and_snooze_move_the_due_date_on_the_timeline(book, am_alice):
    task = make_task(book["acme"], am_alice, due_on=TODAY - dt.timedelta(days=4))

    task = task_services.reschedule_task(task=task, due_on=TODAY + dt.timedelta(days=2), actor=am_alice)
    assert task.due_on == dt.date(2026, 3, 12)
    # Snoozing counts from the later of today and the due date.
    task = task_services.snooze_task(task=task, days=3, actor=am_alice, today=TODAY)
    assert task.due_on == dt.date(2026, 3, 15)

    rescheduled, snoozed = task_entries(book["acme"])
    assert rescheduled.data["action"] == "rescheduled" and rescheduled.data["was"] == "2026-03-06"
    assert snoozed.data["action"] == "snoozed 3 days" and snoozed.data["due"] == "2026-03-15"
    with pytest.raises(ValidationError):
        task_services.snooze_task(task=task, days=2, actor=am_alice, today=TODAY)


def test_an_overdue_task_snoozes_from_today(book, am_alice):
    task = make_task(book["acme"], am_alice, due_on=TODAY - dt.timedelta(days=10))
    assert task_services.snooze_task(
        task=task, days=1, actor=am_alice, today=TODAY
    ).due_on == TODAY + dt.timedelta(days=1)


def test_the_digest_goes_to_each_owner_with_their_tasks_only(book, am_alice, am_bob, mailoutbox):
    make_task(book["acme"], am_alice, title="Alice overdue", due_on=TODAY - dt.timedelta(days=2))
    make_task(book["globex"], am_alice, title="Alice today")
    make_task(book["globex"], am_alice, title="Alice tomorrow", due_on=TODAY + dt.timedelta(days=1))
    make_task(book["acme"], am_alice, title="Alice done", status=TaskStatus.DONE)
    make_task(book["hooli"], am_bob, title="Bob today")
    make_task(book["hooli"], None, title="Nobody's")

    assert task_services.send_daily_task_digests(TODAY) == 2

    by_recipient = {message.to[0]: message for message in mailoutbox}
    assert set(by_recipient) == {am_alice.email, am_bob.email}
    alice = by_recipient[am_alice.email]
    assert alice.subject.startswith("1 task due today, 1 overdue")
    assert "Alice overdue" in alice.body and "Alice today" in alice.body
    assert "Alice tomorrow" not in alice.body and "Alice done" not in alice.body and "Bob" not in alice.body
    html = alice.alternatives[0][0]
    assert "Alice today" in html and "/actions/" in html
    bob = by_recipient[am_bob.email]
    assert "Bob today" in bob.body and "Alice" not in bob.body


def test_no_tasks_no_email(book, am_alice, mailoutbox):
    make_task(book["acme"], am_alice, due_on=TODAY + dt.timedelta(days=3))
    assert task_services.send_daily_task_digests(TODAY) == 0
    assert mailoutbox == []


def test_the_celery_task_sends_for_the_company_today(book, am_alice, mailoutbox):
    from workflows.task_jobs import daily_task_digest

    make_task(book["acme"], am_alice, due_on=Company.load().today())
    daily_task_digest.apply()
    assert [message.to for message in mailoutbox] == [[am_alice.email]]


def test_the_digest_is_scheduled_every_morning_at_seven(db):
    task = PeriodicTask.objects.get(task="workflows.daily_task_digest")
    assert (task.crontab.minute, task.crontab.hour, task.enabled) == ("0", "7", True)
    from peakflo.celery import app

    app.loader.import_default_modules()
    assert "workflows.daily_task_digest" in app.tasks
