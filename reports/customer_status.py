"""Reads for the Customer Status Tracking Report: one row per customer, every figure summed in SQL.

A page is read in two steps. First the customers' ids, filtered and ordered on the customer row
(name, account manager, tags, promise) — or, when the sort or a filter needs them, on a figure —
then the figures of those ids only: one grouped query over their invoices (balance, overdue,
aging) and one over the customers (payment behaviour and latest activities as correlated
subqueries). A page so costs a fixed number of queries whatever the size of the book, and a
filter never joins a many-valued relation (tags, default viewers), which would multiply the sums.

As of a past date D: invoices issued on or before D, each owing what was due on it at D (its
total less the payments dated on or before D and the approved credits dated on or before D, as
reports.analysis.balance_at computes for every as-of report), aged by days past due at D; the behaviour from
the payments of the year up to D; the latest entries of the timeline on or before D.
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Case,
    CharField,
    DecimalField,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from customers.models import Activity, ActivityKind, Customer
from customers.selectors import AGING_BUCKETS
from invoices.models import ZERO, Invoice, PaymentAllocation
from peakflo.models import Company

from .analysis import _bucket_conditions, balance_at, sold_by
from .models import FiguresRun

_MONEY = DecimalField(max_digits=16, decimal_places=2)
BEHAVIOUR_WINDOW_DAYS = 365
ON_TIME_MARGIN_DAYS = 2  # within two days either side of the due date counts as on time
# Kept figures older than this (beat stopped?) are not used to order the rows: the sort goes live.
FIGURES_FRESH_FOR = dt.timedelta(minutes=15)
FIGURE_KEYS = ("balance", "overdue", *(key for key, *_ in AGING_BUCKETS))


class Behaviour:
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"
    NONE = "none"
    CHOICES = [
        (EARLY, "Pays early"),
        (ON_TIME, "Pays on time"),
        (LATE, "Usually pays late"),
        (NONE, "No payment history yet"),
    ]


# The kinds of timeline entry that say what is being done about the account.
COURSE_OF_ACTION_KINDS = [
    ActivityKind.MESSAGE_SENT,
    ActivityKind.TASK,
    ActivityKind.NOTE,
    ActivityKind.PROMISE_TO_PAY,
    ActivityKind.DISPUTE_RAISED,
    ActivityKind.DISPUTE_RESOLVED,
    ActivityKind.DISPUTE_COMMENT,
    ActivityKind.WORKFLOW,
    ActivityKind.CREDIT_HOLD,
]


class _DaysBetween(Func):
    """date - date in Postgres: a whole number of days."""

    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = IntegerField()


def _day_end(day):
    """The first moment after `day` where the company works (timeline entries are moments)."""
    tz = Company.load().tz
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), tz)


# --- per-customer figures ------------------------------------------------------------------------


def _invoice_balances(*, today, as_of):
    """Invoices that owed something at `as_of`, each with `balance`: what it owed then.

    Callers narrow them to visible customers (a page's ids, or the customer of an outer query).
    """
    if as_of >= today:
        return Invoice.objects.outstanding().annotate(balance=F("amount_due"))
    return Invoice.objects.filter(sold_by(as_of)).annotate(balance=balance_at(as_of)).filter(balance__gt=0)


def _figure_conditions(as_of):
    conditions = {"balance": Q(), "overdue": Q(due_date__lt=as_of)}
    conditions.update(_bucket_conditions(as_of))
    return conditions


def _money_sum(condition):
    return Coalesce(Sum("balance", filter=condition), Value(ZERO), output_field=_MONEY)


def balances_of(ids, *, today, as_of):
    """{customer id: {balance, overdue, current, d1_30, …}} for `ids`, one grouped query."""
    if not ids:
        return {}
    # named apart from the invoices' own `balance`, which they sum
    sums = {f"sum_{key}": _money_sum(condition) for key, condition in _figure_conditions(as_of).items()}
    rows = (
        _invoice_balances(today=today, as_of=as_of)
        .filter(customer_id__in=ids)
        .order_by()
        .values("customer_id")
        .annotate(**sums)
    )
    return {row["customer_id"]: {key: row[f"sum_{key}"] for key in FIGURE_KEYS} for row in rows}


def _average_days_late(as_of):
    """Days from due date to payment date of each allocation, weighted by amount, over the year to `as_of`."""
    allocations = (
        PaymentAllocation.objects.filter(
            invoice__customer=OuterRef("pk"),
            payment__date__gt=as_of - dt.timedelta(days=BEHAVIOUR_WINDOW_DAYS),
            payment__date__lte=as_of,
        )
        .order_by()
        .values("invoice__customer")
        .annotate(
            weighted=Cast(
                Sum(F("amount") * _DaysBetween(F("payment__date"), F("invoice__due_date"))),
                FloatField(),
            )
            / Cast(Sum("amount"), FloatField())
        )
        .values("weighted")
    )
    return Subquery(allocations, output_field=FloatField())


BEHAVIOUR = Case(
    When(average_days_late__isnull=True, then=Value(Behaviour.NONE)),
    When(average_days_late__lt=-ON_TIME_MARGIN_DAYS, then=Value(Behaviour.EARLY)),
    When(average_days_late__lte=ON_TIME_MARGIN_DAYS, then=Value(Behaviour.ON_TIME)),
    default=Value(Behaviour.LATE),
    output_field=CharField(),
)


def with_behaviour(customers, *, as_of):
    """`customers` with `average_days_late` and `behaviour` (one of Behaviour) at `as_of`."""
    return customers.annotate(average_days_late=_average_days_late(as_of)).annotate(behaviour=BEHAVIOUR)


def _latest_activity(*, before=None, kinds=None, by_a_user=False):
    entries = Activity.objects.filter(customer=OuterRef("pk"))
    if before is not None:
        entries = entries.filter(created_at__lt=before)
    if kinds:
        entries = entries.filter(kind__in=kinds)
    if by_a_user:
        entries = entries.filter(actor_user__isnull=False)
    return Subquery(entries.order_by("-created_at", "-pk").values("pk")[:1], output_field=IntegerField())


# --- sorting on a figure -------------------------------------------------------------------------


def kept_figures_run(today):
    """The latest rebuild of reports.CustomerFigures if it was taken today and is fresh, else None.

    Only the order of the rows is read from it (a customer's reassignment does not matter here,
    unlike the dashboard's flows); the amounts on the page stay live.
    """
    run = FiguresRun.objects.order_by("-finished_at").first()
    if run is None or run.day != today or run.finished_at < timezone.now() - FIGURES_FRESH_FOR:
        return None
    return run


_KEPT = {
    "balance": F("figures__owed"),
    "overdue": F("figures__overdue"),
    "d90_plus": F("figures__d91_180") + F("figures__doubtful"),
}


def sort_figure(key, *, today, as_of, run=None):
    """An expression of each customer's `key` figure (balance, overdue or d90_plus) to order by.

    From the kept figures (base currency, taken by `run`) when given, else live from the ledger.
    """
    if run is not None:
        return Coalesce(_KEPT[key], Value(ZERO), output_field=_MONEY)
    per_customer = (
        _invoice_balances(today=today, as_of=as_of)
        .filter(customer=OuterRef("pk"))
        .order_by()
        .values("customer")
        .annotate(total=_money_sum(_figure_conditions(as_of)[key]))
        .values("total")
    )
    return Coalesce(Subquery(per_customer, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


# --- the page ------------------------------------------------------------------------------------


def behaviour_phrase(behaviour, average_days_late):
    """The payment behaviour in plain language, as the report shows it."""
    if behaviour == Behaviour.NONE or average_days_late is None:
        return "No payment history yet"
    if behaviour == Behaviour.EARLY:
        return "Pays early"
    if behaviour == Behaviour.ON_TIME:
        return "Pays on time"
    days = int(Decimal(str(average_days_late)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return f"Usually pays about {days} days late"


def customer_status_rows(ids, *, today, as_of=None):
    """The report's rows for the customer ids `ids` (already filtered, visible and in order).

    Each customer gets `balance`, `overdue`, the aging bucket amounts (their keys) and `aging`
    [(label, amount)], `behaviour` and `behaviour_text`, `course_of_action` and `last_input`
    (Activity or None). Amounts are in the customer's own currency. Four queries, whatever `ids`.
    """
    as_of = as_of or today
    ids = list(ids)
    if not ids:
        return []
    before = _day_end(as_of) if as_of < today else None
    customers = with_behaviour(
        Customer.objects.filter(pk__in=ids)
        .select_related("account_manager")
        .prefetch_related("tags")
        .annotate(
            course_of_action_id=_latest_activity(before=before, kinds=COURSE_OF_ACTION_KINDS),
            last_input_id=_latest_activity(before=before, by_a_user=True),
        ),
        as_of=as_of,
    )
    by_id = {customer.pk: customer for customer in customers}
    figures = balances_of(ids, today=today, as_of=as_of)
    rows = [by_id[pk] for pk in ids if pk in by_id]
    entry_ids = {c.course_of_action_id for c in rows} | {c.last_input_id for c in rows}
    entry_ids.discard(None)
    entries = (
        Activity.objects.filter(pk__in=entry_ids)
        .select_related("actor_user", "actor_contact", "invoice")
        .in_bulk()
        if entry_ids
        else {}
    )
    nothing = dict.fromkeys(FIGURE_KEYS, ZERO)
    for customer in rows:
        for key, amount in figures.get(customer.pk, nothing).items():
            setattr(customer, key, amount)
        customer.aging = [
            (label.removesuffix(" days"), getattr(customer, key)) for key, label, _, _ in AGING_BUCKETS
        ]
        customer.course_of_action = entries.get(customer.course_of_action_id)
        customer.last_input = entries.get(customer.last_input_id)
        customer.behaviour_text = behaviour_phrase(customer.behaviour, customer.average_days_late)
    return rows
