"""A request id on every log line of a request, the task id on every log line of a Celery task.

The proxy's X-Request-ID is kept when it looks like an id (so one id follows a request through the
proxy's log and ours); anything else — missing, too long, or carrying spaces, newlines or quotes
someone hoped to smuggle into the logs — is replaced by a fresh one. The id goes back on the response.
"""

import contextvars
import logging
import logging.config
import re
import uuid

from celery import signals
from celery._state import get_current_task
from django.core.signals import request_finished

HEADER = "X-Request-ID"
VALID_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

request_id = contextvars.ContextVar("request_id", default=None)


def incoming_or_new(value):
    return value if value and VALID_ID.fullmatch(value) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = incoming_or_new(request.headers.get(HEADER))
        request_id.set(request.request_id)
        response = self.get_response(request)
        response[HEADER] = request.request_id
        return response


def _clear(**kwargs):
    # Not reset in the middleware: Django logs "Not Found"/"Internal Server Error" after the
    # middleware chain has returned, and those lines need the id too. request_finished comes later.
    request_id.set(None)


request_finished.connect(_clear, dispatch_uid="peakflo.request_id.clear")


class ContextFilter(logging.Filter):
    """Adds request_id (inside a request) and task_id (inside a Celery task) to the records."""

    def filter(self, record):
        current = request_id.get()
        if current and not hasattr(record, "request_id"):
            record.request_id = current
        task = get_current_task()
        if task is not None and task.request.id and not hasattr(record, "task_id"):
            record.task_id = task.request.id
            record.task_name = task.name
        return True


def logging_config(json_lines, level="INFO"):
    """Django's LOGGING: one handler on stderr, JSON lines in production, readable text with DEBUG."""
    logging.captureWarnings(json_lines)  # Python warnings as log lines too, so every line parses
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "plain",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
    }


@signals.setup_logging.connect(dispatch_uid="peakflo.request_id.celery_logging")
def use_django_logging(**kwargs):
    """The worker and beat log through settings.LOGGING (JSON, with task ids) instead of Celery's own."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
