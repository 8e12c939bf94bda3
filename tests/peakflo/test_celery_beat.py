"""A real Celery worker and a real beat, on Redis and the test database, run the heartbeat."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from peakflo.models import Heartbeat

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/14"


def database_url():
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def celery_processes(transactional_db, tmp_path):
    redis.Redis.from_url(BROKER).flushdb()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "peakflo.settings_test",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER,
        "PYTHONPATH": str(ROOT),
    }
    celery = [sys.executable, "-m", "celery", "-A", "peakflo"]
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("worker", "beat")}  # noqa: SIM115
    processes = [
        subprocess.Popen(
            [*celery, "worker", "--pool=solo", "--loglevel=INFO"],
            env=env,
            cwd=ROOT,
            stdout=logs["worker"],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [*celery, "beat", "--loglevel=INFO", "--pidfile=", f"--schedule={tmp_path}/beat"],
            env=env,
            cwd=ROOT,
            stdout=logs["beat"],
            stderr=subprocess.STDOUT,
        ),
    ]
    yield tmp_path
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    for log in logs.values():
        log.close()


def test_beat_schedules_the_heartbeat_and_a_worker_runs_it(celery_processes, client):
    # The migration schedules it every minute; every two seconds keeps the test short.
    every_two_seconds, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name="Heartbeat (health check)", defaults={"task": "peakflo.heartbeat", "interval": every_two_seconds}
    )

    deadline = time.monotonic() + 90
    while not Heartbeat.objects.filter(name="beat").exists() and time.monotonic() < deadline:
        time.sleep(0.5)

    logs = "".join((celery_processes / f"{name}.log").read_text() for name in ("worker", "beat"))
    assert Heartbeat.objects.filter(name="beat").exists(), logs[-3000:]
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["heartbeat"]["ok"] is True
