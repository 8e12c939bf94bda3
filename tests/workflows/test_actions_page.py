import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from customers.models import Activity, ActivityKind
from peakflo.models import Company
from tests.conftest import PASSWORD
from workflows.models import ActionType, Task, TaskStatus


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


@pytest.fixture
def today(db):
    return Company.load().today()


@pytest.fixture
def tasks(book, am_alice, am_bob, today):
    def make(customer, owner, title, days, **fields):
        return Task.objects.create(
            customer=book[customer],
            owner=owner,
            title=title,
            due_on=today + dt.timedelta(days=days),
            **fields,
        )

    return {
        "overdue": make("acme", am_alice, "Call Ann, overdue", -3),
        "today": make("globex", am_alice, "Visit Globex today", 0, kind=ActionType.OFFICE_VISIT),
        "week": make("acme", am_alice, "Letter this week", 4, kind=ActionType.LETTER),
        "later": make("acme", am_alice, "Escalate later", 20, kind=ActionType.ESCALATION),
        "done": make("acme", am_alice, "Done already", -1, status=TaskStatus.DONE),
        "bob_initech": make("initech", am_bob, "Bob on Initech", 0),
        "bob_hooli": make("hooli", am_bob, "Bob on Hooli", -1),
    }


def titles(response):
    return [task.title for task in response.context["page"].object_list]


def test_the_page_lists_my_open_tasks_overdue_first(client, tasks, am_alice):
    login(client, am_alice)

    response = client.get("/actions/")

    assert response.status_code == 200
    assert titles(response) == [
        "Call Ann, overdue",
        "Visit Globex today",
        "Letter this week",
        "Escalate later",
    ]
    assert [task.group_label for task in response.context["page"].object_list] == [
        "Overdue", "Today", "This week", "Later"
    ]  # fmt: skip
    assert "3\xa0days late" in response.text  # timesince joins with a no-break space


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        ("overdue", ["Call Ann, overdue"]),
        ("today", ["Visit Globex today"]),
        ("week", ["Letter this week"]),
        ("later", ["Escalate later"]),
        ("done", ["Done already"]),
    ],
)
def test_the_due_filter(client, tasks, am_alice, due, expected):
    login(client, am_alice)
    assert titles(client.get("/actions/", {"due": due})) == expected


def test_type_customer_and_owner_filters(client, tasks, am_alice, book):
    login(client, am_alice)
    assert titles(client.get("/actions/", {"kind": "letter"})) == ["Letter this week"]
    assert titles(client.get("/actions/", {"customer": book["globex"].pk})) == ["Visit Globex today"]
    # Anyone: also Bob's task on Initech, where Alice is a default viewer; never Hooli, which she cannot see.
    anyone = titles(client.get("/actions/", {"owner": "anyone", "due": "today"}))
    assert anyone == ["Visit Globex today", "Bob on Initech"]


def test_those_who_see_all_can_pick_any_owner(client, tasks, ar_admin, am_bob):
    login(client, ar_admin)
    assert titles(client.get("/actions/")) == []
    assert titles(client.get("/actions/", {"owner": am_bob.pk})) == ["Bob on Hooli", "Bob on Initech"]
    assert len(titles(client.get("/actions/", {"owner": "anyone"}))) == 6


def test_empty_state_says_nothing_due_today(client, book, am_alice):
    login(client, am_alice)
    response = client.get("/actions/", {"due": "today"})
    assert "Nothing due today" in response.text


def test_htmx_filters_render_the_list_only(client, tasks, am_alice):
    login(client, am_alice)
    response = client.get(
        "/actions/", {"due": "today"}, headers={"HX-Request": "true", "HX-Target": "task-list"}
    )
    assert response.templates[0].name == "actions/_list.html"
    assert "Visit Globex today" in response.text and "<html" not in response.text


def test_export_follows_the_filters(client, tasks, am_alice):
    login(client, am_alice)
    response = client.get("/actions/export.xlsx", {"owner": "anyone"})
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:4] == ("Due", "Status", "Type", "Task")
    assert sorted(row[3] for row in rows[1:]) == sorted(
        ["Call Ann, overdue", "Visit Globex today", "Letter this week", "Escalate later", "Bob on Initech"]
    )


def test_a_task_opens_as_a_page_and_as_a_panel_beside_the_timeline(client, tasks, am_alice):
    task = tasks["overdue"]
    login(client, am_alice)
    client.post(f"/customers/{task.customer_id}/notes/", {"text": "Ann is on leave"})

    page = client.get(f"/actions/{task.pk}/")
    panel = client.get(f"/actions/{task.pk}/", headers={"HX-Request": "true", "HX-Target": "task-panel"})

    assert page.status_code == 200 and "<html" in page.text
    assert panel.status_code == 200 and "<html" not in panel.text
    for response in (page, panel):
        assert "Call Ann, overdue" in response.text and "Ann is on leave" in response.text
        assert "Mark done" in response.text


@pytest.mark.parametrize(
    "path", ["/actions/", "/actions/export.xlsx", "/actions/{task}/", "/actions/new/customer/{customer}/"]
)
def test_anonymous_goes_to_login(client, tasks, path):
    path = path.format(task=tasks["bob_hooli"].pk, customer=tasks["bob_hooli"].customer_id)
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.url


@pytest.mark.parametrize("suffix", ["", "complete/", "reschedule/", "snooze/"])
def test_outsiders_get_404(client, tasks, am_alice, suffix):
    login(client, am_alice)
    path = f"/actions/{tasks['bob_hooli'].pk}/{suffix}"
    response = (
        client.post(path, {"outcome": "x", "due_on": "2030-01-01", "days": "1"})
        if suffix
        else client.get(path)
    )
    assert response.status_code == 404
    assert client.get(f"/actions/new/customer/{tasks['bob_hooli'].customer_id}/").status_code == 404


@pytest.mark.parametrize("suffix", ["complete/", "reschedule/", "snooze/"])
def test_auditors_may_look_but_not_write(client, tasks, auditor, suffix):
    login(client, auditor)
    task = tasks["overdue"]
    assert client.get(f"/actions/{task.pk}/").status_code == 200
    assert "Mark done" not in client.get(f"/actions/{task.pk}/").text
    response = client.post(
        f"/actions/{task.pk}/{suffix}", {"outcome": "x", "due_on": "2030-01-01", "days": "1"}
    )
    assert response.status_code == 403
    assert client.get(f"/actions/new/customer/{task.customer_id}/").status_code == 403
    assert not Activity.objects.filter(kind=ActivityKind.TASK).exists()


def test_complete_reschedule_and_snooze_write_the_timeline(client, tasks, am_alice, today):
    login(client, am_alice)
    week, later, overdue = tasks["week"], tasks["later"], tasks["overdue"]

    response = client.post(f"/actions/{overdue.pk}/complete/", {"outcome": "Ann pays Friday"})
    assert response.status_code == 302 and response.url == f"/actions/{overdue.pk}/"
    new_date = today + dt.timedelta(days=30)
    client.post(f"/actions/{week.pk}/reschedule/", {"due_on": new_date.isoformat()})
    client.post(f"/actions/{later.pk}/snooze/", {"days": "7"})

    overdue.refresh_from_db(), week.refresh_from_db(), later.refresh_from_db()
    assert overdue.status == TaskStatus.DONE and overdue.outcome == "Ann pays Friday"
    assert week.due_on == new_date
    assert later.due_on == today + dt.timedelta(days=27)
    actions = list(
        Activity.objects.filter(kind=ActivityKind.TASK).order_by("id").values_list("data__action", flat=True)
    )
    assert actions == ["completed", "rescheduled", "snoozed 7 days"]


def test_htmx_writes_answer_with_the_panel_and_refresh_the_list(client, tasks, am_alice):
    login(client, am_alice)
    task = tasks["today"]
    htmx = {"HX-Request": "true", "HX-Target": "task-panel"}

    response = client.post(f"/actions/{task.pk}/complete/", {"outcome": "Met the CFO"}, headers=htmx)

    assert response.status_code == 200 and response["HX-Trigger"] == "tasks-changed"
    assert "Met the CFO" in response.text and "Done" in response.text


def test_bad_input_changes_nothing(client, tasks, am_alice, today):
    login(client, am_alice)
    task = tasks["today"]
    htmx = {"HX-Request": "true", "HX-Target": "task-panel"}

    no_outcome = client.post(f"/actions/{task.pk}/complete/", {"outcome": ""}, headers=htmx)
    past = client.post(
        f"/actions/{task.pk}/reschedule/", {"due_on": (today - dt.timedelta(days=1)).isoformat()}
    )
    odd_snooze = client.post(f"/actions/{task.pk}/snooze/", {"days": "2"})

    assert "This field is required" in no_outcome.text
    assert past.status_code == 302 and odd_snooze.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.due_on == today
    assert not Activity.objects.filter(kind=ActivityKind.TASK).exists()


def test_create_a_task_from_the_customer_page(client, book, am_alice, collections_user, today):
    acme = book["acme"]
    login(client, collections_user)
    form = client.get(f"/actions/new/customer/{acme.pk}/")
    assert form.status_code == 200
    assert form.context["form"].initial["owner"] == am_alice
    due = today + dt.timedelta(days=6)

    response = client.post(
        f"/actions/new/customer/{acme.pk}/",
        {
            "kind": "phone_call",
            "title": "Follow up on the promise",
            "due_on": due.isoformat(),
            "owner": am_alice.pk,
            "invoice": book["invoices"][0].pk,
            "details": "Ask for the remittance",
        },
    )

    assert response.status_code == 302 and response.url == f"/customers/{acme.pk}/"
    task = Task.objects.get()
    assert (task.owner, task.invoice, task.created_by) == (am_alice, book["invoices"][0], collections_user)
    assert Activity.objects.get(kind=ActivityKind.TASK).data["action"] == "created"
    page = client.get(f"/customers/{acme.pk}/")
    assert f"Automatic reminders wait until <strong>{due:%-d %b %Y}</strong>" in page.text
    assert "open task: <a" in page.text and "Follow up on the promise" in page.text


def test_the_task_form_refuses_other_customers_invoices_and_past_dates(client, book, am_alice, today):
    login(client, am_alice)
    response = client.post(
        f"/actions/new/customer/{book['acme'].pk}/",
        {
            "kind": "phone_call",
            "title": "x",
            "due_on": (today - dt.timedelta(days=1)).isoformat(),
            "owner": am_alice.pk,
            "invoice": book["invoices"][1].pk,
        },
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"due_on", "invoice"}
    assert not Task.objects.exists()


def test_the_customer_page_shows_no_hold_without_a_future_open_task(client, tasks, am_alice, book):
    login(client, am_alice)
    # Globex has only a task due today: reminders are not held.
    page = client.get(f"/customers/{book['globex'].pk}/")
    assert "Automatic reminders wait" not in page.text and "Visit Globex today" in page.text
    assert "Create task" in page.text
