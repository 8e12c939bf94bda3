"""Reads for the Customer Status Tracking Report: one row per customer, every figure summed in SQL.

A page is read in two steps. First the customers' ids, filtered and ordered on the customer row
(name, account manager, tags, promise) — or, when the sort or a filter needs them, on a figure —
then the figures of those ids only: one grouped query over their invoices (balance, overdue,
aging) and one over the customers (payment behaviour and latest activities as correlated
subqueries). A page so costs a fixed number of queries whatever the size of the book, and a
filter never joins a many-valued relation (tags, default viewers), which would multiply the sums.
Today's balance, overdue and over-90 sorts read the kept figures (KeptOrder); the rest is live.

As of a past date D: invoices issued on or before D, each owing what was due on it at D (its
total less the payments and approved credits dated on or before D, reports.analysis.balance_at,
the rule every as-of report shares), aged by days past due at D; the behaviour from the payments
of the year up to D; the latest entries of the timeline on or before D.
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    DecimalField,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from customers.models import Activity, ActivityKind, Customer
from customers.selectors import AGING_BUCKETS
from invoices.models import ZERO, Invoice, PaymentAllocation
from peakflo.models import Company
from peakflo.queries import DaysBetween, ids_if_few

from .analysis import balance_at, bucket_conditions, sold_by
from .models import CustomerFigures, FiguresRun

_MONEY = DecimalField(max_digits=16, decimal_places=2)
BEHAVIOUR_WINDOW_DAYS = 365
ON_TIME_MARGIN_DAYS = 2  # within two days either side of the due date counts as on time
# Kept figures older than this (beat stopped?) are not used to order the rows: the sort goes live.
FIGURES_FRESH_FOR = dt.timedelta(minutes=15)
# A book up to this size is read as a list of ids before a live figure filters or orders it (listed()).
IDS_UP_TO = 5000
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
    conditions.update(bucket_conditions(as_of))
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


def _allocations_in_window(as_of):
    """Allocations of the payments of the year up to `as_of`: the history behaviour is read from."""
    return PaymentAllocation.objects.filter(
        payment__date__gt=as_of - dt.timedelta(days=BEHAVIOUR_WINDOW_DAYS), payment__date__lte=as_of
    )


# Days from due date to payment date of each allocation, weighted by amount.
_WEIGHTED_DAYS_LATE = Cast(
    Sum(F("amount") * DaysBetween(F("payment__date"), F("invoice__due_date"))), FloatField()
) / Cast(Sum("amount"), FloatField())


def _average_days_late(as_of):
    allocations = (
        _allocations_in_window(as_of)
        .filter(invoice__customer=OuterRef("pk"))
        .order_by()
        .values("invoice__customer")
        .annotate(weighted=_WEIGHTED_DAYS_LATE)
        .values("weighted")
    )
    return Subquery(allocations, output_field=FloatField())


def with_average_days_late(customers, *, as_of):
    """`customers` with `average_days_late` at `as_of` (None: no payment in the year to it)."""
    return customers.annotate(average_days_late=_average_days_late(as_of))


def behaviour_of(average_days_late):
    """One of Behaviour for an average number of days late (None: no payment history)."""
    if average_days_late is None:
        return Behaviour.NONE
    if average_days_late < -ON_TIME_MARGIN_DAYS:
        return Behaviour.EARLY
    if average_days_late <= ON_TIME_MARGIN_DAYS:
        return Behaviour.ON_TIME
    return Behaviour.LATE


_BEHAVIOUR_RANGES = {
    Behaviour.EARLY: Q(average__lt=-ON_TIME_MARGIN_DAYS),
    Behaviour.ON_TIME: Q(average__gte=-ON_TIME_MARGIN_DAYS, average__lte=ON_TIME_MARGIN_DAYS),
    Behaviour.LATE: Q(average__gt=ON_TIME_MARGIN_DAYS),
}


def filter_behaviour(customers, behaviour, *, as_of):
    """The `customers` whose payment behaviour at `as_of` is `behaviour` (behaviour_of's ranges).

    One grouped semi-join over the allocations of those customers, not a subquery per customer.
    A book of up to IDS_UP_TO customers is listed first and the matches are read once as ids: the
    planner then walks the indexes of those few customers' invoices, where the visibility rule (an
    OR with a subquery) is estimated at half the table and every allocation of the year is hashed.
    """
    listed = ids_if_few(customers, IDS_UP_TO)
    scope = listed if listed is not None else customers.order_by().values("pk")
    allocations = _allocations_in_window(as_of).filter(invoice__customer__in=scope)
    if behaviour == Behaviour.NONE:
        paying = allocations.values("invoice__customer")
    else:
        paying = (
            allocations.order_by()
            .values("invoice__customer")
            .annotate(average=_WEIGHTED_DAYS_LATE)
            .filter(_BEHAVIOUR_RANGES[behaviour])
            .values("invoice__customer")
        )
    if scope is listed:
        paying = {row["invoice__customer"] for row in paying}
        if behaviour == Behaviour.NONE:
            return customers.filter(pk__in=[pk for pk in listed if pk not in paying])
        return customers.filter(pk__in=paying)
    if behaviour == Behaviour.NONE:
        # NOT EXISTS per customer rather than NOT IN over every payer of the year (see KeptOrder)
        return customers.filter(
            ~Exists(_allocations_in_window(as_of).filter(invoice__customer=OuterRef("pk")))
        )
    return customers.filter(pk__in=paying)


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


_KEPT_ROW = {  # the same, on a CustomerFigures row
    "balance": F("owed"),
    "overdue": F("overdue"),
    "d90_plus": F("d91_180") + F("doubtful"),
}
_KEPT = {
    "balance": F("figures__owed"),
    "overdue": F("figures__overdue"),
    "d90_plus": F("figures__d91_180") + F("figures__doubtful"),
}


def listed(customers):
    """`customers` as a list of ids when they are at most IDS_UP_TO, else unchanged.

    A live figure is then computed for those few customers only, through the indexes, where the
    visibility rule (an OR with a subquery) is estimated at half the table.
    """
    ids = ids_if_few(customers, IDS_UP_TO)
    return Customer.objects.filter(pk__in=ids) if ids is not None else customers


class KeptOrder:
    """The ids of `customers` in the order of a kept figure (balance, overdue or d90_plus), as a
    sequence the Paginator and the export slice.

    The customers owing that figure are walked through the kept figures' index (largest first, or
    last when ascending) and joined to the visible customers row by row; those owing nothing follow
    (or lead) by name. One sorted LEFT JOIN of every visible customer would hash and sort the whole
    book on every page. A book of up to IDS_UP_TO customers is listed as ids first, so the planner
    knows how few they are.
    """

    def __init__(self, customers, key, *, descending):
        self.customers = customers.order_by()
        self.key = key
        self.descending = descending
        self._count = self._parts = self._first_count = None

    def count(self):
        if self._count is None:
            listed = ids_if_few(self.customers, IDS_UP_TO)
            if listed is not None:
                self._count, self._base = len(listed), Customer.objects.filter(pk__in=listed)
            else:
                self._count, self._base = self.customers.count(), self.customers
        return self._count

    def _split(self):
        if self._parts is None:
            self.count()
            owing = self._base.annotate(kept=_KEPT[self.key]).filter(kept__gt=0)
            amount = F("kept").desc() if self.descending else F("kept").asc()
            owing_ids = owing.order_by(amount, "name", "pk").values_list("pk", flat=True)
            # NOT EXISTS, not NOT IN: right after a rebuild the planner may not know the figures'
            # size and run NOT IN's subquery once per customer (30 s for an admin's book).
            owing_this = CustomerFigures.objects.filter(customer_id=OuterRef("pk")).annotate(
                kept=_KEPT_ROW[self.key]
            )
            rest = (
                self._base.filter(~Exists(owing_this.filter(kept__gt=0)))
                .order_by("name", "pk")
                .values_list("pk", flat=True)
            )
            self._parts = (owing_ids, rest) if self.descending else (rest, owing_ids)
        return self._parts

    def __len__(self):
        return self.count()

    def __iter__(self):
        return iter(self[0 : self.count()])

    def __getitem__(self, window):
        if not isinstance(window, slice):
            return self[window : window + 1][0]
        start, stop = window.start or 0, window.stop if window.stop is not None else self.count()
        first, second = self._split()
        ids = list(first[start:stop])
        if len(ids) == stop - start:
            return ids  # the first part fills the window: no need to know where it ends
        if ids:
            split = start + len(ids)
        else:
            if self._first_count is None:
                self._first_count = first.count()
            split = self._first_count
        return ids + list(second[max(start - split, 0) : stop - split])


def sort_figure(key, *, today, as_of):
    """Each customer's `key` figure (balance, overdue or d90_plus) at `as_of`, live from the ledger."""
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


ROW_FIELDS = (
    "code",
    "name",
    "currency",
    "promise_amount",
    "promise_date",
    "account_manager__name",
    "account_manager__email",
)


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
    customers = (
        Customer.objects.filter(pk__in=ids)
        .select_related("account_manager")
        # what the report shows: a whole customer and user per row cost more than their queries
        .only(*ROW_FIELDS)
        .prefetch_related("tags")
        .annotate(
            average_days_late=_average_days_late(as_of),
            course_of_action_id=_latest_activity(before=before, kinds=COURSE_OF_ACTION_KINDS),
            last_input_id=_latest_activity(before=before, by_a_user=True),
        )
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
        customer.behaviour = behaviour_of(customer.average_days_late)
        customer.behaviour_text = behaviour_phrase(customer.behaviour, customer.average_days_late)
    return rows


# --- the export ----------------------------------------------------------------------------------

EXPORT_HEADERS = [
    "Customer ID", "Name", "Account manager", "Currency", "Balance", "Overdue",
    *[label for _, label, _, _ in AGING_BUCKETS], "Payment behaviour", "Tags", "Promise amount",
    "Promise date", "Course of action", "Course of action on", "Last input by", "Last input on",
]  # fmt: skip
_KIND_LABELS = dict(ActivityKind.choices)


def _local(moment):
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


def export_rows(ids, *, today, as_of=None):
    """The export's rows (EXPORT_HEADERS) for the customer ids `ids`, in order: the same figures as
    customer_status_rows(), read as plain values — building a customer, its manager, tags and
    entries as model instances cost more than their queries."""
    as_of = as_of or today
    ids = list(ids)
    if not ids:
        return []
    before = _day_end(as_of) if as_of < today else None
    customers = {
        row[0]: row
        for row in Customer.objects.filter(pk__in=ids)
        .annotate(
            average_days_late=_average_days_late(as_of),
            course_of_action_id=_latest_activity(before=before, kinds=COURSE_OF_ACTION_KINDS),
            last_input_id=_latest_activity(before=before, by_a_user=True),
        )
        .values_list(
            "pk",
            "code",
            "name",
            "currency",
            "account_manager__name",
            "account_manager__email",
            "promise_amount",
            "promise_date",
            "average_days_late",
            "course_of_action_id",
            "last_input_id",
        )  # fmt: skip
    }
    figures = balances_of(ids, today=today, as_of=as_of)
    tags = {}
    for customer_id, name in (
        Customer.tags.through.objects.filter(customer_id__in=ids)
        .order_by("tag__name")
        .values_list("customer_id", "tag__name")
    ):
        tags.setdefault(customer_id, []).append(name)
    entry_ids = {row[9] for row in customers.values()} | {row[10] for row in customers.values()}
    entry_ids.discard(None)
    entries = {
        pk: (kind, created_at, user_name or user_email or "")
        for pk, kind, created_at, user_name, user_email in Activity.objects.filter(
            pk__in=entry_ids
        ).values_list("pk", "kind", "created_at", "actor_user__name", "actor_user__email")
    }
    nothing = dict.fromkeys(FIGURE_KEYS, ZERO)
    rows = []
    for pk in ids:
        if pk not in customers:
            continue
        _, code, name, currency, manager, manager_email, promised, promise_date, late, action, last = (
            customers[pk]
        )
        amounts = figures.get(pk, nothing)
        action, last = entries.get(action), entries.get(last)
        rows.append([
            code, name, manager or manager_email or "", currency, amounts["balance"], amounts["overdue"],
            *[amounts[key] for key, *_ in AGING_BUCKETS], behaviour_phrase(behaviour_of(late), late),
            ", ".join(tags.get(pk, ())), promised, promise_date,
            _KIND_LABELS.get(action[0], action[0]) if action else "", _local(action[1]) if action else None,
            last[2] if last else "", _local(last[1]) if last else None,
        ])  # fmt: skip
    return rows
