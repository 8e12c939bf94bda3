"""Logs as an operator reads them: a fresh process with the production settings (DEBUG off) writes JSON
lines carrying the request id it also puts on the response, and a Celery task's lines carry the task id."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Requests through Django's test client inside the child; what it answered goes to stdout, logs to stderr.
SCRIPT = r"""
import json, logging, sys
import django
django.setup()
from django.test import Client
from peakflo.celery import app

answers = {}
for name, header in json.loads(sys.argv[1]).items():
    headers = {"X-Request-ID": header} if header is not None else {}
    response = Client().get("/no-such-page-" + name + "/", headers=headers, secure=True)
    answers[name] = {"status": response.status_code, "request_id": response["X-Request-ID"]}

@app.task(name="tests.log_something")
def log_something():
    logging.getLogger("workflows.dispatch").info("dispatching %s reminders", 3)

log_something.apply(task_id="0b6f3c1e-task")
print(json.dumps(answers))
"""

HEADERS = {
    "fresh": None,
    "proxy": "edge-7f3a9c21.42",
    "huge": "a" * 5000,
    "injected": 'x" , "level": "CRITICAL',
    "newline": 'ok\n{"level": "CRITICAL", "message": "forged"}',
}


def run_child(debug):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "peakflo.settings",
        "DEBUG": debug,
        "SECRET_KEY": "test-only-key-" + "x" * 40,
        "ALLOWED_HOSTS": "testserver",
        "LOG_LEVEL": "INFO",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(HEADERS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr.splitlines()


@pytest.fixture(scope="module")
def production():
    return run_child("false")


def json_lines(lines):
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_request_log_line_is_json_with_the_request_id_of_the_response(production):
    answers, lines = production
    records = json_lines(lines)

    fresh = answers["fresh"]
    assert fresh["status"] == 404
    assert re.fullmatch(r"[0-9a-f]{32}", fresh["request_id"])
    (line,) = [r for r in records if r["message"] == "Not Found: /no-such-page-fresh/"]
    assert line["request_id"] == fresh["request_id"]
    assert line["level"] == "WARNING"
    assert line["logger"] == "django.request"
    assert line["time"]


def test_every_request_gets_its_own_id(production):
    answers, lines = production
    ids = [answer["request_id"] for answer in answers.values()]
    assert len(set(ids)) == len(ids) == len(HEADERS)


def test_id_from_the_proxy_is_kept(production):
    answers, lines = production
    assert answers["proxy"]["request_id"] == "edge-7f3a9c21.42"
    (line,) = [r for r in json_lines(lines) if r["message"] == "Not Found: /no-such-page-proxy/"]
    assert line["request_id"] == "edge-7f3a9c21.42"


@pytest.mark.parametrize("name", ["huge", "injected", "newline"])
def test_huge_or_malicious_id_is_replaced(production, name):
    answers, lines = production
    replaced = answers[name]["request_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)
    (line,) = [r for r in json_lines(lines) if r["message"] == f"Not Found: /no-such-page-{name}/"]
    assert line["request_id"] == replaced
    assert line["level"] == "WARNING"
    assert not any(HEADERS[name] in text for text in lines)
    assert not [r for r in json_lines(lines) if r.get("message") == "forged"]


def test_every_line_is_json_and_task_lines_carry_the_task_id(production):
    answers, lines = production
    records = json_lines(lines)
    assert len(records) == len([line for line in lines if line.strip()])  # nothing else on stderr

    (task_line,) = [r for r in records if r["message"] == "dispatching 3 reminders"]
    assert task_line["task_id"] == "0b6f3c1e-task"
    assert task_line["task_name"] == "tests.log_something"
    assert task_line["logger"] == "workflows.dispatch"
    assert "request_id" not in task_line


def test_debug_keeps_readable_text_logs():
    answers, lines = run_child("true")
    assert not any(line.startswith("{") for line in lines)
    plain = r"\d{4}-\d\d-\d\d [\d:,]+ WARNING django.request Not Found: /no-such-page-proxy/"
    assert [line for line in lines if re.fullmatch(plain, line)]
    assert answers["proxy"]["request_id"] == "edge-7f3a9c21.42"
