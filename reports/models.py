"""Figures kept ready for the dashboard and reports, so a page over a large book reads a few
thousand rows instead of the whole ledger. Beat rebuilds them every few minutes
(reports.tasks.refresh_figures); each page that reads them says when they were taken.
"""

from decimal import Decimal

from django.db import models

ZERO = Decimal("0")
BASE_MONEY = {"max_digits": 30, "decimal_places": 6, "default": ZERO}


class CustomerFigures(models.Model):
    """One customer's open book (base currency), aged on `day`: only customers with an amount due.

    The buckets follow the dashboard's aging classes (reports.selectors.AGING_BUCKETS, with over-90
    split at 180 days past due, where debt becomes doubtful).
    """

    customer = models.OneToOneField(
        "customers.Customer",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="figures",
        # rebuilt wholesale by one INSERT … SELECT: a per-row foreign-key trigger would double it
        db_constraint=False,
    )
    account_manager = models.ForeignKey(
        "peakflo.User", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    day = models.DateField(help_text="The day the invoices were aged on.")
    taken_at = models.DateTimeField()
    owed = models.DecimalField(**BASE_MONEY)
    overdue = models.DecimalField(**BASE_MONEY)
    current = models.DecimalField(**BASE_MONEY)
    d1_30 = models.DecimalField(**BASE_MONEY)
    d31_60 = models.DecimalField(**BASE_MONEY)
    d61_90 = models.DecimalField(**BASE_MONEY)
    d91_180 = models.DecimalField(**BASE_MONEY)
    doubtful = models.DecimalField(**BASE_MONEY, help_text="More than 180 days past due.")
    open_invoices = models.PositiveIntegerField(default=0)
    overdue_invoices = models.PositiveIntegerField(default=0)
    doubtful_invoices = models.PositiveIntegerField(default=0)
    oldest_due_date = models.DateField(null=True, help_text="Due date of the oldest unpaid invoice.")

    class Meta:
        verbose_name_plural = "customer figures"
        indexes = [
            models.Index(fields=["-owed"], name="figures_owed_idx"),
            models.Index(fields=["account_manager", "-owed"], name="figures_manager_owed_idx"),
        ]

    def __str__(self):
        return f"figures of customer {self.customer_id} on {self.day}"


class FlowKind(models.TextChoices):
    SALE = "sale", "Credit sale"
    ALLOCATION = "allocation", "Payment allocated"
    CREDIT = "credit", "Credit note"


class Partition(models.TextChoices):
    MANAGER = "manager", "Customers the user manages (no user: customers nobody manages)"
    VIEWER = "viewer", "Customers the user views as a default viewer but does not manage"


class PortfolioFlow(models.Model):
    """What moved one portfolio's receivables on one day (base currency), over the last fifteen
    months: the rows reports.selectors.flows() sums, grouped per portfolio too.

    Manager portfolios partition the book (everyone's flows are their sum); an account manager's
    dashboard reads their manager and viewer portfolios, which never share a customer.

    sale: `day` is the issue date. allocation: `day` is the payment date and `counts_on` the day
    it counts for "as of" balances (the later of payment and issue), `weighted_days` the amount ×
    days from issue to payment. credit: `day` and `counts_on` are the day it counts.
    """

    partition = models.CharField(max_length=8, choices=Partition.choices)
    user = models.ForeignKey(
        "peakflo.User", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=FlowKind.choices)
    day = models.DateField()
    counts_on = models.DateField()
    amount = models.DecimalField(max_digits=30, decimal_places=10, default=ZERO)
    weighted_days = models.DecimalField(max_digits=36, decimal_places=10, default=ZERO)

    class Meta:
        indexes = [models.Index(fields=["partition", "user"], name="flow_portfolio_idx")]

    def __str__(self):
        return f"{self.kind} {self.day}: {self.amount}"


class PortfolioBook(models.Model):
    """One portfolio's open book (the sum of its customers' CustomerFigures), so everyone's book is
    a sum over a handful of rows. Portfolios as for PortfolioFlow."""

    partition = models.CharField(max_length=8, choices=Partition.choices)
    user = models.ForeignKey(
        "peakflo.User", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    current = models.DecimalField(**BASE_MONEY)
    d1_30 = models.DecimalField(**BASE_MONEY)
    d31_60 = models.DecimalField(**BASE_MONEY)
    d61_90 = models.DecimalField(**BASE_MONEY)
    d91_180 = models.DecimalField(**BASE_MONEY)
    doubtful = models.DecimalField(**BASE_MONEY)
    open_invoices = models.PositiveIntegerField(default=0)
    overdue_invoices = models.PositiveIntegerField(default=0)
    doubtful_invoices = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.partition} portfolio of user {self.user_id}"


class FiguresRun(models.Model):
    """When the figures were last rebuilt, for which day, and how long it took (one row per run)."""

    day = models.DateField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    customers = models.PositiveIntegerField()

    class Meta:
        get_latest_by = "finished_at"

    def __str__(self):
        return f"figures for {self.day} at {self.finished_at:%Y-%m-%d %H:%M}"
