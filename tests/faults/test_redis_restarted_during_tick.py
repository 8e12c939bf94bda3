"""Redis stopped and started again while a tick is running and another is queued.

A Redis server of the test's own (no persistence: what it holds is lost when it stops — the worst
case), a real Celery worker and a real beat ticking every two seconds, the test database. Redis is
stopped (SIGTERM) while one tick runs (held on a table lock) and the next waits in the queue; both
messages are lost with it. Invoices fall due while the broker is down. When Redis is back, the next
tick catches up: every run that should exist exists, once (the runs' unique key), nothing more.
"""

import datetime as dt
import time
from collections import Counter
from decimal import Decimal

import psycopg
import pytest
import redis
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from customers.models import Customer
from invoices.models import Invoice
from peakflo.models import Company
from tests.celery_processes import database_url
from tests.faults.processes import Processes, RedisServer, wait_until
from workflows.models import Action, ActionRun, ActionType, RunStatus, Trigger, Workflow

pytestmark = pytest.mark.faults

BEFORE, DURING = 10, 7  # invoices due before the outage, and those that fell due during it


def invoices(customer, prefix, count, due):
    for n in range(count):
        Invoice.objects.create(
            number=f"{prefix}-{n:02d}",
            customer=customer,
            currency="SGD",
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
            subtotal=Decimal("80.00"),
            total=Decimal("80.00"),
            amount_due=Decimal("80.00"),
        )


def ticks_done(processes):
    return processes.log("worker").count(" tick: ")  # "full tick: …" / "incremental tick: …"


def test_redis_restarted_during_a_tick_loses_nothing_and_the_next_tick_catches_up(transactional_db, tmp_path):
    today = Company.load().today()
    Workflow.objects.update(is_default=False)
    workflow = Workflow.objects.create(name="Fault: Redis restarted", is_default=True)
    Action.objects.create(
        workflow=workflow, name="On due", trigger=Trigger.AFTER_DUE, days=0, action_type=ActionType.EMAIL
    )
    customer = Customer.objects.create(code="R-1", name="Restart Co", currency="SGD")
    invoices(customer, "BEFORE", BEFORE, due=today - dt.timedelta(days=5))
    PeriodicTask.objects.update(enabled=False)  # only the tick, often
    every_two_seconds, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="Fault: tick", task="workflows.tick", interval=every_two_seconds)

    server = RedisServer(tmp_path).start()
    processes = Processes(tmp_path, server.url)
    url = database_url().replace("postgres://", "postgresql://")
    watcher = psycopg.connect(url, autocommit=True)
    holder = psycopg.connect(url)
    try:
        processes.worker("worker")
        processes.beat()
        wait_until(lambda: ActionRun.objects.count() == BEFORE, 40, why=processes.logs)

        # A tick running, held on the runs' table; the next one queued behind it in Redis.
        holder.execute("LOCK TABLE workflows_actionrun IN SHARE MODE")

        def tick_waiting():
            return watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                [watcher.info.dbname],
            ).fetchone()[0]

        wait_until(tick_waiting, 30, why=processes.logs)
        queue = redis.Redis.from_url(server.url)
        wait_until(lambda: queue.llen("celery") >= 1, 30, why=processes.logs)
        queue.close()
        done_before_outage = ticks_done(processes)

        server.stop()  # the queued tick, and the running one's unacknowledged message, are gone
        holder.rollback()  # the running tick finishes its work in the database; its ack goes nowhere
        wait_until(lambda: ticks_done(processes) > done_before_outage, 30, why=processes.logs)
        wait_until(lambda: not tick_waiting(), 10, why=processes.logs)
        assert ActionRun.objects.count() == BEFORE

        # Invoices fall due while the broker is down: no tick can run to schedule them.
        invoices(customer, "DURING", DURING, due=today - dt.timedelta(days=1))
        time.sleep(3)  # beat tries to send a tick or two into the void
        assert ActionRun.objects.count() == BEFORE

        server.start()  # same port, empty
        wait_until(lambda: ActionRun.objects.count() == BEFORE + DURING, 45, why=processes.logs)
        caught_up = ticks_done(processes)
        wait_until(lambda: ticks_done(processes) >= caught_up + 2, 30, why=processes.logs)
    finally:
        holder.close()
        watcher.close()
        processes.stop()
        server.stop()

    # Every invoice has its one run, pending, due on its due date: nothing lost, nothing twice.
    runs = Counter(ActionRun.objects.values_list("invoice__number", "status", "due_on"))
    expected = {
        (f"BEFORE-{n:02d}", RunStatus.PENDING, today - dt.timedelta(days=5)): 1 for n in range(BEFORE)
    }
    expected |= {
        (f"DURING-{n:02d}", RunStatus.PENDING, today - dt.timedelta(days=1)): 1 for n in range(DURING)
    }
    assert runs == expected
