"""Rebuild the figures kept ready for the dashboard and reports (reports.models).

Each rebuild is one transaction of a few set-based statements: readers see the previous figures
until it commits, never a half-built set. Beat runs it every 5 minutes (reports.tasks).
"""

import datetime as dt

from django.db import connection, transaction
from django.db.models import Count, DateField, DateTimeField, F, IntegerField, Min, Q, Sum, Value
from django.utils import timezone

from invoices.models import Invoice
from peakflo.models import Company

from .models import CustomerFigures, FiguresRun, FlowKind, Partition, PortfolioBook, PortfolioFlow
from .selectors import (
    AGING_CLASSES,
    DOUBTFUL_AFTER_DAYS,
    _sum,
    by_portfolio,
    flow_rows,
    flows_since,
    in_base_currency,
)

# CustomerFigures' columns, in the order customer_figures_rows() selects them.
CUSTOMER_COLUMNS = (
    "customer_id",
    "account_manager_id",
    "day",
    "taken_at",
    "owed",
    "overdue",
    "current",
    "d1_30",
    "d31_60",
    "d61_90",
    "d91_180",
    "doubtful",
    "open_invoices",
    "overdue_invoices",
    "doubtful_invoices",
    "oldest_due_date",
)


def customer_figures_rows(*, today, taken_at):
    """Each customer's open book aged on `today`, one row per customer, as CustomerFigures' columns."""

    def past_due(days):
        return today - dt.timedelta(days=days)

    def due_between(newest, oldest=None):
        condition = Q(due_date__lt=past_due(newest - 1)) if newest else Q(due_date__gte=today)
        if oldest is not None:
            condition &= Q(due_date__gte=past_due(oldest))
        return condition

    owed = in_base_currency("amount_due")
    overdue = Q(due_date__lt=today)
    doubtful = Q(due_date__lt=past_due(DOUBTFUL_AFTER_DAYS))
    return (
        Invoice.objects.outstanding()
        .values("customer_id")
        .annotate(
            manager=F("customer__account_manager_id"),
            on_day=Value(today, output_field=DateField()),
            taken=Value(taken_at, output_field=DateTimeField()),
            owed_all=_sum(owed),
            owed_overdue=_sum(owed, filter=overdue),
            owed_current=_sum(owed, filter=due_between(0)),
            owed_1_30=_sum(owed, filter=due_between(1, 30)),
            owed_31_60=_sum(owed, filter=due_between(31, 60)),
            owed_61_90=_sum(owed, filter=due_between(61, 90)),
            owed_91_180=_sum(owed, filter=due_between(91, DOUBTFUL_AFTER_DAYS)),
            owed_doubtful=_sum(owed, filter=doubtful),
            invoices=Count("pk"),
            invoices_overdue=Count("pk", filter=overdue, output_field=IntegerField()),
            invoices_doubtful=Count("pk", filter=doubtful, output_field=IntegerField()),
            oldest=Min("due_date"),
        )
        .values_list(
            "customer_id",
            "manager",
            "on_day",
            "taken",
            "owed_all",
            "owed_overdue",
            "owed_current",
            "owed_1_30",
            "owed_31_60",
            "owed_61_90",
            "owed_91_180",
            "owed_doubtful",
            "invoices",
            "invoices_overdue",
            "invoices_doubtful",
            "oldest",
        )
        .order_by()
    )


def _insert_select(model, columns, queryset):
    """INSERT INTO model's table (columns) <the queryset's SELECT>: the rows never pass through Python."""
    select, params = queryset.query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) {select}", params)
        return cursor.rowcount


def portfolio_flows(*, today):
    """The dashboard's flows since flows_since(today) per portfolio, as PortfolioFlow rows (a few
    thousand: one per portfolio, kind and day, not per invoice)."""
    since = flows_since(today)
    for partition in Partition:
        sales, allocations, credits = flow_rows(lambda path: Q(), since, partition=partition)
        for row in sales:
            yield PortfolioFlow(
                partition=partition,
                user_id=row["portfolio"],
                kind=FlowKind.SALE,
                day=row["issue_date"],
                counts_on=row["issue_date"],
                amount=row["sold"],
            )
        for row in allocations:
            yield PortfolioFlow(
                partition=partition,
                user_id=row["portfolio"],
                kind=FlowKind.ALLOCATION,
                day=row["payment__date"],
                counts_on=row["counts_on"],
                amount=row["paid"],
                weighted_days=row["paid_days"],
            )
        for row in credits:
            yield PortfolioFlow(
                partition=partition,
                user_id=row["portfolio"],
                kind=FlowKind.CREDIT,
                day=row["counts_on"],
                counts_on=row["counts_on"],
                amount=row["credited"],
            )


def portfolio_books():
    """Each portfolio's open book, summed from the customer figures just written."""
    sums = {
        **{key: _sum(key) for key in AGING_CLASSES},
        "open": Sum("open_invoices"),
        "overdue": Sum("overdue_invoices"),
        "doubtful_count": Sum("doubtful_invoices"),
    }
    for partition in Partition:
        for row in (
            by_portfolio(CustomerFigures.objects.all(), "customer", partition).annotate(**sums).order_by()
        ):
            yield PortfolioBook(
                partition=partition,
                user_id=row["portfolio"],
                **{key: row[key] for key in AGING_CLASSES},
                open_invoices=row["open"],
                overdue_invoices=row["overdue"],
                doubtful_invoices=row["doubtful_count"],
            )


# pg_try_advisory_xact_lock key: "pk" "fg" (peakflo figures), like the tick's.
FIGURES_LOCK = 0x706B_6667


def _take_figures_lock():
    """True when this transaction may rebuild; a rebuild already under way makes this one a no-op
    (two at once would wait on each other's deletes). SQLite serialises writers by itself."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FIGURES_LOCK])
        return cursor.fetchone()[0]


def refresh_figures(*, today=None):
    """Rebuild every customer's figures (and the flows) for `today` (the company's today by default).

    Returns the FiguresRun, or None when another rebuild was under way."""
    today = today or Company.load().today()
    started = timezone.now()
    with transaction.atomic():
        if not _take_figures_lock():
            return None
        CustomerFigures.objects.all().delete()
        customers = _insert_select(
            CustomerFigures, CUSTOMER_COLUMNS, customer_figures_rows(today=today, taken_at=started)
        )
        PortfolioBook.objects.all().delete()
        PortfolioBook.objects.bulk_create(portfolio_books())
        PortfolioFlow.objects.all().delete()
        PortfolioFlow.objects.bulk_create(portfolio_flows(today=today), batch_size=2000)
        FiguresRun.objects.filter(finished_at__lt=started - dt.timedelta(days=7)).delete()
        run = FiguresRun.objects.create(
            day=today, started_at=started, finished_at=timezone.now(), customers=customers
        )
    _vacuum_kept_tables()
    return run


def _vacuum_kept_tables():
    """Every rebuild leaves the previous rows dead: a table rebuilt every 5 minutes would otherwise
    grow tenfold between autovacuums (237 MB for 100,000 customers' figures, seen here) and every
    page reading it with it. VACUUM cannot run inside a transaction: skipped there (tests)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    tables = ", ".join(model._meta.db_table for model in (CustomerFigures, PortfolioBook, PortfolioFlow))
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {tables}")
