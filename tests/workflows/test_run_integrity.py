"""Action runs carry no database foreign keys (the tick writes millions): Django still cascades deletes,
and check_consistency reports a run left pointing at nothing."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tests.workflows.test_dispatch import due_run, make_customer, make_invoice
from workflows.models import Action, ActionRun, ActionType, Message, Task, Workflow

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def action(db):
    workflow = Workflow.objects.create(name="Integrity")
    return Action.objects.create(workflow=workflow, name="Remind", action_type=ActionType.EMAIL)


def test_deleting_an_invoice_or_an_action_deletes_its_runs(action, am_alice):
    customer = make_customer("RI-1", am_alice)
    first, second = make_invoice(customer, "RI-1-A", TODAY), make_invoice(customer, "RI-1-B", TODAY)
    due_run(action, first, TODAY), due_run(action, second, TODAY)

    first.delete()
    assert list(ActionRun.objects.values_list("invoice__number", flat=True)) == ["RI-1-B"]
    action.delete()
    assert not ActionRun.objects.exists()


def test_deleting_a_message_or_task_keeps_the_run_and_clears_its_link(action, am_alice):
    customer = make_customer("RI-2", am_alice)
    run = due_run(action, make_invoice(customer, "RI-2-A", TODAY), TODAY)
    run.message = Message.objects.create(customer=customer, channel="email", to="a@b.test", body="Hi")
    run.task = Task.objects.create(customer=customer, title="Call", due_on=TODAY)
    run.save()

    run.message.delete()
    run.task.delete()

    run.refresh_from_db()
    assert (run.message_id, run.task_id) == (None, None)


def test_check_consistency_reports_runs_left_pointing_at_nothing(action, am_alice):
    customer = make_customer("RI-3", am_alice)
    due_run(action, make_invoice(customer, "RI-3-A", TODAY), TODAY)
    with connection.cursor() as cursor:  # what only raw SQL could do
        cursor.execute("DELETE FROM workflows_action WHERE id = %s", [action.pk])

    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("check_consistency", stdout=out)

    assert raised.value.returncode == 1
    assert "1 action run(s) point at an invoice or action that no longer exists" in out.getvalue()
    assert "1 orphaned action run(s)" in str(raised.value)
