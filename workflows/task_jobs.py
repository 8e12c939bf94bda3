"""Celery entry points for tasks (the to-dos of people); thin, they call task_services."""

import logging

from celery import shared_task

from peakflo.models import Company

from .task_services import send_daily_task_digests

log = logging.getLogger(__name__)


@shared_task(name="workflows.daily_task_digest", ignore_result=True)
def daily_task_digest():
    """Beat runs this every morning: each owner gets their overdue and today's tasks by email."""
    sent = send_daily_task_digests(Company.load().today())
    log.info("daily task digest: %s emails sent", sent)
