"""Reads for the Credit control report: the customers over their workflow's credit limit, or on hold.

"Over the limit" is workflows.credit.over_the_limit, the definition the tick puts customers on
credit hold with; this module adds what the report prints (overdue amount, by how much they are
over) and the totals. What each customer owes is read from the figures kept for today
(reports.figures) when there are some, live otherwise (a GROUP BY over their open invoices): at
100,000 customers the live sum over one account manager's open invoices is already over 200 ms.
A page is one query: the count and total exposure ride on each row as window sums over the
filtered rows, not a second pass for the paginator.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    CharField,
    F,
    Func,
    IntegerField,
    Q,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce

from customers.models import Customer
from workflows.credit import OWED, credit_positions, over_the_limit, with_credit_limits
from workflows.models import Workflow

ZERO = Decimal(0)


class _OverAll(Func):
    """An aggregate of the grouped rows as a window over the whole result (`SUM(SUM(x)) OVER ()`)."""

    template = "%(function)s(%(expressions)s) OVER ()"
    contains_aggregate = False
    contains_over_clause = True
    window_compatible = True

    def get_group_by_cols(self):
        return []


def _kept_positions(customers, *, today):
    """credit_positions() from the kept figures (reports.figures, taken today) instead of the ledger."""
    customers = with_credit_limits(customers).annotate(
        owed=F("figures__owed"),
        oldest_overdue=Case(When(figures__oldest_due_date__lt=today, then=F("figures__oldest_due_date"))),
        overdue=Coalesce(F("figures__overdue"), ZERO, output_field=OWED),
    )
    return over_the_limit(customers, today=today)


def _live_positions(customers, *, today):
    overdue = Sum(
        F("open_invoices__amount_due") * F("open_invoices__exchange_rate"),
        filter=Q(open_invoices__due_date__lt=today),
    )
    return credit_positions(customers, today=today).annotate(
        overdue=Coalesce(overdue, ZERO, output_field=OWED)
    )


def credit_control_rows(user, *, today, figures_run=None):
    """The visible customers over a credit limit (in money or days) or on credit hold, one row each.

    With `figures_run` (reports.selectors.kept_figures_run), what they owe comes from the figures
    kept for today — a join, not a GROUP BY over the open invoices; without, from the ledger.
    """
    positions = _kept_positions if figures_run else _live_positions
    default_name = Workflow.objects.filter(is_default=True).values("name")[:1]
    return (
        positions(Customer.objects.visible_to(user), today=today)
        .filter(Q(over_amount=True) | Q(over_days=True) | Q(credit_hold=True))
        .select_related("account_manager")
        # Only what the report prints: narrower rows to sort for the page.
        .only(
            "code",
            "name",
            "credit_hold",
            "credit_hold_since",
            "account_manager__name",
            "account_manager__email",
        )
        .annotate(
            workflow_name=Coalesce(F("workflow__name"), Subquery(default_name), output_field=CharField()),
            exposure=Coalesce(F("owed"), ZERO, output_field=OWED),
            over_by_amount=Case(
                When(over_amount=True, then=F("owed") - F("credit_limit_amount")), output_field=OWED
            ),
            over_by_days=Case(
                When(over_days=True, then=F("days_overdue") - F("credit_limit_days")),
                output_field=IntegerField(),
            ),
        )
    )


def with_totals(rows):
    """Each row also carries `total_customers` and `total_exposure` of every row the filters keep."""
    return rows.annotate(
        total_customers=_OverAll(F("pk"), function="COUNT", output_field=IntegerField()),
        total_exposure=_OverAll(F("exposure"), function="SUM", output_field=OWED),
    )


@dataclass
class Totals:
    customers: int = 0
    exposure: Decimal = ZERO


def page_with_totals(rows, number, per_page):
    """(page, totals) of the ordered `rows`: one query, or two past the last page (shown as the last).

    Django's Paginator would count first (a second pass over the invoices); here the count comes
    with the page, from its window sums.
    """
    try:
        number = max(int(number or 1), 1)
    except (TypeError, ValueError):
        number = 1

    def fetch(number):
        return list(with_totals(rows)[(number - 1) * per_page : number * per_page])

    page_rows = fetch(number)
    if not page_rows and number > 1:
        last = max((rows.count() - 1) // per_page + 1, 1)
        number, page_rows = last, fetch(last)
    totals = Totals(page_rows[0].total_customers, page_rows[0].total_exposure) if page_rows else Totals()
    paginator = Paginator(range(totals.customers), per_page)  # sized by the count, never sliced
    return Page(page_rows, number, paginator), totals
