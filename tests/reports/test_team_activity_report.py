"""Team activity report against hand-computed counts on a fixed timeline (company time zone Asia/Singapore).

Today is T, in the company's time zone. Entries, written through the timeline as the services do:

    on Alice's Apex:  Alice   message sent by hand   T 09:00
                      Alice   note                   T 10:00
                      Alice   task completed         T−1 23:30 (15:30 UTC: still T−1 where the company is)
                      Alice   task created           T          (not counted: only done tasks are)
                      Alice   promise to pay         T−1 08:00
                      Bob     note                   T 11:00    (a colleague's action on her customer)
                      engine  message sent           T 12:00    (no person: not counted)
                      contact promise to pay         T 12:00    (the payer in the portal: not counted)
                      Alice   note                   T−30 09:00 (before the default 30 days)
    on Bob's Xylo:    Bob     dispute resolved       T 14:00
                      Bob     message sent by hand   T−2 09:00
"""

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from customers import timeline
from customers.models import ActivityKind, Contact, Customer
from peakflo.models import Company
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/reports/team-activity/"
EXPORT = "/reports/team-activity/export/"
FIGURES = ("messages", "tasks_done", "disputes_resolved", "notes", "promises")


@pytest.fixture
def company(db):
    company = Company.load()
    company.time_zone = "Asia/Singapore"
    company.save()
    return company


@pytest.fixture
def today(company):
    return company.today()


@pytest.fixture
def entries(company, today, am_alice, am_bob):
    def at(days, hour, minute=0):
        return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute), tzinfo=company.tz)

    apex = Customer.objects.create(code="APEX", name="Apex", account_manager=am_alice)
    xylo = Customer.objects.create(code="XYLO", name="Xylo", account_manager=am_bob)
    payer = Contact.objects.create(customer=apex, name="Pat Payer", email="pat@apex.test")
    task_done = {"task": "Call", "action": "completed", "outcome": "Will pay"}
    for customer, kind, actor, moment, data in [
        (apex, ActivityKind.MESSAGE_SENT, am_alice, at(0, 9), {"by_hand": True}),
        (apex, ActivityKind.NOTE, am_alice, at(0, 10), {"text": "Called"}),
        (apex, ActivityKind.TASK, am_alice, at(-1, 23, 30), task_done),
        (apex, ActivityKind.TASK, am_alice, at(0, 9), {"task": "Visit", "action": "created"}),
        (apex, ActivityKind.PROMISE_TO_PAY, am_alice, at(-1, 8), {"amount": "10"}),
        (apex, ActivityKind.NOTE, am_bob, at(0, 11), {"text": "Covering for Alice"}),
        (apex, ActivityKind.MESSAGE_SENT, None, at(0, 12), {}),
        (apex, ActivityKind.PROMISE_TO_PAY, payer, at(0, 12), {"amount": "5"}),
        (apex, ActivityKind.NOTE, am_alice, at(-30, 9), {"text": "Long ago"}),
        (xylo, ActivityKind.DISPUTE_RESOLVED, am_bob, at(0, 14), {"resolution": "Credit note"}),
        (xylo, ActivityKind.MESSAGE_SENT, am_bob, at(-2, 9), {"by_hand": True}),
    ]:
        timeline.record(customer, kind, actor=actor, data=data, at=moment)


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)
    return client


def people(response):
    """{name: (messages, tasks done, disputes resolved, notes, promises)} of the per-person table."""
    return {p.name: tuple(p.figures[f] for f in FIGURES) for p in response.context["page"].object_list}


def days(response, name):
    person = next(p for p in response.context["page"].object_list if p.name == name)
    return {d.day: tuple(d.figures[f] for f in FIGURES) for d in person.days}


def test_per_person_and_per_day_against_hand_counts(client, admin_user, am_alice, entries, today):
    response = login(client, admin_user).get(URL)
    assert response.status_code == 200
    assert people(response) == {"Alice": (1, 1, 0, 1, 1), "Bob": (1, 0, 1, 1, 0)}
    # The task done at 23:30 on T−1 in Singapore (15:30 UTC) counts on T−1, latest day first.
    assert list(days(response, "Alice").items()) == [
        (today, (1, 0, 0, 1, 0)),
        (today - dt.timedelta(days=1), (0, 1, 0, 0, 1)),
    ]
    assert days(response, "Bob") == {today: (0, 0, 1, 1, 0), today - dt.timedelta(days=2): (1, 0, 0, 0, 0)}
    team = response.context["report"]["team"]
    assert tuple(team.figures[f] for f in FIGURES) == (2, 1, 1, 2, 1) and team.total == 7
    assert (response.context["period_from"], response.context["period_to"]) == (
        today - dt.timedelta(days=29),
        today,
    )
    page = response.content.decode()
    assert 'data-person="Alice"' in page and 'data-day="' + today.isoformat() + '"' in page


def test_period_person_and_account_manager_filters(client, admin_user, am_alice, am_bob, entries, today):
    login(client, admin_user)
    since = (today - dt.timedelta(days=30)).isoformat()
    assert people(client.get(f"{URL}?date_from={since}"))["Alice"] == (1, 1, 0, 2, 1)
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert people(client.get(f"{URL}?date_from={yesterday}&date_to={yesterday}")) == {
        "Alice": (0, 1, 0, 0, 1)
    }
    assert people(client.get(f"{URL}?user={am_bob.pk}")) == {"Bob": (1, 0, 1, 1, 0)}
    # Activity on Bob's customers only: Bob's own; Alice did nothing on them.
    response = client.get(f"{URL}?account_manager={am_bob.pk}", headers={"HX-Request": "true"})
    assert people(response) == {"Bob": (1, 0, 1, 0, 0)}
    assert "<form" not in response.content.decode()
    # Sorted by notes, most first; by name by default.
    assert list(people(client.get(f"{URL}?sort=-disputes_resolved"))) == ["Bob", "Alice"]
    assert list(people(client.get(URL))) == ["Alice", "Bob"]


def test_a_wrong_period_is_named_and_the_default_shown(client, admin_user, entries, today):
    response = login(client, admin_user).get(
        f"{URL}?date_from={today}&date_to={today - dt.timedelta(days=3)}"
    )
    page = response.content.decode()
    assert "swap the dates" in page
    assert response.context["period_from"] == today - dt.timedelta(days=29)
    assert (
        "From: Enter a valid date." in login(client, admin_user).get(f"{URL}?date_from=soon").content.decode()
    )


def test_an_account_manager_sees_and_exports_only_activity_on_their_customers(
    client, am_alice, am_bob, entries
):
    response = login(client, am_alice).get(URL)
    # Bob's note on Apex counts; his dispute and message on Xylo do not exist for Alice.
    assert people(response) == {"Alice": (1, 1, 0, 1, 1), "Bob": (0, 0, 0, 1, 0)}
    assert "account_manager" not in response.context["filter"].form.fields
    rows = list(load_workbook(io.BytesIO(client.get(EXPORT).content)).active.iter_rows(values_only=True))
    assert rows[0] == (
        "Person", "Day", "Messages sent", "Tasks done", "Disputes resolved", "Notes", "Promises to pay", "Total",
    )  # fmt: skip
    assert rows[-3:] == (
        [
            ("Bob", rows[-3][1], 0, 0, 0, 1, 0, 1),
            ("Bob", "Total", 0, 0, 0, 1, 0, 1),
            ("Team", "Total", 1, 1, 0, 2, 1, 5),
        ]
    )
    assert [row for row in rows if row[0] == "Alice" and row[1] == "Total"] == [
        ("Alice", "Total", 1, 1, 0, 1, 1, 4)
    ]
    # Bob, on his own, sees nothing that happened on Alice's customers — not even his own note there.
    response = login(client, am_bob).get(URL)
    assert people(response) == {"Bob": (1, 0, 1, 0, 0)}


def test_empty_state(client, admin_user, today):
    response = login(client, admin_user).get(URL)
    assert "Nobody recorded anything in this period" in response.content.decode()


def test_query_count_does_not_grow_with_people_or_days(client, admin_user, am_alice, entries, company, today):
    login(client, admin_user)
    client.get(URL)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    before = queries()
    apex = Customer.objects.get(code="APEX")
    for n in range(10):
        moment = dt.datetime.combine(today - dt.timedelta(days=n), dt.time(9), tzinfo=company.tz)
        timeline.record(apex, ActivityKind.NOTE, actor=admin_user, data={"text": f"n{n}"}, at=moment)
    assert queries() == before
