"""Reads for the Team activity report: per user and per day, what each person did on the customers.

The source is the customer timeline (customers.Activity): every figure below is an entry a person
wrote through a service, with that person as `actor_user` — the engine's own messages have no actor,
so a message sent with one was sent by hand. One grouped query (user × day in the company's time
zone) over the period's entries of the visible customers; the few rows it returns (people × days)
are pivoted into per-user totals here.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from customers.models import Activity, ActivityKind, Customer
from peakflo.models import User

PERIOD_DAYS = 30

# figure, label, the timeline entries it counts
FIGURES = (
    ("messages", "Messages sent", Q(kind=ActivityKind.MESSAGE_SENT)),
    ("tasks_done", "Tasks done", Q(kind=ActivityKind.TASK, data__action="completed")),
    ("disputes_resolved", "Disputes resolved", Q(kind=ActivityKind.DISPUTE_RESOLVED)),
    ("notes", "Notes", Q(kind=ActivityKind.NOTE)),
    ("promises", "Promises to pay", Q(kind=ActivityKind.PROMISE_TO_PAY)),
)
FIGURE_NAMES = tuple(name for name, _, _ in FIGURES)
COUNTED_KINDS = (
    ActivityKind.MESSAGE_SENT,
    ActivityKind.TASK,
    ActivityKind.DISPUTE_RESOLVED,
    ActivityKind.NOTE,
    ActivityKind.PROMISE_TO_PAY,
)
SORTS = ("user", *FIGURE_NAMES, "total")


class Counted:
    """What a row of the report (a person, or one of their days) shows from its `figures`."""

    @property
    def total(self):
        return sum(self.figures.values())

    def in_order(self):
        return [self.figures[name] for name in FIGURE_NAMES]

    def labelled(self):
        """(label, count) in the order of the columns."""
        return [(label, self.figures[name]) for name, label, _ in FIGURES]


@dataclass
class Day(Counted):
    day: dt.date
    figures: dict


@dataclass
class Person(Counted):
    user_id: int | None
    name: str
    figures: dict = field(default_factory=lambda: dict.fromkeys(FIGURE_NAMES, 0))
    days: list = field(default_factory=list)


def counted_entries(viewer):
    """The timeline entries the report counts, on the customers `viewer` may see, by any person."""
    counted = Q(kind__in=[kind for kind in COUNTED_KINDS if kind != ActivityKind.TASK]) | FIGURES[1][2]
    entries = Activity.objects.filter(counted, actor_user__isnull=False)
    customers = Customer.objects.visible_to(viewer)
    if customers.query.where:  # nothing to add for who sees every customer
        entries = entries.filter(customer__in=customers.values("pk"))
    return entries


def day_bounds(period_from, period_to, tz):
    """The moments the period starts and ends where the company works (the end excluded)."""
    start = dt.datetime.combine(period_from, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(period_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def grouped(entries, *, tz):
    """One row per person and day with activity: {actor_user, day, <figure>: count}."""
    return (
        entries.annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("actor_user", "day")
        .annotate(**{name: Count("pk", filter=condition) for name, _, condition in FIGURES})
        .order_by()
    )


def team_activity(entries, *, tz, sort=""):
    """Per person (sorted by `sort`: a SORTS name, "-" first for descending; by name when empty), their
    totals and their days (latest first), with the team's totals. Two queries: the grouped rows of
    the (filtered) `entries` and the people's names."""
    people = {}
    for row in grouped(entries, tz=tz):
        person = people.setdefault(row["actor_user"], Person(row["actor_user"], ""))
        figures = {name: row[name] for name in FIGURE_NAMES}
        person.days.append(Day(row["day"], figures))
        for name in FIGURE_NAMES:
            person.figures[name] += figures[name]
    names = {u.pk: u.get_full_name() for u in User.objects.filter(pk__in=people)} if people else {}
    for person in people.values():
        person.name = names.get(person.user_id, "")
        person.days.sort(key=lambda day: day.day, reverse=True)
    team = Person(None, "Team")
    for person in people.values():
        for name in FIGURE_NAMES:
            team.figures[name] += person.figures[name]
    return {"people": _sorted(people.values(), sort), "team": team}


def _sorted(people, sort):
    sort = sort or ""
    key = sort.lstrip("-") if sort.lstrip("-") in SORTS else "user"
    descending = sort.startswith("-")
    by_name = sorted(people, key=lambda p: (p.name.lower(), p.user_id))
    if key == "user":
        return by_name[::-1] if descending else by_name
    figure = (lambda p: p.total) if key == "total" else (lambda p: p.figures[key])
    return sorted(by_name, key=figure, reverse=descending)  # stable: names break ties
