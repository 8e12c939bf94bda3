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

from customers.models import Customer
from disputes.models import Dispute, DisputeStatus
from invoices.models import Invoice, InvoiceStatus
from peakflo.queries import DaysBetween, ids_if_few
from workflows.models import ActionRun, Channel, Message, MessageStatus, RunStatus, Task, TaskStatus

from .analysis import balance_at, bucket_conditions, credited_after, paid_after, sold_by
from .selectors import AGING_BUCKETS

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
        """The same as owing(), as an index probe per row (days overdue, to sort or filter on):
        cheaper than hashing every later payment when few rows are asked."""
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
        return self.owing() & bucket_conditions(self.as_of)[key]


def _last_message(field, until):
    """For sorting by the last action (the page's rows get theirs from attach_actions())."""
    messages = Message.objects.filter(runs__invoice=OuterRef("pk"), status__in=SENT, sent_at__isnull=False)
    if until:
        messages = messages.filter(sent_at__lt=until)
    return Subquery(messages.order_by("-sent_at", "-id").values(field)[:1])


def _last_task(field, until):
    tasks = Task.objects.filter(invoice=OuterRef("pk"), status=TaskStatus.DONE, completed_at__isnull=False)
    if until:
        tasks = tasks.filter(completed_at__lt=until)
    return Subquery(tasks.order_by("-completed_at", "-id").values(field)[:1])


def _next_run(field):
    runs = ActionRun.objects.filter(invoice=OuterRef("pk"), status=RunStatus.PENDING).order_by("due_on", "id")
    return Subquery(runs.values(field)[:1])


def _open_disputes(until):
    """Disputes open on an invoice: now, or at the end of a past day (raised by then, resolved after)."""
    if not until:
        return Dispute.objects.filter(status=DisputeStatus.OPEN)
    return Dispute.objects.filter(raised_at__lt=until).filter(
        Q(status=DisputeStatus.OPEN) | Q(resolved_at__gte=until)
    )


def _open_dispute(until):
    disputes = _open_disputes(until).filter(invoice=OuterRef("pk")).order_by("-raised_at")
    return Subquery(disputes.values("pk")[:1])


def attach_actions(invoices, view):
    """Set on each invoice its latest message sent and task done (by the end of a past day), its
    next pending step (today only) and its open dispute: four queries, whatever the number of
    invoices (a page, or a chunk of an export), each reading only these invoices' rows."""
    ids = [invoice.pk for invoice in invoices]
    until = view.until
    sent = ActionRun.objects.filter(invoice__in=ids, message__status__in=SENT, message__sent_at__isnull=False)
    done = Task.objects.filter(invoice__in=ids, status=TaskStatus.DONE, completed_at__isnull=False)
    if until:
        sent, done = sent.filter(message__sent_at__lt=until), done.filter(completed_at__lt=until)
    latest_message, latest_task, next_run, dispute = {}, {}, {}, {}
    columns = ("invoice_id", "message__sent_at", "message_id", "message__action__name", "message__channel")
    for invoice_id, at, pk, action, channel in sent.values_list(*columns):
        if invoice_id not in latest_message or (at, pk) > latest_message[invoice_id][:2]:
            latest_message[invoice_id] = (at, pk, action, channel)
    for invoice_id, at, pk, title in done.values_list("invoice_id", "completed_at", "pk", "title"):
        if invoice_id not in latest_task or (at, pk) > latest_task[invoice_id][:2]:
            latest_task[invoice_id] = (at, pk, title)
    if not view.past:
        pending = ActionRun.objects.filter(invoice__in=ids, status=RunStatus.PENDING)
        for invoice_id, due, pk, name in pending.values_list("invoice_id", "due_on", "pk", "action__name"):
            if invoice_id not in next_run or (due, pk) < next_run[invoice_id][:2]:
                next_run[invoice_id] = (due, pk, name)
    disputes = _open_disputes(until).filter(invoice__in=ids).order_by("raised_at")
    for invoice_id, pk in disputes.values_list("invoice_id", "pk"):
        dispute[invoice_id] = pk  # the latest raised wins
    for invoice in invoices:
        invoice.last_message_at, _, invoice.last_message_action, invoice.last_message_channel = (
            latest_message.get(invoice.pk, (None, None, None, None))
        )
        invoice.last_task_at, _, invoice.last_task_label = latest_task.get(invoice.pk, (None, None, None))
        invoice.next_action_due, _, invoice.next_action_name = next_run.get(invoice.pk, (None, None, None))
        invoice.open_dispute_id = dispute.get(invoice.pk)
    return invoices


ROW_FIELDS = (
    "number", "customer", "issue_date", "due_date", "currency", "total", "amount_due", "status",
    "customer__code", "customer__name", "customer__account_manager__name", "customer__account_manager__email",
)  # fmt: skip
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
    ids = ids_if_few(customers, IDS_UP_TO)
    if ids is not None:
        return Invoice.objects.filter(customer_id__in=ids)
    return Invoice.objects.filter(customer__in=customers)


def invoice_status_rows(user, *, view):
    """The invoices `user` may see as they stood at `view.as_of`, with what was due on each then.

    The rest of a row (days overdue, status, last and next action, dispute) is set on the rows
    shown by attach_actions() and describe(); the aliases here only filter and sort.
    """
    until = view.until
    invoices = (
        visible_invoices(user)
        .filter(view.listed())
        .select_related("customer", "customer__account_manager")
        # Only what the report prints: an export reads 100,000 rows of them.
        .only(*ROW_FIELDS)
        .annotate(balance=view.balance())
        .alias(
            days_late=Case(
                When(
                    view.owing_row() & Q(due_date__lt=view.as_of),
                    then=DaysBetween(Value(view.as_of), F("due_date")),
                ),
                default=Value(0),
                output_field=IntegerField(),
            ),
            last_message_at=_last_message("sent_at", until),
            last_task_at=_last_task("completed_at", until),
            # GREATEST skips NULLs on PostgreSQL: the later of the two, or whichever exists.
            last_action_at=Greatest("last_message_at", "last_task_at", output_field=DateTimeField()),
            next_action_due=Value(None, output_field=DateField()) if view.past else _next_run("due_on"),
            open_dispute_id=_open_dispute(until),
        )
    )
    return invoices
