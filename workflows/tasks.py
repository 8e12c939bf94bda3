import logging

from celery import shared_task

from .engine import schedule_due_runs

log = logging.getLogger(__name__)


@shared_task(name="workflows.tick", ignore_result=True)
def tick():
    """Beat runs this every 5 minutes: schedule the runs that fell due."""
    result = schedule_due_runs()
    if result is None:
        log.info("tick skipped: another tick is running")
    else:
        log.info("%(mode)s tick: %(scheduled)s runs scheduled, %(ended)s ended", result)
        from .credit import update_credit_holds  # only the tick that ran, so holds are decided once

        log.info("credit holds: %s put on, %s lifted", *update_credit_holds())


@shared_task(name="workflows.dispatch", ignore_result=True)
def dispatch(limit=500):
    """Beat runs this every minute: send the reminders and create the tasks that fell due."""
    from .dispatch import dispatch_due_runs

    log.info("dispatch: %s", dispatch_due_runs(limit=limit))


@shared_task(name="workflows.sweep", ignore_result=True)
def sweep():
    """Beat runs this every 10 minutes: messages stuck in `sending` become `unknown`, never re-sent;
    messages stuck in `queued` (never handed to a provider) are released for the next dispatch."""
    from .dispatch import release_stale_queued, sweep_stale_sending

    released = release_stale_queued()
    if released:
        log.warning(
            "sweep: %s messages a stopped dispatch left queued are released, to go out next", released
        )
    marked = sweep_stale_sending()
    if marked:
        log.warning("sweep: %s messages left sending are now unknown, for a person to check", marked)
