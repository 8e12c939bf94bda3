"""Real processes for the fault tests: Celery workers and beat on a broker of their own, a Redis server
that can be stopped and started again on the same port, `manage.py` commands."""

import os
import shutil
import signal
import subprocess
import sys
import time

import redis

from tests.celery_processes import ROOT, database_url
from tests.workflows.local_servers import free_port


def wait_until(condition, seconds=30, *, why=""):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, why() if callable(why) else why or "timed out"
        time.sleep(0.1)


class Processes:
    """Celery worker and beat processes on `broker_url` and the test database; stopped by stop()."""

    def __init__(self, folder, broker_url, **env):
        from django.conf import settings

        self.folder = folder
        self.processes = []
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "peakflo.settings_test",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "PYTHONPATH": str(ROOT),
            **env,
        }

    def start(self, name, *arguments, program=("-m", "celery", "-A", "peakflo")):
        log = open(self.folder / f"{name}.log", "w")  # noqa: SIM115 (closed in stop())
        process = subprocess.Popen(
            [sys.executable, *program, *arguments],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append((process, log))
        return process

    def worker(self, name, queue="celery"):
        process = self.start(
            name,
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"{name}@%h",
            "-Q",
            queue,
        )
        # Ready: consuming from the broker (its queue declared), so nothing sent from now on is lost.
        wait_until(lambda: "ready." in self.log(name), 60, why=lambda: self.log(name)[-3000:])
        return process

    def beat(self):
        return self.start("beat", "beat", "--loglevel=INFO", "--pidfile=", f"--schedule={self.folder}/beat")

    def log(self, name):
        path = self.folder / f"{name}.log"
        return path.read_text() if path.exists() else ""

    def logs(self):
        return "".join(f"--- {p.name}\n{p.read_text()[-2500:]}" for p in sorted(self.folder.glob("*.log")))

    def stop(self):
        for process, _ in self.processes:
            if process.poll() is None:
                process.terminate()
        for process, log in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


class RedisServer:
    """A redis-server of the test's own, without persistence: what it holds is lost when it stops."""

    def __init__(self, folder):
        self.folder = folder
        self.port = free_port()
        self.process = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, 10, why="redis-server did not start")
        return self

    def answers(self):
        try:
            return redis.Redis.from_url(self.url, socket_timeout=1).ping()
        except redis.ConnectionError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
