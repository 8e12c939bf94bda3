"""Read queries behind the analysis reports: aging per account manager, disputes, actions.

Each report is a few grouped queries within the visibility rule; the rows they return are few
(one per account manager, reason or owner and task type), so the pivoting is done here in Python.
Amounts are in the base currency through each invoice's exchange rate (reports.selectors).
"""

import datetime as dt
import statistics
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Case,
    CharField,
    Count,
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
from django.db.models.functions import Coalesce, TruncDate

from customers.models import Customer
from disputes.models import Dispute, DisputeStatus
from invoices.models import CreditNote, CreditNoteStatus, Invoice, PaymentAllocation
from peakflo.models import Company, User
from workflows.models import ActionType, Task, TaskStatus

from .models import CustomerFigures, Partition, PortfolioBook
from .selectors import (
    AGING_BUCKETS,
    BASE_MONEY,
    SOLD,
    ZERO,
    _percent,
    _sum,
    dashboard_scope,
    in_base_currency,
    open_book,
)

NO_MANAGER = "No account manager"
NO_OWNER = "Unassigned"
# A row of customers an account manager only views, managed by someone else (or by nobody).
VIEWED_BY = "Customers you view, managed by "
VIEWED_UNMANAGED = "Customers you view, with no account manager"


def _local_day(field):
    """The day of a timestamp where the company works (the database session itself runs in UTC)."""
    return TruncDate(field, tzinfo=Company.load().tz)


def _visible(user, path="customer"):
    """A filter putting `path` inside the user's visible customers (nothing to add for who sees all)."""
    customers = Customer.objects.visible_to(user)
    if not customers.query.where:
        return Q()
    return Q(**{f"{path}__in": customers.values("pk")})


# --- aging per account manager -------------------------------------------------------------------


def bucket_conditions(as_of, due_date="due_date"):
    """Per aging bucket, the condition on the invoice's due date (days past due at `as_of`)."""
    conditions = {}
    for key, _, first, last in AGING_BUCKETS:
        newest = Q(**{f"{due_date}__gte": as_of - dt.timedelta(days=last)}) if last is not None else Q()
        oldest = Q(**{f"{due_date}__lte": as_of - dt.timedelta(days=first)}) if first is not None else Q()
        conditions[key] = newest & oldest
    return conditions


def paid_after(as_of):
    """Allocations of payments dated after `as_of`: not yet paid at that date."""
    return PaymentAllocation.objects.filter(payment__date__gt=as_of)


def credited_after(as_of):
    """Approved credit notes on an invoice dated after `as_of`: not yet credited at that date."""
    return CreditNote.objects.filter(status=CreditNoteStatus.APPROVED, date__gt=as_of, invoice__isnull=False)


def sold_by(as_of):
    """The invoices that were sales at `as_of`: issued by then, neither drafts nor voided."""
    return Q(status__in=SOLD, issue_date__lte=as_of)


def balance_at(as_of):
    """An invoice's balance at `as_of`: total less payments and approved credits dated by then.

    Written as its amount due today plus what was paid or credited after the date: the same
    figure (amount due = total − paid − credited), with subqueries that only meet the later rows.
    """
    paid_later = (
        paid_after(as_of).filter(invoice=OuterRef("pk")).values("invoice").annotate(total=Sum("amount"))
    )
    credited_later = (
        credited_after(as_of).filter(invoice=OuterRef("pk")).values("invoice").annotate(total=Sum("amount"))
    )
    return (
        F("amount_due")
        + Coalesce(Subquery(paid_later.values("total")), Value(ZERO), output_field=BASE_MONEY)
        + Coalesce(Subquery(credited_later.values("total")), Value(ZERO), output_field=BASE_MONEY)
    )


def _balances(user, *, today, as_of):
    """Invoices with `balance`: what was due on them at `as_of` (today: their amount due).

    At a past date an invoice's balance is its amount due today plus the payments and approved
    credits dated after that date (the rule of the dashboard's "as of"); invoices issued after it
    do not count.
    """
    invoices = Invoice.objects.filter(_visible(user))
    if as_of >= today:
        return invoices.outstanding().annotate(balance=F("amount_due"))
    return invoices.filter(sold_by(as_of)).annotate(balance=balance_at(as_of))


def aged_amounts(in_scope, *, today, as_of, manager_path="account_manager"):
    """Per account manager (`manager_path` from the customer; None: one group), the amount due in
    each aging bucket at `as_of`, in one query. `in_scope(path)` puts a customer relation in scope.

    The same balances as _balances(), summed as three sets instead of invoice by invoice (which
    reads every invoice issued by then, each with two subqueries): the open invoices issued by
    `as_of` at their amount due today, plus the allocations of payments dated after it, plus the
    approved credits dated after it — each aged by its invoice's due date.
    """

    def grouped(queryset, customer, invoice=""):
        manager = F(f"{customer}__{manager_path}") if manager_path else Value(None, IntegerField())
        amount = (
            in_base_currency("amount_due")
            if not invoice
            else in_base_currency("amount", "invoice__exchange_rate")
        )
        sums = {
            key: _sum(amount, filter=condition)
            for key, condition in bucket_conditions(as_of, f"{invoice}due_date").items()
        }
        return queryset.filter(in_scope(customer)).values(manager=manager).annotate(**sums).order_by()

    parts = [grouped(Invoice.objects.outstanding(), "customer")]
    if as_of < today:
        parts[0] = parts[0].filter(issue_date__lte=as_of)
        later = {"invoice__status__in": SOLD, "invoice__issue_date__lte": as_of}
        parts.append(grouped(paid_after(as_of).filter(**later), "invoice__customer", "invoice__"))
        parts.append(grouped(credited_after(as_of).filter(**later), "invoice__customer", "invoice__"))
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    amounts = {}
    for row in rows:
        line = amounts.setdefault(row["manager"], dict.fromkeys((key for key, *_ in AGING_BUCKETS), ZERO))
        for key in line:
            line[key] += row[key]
    return amounts


# The aging buckets of the report from the kept figures' columns (over 90 = 91–180 + doubtful).
_KEPT_BUCKETS = {
    "current": _sum("current"),
    "d1_30": _sum("d1_30"),
    "d31_60": _sum("d31_60"),
    "d61_90": _sum("d61_90"),
    "d90_plus": _sum(F("d91_180") + F("doubtful")),
}


def _figures_by_manager(scope):
    """Today's amounts per account manager from the figures kept ready (reports.figures).

    Grouped by the account manager the figures were taken with (no join to every customer); which
    customers count is decided live, by the scope.
    """
    rows = (
        CustomerFigures.objects.filter(scope.of())
        .values(manager=F("account_manager"))
        .annotate(**_KEPT_BUCKETS)
        .order_by()
    )
    return {row.pop("manager"): row for row in rows}


def _kept_books_by_manager():
    """Today's amounts per account manager from the kept portfolio books: a handful of rows."""
    rows = (
        PortfolioBook.objects.filter(partition=Partition.MANAGER)
        .values(manager=F("user"))
        .annotate(**_KEPT_BUCKETS)
        .order_by()
    )
    return {row.pop("manager"): row for row in rows}


def dashboard_aging(scope, *, as_of):
    """The dashboard's aging card at `as_of` within a reports.selectors.DashboardScope.

    Per bucket (the dashboard's own keys and labels): the amount and its share of the total.
    Today it is the dashboard's own aging (from the kept figures when the dashboard uses them).
    """
    if as_of >= scope.today:
        return open_book(scope)["aging"]
    per_manager = aged_amounts(scope.of, today=scope.today, as_of=as_of, manager_path=None)
    buckets = {key: sum((line[key] for line in per_manager.values()), ZERO) for key, *_ in AGING_BUCKETS}
    total = sum(buckets.values(), ZERO)
    return [
        {"key": key, "label": label, "amount": buckets[key], "share": _percent(buckets[key], total)}
        for key, label, _, _ in AGING_BUCKETS
    ]


@dataclass
class ManagerAging:
    manager_id: int | None
    name: str
    customers: int = 0
    buckets: dict = field(default_factory=lambda: {key: ZERO for key, *_ in AGING_BUCKETS})
    # The row holds customers the user only views (a default viewer): part of someone else's book.
    viewed: bool = False

    @property
    def total(self):
        return sum(self.buckets.values(), ZERO)

    def amounts(self):
        """(bucket key, amount) in the order of the columns."""
        return [(key, self.buckets[key]) for key, *_ in AGING_BUCKETS]


def aging_by_manager(user, *, today, as_of=None):
    """One row per account manager of the visible customers (and one for none), with a totals row.

    Amounts: one grouped query (reports.CustomerFigures when they were taken today and the report
    is for today, else the live ledger); customer counts: one more (every visible customer counts,
    owing or not); names: one more. For an account manager, the rows of customers they only view
    (as a default viewer) are labelled as such: they hold part of a colleague's book, not all of it.
    """
    as_of = as_of or today
    # The dashboard's scope: the visibility rule, with a small portfolio listed by id for the planner.
    scope = dashboard_scope(user, today=today)
    # The figures kept ready when the dashboard may use them (taken today, fresh, nobody reassigned since).
    figures_run = scope.figures_run if as_of == today else None
    if figures_run is not None:
        # Who sees every customer reads the managers' kept books; an account manager's viewed
        # customers are split by who manages them, which only the per-customer figures tell.
        amounts = _kept_books_by_manager() if user.sees_all_customers else _figures_by_manager(scope)
    else:
        amounts = aged_amounts(scope.of, today=today, as_of=as_of, manager_path="account_manager")
    count_rows = (
        scope.customer_rows().values(manager=F("account_manager")).annotate(customers=Count("pk")).order_by()
    )
    rows = {}
    for row in count_rows:
        rows.setdefault(row["manager"], ManagerAging(row["manager"], "")).customers = row["customers"]
    for manager_id, buckets in amounts.items():
        rows.setdefault(manager_id, ManagerAging(manager_id, "")).buckets = buckets
    names = {u.pk: u.get_full_name() for u in User.objects.filter(pk__in=[k for k in rows if k])}
    for manager_id, line in rows.items():
        line.name = names.get(manager_id, NO_MANAGER) if manager_id else NO_MANAGER
        if not user.sees_all_customers and manager_id != user.pk:
            line.viewed = True
            line.name = f"{VIEWED_BY}{line.name}" if manager_id else VIEWED_UNMANAGED
    # The user's own book first, named managers by name, then the customers nobody manages.
    ordered = sorted(
        rows.values(), key=lambda r: (r.viewed, r.manager_id is None, r.name.lower(), r.manager_id or 0)
    )
    totals = ManagerAging(None, "Total", customers=sum(r.customers for r in ordered))
    for key, *_ in AGING_BUCKETS:
        totals.buckets[key] = sum((r.buckets[key] for r in ordered), ZERO)
    return {
        "rows": ordered,
        "totals": totals,
        "as_of": as_of,
        "figures_taken_at": figures_run.started_at if figures_run is not None else None,
    }


def invoice_list_query(key, *, today, manager_id=None):
    """The invoice list's filter for one bucket (key "total": every open invoice), as GET parameters.

    The list shows today's amounts, so these links only make sense for the report as of today.
    """
    query = {}
    if manager_id:
        query["account_manager"] = manager_id
    if key == "total":
        return {**query, "status": "open"}
    _, _, first, last = next(b for b in AGING_BUCKETS if b[0] == key)
    if first is None:
        return {**query, "status": "not_due"}
    query["status"] = "overdue"
    if last is not None:
        query["due_from"] = (today - dt.timedelta(days=last)).isoformat()
    query["due_to"] = (today - dt.timedelta(days=first)).isoformat()
    return query


# --- disputes ------------------------------------------------------------------------------------

# key, label, fewest and most days since raised (None: open-ended)
DISPUTE_AGE_BUCKETS = (
    ("lt7", "Under 7 days", 0, 6),
    ("d7_30", "7–30 days", 7, 30),
    ("d31_90", "31–90 days", 31, 90),
    ("d90_plus", "Over 90 days", 91, None),
)
RESOLVED_PERIOD_DAYS = 90


class DaysElapsed(Func):
    """Days (with the fraction) from the first timestamp to the second."""

    output_field = FloatField()
    arity = 2
    template = "EXTRACT(EPOCH FROM (%(expressions)s)) / 86400.0"
    arg_joiner = " - "

    def __init__(self, later, earlier):
        super().__init__(later, earlier)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="(julianday(%(expressions)s))",
            arg_joiner=") - julianday(",
            **extra,
        )


class Median(Aggregate):
    """PostgreSQL's median (the embedded SQLite has none: medians are then computed in Python)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclass
class ReasonLine:
    reason: str
    counts: dict = field(default_factory=lambda: {key: 0 for key, *_ in DISPUTE_AGE_BUCKETS})
    amount: Decimal = ZERO

    @property
    def total(self):
        return sum(self.counts.values())

    def in_order(self):
        return [self.counts[key] for key, *_ in DISPUTE_AGE_BUCKETS]


def open_disputes_by_reason(user, *, today):
    """Open disputes per reason and age bucket (days since raised), with the amount due they hold."""
    age = Case(
        *(
            When(raised_on__gte=today - dt.timedelta(days=most), then=Value(key))
            for key, _, _, most in DISPUTE_AGE_BUCKETS
            if most is not None
        ),
        default=Value(DISPUTE_AGE_BUCKETS[-1][0]),
        output_field=CharField(),
    )
    rows = (
        Dispute.objects.filter(_visible(user), status=DisputeStatus.OPEN)
        .annotate(raised_on=_local_day("raised_at"))
        .annotate(age=age)
        .values("reason__name", "age")
        .annotate(
            disputes=Count("pk"),
            amount=_sum(in_base_currency("invoice__amount_due", "invoice__exchange_rate")),
        )
        .order_by()
    )
    lines = {}
    for row in rows:
        line = lines.setdefault(row["reason__name"], ReasonLine(row["reason__name"]))
        line.counts[row["age"]] += row["disputes"]
        line.amount += row["amount"]
    ordered = sorted(lines.values(), key=lambda line: (-line.total, line.reason.lower()))
    totals = ReasonLine("Total")
    for line in ordered:
        for key in totals.counts:
            totals.counts[key] += line.counts[key]
        totals.amount += line.amount
    return {"rows": ordered, "totals": totals}


def resolution_times(user, *, resolved_from, resolved_to):
    """Per reason, disputes resolved in [from, to] (by resolution day) and days from raised to resolved."""
    resolved = (
        Dispute.objects.filter(_visible(user), status=DisputeStatus.RESOLVED)
        .annotate(resolved_on=_local_day("resolved_at"))
        .filter(resolved_on__gte=resolved_from, resolved_on__lte=resolved_to)
        .annotate(days=DaysElapsed(F("resolved_at"), F("raised_at")))
    )
    postgres = connection.vendor == "postgresql"
    figures = {"disputes": Count("pk"), "average": Avg("days")}
    if postgres:
        figures["median"] = Median("days")
    per_reason = list(resolved.values("reason__name").annotate(**figures).order_by("reason__name"))
    overall = resolved.aggregate(**figures)
    if not postgres:
        days = {}
        for reason, value in resolved.values_list("reason__name", "days"):
            days.setdefault(reason, []).append(value)
        for row in per_reason:
            row["median"] = statistics.median(days[row["reason__name"]])
        every = [value for values in days.values() for value in values]
        overall["median"] = statistics.median(every) if every else None
    return {"rows": per_reason, "totals": overall}


# --- actions -------------------------------------------------------------------------------------

ACTIONS_PERIOD_DAYS = 30
ACTION_FIGURES = ("due", "done", "done_on_time", "overdue")
KIND_LABELS = dict(ActionType.choices)


@dataclass
class ActionLine:
    owner_id: int | None
    owner: str
    kind: str
    due: int = 0
    done: int = 0
    done_on_time: int = 0
    overdue: int = 0

    @property
    def kind_label(self):
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def on_time_share(self):
        return self.done_on_time / self.done * 100 if self.done else None


def actions_by_owner(user, *, today, period_from, period_to):
    """Tasks per owner and type for the period, one grouped query.

    due: due in the period; done: completed in the period; done on time: of those, completed on or
    before the day they were due; overdue: due in the period, still open and due before today.
    """
    due = Q(due_on__gte=period_from, due_on__lte=period_to)
    done = Q(status=TaskStatus.DONE, completed_on__gte=period_from, completed_on__lte=period_to)
    rows = (
        Task.objects.filter(_visible(user))
        .annotate(completed_on=_local_day("completed_at"))
        .filter(due | done)
        .values("owner", "kind")
        .annotate(
            due=Count("pk", filter=due),
            done=Count("pk", filter=done),
            done_on_time=Count("pk", filter=done & Q(completed_on__lte=F("due_on"))),
            overdue=Count("pk", filter=due & Q(status=TaskStatus.OPEN, due_on__lt=today)),
        )
        .order_by()
    )
    rows = list(rows)
    owner_ids = {row["owner"] for row in rows if row["owner"]}
    names = {u.pk: u.get_full_name() for u in User.objects.filter(pk__in=owner_ids)}
    lines = [
        ActionLine(
            owner_id=row["owner"],
            owner=names.get(row["owner"], NO_OWNER) if row["owner"] else NO_OWNER,
            kind=row["kind"],
            **{name: row[name] for name in ACTION_FIGURES},
        )
        for row in rows
    ]
    lines.sort(
        key=lambda line: (line.owner_id is None, line.owner.lower(), line.owner_id or 0, line.kind_label)
    )
    totals = ActionLine(None, "Total", "")
    for name in ACTION_FIGURES:
        setattr(totals, name, sum(getattr(line, name) for line in lines))
    return {"rows": lines, "totals": totals}
