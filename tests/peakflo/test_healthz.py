import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from peakflo.models import Heartbeat

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_heartbeat(db):
    return Heartbeat.objects.create(name="beat", beat_at=timezone.now())


def test_healthy_when_database_broker_and_heartbeat_are_up(client, fresh_heartbeat):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["broker"]["ok"] and body["heartbeat"]["ok"]
    assert body["broker"]["transport"] == "redis"


def test_stale_heartbeat_is_down(client, fresh_heartbeat, settings):
    Heartbeat.objects.update(
        beat_at=timezone.now() - dt.timedelta(seconds=settings.HEARTBEAT_MAX_AGE_SECONDS + 60)
    )

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["heartbeat"]["ok"] is False
    assert response.json()["database"]["ok"] is True


def test_no_heartbeat_yet_is_down_and_says_why(client, db):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert "worker and beat" in response.json()["heartbeat"]["error"]


def test_broker_down_is_503(client, fresh_heartbeat, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"] == {"ok": False, "error": "OperationalError"}
    assert response.json()["database"]["ok"] is True


def test_database_down_is_503_without_leaking_details():
    # A separate process whose settings name a database that is not there.
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz');"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "peakflo.settings_test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere",
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )

    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["body"]["database"] == {"ok": False, "error": "OperationalError"}
    assert answer["body"]["heartbeat"]["ok"] is False
    assert "127.0.0.1:1" not in result.stdout
