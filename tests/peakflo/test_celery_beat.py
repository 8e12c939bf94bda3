"""A real Celery worker and a real beat, on Redis and the test database, run the heartbeat."""

import time

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from peakflo.models import Heartbeat


def test_beat_schedules_the_heartbeat_and_a_worker_runs_it(celery_processes, client):
    # The migration schedules it every minute; every two seconds keeps the test short.
    every_two_seconds, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name="Heartbeat (health check)", defaults={"task": "peakflo.heartbeat", "interval": every_two_seconds}
    )
    celery_processes.worker()
    celery_processes.beat()

    deadline = time.monotonic() + 90
    while not Heartbeat.objects.filter(name="beat").exists() and time.monotonic() < deadline:
        time.sleep(0.5)

    assert Heartbeat.objects.filter(name="beat").exists(), celery_processes.logs()[-3000:]
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["heartbeat"]["ok"] is True
