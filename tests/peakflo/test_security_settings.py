"""Security settings (issue #8): password rules, production settings and `check --deploy`, the CSP
header, and secrets kept out of the admin, error pages and logs."""

import datetime as dt
import json
import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.debug import ExceptionReporter

from accounting.models import Connection, Provider, SyncStatus
from peakflo import settings as base_settings
from peakflo.models import Role, User
from peakflo.tokens import invitation_token_generator
from tests.accounting.conftest import xero, xero_spec  # noqa: F401  (fixtures for the failed sync)
from tests.accounting.runs import run_sync
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


# --- passwords ------------------------------------------------------------------------------------


def test_djangos_four_password_validators_are_on():
    assert [v["NAME"].rsplit(".", 1)[1] for v in django_settings.AUTH_PASSWORD_VALIDATORS] == [
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    ]


def test_an_invitee_cannot_choose_a_weak_password(client, db):
    carol = User.objects.create_user(
        email="carol@example.com", password=None, name="Carol Chan", role=Role.COLLECTIONS
    )
    uid = urlsafe_base64_encode(force_bytes(carol.pk))
    page = client.get(
        reverse("accept_invitation", args=[uid, invitation_token_generator.make_token(carol)]), follow=True
    )
    set_url = page.redirect_chain[-1][0]

    common = client.post(set_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert common.status_code == 200
    assert "This password is too common." in common.text
    assert "This password is entirely numeric." in common.text

    short = client.post(set_url, {"new_password1": "pk3#x", "new_password2": "pk3#x"})
    assert "This password is too short. It must contain at least 8 characters." in short.text

    carol.refresh_from_db()
    assert not carol.has_usable_password()


def test_a_changed_password_must_pass_the_same_rules(client, am_alice):
    client.force_login(am_alice)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "alice@example.com",
            "new_password2": "alice@example.com",
        },
    )

    assert response.status_code == 200
    assert "The password is too similar to the email address." in response.text
    am_alice.refresh_from_db()
    assert am_alice.check_password(PASSWORD)


# --- production settings and check --deploy --------------------------------------------------------

SECRET_KEY = "a-long-random-production-key-" + "x7Qp2Lm9Zr4Tv8Nk3Hs6Wd1Fb5Jc0Yg" * 2


def production(**extra):
    """The environment of a production process: DEBUG off, a real key, a host name served over https."""
    env = {
        key: value
        for key, value in os.environ.items()
        # Not the suite's own switches (the browser tests allow async-unsafe ORM calls).
        if not key.startswith(("SECURE_", "DJANGO_", "AXES_"))
    }
    env.update(
        DEBUG="false",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="peakflo.example.com",
        SITE_URL="https://peakflo.example.com",
        DJANGO_SETTINGS_MODULE="peakflo.settings",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/peakflo"),
    )
    env.update(extra)
    return env


def run(args, **extra):
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=production(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_settings(**extra):
    names = [
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "X_FRAME_OPTIONS",
        "SECURE_REFERRER_POLICY",
        "SILENCED_SYSTEM_CHECKS",
    ]
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    done = run(["-c", code], **extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_production_settings_are_secure_by_default():
    values = production_settings()

    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_REFERRER_POLICY": "same-origin",
        "SILENCED_SYSTEM_CHECKS": ["security.W021"],
    }


def test_hsts_preload_is_an_opt_in_and_then_nothing_is_silenced():
    values = production_settings(SECURE_HSTS_PRELOAD="true", SECURE_HSTS_SECONDS="63072000")

    assert values["SECURE_HSTS_PRELOAD"] is True and values["SECURE_HSTS_SECONDS"] == 63072000
    assert values["SILENCED_SYSTEM_CHECKS"] == []


def test_check_deploy_is_clean_with_production_settings():
    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])

    assert done.returncode == 0, done.stdout + done.stderr
    # W021 (HSTS preload not set) is silenced on purpose: preloading is the operator's opt-in.
    assert "System check identified no issues (1 silenced)." in done.stdout


def test_check_deploy_is_clean_with_preload_on_and_nothing_silenced():
    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], SECURE_HSTS_PRELOAD="true")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_check_deploy_fails_on_a_weak_secret_key():
    # The test above could pass by checking nothing: a short key must be caught.
    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], SECRET_KEY="short")

    assert done.returncode != 0
    assert "security.W009" in done.stderr + done.stdout


# --- headers on every page -------------------------------------------------------------------------


def test_pages_carry_the_csp_with_the_nonce_of_their_inline_script(client, am_alice, settings):
    settings.SECURE_CSP = base_settings.SECURE_CSP  # the test settings add 'unsafe-eval'
    client.force_login(am_alice)
    response = client.get(reverse("dashboard"))

    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.split(" ", 1) for part in policy.split("; "))
    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"]).group(1)
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == f"'self' 'nonce-{nonce}'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert f'<script nonce="{nonce}">' in response.text
    # No inline handler and no hx-on anywhere on the page: the policy would refuse them.
    assert not re.search(r"\son[a-z]+=|hx-on", response.text)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"

    again = client.get(reverse("dashboard")).headers["Content-Security-Policy"]
    assert nonce not in again, "a new nonce for every response"


def test_the_login_page_carries_the_csp_too(client, db):
    response = client.get(reverse("login"))
    assert "script-src 'self' 'nonce-" in response.headers["Content-Security-Policy"]


# --- secrets ---------------------------------------------------------------------------------------

ACCESS_TOKEN = f"access-{secrets.token_hex(12)}"
REFRESH_TOKEN = f"refresh-{secrets.token_hex(12)}"


@pytest.fixture
def connection(db, admin_user):
    return Connection.objects.create(
        provider=Provider.XERO,
        tenant_id="tenant-123",
        tenant_name="Demo Company (SG)",
        access_token=ACCESS_TOKEN,
        refresh_token=REFRESH_TOKEN,
        token_expires_at=timezone.now() + dt.timedelta(minutes=30),
        connected_by=admin_user,
    )


def test_the_admin_lists_and_shows_a_connection_without_its_tokens(client, admin_user, connection):
    client.force_login(admin_user)
    listing = client.get(reverse("admin:accounting_connection_changelist"))
    page = client.get(reverse("admin:accounting_connection_change", args=[connection.pk]))

    assert listing.status_code == 200 and "Demo Company (SG)" in listing.text
    assert page.status_code == 200 and "tenant-123" in page.text
    assert "access and refresh token held (encrypted, not shown)" in page.text
    for text in (listing.text, page.text):
        assert ACCESS_TOKEN not in text and REFRESH_TOKEN not in text
    # Nothing there to edit the tokens with, and no delete that would skip revoking them.
    assert 'name="access_token"' not in page.text and 'name="refresh_token"' not in page.text
    assert client.get(reverse("admin:accounting_connection_delete", args=[connection.pk])).status_code == 403


# Made at run time: the error page shows the source around each frame, so the values must not be
# written in this file.
SECRETS = {
    name: f"{name.lower()}-{secrets.token_hex(8)}"
    for name in (
        "XERO_CLIENT_SECRET",
        "STRIPE_SECRET_KEY",
        "TWILIO_AUTH_TOKEN",
        "ACCOUNTING_TOKEN_KEY",
        "WORKFLOW_WEBHOOK_SECRET",
        "XERO_WEBHOOK_KEY",
    )
}
SECRETS["DATABASE_URL"] = f"postgres://peakflo:{secrets.token_hex(8)}@db:5432/peakflo"
SECRETS["CELERY_BROKER_URL"] = f"redis://:{secrets.token_hex(8)}@redis:6379/0"
HEADER_TOKEN = secrets.token_hex(8)


def call_provider(access_token):
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}  # noqa: F841
    raise ConnectionError("the provider closed the connection")


def use_secrets(settings):
    # Here, not in the test: its own variables would show on the page as any frame's do.
    for name, value in SECRETS.items():
        setattr(settings, name, value)


def test_error_pages_and_error_emails_hide_secret_settings_and_variables(settings):
    use_secrets(settings)
    settings.DEBUG = True
    request = RequestFactory().get("/accounting/sync/", HTTP_AUTHORIZATION=f"Bearer {HEADER_TOKEN}")
    try:
        call_provider(ACCESS_TOKEN)
    except ConnectionError:
        reporter = ExceptionReporter(request, *sys.exc_info())
    html, text = reporter.get_traceback_html(), reporter.get_traceback_text()

    for page in (html, text):  # the DEBUG page, and the email sent to ADMINS
        assert "the provider closed the connection" in page
        for name, value in SECRETS.items():
            assert name in page, name  # listed, so the reader knows it is set ...
            assert value not in page, name  # ... but not its value
        assert ACCESS_TOKEN not in page and HEADER_TOKEN not in page
    assert "********************" in html


@pytest.mark.django_db(transaction=True)
def test_a_failed_sync_logs_no_token(xero, admin_user, caplog):  # noqa: F811
    tokens = xero.issue_tokens()
    connection = Connection.objects.create(
        provider=Provider.XERO,
        tenant_id=xero.tenant_id,
        tenant_name="Demo Company (SG)",
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        token_expires_at=timezone.now() + dt.timedelta(seconds=tokens["expires_in"]),
        connected_by=admin_user,
    )
    xero.fail_next(50, status=503)

    with caplog.at_level(logging.DEBUG):
        run = run_sync(connection)

    assert run.status == SyncStatus.FAILED
    failed = [record for record in caplog.records if "sync failed" in record.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info, "the failure is logged with its traceback"
    logged = caplog.text + "".join(logging.Formatter().format(record) for record in caplog.records)
    assert "503" in logged
    assert tokens["access_token"] not in logged and tokens["refresh_token"] not in logged


def test_a_plain_http_site_url_is_a_trial_whose_gaps_check_deploy_names():
    """docker compose on http://localhost:8000 must let people sign in (no Secure cookies, no
    redirect to an https that is not there), and `check --deploy` says so."""
    result = run(
        ["manage.py", "check", "--deploy"], SITE_URL="http://localhost:8000", ALLOWED_HOSTS="localhost"
    )
    output = result.stdout + result.stderr
    assert "security.W012" in output and "security.W016" in output, output  # session and CSRF cookies
    assert "security.W008" in output, output  # no redirect to https
