"""Real Celery processes for the tests about workers: on the tests' Redis and the test database."""

import os
import subprocess
import sys
from pathlib import Path

import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


def database_url():
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class CeleryProcesses:
    def __init__(self, folder):
        self.folder = folder
        self.processes = []
        redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # no messages left by earlier runs
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "peakflo.settings_test",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "PYTHONPATH": str(ROOT),
        }

    def start(self, name, *arguments):
        log = open(self.folder / f"{name}.log", "w")  # noqa: SIM115 (closed in stop())
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "peakflo", *arguments],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append((process, log))
        return process

    def worker(self):
        return self.start("worker", "worker", "--pool=solo", "--loglevel=INFO", "--without-heartbeat")

    def beat(self):
        return self.start("beat", "beat", "--loglevel=INFO", "--pidfile=", f"--schedule={self.folder}/beat")

    def logs(self):
        return "".join(path.read_text() for path in sorted(self.folder.glob("*.log")))

    def stop(self):
        for process, _ in self.processes:
            process.terminate()
        for process, log in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
