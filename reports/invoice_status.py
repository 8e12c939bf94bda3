"""The read query behind the Invoice Status Tracking Report: one row per invoice, all in one SELECT.

Each row carries what the report prints, as annotations (correlated subqueries), so a page of 50
rows is one query whatever the size of the book:

- days overdue, counted in SQL so the report can sort and filter on it;
- the open dispute (disputes.selectors.with_open_dispute);
- the last action: the latest message *sent* for the invoice (a message belongs to an invoice
  through the action run that sent it) or the latest task *done* on it, whichever is later;
- the next scheduled action: the earliest pending action run of the invoice.
"""

from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.db.models.lookups import Exact

from disputes.selectors import with_open_dispute
from invoices.models import Invoice, InvoiceStatus
from workflows.models import ActionRun, Channel, Message, MessageStatus, RunStatus, Task, TaskStatus

from .selectors import DaysBetween

# A message counts as an action taken once the provider accepted it.
SENT = (MessageStatus.SENT, MessageStatus.DELIVERED)


def _last_message(field):
    messages = Message.objects.filter(
        runs__invoice=OuterRef("pk"), status__in=SENT, sent_at__isnull=False
    ).order_by("-sent_at", "-id")
    return Subquery(messages.values(field)[:1])


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


def _last_task(field):
    tasks = Task.objects.filter(
        invoice=OuterRef("pk"), status=TaskStatus.DONE, completed_at__isnull=False
    ).order_by("-completed_at", "-id")
    return Subquery(tasks.values(field)[:1])


def _next_run(field):
    runs = ActionRun.objects.filter(invoice=OuterRef("pk"), status=RunStatus.PENDING).order_by("due_on", "id")
    return Subquery(runs.values(field)[:1])


def invoice_status_rows(user, *, today):
    """The invoices `user` may see (drafts left out: they were never sent), annotated for the report."""
    overdue = Q(status=InvoiceStatus.OPEN, amount_due__gt=0, due_date__lt=today)
    invoices = (
        Invoice.objects.visible_to(user)
        .exclude(status=InvoiceStatus.DRAFT)
        .select_related("customer", "customer__account_manager")
        .annotate(
            days_late=Case(
                When(overdue, then=DaysBetween(Value(today), F("due_date"))),
                default=Value(0),
                output_field=IntegerField(),
            ),
            last_message_at=_last_message("sent_at"),
            # The action's name when the engine sent it; the channel ("email", "sms"…) when sent by hand.
            last_message_label=Coalesce(
                _last_message("action__name"), _channel_label(_last_message("channel"))
            ),
            last_task_at=_last_task("completed_at"),
            last_task_label=_last_task("title"),
            next_action_name=_next_run("action__name"),
            next_action_due=_next_run("due_on"),
        )
        # GREATEST skips NULLs on PostgreSQL: the later of the two, or whichever exists.
        .annotate(last_action_at=Greatest("last_message_at", "last_task_at", output_field=DateTimeField()))
        .annotate(
            last_action=Case(
                When(last_action_at__isnull=True, then=Value("")),
                When(last_task_at__isnull=True, then=F("last_message_label")),
                When(last_message_at__isnull=True, then=F("last_task_label")),
                When(last_task_at__gt=F("last_message_at"), then=F("last_task_label")),
                default=F("last_message_label"),
                output_field=CharField(),
            )
        )
    )
    return with_open_dispute(invoices)
