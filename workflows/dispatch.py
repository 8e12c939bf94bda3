"""The engine's dispatch step (DESIGN.md, "The workflow engine": Dispatch and Never twice).

`dispatch_due_runs` takes the pending runs that fell due, inside the company's send window only,
with SELECT … FOR UPDATE SKIP LOCKED so that several workers never take the same run. It checks
each again, groups the runs of one customer and action into one message carried by the oldest due
invoice, and writes that message as `queued`, tied to its runs. The batch is handed to the provider
a window at a time (HANDOVER messages): each window is made `sending` and COMMITTED before the
provider is called; `sent` with the provider's id follows. A crash in between leaves that window
`sending`, which `sweep_stale_sending` turns into `unknown` for a person to check — never a second
copy — and the rest `queued`: never handed to anyone, so the sweep frees their runs and the next
dispatch sends them, once.
Manual action types become a task for their owner instead.

Checked again under the lock: paid or voided, disputed, paused, promised, held by a task, the
action switched off or the customer moved to another workflow — the run is `skipped` with the
reason. Outside business days (not a send weekday, or a company holiday) the runs of workflows
that send on business days only stay pending for the next one. Only messages that may reach the
customer (reminders on the customer's channels, messages sent by hand) count toward the contact
delay; internal notification emails and webhooks neither count nor wait.

Speed (bench/bench_dispatch.py): a batch is claimed in about a dozen queries, whatever its size;
its messages go out over DISPATCH_SEND_CONNECTIONS provider connections at once (threads that only
call the provider, each keeping its SMTP connection open), while the next batch is claimed.
"""

import datetime as dt
import logging
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db import connections as databases
from django.db.models import Exists, OuterRef, Q, prefetch_related_objects
from django.utils import timezone

from accounting.freshness import synced_invoices_are_fresh
from customers import timeline
from customers.models import ActivityKind, Customer
from disputes.models import Dispute
from invoices.models import InvoiceStatus
from invoices.models import Source as InvoiceSource
from peakflo.models import Company, Holiday
from portal.links import reminder_link

from .channels import ChannelError, ChannelUncertain, EmailChannel, channel_kind, get_channel
from .engine import SKIPPED_DISPUTED, SKIPPED_SETTLED
from .messages import PORTAL_LINK, fill, is_html, message_values_pair, message_values_text, text_table
from .models import (
    MANUAL_ACTION_TYPES,
    Action,
    ActionRun,
    ActionType,
    Channel,
    Message,
    MessageStatus,
    RunStatus,
    Task,
    TaskStatus,
    Workflow,
)
from .templating import TemplateError, render

log = logging.getLogger(__name__)

SKIPPED_PAUSED = "The customer's reminders were paused before this step was sent."
SKIPPED_INVOICE_PAUSED = "The invoice's reminders were paused before this step was sent."
SKIPPED_PROMISE = "The customer promised to pay this invoice; reminders wait for the promised date."
SKIPPED_TASK = "An open task for this customer holds automatic reminders until it is due."
SKIPPED_ACTION_OFF = "The action was switched off before this step was sent."
SKIPPED_OTHER_WORKFLOW = "The customer follows another workflow now."
UNKNOWN_REASON = "Unknown whether the message reached the customer: check by hand before sending again."

# Action types that never reach the customer: they neither wait for the contact delay nor count toward it.
INTERNAL_ACTION_TYPES = frozenset({ActionType.INTERNAL_EMAIL, ActionType.WEBHOOK})
# Statuses of a message that may have reached its recipient.
CONTACTED = [
    MessageStatus.QUEUED,
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.UNKNOWN,
]
# Messages made `sending` per commit: at most two such windows are with the provider at once, so a
# crash leaves at most 2 × HANDOVER messages unknown, whatever the size of the batch.
HANDOVER = 20


@dataclass
class DispatchSummary:
    closed: str = ""  # why nothing was done: outside the send window, not a business day
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    tasks: int = 0
    skipped: int = 0
    waiting: int = 0  # runs left pending for the contact delay
    messages: list = field(default_factory=list, repr=False)

    def __str__(self):
        if self.closed:
            return f"Nothing dispatched: {self.closed}"
        return (
            f"Sent {self.sent} messages ({self.failed} failed, {self.unknown} unknown); "
            f"created {self.tasks} tasks; skipped {self.skipped} runs; {self.waiting} wait for the contact delay."
        )


def _as_time(value):
    return dt.time.fromisoformat(value) if isinstance(value, str) else value


def send_window_closed(company, local):
    """Why no reminder may go out at `local` (the company's local time), or "" when they may."""
    start, end = _as_time(company.send_window_start), _as_time(company.send_window_end)
    if not start <= local.time() < end:
        return (
            f"it is {local:%H:%M} in {company.time_zone}; reminders go out between "
            f"{start:%H:%M} and {end:%H:%M}."
        )
    return ""


def is_send_day(company, local):
    """One of the company's send weekdays (company holidays aside: see `business_day_closed`)."""
    return local.weekday() in (company.send_weekdays or [])


def business_day_closed(company, local):
    """Why `local`'s day is not a business day — not a send weekday, or a company holiday — or ""."""
    if not is_send_day(company, local):
        return f"{local:%A} is not a send day in {company.time_zone}."
    holiday = Holiday.objects.filter(date=local.date()).first()
    if holiday:
        return f"{local:%A} {local.day} {local:%b %Y} is a company holiday ({holiday.name})."
    return ""


def _local_midnight(day, tz):
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def customer_contacts(since):
    """Messages since `since` that may have reached a customer: reminders on the customer's channels
    and messages sent by hand; never internal notification emails or webhooks."""
    return (
        Message.objects.filter(status__in=CONTACTED, created_at__gte=since)
        .exclude(channel=Channel.WEBHOOK)
        .exclude(action__action_type__in=INTERNAL_ACTION_TYPES)
    )


def _recent_contact(today, tz):
    """A condition on runs: their customer was contacted within their workflow's contact delay.

    The delay counts calendar days: a reminder on Friday with a 3-day delay lets the next go out on
    Monday, whatever the weekdays and holidays between.
    """
    condition = Q(pk__in=[])
    for workflow_id, delay in Workflow.objects.values_list("id", "contact_delay_days"):
        if delay <= 0:
            continue
        since = _local_midnight(today - dt.timedelta(days=delay - 1), tz)
        contacted = customer_contacts(since).filter(customer=OuterRef("invoice__customer"))
        condition |= Q(action__workflow_id=workflow_id) & Exists(contacted)
    return condition


def _due_runs(today, tz, send_day, hold_synced=False):
    """The pending runs that fell due and may go out now (not locked).

    `hold_synced`: the accounting system could not be read just now, so runs of invoices synced
    from it wait (the customer may have paid there a minute ago)."""
    runs = (
        ActionRun.objects.filter(
            status=RunStatus.PENDING, due_on__lte=today, message__isnull=True, task__isnull=True
        )
        # Reminders to the customer wait out the contact delay.
        .exclude(
            ~Q(action__action_type__in=[*MANUAL_ACTION_TYPES, *INTERNAL_ACTION_TYPES])
            & _recent_contact(today, tz)
        )
    )
    if not send_day:
        runs = runs.filter(action__workflow__business_days_only=False)
    if hold_synced:
        runs = runs.exclude(invoice__source=InvoiceSource.ACCOUNTING)
    return runs


def _why_not(run, default_workflow_id, today, held_by_task, disputed):
    """Why a run must not go out now (checked again under the lock), or "" when it may.

    The same holds as the tick's (engine.py): manual steps come whatever holds the reminders,
    except a dispute, which holds every step of its invoice.
    """
    invoice, customer, action = run.invoice, run.invoice.customer, run.action
    if invoice.status != InvoiceStatus.OPEN or invoice.amount_due <= 0:
        return SKIPPED_SETTLED
    if invoice.pk in disputed:
        return SKIPPED_DISPUTED
    if customer.workflow_paused:
        return SKIPPED_PAUSED
    if not action.is_active:
        return SKIPPED_ACTION_OFF
    if action.workflow_id != (customer.workflow_id or default_workflow_id):
        return SKIPPED_OTHER_WORKFLOW
    if action.action_type in MANUAL_ACTION_TYPES:
        return ""
    if invoice.reminders_paused:
        return SKIPPED_INVOICE_PAUSED
    if invoice.promise_date and invoice.promise_date >= today:
        return SKIPPED_PROMISE
    if customer.pk in held_by_task:
        return SKIPPED_TASK
    return ""


def _skip(runs_by_reason, now):
    for reason, ids in runs_by_reason.items():
        ActionRun.objects.filter(pk__in=ids).update(status=RunStatus.SKIPPED, reason=reason, finished_at=now)


@dataclass
class Outgoing:
    """A message written as `sending`, waiting for its provider call after the commit."""

    message: Message
    runs: list
    invoices: list
    html: str = ""
    problem: str = ""  # known before sending: no recipient, a template error
    attachments: list = field(default_factory=list)


def _contacts(customer):
    contacts = list(customer.contacts.all())
    main = next((c for c in contacts if c.is_main), None)
    return main, [c for c in contacts if not c.is_main]


def contact_channel_address(contact, kind):
    """The contact's address on a channel (email, phone, WhatsApp number, LINE id); shared with adhoc."""
    if kind == Channel.EMAIL:
        return contact.email
    if kind == Channel.SMS:
        return contact.phone
    if kind == Channel.WHATSAPP:
        return contact.whatsapp or contact.phone
    if kind == Channel.LINE:
        return contact.line_id
    return ""


def _owner(action, customer):
    return action.owner or customer.account_manager


def _recipients(action, customer, kind, main, others):
    if action.action_type == ActionType.INTERNAL_EMAIL:
        people = list(action.internal_recipients.all()) or [_owner(action, customer)]
        return [person.email for person in people if person and person.email]
    if kind == Channel.WEBHOOK:
        return [settings.WORKFLOW_WEBHOOK_URL or "webhook"]
    chosen = ([main] if action.to_main_contact and main else []) + (
        others if action.to_other_contacts else []
    )
    addresses = []
    for contact in chosen:
        address = contact_channel_address(contact, kind).strip()
        if address and address not in addresses:
            addresses.append(address)
    return addresses


def _compose(action, customer, invoices, company, today):
    """Write the message for one customer and action as `queued` (not saved yet)."""
    kind = channel_kind(action.action_type)
    main, others = _contacts(customer)
    keywords = {
        "customer": customer,
        "invoices": invoices,
        "contact": main,
        "company": company,
        "today": today,
    }
    if PORTAL_LINK in action.subject + action.body:
        # Made only when the template asks for it: a link is a row, and most reminders carry none.
        keywords["portal_link"] = reminder_link(customer=customer, contact=main)
    to = _recipients(action, customer, kind, main, others)
    message = Message(
        customer=customer,
        channel=kind,
        action=action,
        to=", ".join(to)[:1000],
        cc=action.cc if kind == Channel.EMAIL else "",
        bcc=action.bcc if kind == Channel.EMAIL else "",
        status=MessageStatus.QUEUED,
        attempts=1,
    )
    outgoing = Outgoing(message=message, runs=[], invoices=invoices)
    try:
        if is_html(action.action_type):
            text_values, html_values = message_values_pair(**keywords)
            outgoing.html = fill(action.body, html_values, html=True)
        else:
            text_values = message_values_text(**keywords)
        message.subject = fill(action.subject, text_values)[:300]
        message.body = fill(action.body, text_values)
    except TemplateError as error:
        outgoing.problem = f"The template cannot be filled in: {error}"
    if not to and not outgoing.problem:
        what = {Channel.EMAIL: "an email address", Channel.SMS: "a phone number"}.get(
            kind, f"a {kind} address"
        )
        outgoing.problem = f"{customer.name} has no recipient with {what} for “{action.name}”."
    return outgoing


def _create_task(*, customer, kind, title, due_on, owner, details, invoice):
    """A task for a person, on the timeline as tasks made by hand are (workflows.task_services)."""
    task = Task.objects.create(
        customer=customer,
        invoice=invoice,
        kind=kind,
        title=title,
        details=details,
        owner=owner,
        due_on=due_on,
    )
    timeline.record(
        customer,
        ActivityKind.TASK,
        invoice=invoice,
        data={
            "task": task.title,
            "action": "created",
            "type": ActionType(kind).label,
            "owner": owner.get_full_name() if owner else "nobody",
            "due": due_on.isoformat(),
        },
    )
    return task


def _create_task_for_manual_action(action, customer, runs, invoices, company, today):
    keywords = {
        "customer": customer,
        "invoices": invoices,
        "contact": None,
        "company": company,
        "today": today,
    }
    try:
        instructions = render(action.body, message_values_text(**keywords))
    except TemplateError:
        instructions = action.body
    details = "\n\n".join(part for part in [instructions, text_table(invoices, today)] if part)
    task = _create_task(
        customer=customer,
        kind=action.action_type,
        title=f"{action.name}: {customer.name}"[:200],
        due_on=today,
        owner=_owner(action, customer),
        details=details,
        invoice=invoices[0],
    )
    ActionRun.objects.filter(pk__in=[run.pk for run in runs]).update(
        status=RunStatus.DONE, task=task, finished_at=timezone.now()
    )
    return task


def _tie_runs(outgoing):
    """Point every run at its message: one statement for the whole batch."""
    runs = [(run, item.message) for item in outgoing for run in item.runs]
    if not runs:
        return
    if connection.vendor != "postgresql":
        for run, message in runs:
            run.message = message
        ActionRun.objects.bulk_update([run for run, _ in runs], ["message"], batch_size=1000)
        return
    # bulk_update writes a CASE with a branch per row, which Django takes milliseconds per row to build.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ActionRun._meta.db_table} AS run SET message_id = tied.message_id "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS tied(run_id, message_id) WHERE run.id = tied.run_id",
            [[run.pk for run, _ in runs], [message.pk for _, message in runs]],
        )
    for run, message in runs:
        run.message = message


def _claim(summary, company, today, now, limit, send_day, hold_synced=False):
    """In one transaction: lock due runs, check them, make tasks, write messages as `queued`.

    A handful of queries for the whole batch, never one per run.
    """
    tz = company.tz
    outgoing = []
    with transaction.atomic():
        due = _due_runs(today, tz, send_day, hold_synced)
        oldest = list(due.order_by("due_on", "id").values_list("invoice__customer_id", flat=True)[:limit])
        if not oldest:
            return outgoing, False
        more = len(oldest) == limit
        # One worker per customer at a time, so the contact delay holds between workers too; and all
        # of a customer's due runs at once, so one customer's runs of an action are never split.
        customers = {
            customer.pk: customer
            for customer in Customer.objects.filter(pk__in=set(oldest))
            .select_related("account_manager")
            .select_for_update(skip_locked=True, no_key=True, of=("self",))
        }
        mine = set(customers)
        runs = list(
            due.filter(invoice__customer_id__in=mine)
            .select_related("invoice")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("due_on", "id")
        )
        # One object per action and per customer, shared by all their runs (and what is prefetched).
        actions = Action.objects.select_related("workflow", "owner").in_bulk({run.action_id for run in runs})
        default_workflow_id = Workflow.objects.filter(is_default=True).values_list("pk", flat=True).first()
        held_by_task = set(
            Task.objects.filter(customer__in=mine, status=TaskStatus.OPEN, due_on__gt=today).values_list(
                "customer_id", flat=True
            )
        )
        disputed = set(Dispute.objects.open().filter(customer__in=mine).values_list("invoice_id", flat=True))
        skipped, groups = defaultdict(list), defaultdict(list)
        for run in runs:
            run.action = actions[run.action_id]
            run.invoice.customer = customers[run.invoice.customer_id]
            reason = _why_not(run, default_workflow_id, today, held_by_task, disputed)
            if reason:
                skipped[reason].append(run.pk)
            else:
                groups[(run.invoice.customer_id, run.action_id)].append(run)
        _skip(skipped, now)
        summary.skipped += sum(len(ids) for ids in skipped.values())
        prefetch_related_objects([group[0].invoice.customer for group in groups.values()], "contacts")
        prefetch_related_objects(
            [action for action in actions.values() if action.action_type == ActionType.INTERNAL_EMAIL],
            "internal_recipients",
        )
        progress = len(skipped) + len(groups)

        contacted_today = set()
        for group in groups.values():  # runs came oldest due first, so groups do too
            action, customer = group[0].action, group[0].invoice.customer
            invoices = sorted({run.invoice for run in group}, key=lambda i: (i.due_date, i.number))
            if action.action_type in MANUAL_ACTION_TYPES:
                _create_task_for_manual_action(action, customer, group, invoices, company, today)
                summary.tasks += 1
                continue
            reaches_customer = action.action_type not in INTERNAL_ACTION_TYPES
            if reaches_customer and customer.pk in contacted_today and action.workflow.contact_delay_days > 0:
                summary.waiting += len(group)
                continue
            item = _compose(action, customer, invoices, company, today)
            item.runs = group
            outgoing.append(item)
            if reaches_customer:
                contacted_today.add(customer.pk)
        Message.objects.bulk_create([item.message for item in outgoing])
        _tie_runs(outgoing)
    # Another batch may follow if this one was full and got somewhere.
    return outgoing, more and progress > 0


def _attachments(item):
    if not item.message.action.attach_invoice_pdf or item.message.channel != Channel.EMAIL:
        return []
    from invoices.pdf import PdfUnavailable, render_invoice_pdf

    files = []
    for invoice in item.invoices:
        try:
            files.append((f"{invoice.number}.pdf", render_invoice_pdf(invoice), "application/pdf"))
        except PdfUnavailable as error:
            log.warning("invoice %s sent without its PDF: %s", invoice.number, error)
    return files


def message_timeline_data(message, invoices, **more):
    """What the timeline keeps of a message, for automatic and hand-sent ones alike."""
    return {
        "channel": message.get_channel_display(),
        "to": message.to,
        "subject": message.subject,
        "invoices": ", ".join(invoice.number for invoice in invoices),
        "action": message.action.name if message.action_id else "",
        "message_id": message.pk,
        **more,
    }


# Messages the provider took are marked `sent` this many at a time: one transaction, three statements.
# A crash before the write leaves them `sending`, which the sweep makes `unknown`: never re-sent.
SENT_BATCH = 20


def _record_sent(messages, now):
    """Write `sent`, the provider's id and the attempts of `messages`: one statement on PostgreSQL.

    A delivery report can beat this write (Twilio calls back at once): a message no longer `sending`
    keeps the status the report gave it.
    """
    if connection.vendor != "postgresql":
        reported = set(
            Message.objects.filter(pk__in=[m.pk for m in messages])
            .exclude(status=MessageStatus.SENDING)
            .values_list("pk", flat=True)
        )
        Message.objects.bulk_update(
            [m for m in messages if m.pk not in reported],
            ["status", "provider_id", "sent_at", "attempts", "error"],
        )
        Message.objects.bulk_update(
            [m for m in messages if m.pk in reported], ["provider_id", "sent_at", "attempts"]
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Message._meta.db_table} AS message "
            "SET status = CASE WHEN message.status = 'sending' THEN %s ELSE message.status END, "
            "sent_at = %s, error = CASE WHEN message.status = 'sending' THEN '' ELSE message.error END, "
            "provider_id = sent.provider_id, attempts = sent.attempts "
            "FROM unnest(%s::bigint[], %s::varchar[], %s::smallint[]) AS sent(id, provider_id, attempts) "
            "WHERE message.id = sent.id",
            [
                MessageStatus.SENT,
                now,
                [message.pk for message in messages],
                [message.provider_id for message in messages],
                [message.attempts for message in messages],
            ],
        )


def _mark_sent(delivered):
    """Record the messages the provider took: `sent` with its id, runs `done`, the timeline."""
    if not delivered:
        return
    now = timezone.now()
    messages = []
    for item, provider_id in delivered:
        message = item.message
        message.status, message.provider_id, message.sent_at, message.error = (
            MessageStatus.SENT,
            provider_id[:200],
            now,
            "",
        )
        messages.append(message)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # `sent` need not wait for the disk: a commit lost in a database crash leaves the messages
            # `sending`, which the sweep makes `unknown` — never sent again. (`sending` itself is
            # written durably, before the provider is called.)
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        _record_sent(messages, now)
        ActionRun.objects.filter(message__in=messages, status=RunStatus.PENDING).update(
            status=RunStatus.DONE, finished_at=now
        )
        timeline.record_many(
            {
                "customer_id": item.message.customer_id,
                "invoice_id": item.invoices[0].pk,
                "kind": ActivityKind.MESSAGE_SENT,
                "data": message_timeline_data(item.message, item.invoices),
                "at": now,
            }
            for item, _ in delivered
        )
    delivered.clear()


def finish_unsent(message, *, status, reason, invoices=None, today=None):
    """A message that failed, or whose fate is unknown: on the timeline and the owner's task list."""
    now = timezone.now()
    invoices = invoices or [
        run.invoice for run in message.runs.select_related("invoice").order_by("invoice__due_date")
    ]
    action, customer = message.action, message.customer
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(status=status, error=reason, attempts=message.attempts)
        ActionRun.objects.filter(message=message, status=RunStatus.PENDING).update(
            status=RunStatus.FAILED, reason=reason[:200], finished_at=now
        )
        what = "did not go out" if status == MessageStatus.FAILED else "may not have gone out"
        task = _create_task(
            customer=customer,
            kind=action.action_type if action else ActionType.EMAIL,
            title=f"Reminder {what}: {action.name if action else message.get_channel_display()} to {customer.name}"[
                :200
            ],
            due_on=today or Company.load().today(),
            owner=_owner(action, customer) if action else customer.account_manager,
            details=reason,
            invoice=invoices[0] if invoices else None,
        )
        timeline.record(
            customer,
            ActivityKind.MESSAGE_FAILED,
            invoice=invoices[0] if invoices else None,
            data=message_timeline_data(message, invoices, status=status, reason=reason, task_id=task.pk),
            at=now,
        )
    message.status, message.error = status, reason
    return task


class Senders:
    """The provider calls of one dispatch, up to `connections` at once.

    A provider call is mostly waiting for the provider's answer (an SMTP reply, an HTTP response),
    and several answers can be awaited together: each thread keeps its own channel objects — its own
    SMTP connection, reused for every message it sends — and never writes to the database; the
    dispatching thread records every outcome. With one connection, calls are made in this thread.
    """

    def __init__(self, company, connections):
        self.company = company
        self.local = threading.local()
        self.lock = threading.Lock()
        self.opened = []  # every channel object of every thread, closed at the end
        self.pool = (
            ThreadPoolExecutor(max_workers=connections, thread_name_prefix="dispatch-send")
            if connections > 1
            else None
        )

    def _channel(self, kind):
        channels = getattr(self.local, "channels", None)
        if channels is None:
            channels = self.local.channels = {}
        if kind not in channels:
            # Email needs the company (its sender address); loaded once, never from this thread.
            channels[kind] = (
                EmailChannel(company=self.company) if kind == Channel.EMAIL else get_channel(kind)
            )
            with self.lock:
                self.opened.append(channels[kind])
        return channels[kind]

    def _send(self, message, attachments, html, delay):
        if delay:
            time.sleep(delay)
        try:
            return self._channel(message.channel).send(message, attachments, html=html)
        finally:
            if self.pool is not None:  # should a channel ever read the database here, let go of it
                for db in databases.all(initialized_only=True):
                    db.close()

    def submit(self, item, delay=0.0):
        args = (item.message, item.attachments, item.html or None, delay)
        if self.pool is not None:
            return self.pool.submit(self._send, *args)
        future = Future()
        try:
            future.set_result(self._send(*args))
        except Exception as error:  # noqa: BLE001 (handed to the caller, as a thread's would be)
            future.set_exception(error)
        return future

    def close(self):
        if self.pool is not None:
            # After an error, calls not yet started never start: their messages stay `sending`,
            # which the sweep makes `unknown`.
            self.pool.shutdown(wait=True, cancel_futures=True)
        for channel in self.opened:
            if hasattr(channel, "close"):
                channel.close()
        self.opened.clear()


def _outcome(item, error, summary, today):
    """Record a provider call that did not end in `sent`. Returns the seconds to wait before trying
    again when the provider refused it for now and attempts are left, else None (finished)."""
    message = item.message
    if isinstance(error, ChannelUncertain):
        finish_unsent(
            message, status=MessageStatus.UNKNOWN, reason=error.reason, invoices=item.invoices, today=today
        )
        summary.unknown += 1
        return None
    if isinstance(error, ChannelError):
        if error.retryable and message.attempts < max(1, settings.DISPATCH_MAX_ATTEMPTS):
            delay = settings.DISPATCH_RETRY_BACKOFF_SECONDS * 2 ** (message.attempts - 1)
            message.attempts += 1
            # Counted before the call, so a crash mid-retry still shows how far it got.
            Message.objects.filter(pk=message.pk).update(attempts=message.attempts, error=error.reason)
            return delay
        finish_unsent(
            message, status=MessageStatus.FAILED, reason=error.reason, invoices=item.invoices, today=today
        )
        summary.failed += 1
        return None
    # A bug of ours after `sending`: a person checks it.
    log.error("message %s: unexpected error while sending", message.pk, exc_info=error)
    finish_unsent(
        message,
        status=MessageStatus.UNKNOWN,
        reason=f"Unexpected error while sending ({type(error).__name__}: {error}); {UNKNOWN_REASON}",
        invoices=item.invoices,
        today=today,
    )
    summary.unknown += 1
    return None


def _submit(outgoing, senders, summary, today, pending, waiting):
    """Take a claimed batch (every message committed as `queued`): fail here what cannot be sent (no
    recipient, a template error), put the rest in `waiting` and hand the first windows over."""
    for item in outgoing:
        summary.messages.append(item.message)
        if item.problem:
            finish_unsent(
                item.message,
                status=MessageStatus.FAILED,
                reason=item.problem,
                invoices=item.invoices,
                today=today,
            )
            summary.failed += 1
            continue
        waiting.append(item)
    _hand_over(waiting, senders, summary, today, pending)


def _mark_sending(items):
    """`queued` → `sending` for one window, committed before any of it reaches the provider.

    Returns the items still queued until now: one the sweep released meanwhile (a dispatch that
    held it too long) is no longer this dispatch's to send.
    """
    with transaction.atomic():
        mine = set(
            Message.objects.select_for_update(of=("self",))
            .filter(pk__in=[item.message.pk for item in items], status=MessageStatus.QUEUED)
            .values_list("pk", flat=True)
        )
        Message.objects.filter(pk__in=mine).update(status=MessageStatus.SENDING)
    taken = []
    for item in items:
        if item.message.pk in mine:
            item.message.status = MessageStatus.SENDING
            taken.append(item)
        else:
            log.warning(
                "message %s: released by the sweep before it was sent; not sent here", item.message.pk
            )
    return taken


def _hand_over(waiting, senders, summary, today, pending):
    """Hand the next window of `waiting` to the senders whenever at most one window's worth is
    unanswered: never more than two windows `sending` at once."""
    while waiting and len(pending) <= HANDOVER:
        window = [waiting.popleft() for _ in range(min(HANDOVER, len(waiting)))]
        for item in _mark_sending(window):
            try:
                item.attachments = _attachments(item)  # here: rendering a PDF reads the database
            except Exception as error:  # noqa: BLE001
                _outcome(item, error, summary, today)
                continue
            pending[senders.submit(item)] = item


def _collect(pending, waiting, senders, summary, today, delivered):
    """Hand over what waits and wait for every call: record each outcome, retry what a provider
    refused for now (with backoff, a bounded number of times), mark the messages taken `sent`
    SENT_BATCH at a time."""
    while True:
        _hand_over(waiting, senders, summary, today, pending)
        if not pending:
            break
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            item = pending.pop(future)
            error = future.exception()
            if error is None:
                summary.sent += 1
                delivered.append((item, future.result() or ""))
                if len(delivered) >= SENT_BATCH:
                    _mark_sent(delivered)
                continue
            delay = _outcome(item, error, summary, today)
            if delay is not None:
                pending[senders.submit(item, delay)] = item
    _mark_sent(delivered)


def release_queued(messages):
    """Delete the `queued` ones of `messages` — never handed to a provider — and free their runs for
    the next dispatch. A message a dispatch is handing over at this moment is skipped. Returns how
    many were released."""
    with transaction.atomic():
        ids = list(
            messages.filter(status=MessageStatus.QUEUED)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)
        )
        ActionRun.objects.filter(message_id__in=ids).update(message=None)
        Message.objects.filter(pk__in=ids).delete()
    return len(ids)


def dispatch_due_runs(*, now=None, limit=500, connections=None):
    """Send the reminders and create the tasks that fell due, if the send window is open.

    Each batch takes the customers of the `limit` oldest due runs, with all their due runs; batches
    follow until none is left. Messages go out over `connections` provider connections at once
    (DISPATCH_SEND_CONNECTIONS). Returns a DispatchSummary (its str() is one line for logs).
    """
    company = Company.load()
    now = now or timezone.now()
    local = now.astimezone(company.tz)
    summary = DispatchSummary()
    closed = send_window_closed(company, local)
    # Not a business day: only workflows that send every day go out; the others' runs wait, pending.
    not_business_day = "" if closed else business_day_closed(company, local)
    send_day = not not_business_day
    if not_business_day and not Workflow.objects.filter(business_days_only=False).exists():
        closed = not_business_day
    if closed:
        summary.closed = closed
        return summary
    today = local.date()
    hold_synced = not synced_invoices_are_fresh(now=now)
    senders = Senders(company, settings.DISPATCH_SEND_CONNECTIONS if connections is None else connections)
    pending, delivered, waiting = {}, [], deque()
    try:
        outgoing, more = _claim(summary, company, today, now, limit, send_day, hold_synced)
        while outgoing or more:
            # Committed: every message below is `queued` and its runs are tied to it.
            _submit(outgoing, senders, summary, today, pending, waiting)
            # The next batch is claimed while this one's first windows are being sent.
            outgoing, more = (
                _claim(summary, company, today, now, limit, send_day, hold_synced) if more else ([], False)
            )
            _collect(pending, waiting, senders, summary, today, delivered)
    finally:
        try:
            senders.close()  # waits for calls under way, so what they sent is recorded below
        finally:
            _mark_sent(delivered)
            # Stopped by an error: what was never handed over goes out with the next dispatch.
            if waiting:
                try:
                    release_queued(Message.objects.filter(pk__in=[item.message.pk for item in waiting]))
                except DatabaseError:  # the database went away too: the sweep releases them later
                    log.exception("could not release %s queued messages now", len(waiting))
    return summary


def release_stale_queued(*, older_than=None, now=None):
    """Messages still `queued` after `older_than` (DISPATCH_STALE_SENDING_MINUTES): the dispatch that
    claimed them stopped before handing them over — a killed worker. Nobody was sent them, so they
    are released and the next dispatch sends them. Returns how many."""
    if older_than is None:
        older_than = dt.timedelta(minutes=settings.DISPATCH_STALE_SENDING_MINUTES)
    cutoff = (now or timezone.now()) - older_than
    return release_queued(Message.objects.filter(created_at__lt=cutoff))


def sweep_stale_sending(*, older_than=None, now=None):
    """Messages still `sending` after `older_than` become `unknown` for a person to check; never re-sent.

    Returns how many were marked.
    """
    if older_than is None:
        older_than = dt.timedelta(minutes=settings.DISPATCH_STALE_SENDING_MINUTES)
    cutoff = (now or timezone.now()) - older_than
    marked = 0
    stale = Message.objects.filter(status=MessageStatus.SENDING, created_at__lt=cutoff)
    for pk in stale.values_list("pk", flat=True):
        with transaction.atomic():
            message = (
                Message.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("customer__account_manager", "action__owner")
                .filter(pk=pk, status=MessageStatus.SENDING)
                .first()
            )
            if message is None:
                continue
            finish_unsent(
                message,
                status=MessageStatus.UNKNOWN,
                reason=f"Still sending after {older_than}: {UNKNOWN_REASON}",
            )
            marked += 1
    return marked
