"""The trigger engine's schedule step (DESIGN.md, "The workflow engine"): set-based, idempotent, alone.

`schedule_due_runs` creates the ActionRuns that fell due with a few INSERT … SELECT … ON CONFLICT
DO NOTHING statements — one per workflow, never a Python loop over invoices. No burst: of the steps
due for an invoice, only the latest is pending; the earlier ones are recorded as skipped, never sent
late.

What holds an invoice back: an open dispute holds every step (and ends its pending runs); the
customer's workflow paused holds every step; the invoice's reminders paused, a promise to pay the
invoice whose date has not passed, or an open task for the customer due after today hold its
automatic reminders (its manual steps, which become tasks, still come).

A full tick looks at every open invoice. An incremental tick (PostgreSQL, the day after or the same
day as the last tick) looks only at
- the steps that fell due since the last tick's day, found by range on the invoices' due, issue and
  promise dates through their indexes, and
- a full pass for the invoices that may newly meet a workflow or a step: those of customers with a
  timeline entry since the last tick (a new invoice or customer, a workflow changed, a pause lifted,
  reminders resumed, a dispute resolved, a promise, a task …), customers and invoices saved since
  then, disputes raised or resolved since then, promises and task holds that ran out since the
  last day, and every invoice of a workflow whose actions were added or changed.
Its result equals a full tick's (tests/workflows/test_tick_incremental.py).
"""

import datetime as dt
import json
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from customers.models import ActivityKind
from invoices.models import InvoiceStatus
from peakflo.models import Company

from .models import MANUAL_ACTION_TYPES, Action, RunStatus, TaskStatus, Trigger, Workflow

# pg_try_advisory_xact_lock key: "pk" "tk" (peakflo tick) as one 64-bit number.
TICK_LOCK = 0x706B_746B
SKIPPED_EARLIER = "A later step was already due when this invoice met the workflow."
SKIPPED_SETTLED = "The invoice was paid, credited or voided before this step was sent."
SKIPPED_DISPUTED = "The invoice is disputed; its reminders wait until the dispute is resolved."

# Where each relative trigger counts from, and in which direction.
ANCHORS = {
    Trigger.BEFORE_DUE: ("due_date", -1),
    Trigger.AFTER_DUE: ("due_date", 1),
    Trigger.AFTER_ISSUE: ("issue_date", 1),
    Trigger.BEFORE_PROMISE: ("promised", -1),
    Trigger.AFTER_PROMISE: ("promised", 1),
}
RELATIVE_TRIGGERS = list(ANCHORS)
CALENDAR_TRIGGERS = [Trigger.MONTHLY, Trigger.ON_DATES]

# Timeline entries that change nothing the tick reads. Every other kind — a kind added later too —
# sends its customer's invoices through a full pass of the next incremental tick.
QUIET_KINDS = [
    ActivityKind.ASSIGNMENT,
    ActivityKind.MESSAGE_SENT,
    ActivityKind.MESSAGE_DELIVERED,
    ActivityKind.MESSAGE_FAILED,
    ActivityKind.NOTE,
    ActivityKind.FILE,
    ActivityKind.DISPUTE_COMMENT,
    ActivityKind.PORTAL_MESSAGE,
    ActivityKind.CREDIT_HOLD,
]
# A change is looked for from this long before the last tick began: a transaction that wrote its
# timeline entry (or saved its row) before that tick took its snapshot but committed after it.
LOOKBACK = dt.timedelta(minutes=10)
STATE_TABLE = "workflows_tickstate"  # one row, created by migration 0008 on PostgreSQL only
OPEN = InvoiceStatus.OPEN
NO_DATE = "0000-00-00"  # SQLite compares ISO dates as text; this sorts before every real one


# --- SQL pieces -------------------------------------------------------------------------------


def _postgres():
    return connection.vendor == "postgresql"


def _plus_days(date_sql, days):
    """`date_sql` moved by `days`: an int (written into the SQL) or an SQL expression."""
    if isinstance(days, int):
        if _postgres():
            return f"({date_sql} + {days})"
        return f"date({date_sql}, '{days:+d} days')"
    if _postgres():
        return f"({date_sql} + {days})"
    return f"date({date_sql}, printf('%%+d days', {days}))"


def _day_of(moment_sql, tz_name):
    """The company-time-zone day of a stored UTC moment."""
    if _postgres():
        return f"(({moment_sql}) AT TIME ZONE '{tz_name}')::date"
    return f"date({moment_sql})"  # SQLite (the embedded default): the UTC day is close enough


def _latest_sql(terms):
    """The latest of some dates, ignoring NULLs; NULL when all are."""
    if _postgres():
        return f"GREATEST({', '.join(terms)})"
    padded = ", ".join(f"COALESCE({term}, '{NO_DATE}')" for term in terms)
    return f"NULLIF(max('{NO_DATE}', {padded}), '{NO_DATE}')"


def _sql_list(values):
    return ", ".join(f"'{value}'" for value in values)


def _literal(value):
    if value is None:
        return "CAST(NULL AS integer)"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(int(value))


BUSY_SQL = f"""busy AS (
    SELECT DISTINCT t.customer_id FROM workflows_task t WHERE t.status = '{TaskStatus.OPEN}' AND t.due_on > %(today)s
)"""  # customers whose open task due later holds their automatic reminders: aggregated once, anti-joined

HELD_SQL = "(i.reminders_paused OR COALESCE(i.promise_date >= %(today)s, FALSE) OR b.customer_id IS NOT NULL)"


def _eligible_sql(workflow_match):
    """Conditions on an invoice `i` of customer `c` for any step of a workflow: all steps, manual too."""
    return f"""i.status = '{OPEN}' AND i.amount_due > 0 AND NOT c.workflow_paused AND {workflow_match}
        AND NOT EXISTS (
            SELECT 1 FROM disputes_dispute d WHERE d.invoice_id = i.id AND d.status = 'open'
        )"""


def _workflow_match(is_default):
    # Written as an OR (not COALESCE) so the planner can use the index on the customer's workflow.
    if is_default:
        return "(c.workflow_id = %(workflow)s OR c.workflow_id IS NULL)"
    return "c.workflow_id = %(workflow)s"


def _in_scope(column):
    return f"{column} IN (SELECT s.invoice_id FROM tick_scope s)"


# --- What the last tick left, and what this one must look at -----------------------------------


@dataclass(frozen=True)
class ActionSpec:
    id: int
    workflow_id: int
    trigger: str
    days: int
    day_of_month: int | None
    dates: tuple
    manual: bool
    is_active: bool
    repeat_every_days: int | None
    repeat_max: int | None

    @property
    def signature(self):
        """What the tick reads of an action: a change means a full pass for its workflow."""
        return [
            self.workflow_id,
            self.trigger,
            self.days,
            self.day_of_month,
            list(self.dates),
            self.manual,
            self.is_active,
            self.repeat_every_days,
            self.repeat_max,
        ]

    @property
    def anchor(self):
        return ANCHORS[self.trigger][0]

    @property
    def shift(self):
        """Days from the anchor date (due, issue or promise) to the trigger date."""
        return ANCHORS[self.trigger][1] * self.days


def _action_specs():
    fields = [
        "id",
        "workflow_id",
        "trigger",
        "days",
        "day_of_month",
        "dates",
        "action_type",
        "is_active",
        "repeat_every_days",
        "repeat_max",
    ]
    specs = []
    for row in Action.objects.order_by("id").values(*fields):
        action_type = row.pop("action_type")
        dates = tuple(sorted(str(day) for day in row.pop("dates") or []))
        specs.append(ActionSpec(**row, dates=dates, manual=action_type in MANUAL_ACTION_TYPES))
    return specs


@dataclass
class TickPlan:
    """Full, or incremental: since `last_day` and `since`, plus a full pass for `full_workflows`."""

    full: bool
    last_day: dt.date | None = None
    since: dt.datetime | None = None
    full_workflows: set = field(default_factory=set)

    def full_for(self, workflow_id):
        return self.full or workflow_id in self.full_workflows


def _load_state(cursor):
    if not _postgres():
        return None  # SQLite (the embedded default, small books): every tick is a full one
    cursor.execute(f"SELECT started_at, day, default_workflow_id, actions FROM {STATE_TABLE} WHERE id = 1")
    row = cursor.fetchone()
    if row is None:
        return None
    started_at, day, default_id, actions = row
    return {"started_at": started_at, "day": day, "default": default_id, "actions": json.loads(actions)}


def _save_state(cursor, *, now, today, default_id, specs):
    if not _postgres():
        return
    actions = json.dumps({str(spec.id): spec.signature for spec in specs})
    cursor.execute(
        f"""INSERT INTO {STATE_TABLE} (id, started_at, day, default_workflow_id, actions)
        VALUES (1, %s, %s, %s, %s)
        ON CONFLICT (id) DO UPDATE SET started_at = EXCLUDED.started_at, day = EXCLUDED.day,
            default_workflow_id = EXCLUDED.default_workflow_id, actions = EXCLUDED.actions""",
        [now, today, default_id, actions],
    )


def _plan(state, *, today, now, default_id, specs, full):
    """A full tick the first time, after a missed day, when the clock went back or the default
    workflow changed; otherwise incremental, with a full pass for workflows whose actions changed."""
    if full or state is None:
        return TickPlan(full=True)
    gap = (today - state["day"]).days
    if gap not in (0, 1) or now < state["started_at"] or state["default"] != default_id:
        return TickPlan(full=True)
    before = state["actions"]
    now_specs = {str(spec.id): spec.signature for spec in specs}
    changed = set()
    for key in before.keys() | now_specs.keys():
        if before.get(key) != now_specs.get(key):
            changed.update(sig[0] for sig in (before.get(key), now_specs.get(key)) if sig)
    return TickPlan(
        full=False, last_day=state["day"], since=state["started_at"] - LOOKBACK, full_workflows=changed
    )


SCOPE_SQL = f"""
INSERT INTO tick_scope (invoice_id)
SELECT i.id FROM invoices_invoice i
WHERE i.customer_id IN (
    SELECT a.customer_id FROM customers_activity a
    WHERE a.created_at > %(since)s AND a.kind NOT IN ({_sql_list(QUIET_KINDS)})
    UNION
    SELECT c.id FROM customers_customer c WHERE c.updated_at > %(since)s
    UNION  -- the customer's last open task held reminders until a day now past
    SELECT t.customer_id FROM workflows_task t
    WHERE t.status = '{TaskStatus.OPEN}' AND t.due_on > %(last_day)s AND t.due_on <= %(today)s
)
UNION
SELECT i.id FROM invoices_invoice i WHERE i.updated_at > %(since)s
UNION
SELECT d.invoice_id FROM disputes_dispute d WHERE d.raised_at > %(since)s OR d.resolved_at > %(since)s
UNION  -- the promise held the invoice's reminders until a day now past
SELECT i.id FROM invoices_invoice i WHERE i.promise_date >= %(last_day)s AND i.promise_date < %(today)s
"""


def _fill_scope(cursor, plan, today):
    """The invoices (any status) an incremental tick gives a full pass; returns how many."""
    cursor.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS tick_scope (invoice_id bigint PRIMARY KEY) ON COMMIT DROP"
    )
    cursor.execute("DELETE FROM tick_scope")  # two ticks in one transaction (tests) share the table
    cursor.execute(SCOPE_SQL, {"since": plan.since, "last_day": plan.last_day, "today": today})
    count = cursor.rowcount
    cursor.execute("ANALYZE tick_scope")
    return count


# --- The statements ------------------------------------------------------------------------------


def _window_arms(actions, plan, today, params):
    """SQL conditions: one of `actions` falls due in (last day, today], as ranges on indexed dates.

    Returns (on the invoice's own dates, on its customer's promise date — for invoices without one).
    """
    arms, customer_arms = [], []
    for n, spec in enumerate(actions):
        # anchor + shift in (last_day, today]  ⇔  anchor in (last_day - shift, today - shift]
        params[f"from{n}"] = plan.last_day - dt.timedelta(days=spec.shift)
        params[f"to{n}"] = today - dt.timedelta(days=spec.shift)
        if spec.anchor == "promised":
            arms.append(f"(i.promise_date > %(from{n})s AND i.promise_date <= %(to{n})s)")
            customer_arms.append(f"(c.promise_date > %(from{n})s AND c.promise_date <= %(to{n})s)")
        else:
            arms.append(f"(i.{spec.anchor} > %(from{n})s AND i.{spec.anchor} <= %(to{n})s)")
    own = f"({' OR '.join(arms)})"  # a bare OR of ranges: the planner ORs index scans for it
    customers = (
        f"(i.promise_date IS NULL AND COALESCE({' OR '.join(customer_arms)}, FALSE))" if customer_arms else ""
    )
    return own, customers


def _relative_runs_sql(actions, *, is_default, plan, today, params):
    """One workflow's relative steps (days before/after the due, issue or promise date).

    Each invoice's latest due step (`latest`) is worked out on its own row from the workflow's few
    actions, so the statement needs no window over all rows. An incremental tick reads the invoices
    in three disjoint parts, each row once: a step in the window by the invoice's dates, by its
    customer's promise date, or neither but a full pass is due.
    """
    full = plan.full_for(actions[0].workflow_id)
    rows = ", ".join(
        f"({spec.id}, '{spec.anchor}', {spec.shift}, {_literal(spec.manual)})" for spec in actions
    )
    latest_terms = []
    for spec in actions:
        due = _plus_days(f"inv.{spec.anchor}", spec.shift)
        eligible = f"{due} <= %(today)s" if spec.manual else f"NOT inv.held AND {due} <= %(today)s"
        latest_terms.append(f"CASE WHEN {eligible} THEN {due} END")
    anchor = "CASE a.anchor WHEN 'due_date' THEN r.due_date WHEN 'issue_date' THEN r.issue_date ELSE r.promised END"
    columns = f"""i.id, i.due_date, i.issue_date, COALESCE(i.promise_date, c.promise_date) AS promised,
               {HELD_SQL} AS held"""
    joins = """JOIN customers_customer c ON c.id = i.customer_id
        LEFT JOIN busy b ON b.customer_id = i.customer_id"""
    eligible = _eligible_sql(_workflow_match(is_default))
    if full:
        invoices = f"SELECT {columns}, TRUE AS is_full FROM invoices_invoice i {joins} WHERE {eligible}"
    else:
        params["last_day"] = plan.last_day
        own, customers = _window_arms(actions, plan, today, params)
        in_scope = "EXISTS (SELECT 1 FROM tick_scope s WHERE s.invoice_id = i.id)"
        parts = [
            f"SELECT {columns}, {in_scope} AS is_full FROM invoices_invoice i {joins} WHERE {eligible} AND {own}"
        ]
        if customers:
            parts.append(
                f"SELECT {columns}, {in_scope} AS is_full FROM invoices_invoice i {joins} "
                f"WHERE {eligible} AND NOT COALESCE({own}, FALSE) AND {customers}"
            )
        neither = f"NOT COALESCE({own}, FALSE)" + (
            f" AND NOT COALESCE({customers}, FALSE)" if customers else ""
        )
        parts.append(
            f"SELECT {columns}, TRUE AS is_full FROM tick_scope s JOIN invoices_invoice i ON i.id = s.invoice_id "
            f"{joins} WHERE {eligible} AND {neither}"
        )
        invoices = "\n        UNION ALL\n        ".join(parts)
    return f"""
    WITH {BUSY_SQL},
    acts (id, anchor, shift, manual) AS (VALUES {rows}),
    inv AS (
        {invoices}
    ),
    ranked AS (
        SELECT inv.*, {_latest_sql(latest_terms)} AS latest FROM inv
    ),
    due AS (
        SELECT a.id AS action_id, r.id AS invoice_id, {_plus_days(anchor, "a.shift")} AS due_on,
               r.latest, r.is_full, a.manual, r.held
        FROM ranked r CROSS JOIN acts a
        WHERE r.latest IS NOT NULL
    )
    INSERT INTO workflows_actionrun (action_id, invoice_id, occurrence, due_on, status, reason, created_at)
    SELECT action_id, invoice_id, 1, due_on,
           CASE WHEN due_on = latest THEN %(pending)s ELSE %(skipped)s END,
           CASE WHEN due_on = latest THEN '' ELSE %(skipped_earlier)s END,
           %(now)s
    FROM due
    WHERE due_on <= %(today)s AND (manual OR NOT held)
      {"" if full else "AND (is_full OR due_on > %(last_day)s)  -- older steps were scheduled by earlier ticks"}
    ON CONFLICT (action_id, invoice_id, occurrence) DO NOTHING  -- a step already scheduled stays as it is
    """


def _calendar_runs_sql(spec, *, is_default, scoped):
    """One calendar action (monthly, or on given dates) for its latest date: one occurrence a date."""
    return f"""
    WITH {BUSY_SQL}
    INSERT INTO workflows_actionrun (action_id, invoice_id, occurrence, due_on, status, reason, created_at)
    SELECT %(action)s, i.id, %(occurrence)s, %(day)s, %(pending)s, '', %(now)s
    FROM invoices_invoice i
    JOIN customers_customer c ON c.id = i.customer_id
    LEFT JOIN busy b ON b.customer_id = i.customer_id
    WHERE {_eligible_sql(_workflow_match(is_default))} AND i.issue_date <= %(day)s
      {"" if spec.manual else f"AND NOT {HELD_SQL}"}
      {f"AND {_in_scope('i.id')}" if scoped else ""}
    ON CONFLICT (action_id, invoice_id, occurrence) DO NOTHING
    """


def _repeat_runs_sql(actions, *, tz_name, scoped):
    """The next occurrence of repeating actions, N days after the last one was completed."""
    rows = ", ".join(
        f"({spec.id}, {spec.workflow_id}, {spec.repeat_every_days}, {_literal(spec.repeat_max)}, "
        f"{_literal(spec.manual)})"
        for spec in actions
    )
    ids = ", ".join(str(spec.id) for spec in actions)
    next_day = _plus_days(_day_of("r.finished_at", tz_name), "a.every")
    candidates = ""
    if scoped:  # finished lately (their next one may be due now), or on an invoice with a full pass
        candidates = f"""candidates AS (
            SELECT r.id FROM workflows_actionrun r
            WHERE r.status = %(done)s AND r.action_id IN ({ids}) AND r.finished_at >= %(finished_since)s
            UNION
            SELECT r.id FROM workflows_actionrun r
            WHERE r.status = %(done)s AND r.action_id IN ({ids}) AND {_in_scope("r.invoice_id")}
        ),"""
    return f"""
    WITH {BUSY_SQL}, {candidates}
    acts (id, workflow_id, every, max_times, manual) AS (VALUES {rows})
    INSERT INTO workflows_actionrun (action_id, invoice_id, occurrence, due_on, status, reason, created_at)
    SELECT r.action_id, r.invoice_id, r.occurrence + 1, {next_day}, %(pending)s, '', %(now)s
    FROM workflows_actionrun r
    {"JOIN candidates ON candidates.id = r.id" if scoped else ""}
    JOIN acts a ON a.id = r.action_id
    JOIN invoices_invoice i ON i.id = r.invoice_id
    JOIN customers_customer c ON c.id = i.customer_id
    LEFT JOIN busy b ON b.customer_id = i.customer_id
    WHERE r.status = %(done)s AND r.finished_at IS NOT NULL
      AND (a.max_times IS NULL OR r.occurrence < a.max_times)
      AND {_eligible_sql("COALESCE(c.workflow_id, %(default)s) = a.workflow_id")}
      AND (a.manual OR NOT {HELD_SQL})
      AND {next_day} <= %(today)s
    ON CONFLICT (action_id, invoice_id, occurrence) DO NOTHING
    """


def _end_runs_sql(*, scoped):
    """Pending runs of settled invoices, then of disputed ones, end as skipped (two statements)."""
    settled = f"""
    UPDATE workflows_actionrun SET status = %(skipped)s, reason = %(settled)s, finished_at = %(now)s
    WHERE status = %(pending)s AND invoice_id IN (
        SELECT i.id FROM invoices_invoice i
        WHERE (i.status <> '{OPEN}' OR i.amount_due <= 0) {f"AND {_in_scope('i.id')}" if scoped else ""}
    )"""
    disputed = """
    UPDATE workflows_actionrun SET status = %(skipped)s, reason = %(disputed)s, finished_at = %(now)s
    WHERE status = %(pending)s AND invoice_id IN (
        SELECT d.invoice_id FROM disputes_dispute d WHERE d.status = 'open'
    )"""  # open disputes are few: always all of them
    return settled, disputed


def latest_calendar_date(action, today):
    """The most recent day on or before `today` when a monthly or dated action falls, or None."""
    if action.trigger == Trigger.MONTHLY and action.day_of_month:
        if today.day >= action.day_of_month:
            return today.replace(day=action.day_of_month)
        last_month = today.replace(day=1) - dt.timedelta(days=1)
        return last_month.replace(day=action.day_of_month)
    if action.trigger == Trigger.ON_DATES:
        days = [dt.date.fromisoformat(day) for day in action.dates or []]
        past = [day for day in days if day <= today]
        return max(past) if past else None
    return None


def _take_tick_lock(cursor):
    """True when this transaction may tick; another tick holding the lock makes this one a no-op."""
    if not _postgres():
        return True  # SQLite: writers are serialised by the database file's own lock
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [TICK_LOCK])
    return cursor.fetchone()[0]


def _count(cursor):
    # SQLite does not count the rows of an INSERT … SELECT that starts WITH: unknown, not -1.
    return cursor.rowcount if cursor.rowcount >= 0 else None


def schedule_due_runs(*, today=None, full=False):
    """Create the runs that fell due by `today` (the company's today by default).

    Incremental when it can be (see the module's docstring); `full=True` looks at every invoice.
    Returns {"scheduled": runs created (pending or skipped; None where the database can't count),
    "ended": pending runs of settled or disputed invoices closed, "mode": "full" or "incremental"},
    or None when another tick is running.
    """
    company = Company.load()
    today = today or company.today()
    now = timezone.now()
    params = {
        "today": today,
        "now": now,
        "pending": RunStatus.PENDING,
        "skipped": RunStatus.SKIPPED,
        "done": RunStatus.DONE,
        "skipped_earlier": SKIPPED_EARLIER,
        "settled": SKIPPED_SETTLED,
        "disputed": SKIPPED_DISPUTED,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        if not _take_tick_lock(cursor):
            return None
        specs = _action_specs()
        default_id = Workflow.objects.filter(is_default=True).values_list("id", flat=True).first()
        plan = _plan(_load_state(cursor), today=today, now=now, default_id=default_id, specs=specs, full=full)
        scoped = not plan.full
        if scoped:
            # Small statements: compiling them (JIT, planned for the table sizes) costs more than it saves.
            cursor.execute("SET LOCAL jit = off")
            _fill_scope(cursor, plan, today)

        settled, disputed = _end_runs_sql(scoped=scoped)
        cursor.execute(settled, params)
        ended = cursor.rowcount
        cursor.execute(disputed, params)
        ended += cursor.rowcount

        active = [spec for spec in specs if spec.is_active]
        counts = []
        by_workflow = {}
        for spec in active:
            if spec.trigger in ANCHORS:
                by_workflow.setdefault(spec.workflow_id, []).append(spec)
        for workflow_id, actions in by_workflow.items():
            statement_params = {**params, "workflow": workflow_id}
            sql = _relative_runs_sql(
                actions, is_default=workflow_id == default_id, plan=plan, today=today, params=statement_params
            )
            cursor.execute(sql, statement_params)
            counts.append(_count(cursor))

        for spec in active:
            if spec.trigger not in CALENDAR_TRIGGERS:
                continue
            day = latest_calendar_date(spec, today)
            if day is None:
                continue
            occurrence = day.year * 12 + day.month if spec.trigger == Trigger.MONTHLY else day.toordinal()
            # A date already past at the last tick was scheduled then: only invoices with a full pass now.
            only_scope = scoped and not plan.full_for(spec.workflow_id) and day <= plan.last_day
            sql = _calendar_runs_sql(spec, is_default=spec.workflow_id == default_id, scoped=only_scope)
            statement_params = {
                **params,
                "workflow": spec.workflow_id,
                "action": spec.id,
                "occurrence": occurrence,
                "day": day,
            }
            cursor.execute(sql, statement_params)
            counts.append(_count(cursor))

        repeating = [spec for spec in active if spec.repeat_every_days is not None]
        if repeating:
            repeat_scoped = scoped and not any(plan.full_for(spec.workflow_id) for spec in repeating)
            statement_params = {**params, "default": default_id}
            if repeat_scoped:
                # A run whose next occurrence falls due after the last day finished on or after this.
                longest = max(spec.repeat_every_days for spec in repeating)
                first_day = plan.last_day + dt.timedelta(days=1 - longest)
                start = dt.datetime.combine(first_day, dt.time(), tzinfo=company.tz)
                statement_params["finished_since"] = min(start, plan.since)
            cursor.execute(
                _repeat_runs_sql(repeating, tz_name=company.time_zone, scoped=repeat_scoped), statement_params
            )
            counts.append(_count(cursor))

        _save_state(cursor, now=now, today=today, default_id=default_id, specs=specs)
    scheduled = None if None in counts else sum(counts)
    return {"scheduled": scheduled, "ended": ended, "mode": "full" if plan.full else "incremental"}
