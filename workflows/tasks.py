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
        log.info("tick: %(scheduled)s runs scheduled, %(ended)s ended", result)
