"""Read queries behind the dashboard: every figure summed in SQL, within the visibility rule.

Amounts are in the company's base currency through each invoice's stored exchange rate. A handful
of grouped queries fetch the book; the figures (DSO, CEI, trend…) are arithmetic on their few
rows, so the number of queries never grows with the data.

Balances "as of a date" follow the definition of the issue: an invoice's balance at a date is its
total less the payments allocated to it dated on or before that date, less its approved credit
notes dated on or before it. Summed over the invoices issued by that date, that equals what is
due today, less the sales issued after the date, plus the allocations and credits that count
after it — where an allocation or credit "counts" on the later of its own date and the invoice's
issue date. So one pass over the open invoices and one over the recent payments and credits give
the receivables at any date of the last year.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from customers.models import Activity, ActivityKind, Customer
from disputes.models import Dispute, DisputeStatus
from invoices.models import CreditNote, CreditNoteStatus, Invoice, InvoiceStatus, PaymentAllocation
from peakflo.models import Role, User
from peakflo.queries import DaysBetween, ids_if_few
from workflows.models import Task, TaskStatus

from .models import CustomerFigures, FiguresRun, FlowKind, Partition, PortfolioBook, PortfolioFlow

ZERO = Decimal("0")
BASE_MONEY = DecimalField(max_digits=30, decimal_places=10)
DSO_DAYS = 90
CEI_PERIODS = (30, 90)
TIME_TO_PAY_DAYS = 365
DOUBTFUL_AFTER_DAYS = 180
TREND_MONTHS = 12
LIST_LENGTH = 5
# Kept figures (reports.figures, rebuilt by beat every 5 minutes) older than this are not shown:
# the page computes live figures instead.
FIGURES_FRESH_FOR = dt.timedelta(minutes=15)
# Invoices that were sales: drafts were never sent, voided ones were taken back.
SOLD = (InvoiceStatus.OPEN, InvoiceStatus.PAID)

# key, label, first and last day past due (None: open-ended)
AGING_BUCKETS = (
    ("current", "Current", None, 0),
    ("d1_30", "1–30", 1, 30),
    ("d31_60", "31–60", 31, 60),
    ("d61_90", "61–90", 61, 90),
    ("d90_plus", "Over 90", 91, None),
)


def in_base_currency(field, rate="exchange_rate"):
    return F(field) * F(rate)


def _sum(expression, **filter_):
    return Coalesce(Sum(expression, **filter_), Value(ZERO), output_field=BASE_MONEY)


# --- scope ---------------------------------------------------------------------------------------


# A portfolio up to this size is read once as a list of ids: the planner then knows how few
# invoices it covers and walks the indexes, where the visibility subquery (an OR of two
# conditions) is estimated at a third of the table and scanned like one.
IDS_UP_TO = 5000


@dataclass(frozen=True)
class DashboardScope:
    """Whose book the dashboard shows: the user's visible customers, perhaps narrowed to one AM."""

    user: User
    today: dt.date
    customers: object  # a Customer queryset, always from Customer.objects.visible_to(user)
    account_manager: User | None = None
    customer_ids: tuple | None = None  # the same customers, listed, when they are few
    # The kept figures to read instead of the ledger (None: compute live), see kept_figures_run().
    figures_run: FiguresRun | None = None

    def of(self, path="customer"):
        """A filter putting `path` (a customer relation) inside the scope."""
        # visible_to() answers the whole table, unfiltered, for roles that see everything: then a
        # semi-join against every customer would only cost time.
        if not self.customers.query.where:
            return Q()
        if self.customer_ids is not None:
            return Q(**{f"{path}_id__in": self.customer_ids})
        return Q(**{f"{path}__in": self.customers.values("pk")})

    def customer_rows(self):
        """The scope's customers as a queryset, by id when they are listed."""
        if self.customer_ids is not None:
            return Customer.objects.filter(pk__in=self.customer_ids)
        return self.customers

    def customer_count(self):
        if self.customer_ids is not None:
            return len(self.customer_ids)
        return self.customers.count()


def account_managers_to_narrow_to(user):
    """The account managers a user may narrow the dashboard to: none for an account manager."""
    if not user.sees_all_customers:
        return User.objects.none()
    return User.objects.filter(role=Role.ACCOUNT_MANAGER, is_active=True).order_by("name", "email")


def dashboard_scope(user, *, today, account_manager_id=None):
    """The scope for `user`; `account_manager_id` narrows it only for those who see every customer.

    An account manager asking for another's portfolio gets their own: the parameter is ignored.
    """
    customers = Customer.objects.visible_to(user)
    manager = None
    if account_manager_id and user.sees_all_customers:
        manager = account_managers_to_narrow_to(user).filter(pk=account_manager_id).first()
        if manager is not None:
            customers = customers.filter(account_manager=manager)
    ids = None
    if customers.query.where:
        listed = ids_if_few(customers, IDS_UP_TO)
        ids = tuple(listed) if listed is not None else None
    return DashboardScope(
        user=user,
        today=today,
        customers=customers,
        account_manager=manager,
        customer_ids=ids,
        figures_run=kept_figures_run(today),
    )


def kept_figures_run(today):
    """The latest rebuild of the kept figures, if it is usable for `today`; None means compute live.

    Usable: taken for today, within FIGURES_FRESH_FOR, and no customer has changed hands since (an
    account manager's flows are kept per manager, so a reassignment would count a customer twice or
    show it to the wrong person until the next rebuild).
    """
    run = FiguresRun.objects.order_by("-finished_at").first()
    if run is None or run.day != today or run.finished_at < timezone.now() - FIGURES_FRESH_FOR:
        return None
    reassigned = Activity.objects.filter(
        created_at__gte=run.started_at, kind=ActivityKind.ASSIGNMENT
    ).exists()
    return None if reassigned else run


# --- the open book -------------------------------------------------------------------------------


AGING_CLASSES = ("current", "d1_30", "d31_60", "d61_90", "d91_180", "doubtful")


def _open_book_by_class(scope):
    """Amount due (base currency) and invoice count per aging class, grouped in SQL from the ledger."""
    today = scope.today

    def past_due(days):
        return today - dt.timedelta(days=days)

    classes = {
        "current": Q(due_date__gte=today),
        "d1_30": Q(due_date__gte=past_due(30)),
        "d31_60": Q(due_date__gte=past_due(60)),
        "d61_90": Q(due_date__gte=past_due(90)),
        "d91_180": Q(due_date__gte=past_due(DOUBTFUL_AFTER_DAYS)),
    }
    # One sum per row, grouped by aging class (the first matching condition), rather than a
    # filtered sum per class: a third of the work on a large book.
    aging_class = Case(
        *(When(condition, then=Value(key)) for key, condition in classes.items()),
        default=Value("doubtful"),
        output_field=CharField(),
    )
    rows = (
        Invoice.objects.filter(scope.of())
        .outstanding()
        .annotate(aging_class=aging_class)
        .values("aging_class")
        .annotate(owed=_sum(in_base_currency("amount_due")), invoices=Count("pk"))
        .order_by()
    )
    amount = dict.fromkeys(AGING_CLASSES, ZERO)
    count = dict.fromkeys(AGING_CLASSES, 0)
    for row in rows:
        amount[row["aging_class"]] = row["owed"]
        count[row["aging_class"]] = row["invoices"]
    return amount, {
        "open": sum(count.values()),
        "overdue": sum(count.values()) - count["current"],
        "doubtful": count["doubtful"],
    }


def _kept_open_book_by_class(scope):
    """The same from the kept portfolio books: a sum over a handful of rows."""
    totals = PortfolioBook.objects.filter(kept_portfolios(scope)).aggregate(
        **{key: _sum(key) for key in AGING_CLASSES},
        open=Coalesce(Sum("open_invoices"), 0),
        overdue=Coalesce(Sum("overdue_invoices"), 0),
        doubtful_count=Coalesce(Sum("doubtful_invoices"), 0),
    )
    amount = {key: totals[key] for key in AGING_CLASSES}
    return amount, {
        "open": totals["open"],
        "overdue": totals["overdue"],
        "doubtful": totals["doubtful_count"],
    }


def open_book(scope):
    """Receivables today: per aging class, the amount due and the count."""
    if scope.figures_run is not None:
        amount, count = _kept_open_book_by_class(scope)
    else:
        amount, count = _open_book_by_class(scope)
    receivables = sum(amount.values(), ZERO)
    current = amount["current"]
    overdue = receivables - current
    buckets = {
        "current": amount["current"],
        "d1_30": amount["d1_30"],
        "d31_60": amount["d31_60"],
        "d61_90": amount["d61_90"],
        "d90_plus": amount["d91_180"] + amount["doubtful"],
    }
    return {
        "receivables": receivables,
        "current": current,
        "overdue": overdue,
        "overdue_share": _percent(overdue, receivables),
        "open_count": count["open"],
        "overdue_count": count["overdue"],
        "doubtful": amount["doubtful"],
        "doubtful_count": count["doubtful"],
        "aging": [
            {"key": key, "label": label, "amount": buckets[key], "share": _percent(buckets[key], receivables)}
            for key, label, _, _ in AGING_BUCKETS
        ],
    }


# --- flows: sales, payments and credits over the last year ---------------------------------------


def _month_start(day, months_back=0):
    month = day.year * 12 + day.month - 1 - months_back
    return dt.date(month // 12, month % 12 + 1, 1)


def _month_end(day):
    return _month_start(day, -1) - dt.timedelta(days=1)


def trend_dates(today):
    """The first day of each of the last TREND_MONTHS months (this one last) and the day each is read."""
    months = [_month_start(today, back) for back in range(TREND_MONTHS - 1, -1, -1)]
    return [(first, min(_month_end(first), today)) for first in months]


@dataclass
class Flows:
    """What moved the receivables, per day, in base currency (a few hundred rows at most)."""

    sales: dict  # issue date → credit sales
    # (payment date, date it counts) → (amount, amount × days from issue to payment)
    allocations: dict
    credits: dict  # date it counts → approved credit

    def add_sale(self, day, amount):
        self.sales[day] = self.sales.get(day, ZERO) + amount

    def add_allocation(self, paid_on, counts_on, amount, weighted_days):
        before, before_days = self.allocations.get((paid_on, counts_on), (ZERO, ZERO))
        self.allocations[(paid_on, counts_on)] = (before + amount, before_days + weighted_days)

    def add_credit(self, counts_on, amount):
        self.credits[counts_on] = self.credits.get(counts_on, ZERO) + amount

    def add(self, other):
        """Add another scope's flows (disjoint customers) to these."""
        for day, amount in other.sales.items():
            self.add_sale(day, amount)
        for (paid_on, counts_on), (amount, weighted_days) in other.allocations.items():
            self.add_allocation(paid_on, counts_on, amount, weighted_days)
        for day, amount in other.credits.items():
            self.add_credit(day, amount)

    def sales_between(self, after, until):
        """Credit sales issued in (after, until]."""
        return sum((v for day, v in self.sales.items() if after < day <= until), ZERO)

    def receivables_at(self, day, receivables_today):
        """Balance of the invoices issued by `day`, as of `day` (see the module's docstring)."""
        sold_after = sum((v for d, v in self.sales.items() if d > day), ZERO)
        paid_after = sum(
            (amount for (_, counts), (amount, _) in self.allocations.items() if counts > day), ZERO
        )
        credited_after = sum((v for d, v in self.credits.items() if d > day), ZERO)
        return receivables_today - sold_after + paid_after + credited_after

    def collected_between(self, first, last):
        """Payments dated in [first, last] that were allocated to invoices."""
        return sum(
            (amount for (paid, _), (amount, _) in self.allocations.items() if first <= paid <= last), ZERO
        )

    def time_to_pay(self, first, last):
        """Average days from issue to payment, weighted by amount, of payments dated in [first, last]."""
        amount = days = ZERO
        for (paid, _), (paid_amount, weighted_days) in self.allocations.items():
            if first <= paid <= last:
                amount += paid_amount
                days += weighted_days
        return days / amount if amount else None


def flows_since(today):
    """The earliest day any figure looks back to."""
    first_month = trend_dates(today)[0][0]
    # DSO at the first month's end looks 90 days further back; "as of" sums look at later days.
    return min(first_month - dt.timedelta(days=DSO_DAYS), today - dt.timedelta(days=TIME_TO_PAY_DAYS))


def by_portfolio(rows, customer, partition, *fields):
    """`rows.values(*fields)`, grouped per portfolio too (as `portfolio`: the user) when `partition`
    is given: per account manager of the customer at `customer`, or per default viewer of it who
    does not manage it. Manager portfolios partition the book; viewer ones never repeat a managed
    customer, so an account manager's two portfolios add up to what they may see."""
    if partition is None:
        return rows.values(*fields)
    if partition == Partition.MANAGER:
        rows = rows.annotate(portfolio=F(f"{customer}__account_manager"))
    else:
        rows = rows.annotate(portfolio=F(f"{customer}__default_viewers")).filter(
            Q(portfolio__isnull=False)
            & (
                Q(**{f"{customer}__account_manager__isnull": True})
                | ~Q(**{f"{customer}__account_manager": F("portfolio")})
            )
        )
    return rows.values("portfolio", *fields)


def kept_portfolios(scope):
    """The kept portfolios making up `scope` (a filter on PortfolioFlow / PortfolioBook): every
    manager portfolio, one account manager's (narrowed to), or an account manager's own two."""
    managed = Q(partition=Partition.MANAGER)
    if scope.account_manager is not None:
        return managed & Q(user=scope.account_manager)
    if scope.user.sees_all_customers:
        return managed
    return (managed | Q(partition=Partition.VIEWER)) & Q(user=scope.user)


def flow_rows(where, since, *, partition=None):
    """The three grouped queries behind Flows: sales per issue day, allocations per (payment day,
    day it counts), approved credits per day they count — for invoices matching `where(path)`.

    `partition` (a Partition) groups them per portfolio too, to keep them (reports.figures): per
    account manager, or per default viewer of customers that viewer does not manage.
    """

    def grouped(rows, customer, *fields):
        return by_portfolio(rows, customer, partition, *fields)

    sales = grouped(
        Invoice.objects.filter(where("customer"), status__in=SOLD, issue_date__gt=since),
        "customer",
        "issue_date",
    ).annotate(sold=_sum(in_base_currency("total")))
    allocations = grouped(
        PaymentAllocation.objects.filter(where("invoice__customer"), invoice__status__in=SOLD)
        .annotate(counts_on=Greatest("payment__date", "invoice__issue_date"))
        .filter(counts_on__gt=since),
        "invoice__customer",
        "payment__date",
        "counts_on",
    ).annotate(
        paid=_sum(in_base_currency("amount", "invoice__exchange_rate")),
        paid_days=_sum(
            in_base_currency("amount", "invoice__exchange_rate")
            * DaysBetween(F("payment__date"), F("invoice__issue_date"))
        ),
    )
    credits = grouped(
        CreditNote.objects.filter(
            where("invoice__customer"), status=CreditNoteStatus.APPROVED, invoice__status__in=SOLD
        )
        .annotate(counts_on=Greatest("date", "invoice__issue_date"))
        .filter(counts_on__gt=since),
        "invoice__customer",
        "counts_on",
    ).annotate(credited=_sum(in_base_currency("amount", "invoice__exchange_rate")))
    return sales.order_by(), allocations.order_by(), credits.order_by()


def _live_flows(where, since):
    sales, allocation_rows, credit_rows = flow_rows(where, since)
    moved = Flows(sales={}, allocations={}, credits={})
    for row in sales:
        moved.add_sale(row["issue_date"], row["sold"])
    for row in allocation_rows:
        moved.add_allocation(row["payment__date"], row["counts_on"], row["paid"], row["paid_days"])
    for row in credit_rows:
        moved.add_credit(row["counts_on"], row["credited"])
    return moved


def _kept_flows(portfolios):
    """Flows from the kept rows of `portfolios`: a Q over PortfolioFlow's partition and user."""
    moved = Flows(sales={}, allocations={}, credits={})
    grouped = (
        PortfolioFlow.objects.filter(portfolios)
        .values("kind", "day", "counts_on")
        .annotate(amount_sum=_sum("amount"), weighted_sum=_sum("weighted_days"))
    )
    for row in grouped.order_by():
        if row["kind"] == FlowKind.SALE:
            moved.add_sale(row["day"], row["amount_sum"])
        elif row["kind"] == FlowKind.ALLOCATION:
            moved.add_allocation(row["day"], row["counts_on"], row["amount_sum"], row["weighted_sum"])
        else:
            moved.add_credit(row["counts_on"], row["amount_sum"])
    return moved


def flows(scope):
    """Sales, allocations and approved credits since the earliest day any figure looks back to.

    With kept figures: everyone's book is the sum of the manager portfolios; one account manager's
    (as narrowed to by an admin) is theirs; an account manager's own view adds the customers they
    view but do not manage.
    """
    since = flows_since(scope.today)
    if scope.figures_run is None:
        return _live_flows(scope.of, since)
    return _kept_flows(kept_portfolios(scope))


# --- the figures ---------------------------------------------------------------------------------


def _percent(part, whole):
    return part / whole * 100 if whole else None


def days_sales_outstanding(receivables, sales, days=DSO_DAYS):
    """Standard DSO: receivables ÷ credit sales of the period × days in it (None without sales)."""
    return receivables / sales * days if sales else None


def collection_effectiveness(beginning, sales, ending_total, ending_current):
    """CEI = (beginning + sales − ending total) ÷ (beginning + sales − ending current) × 100."""
    collectible = beginning + sales - ending_current
    return (beginning + sales - ending_total) / collectible * 100 if collectible > 0 else None


def dashboard_figures(scope):
    """Every number of the dashboard's cards and charts."""
    today = scope.today
    book = open_book(scope)
    moved = flows(scope)
    receivables = moved.receivables_at(today, book["receivables"])

    dso_sales = moved.sales_between(today - dt.timedelta(days=DSO_DAYS), today)
    dso = days_sales_outstanding(receivables, dso_sales)
    best_dso = days_sales_outstanding(book["current"], dso_sales)

    cei = []
    for days in CEI_PERIODS:
        start = today - dt.timedelta(days=days)
        beginning = moved.receivables_at(start, book["receivables"])
        sales = moved.sales_between(start, today)
        cei.append(
            {
                "days": days,
                "value": collection_effectiveness(beginning, sales, receivables, book["current"]),
                "beginning": beginning,
                "sales": sales,
                "ending": receivables,
                "ending_current": book["current"],
            }
        )

    this_month = _month_start(today)
    last_month = _month_start(today, 1)
    cash_this_month = moved.collected_between(this_month, today)
    # Last month up to the same day, so the comparison is fair on the 10th as on the 30th.
    same_day_last_month = min(_month_end(last_month), last_month + (today - this_month))
    cash_last_month = moved.collected_between(last_month, _month_end(last_month))
    cash_last_month_to_date = moved.collected_between(last_month, same_day_last_month)

    trend = []
    for first, last in trend_dates(today):
        at = moved.receivables_at(last, book["receivables"])
        sales = moved.sales_between(last - dt.timedelta(days=DSO_DAYS), last)
        trend.append(
            {
                "month": first,
                "collected": moved.collected_between(first, last),
                "dso": days_sales_outstanding(at, sales),
            }
        )

    return {
        **book,
        "dso": dso,
        "dso_receivables": receivables,
        "dso_sales": dso_sales,
        "dso_days": DSO_DAYS,
        "best_dso": best_dso,
        "days_delinquent": dso - best_dso if dso is not None else None,
        "cei": cei,
        "time_to_pay": moved.time_to_pay(today - dt.timedelta(days=TIME_TO_PAY_DAYS - 1), today),
        "time_to_pay_days": TIME_TO_PAY_DAYS,
        "cash_this_month": cash_this_month,
        "cash_last_month": cash_last_month,
        "cash_last_month_to_date": cash_last_month_to_date,
        "cash_change": _percent(cash_this_month - cash_last_month_to_date, cash_last_month_to_date),
        "this_month": this_month,
        "last_month": last_month,
        "trend": trend,
    }


# --- lists ---------------------------------------------------------------------------------------


def main_debtors(scope, limit=LIST_LENGTH):
    """The customers owing the most today, in base currency, with what is overdue.

    Summed per customer id first and the names joined to the top few only: joining every open
    invoice to its customer before grouping costs a large book twice as much.
    """
    if scope.figures_run is not None:
        top = list(
            CustomerFigures.objects.filter(scope.of())
            .order_by("-owed", "customer_id")
            .values("customer_id", "owed", owed_overdue=F("overdue"), invoice_count=F("open_invoices"))[
                :limit
            ]
        )
    else:
        top = _live_main_debtors(scope, limit)
    names = dict(
        Customer.objects.filter(pk__in=[row["customer_id"] for row in top]).values_list("pk", "name")
    )
    return [{**row, "customer__name": names[row["customer_id"]]} for row in top]


def _live_main_debtors(scope, limit):
    return list(
        Invoice.objects.filter(scope.of())
        .outstanding()
        .values("customer_id")
        .annotate(
            owed=_sum(in_base_currency("amount_due")),
            owed_overdue=_sum(in_base_currency("amount_due"), filter=Q(due_date__lt=scope.today)),
            invoice_count=Count("pk"),
        )
        .order_by("-owed", "customer_id")[:limit]
    )


def _with_total(queryset):
    """First rows of `queryset` and how many there are in all, in one query (a window count)."""
    rows = list(queryset.annotate(total_count=Window(Count("pk")))[:LIST_LENGTH])
    return {"rows": rows, "count": rows[0].total_count if rows else 0}


def open_disputes(scope):
    disputes = (
        Dispute.objects.filter(scope.of(), status=DisputeStatus.OPEN)
        .select_related("invoice", "customer", "reason")
        .order_by("-raised_at", "-id")
    )
    return _with_total(disputes)


def promises(scope):
    """Promises to pay (on invoices and on customers) falling due this week, and broken ones.

    Broken: the promised date has passed and the invoice still has an amount due (for a customer's
    promise: an invoice that was due by the promised date still has one).
    """
    today = scope.today
    week_end = today + dt.timedelta(days=6)
    invoices = (
        Invoice.objects.filter(scope.of())
        .outstanding()
        .filter(promise_date__isnull=False)
        .select_related("customer")
    )
    still_owing = Invoice.objects.outstanding().filter(
        customer=OuterRef("pk"), due_date__lte=OuterRef("promise_date")
    )
    customers = scope.customer_rows().filter(promise_date__isnull=False)
    return {
        "due_invoices": _with_total(
            invoices.filter(promise_date__gte=today, promise_date__lte=week_end).order_by(
                "promise_date", "id"
            )
        ),
        "broken_invoices": _with_total(
            invoices.filter(promise_date__lt=today).order_by("-promise_date", "id")
        ),
        "due_customers": _with_total(
            customers.filter(promise_date__gte=today, promise_date__lte=week_end).order_by(
                "promise_date", "id"
            )
        ),
        "broken_customers": _with_total(
            customers.filter(promise_date__lt=today)
            .filter(Exists(still_owing))
            .order_by("-promise_date", "id")
        ),
    }


def my_tasks_due(user, *, today):
    """The user's own open tasks due today or earlier, on customers they may see."""
    tasks = (
        Task.objects.filter(
            owner=user,
            status=TaskStatus.OPEN,
            due_on__lte=today,
            customer__in=Customer.objects.visible_to(user).values("pk"),
        )
        .select_related("customer", "invoice")
        .order_by("due_on", "id")
    )
    return _with_total(tasks)
