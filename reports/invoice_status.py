"""The read query behind the Invoice Status Tracking Report: one row per invoice, all in one SELECT.

Each row carries the columns the report needs as annotations (correlated subqueries, each used
once), so a page of 50 rows is one query whatever the size of the book; the page is found first as
ids (reports/invoice_status_views.py), so the subqueries run for its rows only:

- the amount due (at a past date, what was due then);
- the open dispute (disputes.selectors.with_open_dispute);
- the last action: the latest message *sent* for the invoice (a message belongs to an invoice
  through the action run that sent it) or the latest task *done* on it, whichever is later;
- the next scheduled action: the earliest pending action run of the invoice.

Days overdue and the latest action are also written as SQL (aliases) for filtering and sorting;
describe() works them out for the rows shown from the same columns.

As of a past date D (reports.analysis, the rule the aging report uses): only invoices issued by D
that were sales (drafts and voided invoices left out: an invoice does not record when it was
voided, and only an unpaid, uncredited one can be); what was due on each at D (payments and
approved credits dated after D not counted); overdue, partly paid or paid as they stood at D; the
last action taken by the end of D and a dispute open at the end of D. What was scheduled next at D
is not known any more (runs are rescheduled, skipped and ended as things change), so a past view
has no next action.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    Case,
    CharField,
    DateField,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Greatest
from django.db.models.lookups import Exact

from customers.models import Customer
from disputes.models import Dispute, DisputeStatus
from disputes.selectors import with_open_dispute
from invoices.models import Invoice, InvoiceStatus
from workflows.models import ActionRun, Channel, Message, MessageStatus, RunStatus, Task, TaskStatus

from .analysis import _bucket_conditions, balance_at, credited_after, paid_after, sold_by
from .selectors import AGING_BUCKETS, DaysBetween

# A message counts as an action taken once the provider accepted it.
SENT = (MessageStatus.SENT, MessageStatus.DELIVERED)
# A book up to this many customers is read once as a list of ids: the planner then knows how few
# invoices it covers (the visibility subquery, an OR of "manages" and "views", is estimated at a
# large share of the table and scanned like one). The same threshold as the dashboard's.
IDS_UP_TO = 5000
BUCKET_CHOICES = [
    (key, label if first is None else f"{label} days late") for key, label, first, _ in AGING_BUCKETS
]


@dataclass(frozen=True)
class View:
    """The date the report is drawn at and what that means for each invoice, as SQL."""

    today: dt.date
    as_of: dt.date
    tz: dt.tzinfo

    @property
    def past(self):
        return self.as_of < self.today

    @property
    def until(self):
        """The end of the as-of day where the company works (None today: everything so far)."""
        if not self.past:
            return None
        return dt.datetime.combine(self.as_of + dt.timedelta(days=1), dt.time.min, tzinfo=self.tz)

    def listed(self):
        """Which invoices the report lists at this date."""
        return sold_by(self.as_of) if self.past else ~Q(status=InvoiceStatus.DRAFT)

    def owing(self):
        """Something was due on the invoice at the date.

        At a past date: still due today, or paid or credited only after the date. Written as
        "id IN (…)" rather than per-row sums, so PostgreSQL hashes the few later payments once.
        """
        if not self.past:
            return Q(status=InvoiceStatus.OPEN, amount_due__gt=0)
        return (
            Q(status=InvoiceStatus.OPEN, amount_due__gt=0)
            | Q(pk__in=paid_after(self.as_of).values("invoice"))
            | Q(pk__in=credited_after(self.as_of).values("invoice"))
        )

    def owing_row(self):
        """The same as owing(), for one row at a time (the page's rows): an index probe per row
        rather than hashing every later payment for fifty invoices."""
        if not self.past:
            return self.owing()
        return (
            Q(status=InvoiceStatus.OPEN, amount_due__gt=0)
            | Exists(paid_after(self.as_of).filter(invoice=OuterRef("pk")))
            | Exists(credited_after(self.as_of).filter(invoice=OuterRef("pk")))
        )

    def overdue(self):
        return self.owing() & Q(due_date__lt=self.as_of)

    def balance(self):
        return balance_at(self.as_of) if self.past else F("amount_due")

    def bucket(self, key):
        """Owing at the date and in the aging bucket `key` (days past due then)."""
        return self.owing() & _bucket_conditions(self.as_of)[key]


def _last_message(field, until):
    messages = Message.objects.filter(runs__invoice=OuterRef("pk"), status__in=SENT, sent_at__isnull=False)
    if until:
        messages = messages.filter(sent_at__lt=until)
    return Subquery(messages.order_by("-sent_at", "-id").values(field)[:1])


def _channel_label(channel):
    """'Email sent by hand', 'SMS sent by hand'…: how a message sent without an action reads."""
    return Case(
        *[
            When(Exact(channel, Value(value)), then=Value(f"{label} sent by hand"))
            for value, label in Channel.choices
        ],
        default=Value("Message sent by hand"),
        output_field=CharField(),
    )


def _last_task(field, until):
    tasks = Task.objects.filter(invoice=OuterRef("pk"), status=TaskStatus.DONE, completed_at__isnull=False)
    if until:
        tasks = tasks.filter(completed_at__lt=until)
    return Subquery(tasks.order_by("-completed_at", "-id").values(field)[:1])


def _next_run(field):
    runs = ActionRun.objects.filter(invoice=OuterRef("pk"), status=RunStatus.PENDING).order_by("due_on", "id")
    return Subquery(runs.values(field)[:1])


def _with_dispute(invoices, until):
    """The dispute open on the invoice: now, or at the end of a past day (raised by then, resolved after)."""
    if not until:
        return with_open_dispute(invoices)
    open_then = Dispute.objects.filter(invoice=OuterRef("pk"), raised_at__lt=until).filter(
        Q(status=DisputeStatus.OPEN) | Q(resolved_at__gte=until)
    )
    return invoices.annotate(open_dispute_id=Subquery(open_then.order_by("-raised_at").values("pk")[:1]))


CHANNEL_LABELS = {value: f"{label} sent by hand" for value, label in Channel.choices}


def describe(invoice, view):
    """What the report prints that is worked out from the row's columns: days overdue, status,
    the last action and when (computed here, not in SQL, so each subquery runs once per row)."""
    owing = invoice.status != InvoiceStatus.VOID and invoice.balance > 0
    if not view.past:
        owing = owing and invoice.status == InvoiceStatus.OPEN
    late = owing and invoice.due_date < view.as_of
    invoice.days_late = (view.as_of - invoice.due_date).days if late else 0
    if invoice.status == InvoiceStatus.VOID:
        invoice.report_status = "void"
    elif not owing:
        invoice.report_status = "paid"
    elif late:
        invoice.report_status = "overdue"
    elif invoice.balance < invoice.total:
        invoice.report_status = "partly_paid"
    else:
        invoice.report_status = "open"
    # The action's name when the engine sent the message; the channel when it was sent by hand.
    message = invoice.last_message_action or CHANNEL_LABELS.get(
        invoice.last_message_channel, "Message sent by hand"
    )
    task_later = invoice.last_task_at and (
        not invoice.last_message_at or invoice.last_task_at > invoice.last_message_at
    )
    if task_later:
        invoice.last_action, invoice.last_action_at = invoice.last_task_label, invoice.last_task_at
    elif invoice.last_message_at:
        invoice.last_action, invoice.last_action_at = message, invoice.last_message_at
    else:
        invoice.last_action, invoice.last_action_at = "", None
    return invoice


def visible_invoices(user):
    """The invoices of the customers `user` may see; a small book as a list of its customers' ids."""
    customers = Customer.objects.visible_to(user)
    if not customers.query.where:
        return Invoice.objects.all()
    ids = list(customers.order_by().values_list("pk", flat=True)[: IDS_UP_TO + 1])
    if len(ids) <= IDS_UP_TO:
        return Invoice.objects.filter(customer_id__in=ids)
    return Invoice.objects.filter(customer__in=customers)


def invoice_status_rows(user, *, view):
    """The invoices `user` may see as they stood at `view.as_of`, annotated for the report."""
    until = view.until
    invoices = (
        visible_invoices(user)
        .filter(view.listed())
        .select_related("customer", "customer__account_manager")
        .annotate(
            balance=view.balance(),
            last_message_at=_last_message("sent_at", until),
            last_message_action=_last_message("action__name", until),
            last_message_channel=_last_message("channel", until),
            last_task_at=_last_task("completed_at", until),
            last_task_label=_last_task("title", until),
        )
        # For filtering and sorting only; the page's rows get the same figures from describe().
        .alias(
            days_late=Case(
                When(
                    view.owing_row() & Q(due_date__lt=view.as_of),
                    then=DaysBetween(Value(view.as_of), F("due_date")),
                ),
                default=Value(0),
                output_field=IntegerField(),
            ),
            # GREATEST skips NULLs on PostgreSQL: the later of the two, or whichever exists.
            last_action_at=Greatest("last_message_at", "last_task_at", output_field=DateTimeField()),
        )
    )
    if view.past:
        invoices = invoices.annotate(
            next_action_name=Value(None, output_field=CharField()),
            next_action_due=Value(None, output_field=DateField()),
        )
    else:
        invoices = invoices.annotate(
            next_action_name=_next_run("action__name"), next_action_due=_next_run("due_on")
        )
    return _with_dispute(invoices, until)
