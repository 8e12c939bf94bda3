"""Test settings: real Postgres and Redis on this machine unless the environment names others."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/peakflo")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DEBUG", "true")

from peakflo.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405
# Login throttling is off for the suite, whose tests sign in with client.login (no request for axes to
# count); tests/peakflo/test_login_throttling.py turns it on for itself.
AXES_ENABLED = False

# Playwright's wait_for_function evaluates its string in the page, which the policy's script-src
# refuses (no eval). The suite's browser tests may do that; tests/browser/test_csp.py puts the
# production policy (peakflo.settings.SECURE_CSP, unchanged) back for itself.
SECURE_CSP = {**SECURE_CSP, "script-src": [*SECURE_CSP["script-src"], CSP.UNSAFE_EVAL]}  # noqa: F405
