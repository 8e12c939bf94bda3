"""Login throttling (django-axes): five wrong passwords for one email from one address lock that pair."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib.auth import get_user
from django.urls import reverse

from tests.conftest import PASSWORD

LOCKED = "Sign-in paused for this account"
WRONG = "do not match an account"


@pytest.fixture(autouse=True)
def axes_on(settings):
    # The suite runs with axes off (its tests use client.login); these tests are about it.
    settings.AXES_ENABLED = True


def sign_in(client, email, password, ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


def fail(client, email, times, ip="10.0.0.1"):
    for attempt in range(times):
        response = sign_in(client, email, "wrong-password", ip)
        assert response.status_code == 200 and WRONG in response.text, attempt


def test_the_fifth_wrong_password_locks_and_then_the_right_one_is_refused(client, am_alice):
    fail(client, am_alice.email, 4)

    fifth = sign_in(client, am_alice.email, "wrong-password")
    assert fifth.status_code == 429
    assert LOCKED in fifth.text and "locked for 15 minutes" in fifth.text
    assert WRONG not in fifth.text

    sixth = sign_in(client, am_alice.email, PASSWORD)
    assert sixth.status_code == 429 and LOCKED in sixth.text
    assert not get_user(client).is_authenticated
    am_alice.refresh_from_db()
    assert am_alice.last_login is None
    # The page stays usable: the email is kept and the form is there to try later.
    assert f'value="{am_alice.email}"' in sixth.text and 'name="password"' in sixth.text


def test_the_count_is_per_email_whatever_its_case(client, am_alice):
    fail(client, "ALICE@example.com", 2)
    fail(client, "alice@EXAMPLE.com", 2)

    assert sign_in(client, "Alice@Example.com", "wrong-password").status_code == 429
    assert sign_in(client, am_alice.email, PASSWORD).status_code == 429


def test_after_the_cool_off_the_right_password_signs_in(client, am_alice):
    fail(client, am_alice.email, 4)
    assert sign_in(client, am_alice.email, "wrong-password").status_code == 429

    # Sixteen minutes later: the attempts are older than the 15-minute cool-off.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )

    response = sign_in(client, am_alice.email, PASSWORD)
    assert response.status_code == 302 and response.url == reverse("dashboard")
    assert get_user(client) == am_alice


def test_a_lockout_cleared_by_an_admin_lets_the_user_in(client, am_alice):
    fail(client, am_alice.email, 5 - 1)
    assert sign_in(client, am_alice.email, "wrong-password").status_code == 429

    assert reset(username=am_alice.email) == 1

    assert sign_in(client, am_alice.email, PASSWORD).status_code == 302


def test_another_user_and_another_address_are_not_locked(client, am_alice, am_bob):
    fail(client, am_alice.email, 4)
    assert sign_in(client, am_alice.email, "wrong-password").status_code == 429

    bob = sign_in(client, am_bob.email, PASSWORD)
    assert bob.status_code == 302 and get_user(client) == am_bob
    client.logout()

    elsewhere = sign_in(client, am_alice.email, PASSWORD, ip="10.0.0.2")
    assert elsewhere.status_code == 302 and get_user(client) == am_alice


def test_a_successful_sign_in_resets_the_count(client, am_alice):
    fail(client, am_alice.email, 4)
    assert sign_in(client, am_alice.email, PASSWORD).status_code == 302
    client.logout()

    # Four more wrong passwords are four, not eight: still not locked.
    fail(client, am_alice.email, 4)
    assert sign_in(client, am_alice.email, PASSWORD).status_code == 302


def test_admins_see_lockouts_in_the_admin(client, am_alice, admin_user):
    fail(client, am_alice.email, 4)
    sign_in(client, am_alice.email, "wrong-password")

    client.force_login(admin_user)
    page = client.get(reverse("admin:axes_accessattempt_changelist"))

    assert page.status_code == 200
    assert am_alice.email in page.text and "10.0.0.1" in page.text


def test_behind_a_trusted_proxy_each_client_address_is_counted_apart(client, am_alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.99"

    def through_proxy(forwarded, password="wrong-password"):
        return client.post(
            reverse("login"),
            {"username": am_alice.email, "password": password},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    for _ in range(5):
        through_proxy("203.0.113.7")
    assert LOCKED in through_proxy("203.0.113.7", PASSWORD).text
    # A forged address on the left changes nothing: the proxy's own entry is the right-most.
    assert LOCKED in through_proxy("198.51.100.1, 203.0.113.7", PASSWORD).text
    # Another client behind the same proxy signs in.
    assert through_proxy("203.0.113.8", PASSWORD).status_code == 302


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(client, am_alice, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(5):
        client.post(
            reverse("login"),
            {"username": am_alice.email, "password": "wrong-password"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",  # a client changing it every time
        )
    response = client.post(
        reverse("login"),
        {"username": am_alice.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.200",
    )
    assert LOCKED in response.text
