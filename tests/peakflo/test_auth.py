import re
from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user
from django.urls import reverse

from peakflo.models import User
from tests.conftest import PASSWORD

NEW_PASSWORD = "a-brand-new-passphrase-42"


def link_in(message):
    """The path of the one link in an email's text, and the same link in its HTML."""
    links = re.findall(r"https?://\S+", message.body)
    assert len(links) == 1, message.body
    html = message.alternatives[0].content
    assert links[0] in html
    return urlparse(links[0]).path


def test_the_login_page_asks_for_email_and_password(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert 'type="email"' in response.text and "autofocus" in response.text
    assert reverse("password_reset") in response.text


def test_login_with_the_right_password_goes_to_the_dashboard(client, am_alice):
    response = client.post(reverse("login"), {"username": "ALICE@example.com", "password": PASSWORD})

    assert response.status_code == 302 and response.url == reverse("dashboard")
    assert get_user(client) == am_alice
    am_alice.refresh_from_db()
    assert am_alice.last_login is not None


def test_a_wrong_password_says_so_and_changes_nothing(client, am_alice):
    response = client.post(reverse("login"), {"username": am_alice.email, "password": "wrong"})

    assert response.status_code == 200
    assert "do not match an account" in response.text
    assert not get_user(client).is_authenticated
    am_alice.refresh_from_db()
    assert am_alice.last_login is None


def test_an_inactive_user_cannot_log_in(client, am_alice):
    am_alice.is_active = False
    am_alice.save()

    response = client.post(reverse("login"), {"username": am_alice.email, "password": PASSWORD})

    assert response.status_code == 200
    assert "deactivated" in response.text
    assert not get_user(client).is_authenticated
    assert not client.login(email=am_alice.email, password=PASSWORD)


def test_an_inactive_user_with_a_wrong_password_learns_nothing_more(client, am_alice):
    am_alice.is_active = False
    am_alice.save()

    response = client.post(reverse("login"), {"username": am_alice.email, "password": "wrong"})

    assert "do not match an account" in response.text and "deactivated" not in response.text


def test_logout_is_a_post(client, am_alice):
    client.login(email=am_alice.email, password=PASSWORD)

    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))

    assert response.status_code == 302 and response.url == reverse("login")
    assert not get_user(client).is_authenticated


def test_pages_send_anonymous_visitors_to_login(client, db):
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_password_reset_sends_an_email_whose_link_sets_the_password(client, am_alice, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "Alice@Example.com"})

    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == [am_alice.email] and "Reset your" in email.subject
    path = link_in(email)

    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert done.status_code == 302 and done.url == reverse("password_reset_complete")
    assert client.login(email=am_alice.email, password=NEW_PASSWORD)
    assert not client.login(email=am_alice.email, password=PASSWORD)
    # The link is spent.
    client.logout()
    assert not client.get(path, follow=True).context["validlink"]


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, db, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert mailoutbox == []


def test_password_reset_is_not_sent_to_inactive_users(client, am_alice, mailoutbox):
    am_alice.is_active = False
    am_alice.save()

    client.post(reverse("password_reset"), {"email": am_alice.email})

    assert mailoutbox == []


def test_password_reset_mismatched_passwords_change_nothing(client, am_alice, mailoutbox):
    client.post(reverse("password_reset"), {"email": am_alice.email})
    set_url = client.get(link_in(mailoutbox[0]), follow=True).redirect_chain[-1][0]

    response = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": "something-else-9"})

    assert response.status_code == 200 and "didn’t match" in response.text
    assert User.objects.get(pk=am_alice.pk).check_password(PASSWORD)


def test_change_password(client, am_alice):
    client.login(email=am_alice.email, password=PASSWORD)

    wrong = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 200 and "old password was entered incorrectly" in wrong.text
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302 and response.url == reverse("password_change_done")
    assert User.objects.get(pk=am_alice.pk).check_password(NEW_PASSWORD)
    assert get_user(client) == am_alice  # still signed in
    assert client.get(reverse("password_change_done")).status_code == 200


@pytest.mark.parametrize(
    "name", ["login", "password_reset", "password_reset_done", "password_reset_complete"]
)
def test_public_auth_pages_render(client, db, name):
    assert client.get(reverse(name)).status_code == 200


def test_password_change_needs_a_login(client, db):
    response = client.get(reverse("password_change"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))
