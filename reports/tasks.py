import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="reports.refresh_figures", ignore_result=True)
def refresh_figures():
    """Beat runs this every 5 minutes: rebuild the figures the dashboard reads on large books."""
    from .figures import refresh_figures as rebuild

    run = rebuild()
    if run is None:
        log.info("figures: another rebuild is under way; this one is skipped")
        return
    log.info(
        "figures for %s: %s customers in %.1f s",
        run.day,
        run.customers,
        (run.finished_at - run.started_at).total_seconds(),
    )
