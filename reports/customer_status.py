"""Reads for the Customer Status Tracking Report: one row per customer, every figure summed in SQL.

Aging is a join of the customer's open invoices with conditional sums (one GROUP BY); the payment
behaviour and the latest activities are correlated subqueries, so a page costs a fixed number of
queries whatever its length. Filters must never join a many-valued relation (tags, default viewers):
that would multiply the sums, so they filter through `pk__in` subqueries instead.
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

from customers.models import Activity, ActivityKind, Customer
from customers.selectors import AGING_BUCKETS
from invoices.models import ZERO, InvoiceStatus, PaymentAllocation

_MONEY = DecimalField(max_digits=16, decimal_places=2)
BEHAVIOUR_WINDOW_DAYS = 365
ON_TIME_MARGIN_DAYS = 2  # within two days either side of the due date counts as on time


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


def _open_sum(condition=None):
    open_invoice = Q(invoices__status=InvoiceStatus.OPEN, invoices__amount_due__gt=0)
    return Coalesce(
        Sum("invoices__amount_due", filter=open_invoice & (condition or Q())),
        Value(ZERO),
        output_field=_MONEY,
    )


def _bucket_condition(low, high, today):
    if low is None:
        return Q(invoices__due_date__gte=today)
    condition = Q(invoices__due_date__lte=today - dt.timedelta(days=low))
    if high is not None:
        condition &= Q(invoices__due_date__gte=today - dt.timedelta(days=high))
    return condition


def _average_days_late(today):
    """Days from due date to payment date of each allocation, weighted by amount, over the last year."""
    allocations = (
        PaymentAllocation.objects.filter(
            invoice__customer=OuterRef("pk"),
            payment__date__gt=today - dt.timedelta(days=BEHAVIOUR_WINDOW_DAYS),
            payment__date__lte=today,
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


def _latest_activity(*, kinds=None, by_a_user=False):
    entries = Activity.objects.filter(customer=OuterRef("pk"))
    if kinds:
        entries = entries.filter(kind__in=kinds)
    if by_a_user:
        entries = entries.filter(actor_user__isnull=False)
    return Subquery(entries.order_by("-created_at", "-pk").values("pk")[:1], output_field=IntegerField())


def customer_status_rows(user, *, today):
    """The customers `user` may see, each with balance, overdue, aging, behaviour and latest activities.

    Amounts are in the customer's own currency. `course_of_action_id` and `last_input_id` are Activity
    ids; attach_activities() loads them for a page in one query.
    """
    aging = {key: _open_sum(_bucket_condition(low, high, today)) for key, _, low, high in AGING_BUCKETS}
    margin = ON_TIME_MARGIN_DAYS
    return (
        Customer.objects.visible_to(user)
        .select_related("account_manager")
        .prefetch_related("tags")
        .annotate(
            balance=_open_sum(),
            overdue=_open_sum(Q(invoices__due_date__lt=today)),
            **aging,
            average_days_late=_average_days_late(today),
            course_of_action_id=_latest_activity(kinds=COURSE_OF_ACTION_KINDS),
            last_input_id=_latest_activity(by_a_user=True),
        )
        .annotate(
            behaviour=Case(
                When(average_days_late__isnull=True, then=Value(Behaviour.NONE)),
                When(average_days_late__lt=-margin, then=Value(Behaviour.EARLY)),
                When(average_days_late__lte=margin, then=Value(Behaviour.ON_TIME)),
                default=Value(Behaviour.LATE),
                output_field=CharField(),
            )
        )
    )


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


def attach_activities(customers):
    """Set `course_of_action`, `last_input`, `behaviour_text` and `aging` on each customer (one query)."""
    customers = list(customers)
    ids = {c.course_of_action_id for c in customers} | {c.last_input_id for c in customers}
    ids.discard(None)
    entries = (
        Activity.objects.filter(pk__in=ids).select_related("actor_user", "actor_contact", "invoice").in_bulk()
        if ids
        else {}
    )
    for customer in customers:
        customer.course_of_action = entries.get(customer.course_of_action_id)
        customer.last_input = entries.get(customer.last_input_id)
        customer.behaviour_text = behaviour_phrase(customer.behaviour, customer.average_days_late)
        customer.aging = [(label, getattr(customer, key)) for key, label, _, _ in AGING_BUCKETS]
    return customers
