import re
from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from peakflo import services
from peakflo.models import Role, User
from peakflo.permissions import admin_required, can_write, write_required
from tests.conftest import PASSWORD, make_user

NEW_PASSWORD = "a-brand-new-passphrase-42"


@pytest.fixture
def admin_client(client, admin_user):
    assert client.login(email=admin_user.email, password=PASSWORD)
    return client


def link_in(message):
    links = re.findall(r"https?://\S+", message.body)
    assert len(links) == 1, message.body
    assert links[0] in message.alternatives[0].content
    return urlparse(links[0]).path


def invite(client, captured, **data):
    with captured(execute=True):
        return client.post(
            reverse("settings_user_invite"),
            {"name": "Carol Chan", "email": "carol@example.com", "role": Role.COLLECTIONS, **data},
        )


# --- access ---------------------------------------------------------------------------------------


def settings_pages(user):
    return [
        ("get", reverse("settings_users")),
        ("get", reverse("settings_user_invite")),
        ("post", reverse("settings_user_invite")),
        ("get", reverse("settings_user_edit", args=[user.pk])),
        ("post", reverse("settings_user_edit", args=[user.pk])),
        ("post", reverse("settings_user_default", args=[user.pk])),
        ("get", reverse("settings_user_deactivate", args=[user.pk])),
        ("post", reverse("settings_user_deactivate", args=[user.pk])),
        ("post", reverse("settings_user_reactivate", args=[user.pk])),
        ("post", reverse("settings_user_resend_invitation", args=[user.pk])),
        ("get", reverse("settings_company")),
        ("post", reverse("settings_company")),
    ]


@pytest.mark.parametrize("role", [Role.AR_ADMIN, Role.COLLECTIONS, Role.ACCOUNT_MANAGER, Role.AUDITOR])
def test_every_other_role_gets_403_on_every_settings_page(client, admin_user, role, mailoutbox):
    user = make_user(f"{role}@example.com", role)
    client.login(email=user.email, password=PASSWORD)

    for method, url in settings_pages(admin_user):
        assert getattr(client, method)(url).status_code == 403, (method, url)

    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.role == Role.ADMIN
    assert User.objects.count() == 2 and mailoutbox == []


def test_anonymous_visitors_go_to_login(client, admin_user):
    for method, url in settings_pages(admin_user):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_a_superuser_of_another_role_is_an_admin(client, db):
    boss = make_user("boss@example.com", Role.COLLECTIONS, is_superuser=True)
    client.login(email=boss.email, password=PASSWORD)

    assert client.get(reverse("settings_users")).status_code == 200


def test_auditors_cannot_write_anywhere(rf, auditor, collections_user):
    assert not can_write(auditor)
    assert can_write(collections_user)

    @write_required
    def change_something(request):
        return "changed"

    @admin_required
    def settings_page(request):
        return "settings"

    request = rf.post("/anything/")
    request.user = auditor
    with pytest.raises(PermissionDenied):
        change_something(request)
    with pytest.raises(PermissionDenied):
        settings_page(request)
    request.user = collections_user
    assert change_something(request) == "changed"


# --- list -----------------------------------------------------------------------------------------


def test_the_list_shows_users_with_role_default_badge_status_and_last_login(
    admin_client, admin_user, am_alice
):
    am_alice.is_default_account_manager = True
    am_alice.save()
    make_user("gone@example.com", Role.COLLECTIONS, is_active=False)

    response = admin_client.get(reverse("settings_users"))

    assert response.status_code == 200
    text = response.text
    assert "alice@example.com" in text and "Account manager" in text and "Default AM" in text
    assert "Deactivated" in text and "Never" in text and "(you)" in text


def test_the_list_runs_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries, db):
    for i in range(30):
        make_user(f"user{i}@example.com", Role.ACCOUNT_MANAGER)

    with django_assert_max_num_queries(8):
        admin_client.get(reverse("settings_users"))


# --- invitations ----------------------------------------------------------------------------------


def test_an_invitation_creates_a_user_without_password_and_emails_a_link(
    admin_client, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    response = invite(admin_client, django_capture_on_commit_callbacks, email="Carol@Example.com")

    assert response.status_code == 302 and response.url == reverse("settings_users")
    carol = User.objects.get(email="carol@example.com")
    assert carol.role == Role.COLLECTIONS and carol.name == "Carol Chan"
    assert not carol.has_usable_password() and carol.is_active
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["carol@example.com"] and admin_user.name in email.subject
    assert "Collections" in email.body
    assert "Invited" in admin_client.get(reverse("settings_users")).text


def test_the_invitation_link_sets_the_password_and_signs_in(
    client, admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    invite(admin_client, django_capture_on_commit_callbacks)
    path = link_in(mailoutbox[0])
    admin_client.logout()

    page = client.get(path, follow=True)
    assert page.status_code == 200 and page.context["validlink"] and "Welcome, Carol" in page.text
    set_url = page.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert response.status_code == 302 and response.url == reverse("dashboard")
    carol = User.objects.get(email="carol@example.com")
    assert get_user(client) == carol
    client.logout()
    assert client.login(email="carol@example.com", password=NEW_PASSWORD)
    client.logout()
    # Used once: the link is spent.
    assert not client.get(path, follow=True).context["validlink"]


def test_an_invitation_link_is_not_a_password_reset_link(
    client, admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    invite(admin_client, django_capture_on_commit_callbacks)
    uid, token = link_in(mailoutbox[0]).strip("/").split("/")[-2:]
    admin_client.logout()

    page = client.get(reverse("password_reset_confirm", args=[uid, token]), follow=True)

    assert not page.context["validlink"]


def test_a_deactivated_invitee_cannot_use_the_link(
    client, admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    invite(admin_client, django_capture_on_commit_callbacks)
    User.objects.filter(email="carol@example.com").update(is_active=False)
    admin_client.logout()

    assert not client.get(link_in(mailoutbox[0]), follow=True).context["validlink"]


def test_an_invitation_to_an_address_in_use_is_refused_and_creates_nothing(
    admin_client, am_alice, mailoutbox, django_capture_on_commit_callbacks
):
    before = User.objects.count()

    response = invite(admin_client, django_capture_on_commit_callbacks, email="ALICE@example.com")

    assert response.status_code == 200
    assert "alice@example.com already belongs to Alice" in response.text
    assert response.context["form"].errors["email"]
    assert User.objects.count() == before and mailoutbox == []


def test_the_invite_service_refuses_an_address_in_use(admin_user, am_alice, mailoutbox):
    with pytest.raises(ValidationError) as error:
        services.invite_user(name="X", email="Alice@Example.COM", role=Role.ADMIN, invited_by=admin_user)

    assert "already belongs to Alice" in str(error.value)
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1 and mailoutbox == []


def test_an_invitation_with_bad_fields_names_them(
    admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    response = invite(admin_client, django_capture_on_commit_callbacks, email="not-an-address", role="boss")

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"email", "role"}
    assert User.objects.filter(name="Carol Chan").count() == 0 and mailoutbox == []


def test_resending_an_invitation(admin_client, mailoutbox, django_capture_on_commit_callbacks):
    invite(admin_client, django_capture_on_commit_callbacks)
    carol = User.objects.get(email="carol@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("settings_user_resend_invitation", args=[carol.pk]))

    assert response.status_code == 302 and len(mailoutbox) == 2
    assert mailoutbox[1].to == ["carol@example.com"]


def test_an_invitee_may_use_forgot_password(
    client, admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    invite(admin_client, django_capture_on_commit_callbacks)
    admin_client.logout()

    client.post(reverse("password_reset"), {"email": "carol@example.com"})

    assert len(mailoutbox) == 2 and mailoutbox[1].to == ["carol@example.com"]


# --- role and name --------------------------------------------------------------------------------


def test_change_role_and_name(admin_client, am_alice):
    response = admin_client.post(
        reverse("settings_user_edit", args=[am_alice.pk]), {"name": "Alice Tan", "role": Role.AR_ADMIN}
    )

    assert response.status_code == 302
    am_alice.refresh_from_db()
    assert am_alice.role == Role.AR_ADMIN and am_alice.name == "Alice Tan"


def test_an_admin_cannot_take_away_their_own_admin_role(admin_client, admin_user):
    response = admin_client.post(
        reverse("settings_user_edit", args=[admin_user.pk]), {"name": "Me", "role": Role.AUDITOR}
    )

    assert response.status_code == 200 and "your own admin role" in response.text
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN and admin_user.name == "Admin"


# --- the default account manager ------------------------------------------------------------------


def test_the_database_refuses_a_second_default_account_manager(am_alice, am_bob):
    User.objects.filter(pk=am_alice.pk).update(is_default_account_manager=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=am_bob.pk).update(is_default_account_manager=True)


def test_set_and_remove_the_default(admin_client, am_alice):
    url = reverse("settings_user_default", args=[am_alice.pk])

    admin_client.post(url)
    am_alice.refresh_from_db()
    assert am_alice.is_default_account_manager

    admin_client.post(url, {"action": "remove"})
    am_alice.refresh_from_db()
    assert not am_alice.is_default_account_manager


def test_a_direct_attempt_at_a_second_default_is_refused_by_name(admin_client, am_alice, am_bob):
    services.set_default_account_manager(user=am_alice)

    response = admin_client.post(reverse("settings_user_default", args=[am_bob.pk]), follow=True)

    assert "Alice is already the default account manager" in response.text
    assert list(User.objects.filter(is_default_account_manager=True)) == [am_alice]


def test_the_service_refuses_a_second_default(am_alice, am_bob):
    services.set_default_account_manager(user=am_alice)

    with pytest.raises(ValidationError, match="Alice is already the default"):
        services.set_default_account_manager(user=am_bob)

    assert list(User.objects.filter(is_default_account_manager=True)) == [am_alice]


def test_the_explicit_switch_replaces_the_default_in_one_step(admin_client, am_alice, am_bob):
    services.set_default_account_manager(user=am_alice)
    page = admin_client.get(reverse("settings_user_edit", args=[am_bob.pk]))
    assert "Make Bob the default instead of Alice" in page.text

    admin_client.post(reverse("settings_user_default", args=[am_bob.pk]), {"replacing": am_alice.pk})

    assert list(User.objects.filter(is_default_account_manager=True)) == [am_bob]


def test_a_switch_naming_the_wrong_current_default_changes_nothing(admin_client, am_alice, am_bob, ar_admin):
    services.set_default_account_manager(user=am_alice)

    admin_client.post(reverse("settings_user_default", args=[am_bob.pk]), {"replacing": ar_admin.pk})

    assert list(User.objects.filter(is_default_account_manager=True)) == [am_alice]


def test_a_deactivated_user_cannot_become_the_default(admin_client, am_alice):
    am_alice.is_active = False
    am_alice.save()

    response = admin_client.post(reverse("settings_user_default", args=[am_alice.pk]), follow=True)

    assert "deactivated" in response.text
    assert not User.objects.filter(is_default_account_manager=True).exists()


# --- deactivate / reactivate ----------------------------------------------------------------------


def test_deactivate_asks_first_then_removes_the_default_flag(admin_client, am_alice):
    services.set_default_account_manager(user=am_alice)
    url = reverse("settings_user_deactivate", args=[am_alice.pk])

    confirm = admin_client.get(url)
    am_alice.refresh_from_db()
    assert confirm.status_code == 200 and "Deactivate Alice?" in confirm.text and am_alice.is_active
    assert "default account manager" in confirm.text

    response = admin_client.post(url)

    assert response.status_code == 302
    am_alice.refresh_from_db()
    assert not am_alice.is_active and not am_alice.is_default_account_manager


def test_an_admin_cannot_deactivate_themself(admin_client, admin_user):
    response = admin_client.post(reverse("settings_user_deactivate", args=[admin_user.pk]), follow=True)

    assert "cannot deactivate yourself" in response.text
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_a_deactivated_user_is_signed_out_and_can_be_reactivated(client, admin_user, am_alice):
    client.login(email=am_alice.email, password=PASSWORD)
    services.deactivate_user(user=am_alice, by=admin_user)

    assert client.get(reverse("dashboard")).status_code == 302  # their session no longer works

    other = client.__class__()
    other.login(email=admin_user.email, password=PASSWORD)
    other.post(reverse("settings_user_reactivate", args=[am_alice.pk]))
    am_alice.refresh_from_db()
    assert am_alice.is_active
    assert client.login(email=am_alice.email, password=PASSWORD)


def test_unknown_users_are_404(admin_client, db):
    assert admin_client.get(reverse("settings_user_edit", args=[999999])).status_code == 404


# --- Django admin ---------------------------------------------------------------------------------


def test_the_user_admin_lists_searches_and_filters(admin_client, am_alice, am_bob):
    response = admin_client.get("/admin/peakflo/user/", {"q": "alice", "role__exact": Role.ACCOUNT_MANAGER})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [am_alice]


def test_the_user_admin_adds_a_user_by_email_without_username(admin_client, db):
    response = admin_client.post(
        "/admin/peakflo/user/add/",
        {
            "email": "Dora@Example.com",
            "name": "Dora",
            "role": Role.AR_ADMIN,
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    dora = User.objects.get(email="dora@example.com")
    assert dora.role == Role.AR_ADMIN and dora.check_password(NEW_PASSWORD)


def test_the_user_admin_refuses_a_taken_email_and_a_second_default(admin_client, am_alice, am_bob):
    services.set_default_account_manager(user=am_alice)
    taken = admin_client.post(
        "/admin/peakflo/user/add/",
        {"email": "ALICE@example.com", "name": "X", "role": Role.ADMIN, "usable_password": "false"},
    )
    assert taken.status_code == 200 and "already in use" in taken.text

    data = {
        "email": am_bob.email,
        "name": am_bob.name,
        "role": am_bob.role,
        "is_default_account_manager": "on",
        "is_active": "on",
    }
    response = admin_client.post(f"/admin/peakflo/user/{am_bob.pk}/change/", data)

    assert response.status_code == 200 and "already the default account manager" in response.text
    assert list(User.objects.filter(is_default_account_manager=True)) == [am_alice]
