import socket

from celery import shared_task
from django.utils import timezone

from .models import Heartbeat


@shared_task(name="peakflo.heartbeat", ignore_result=True)
def heartbeat():
    """Proves beat schedules and a worker runs: /healthz reads the time it last ran."""
    Heartbeat.objects.update_or_create(
        name="beat", defaults={"beat_at": timezone.now(), "hostname": socket.gethostname()}
    )
