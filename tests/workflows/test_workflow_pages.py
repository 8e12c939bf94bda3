import pytest
from django.urls import reverse

from customers.models import Customer
from tests.conftest import PASSWORD
from workflows.models import Action, ActionType, Trigger, Workflow


def login(client, user):
    assert client.login(username=user.email, password=PASSWORD)
    return client


@pytest.fixture
def default(db):
    return Workflow.objects.get(is_default=True)


@pytest.fixture
def gentle(db, am_alice):
    flow = Workflow.objects.create(name="Gentle", description="For good payers", contact_delay_days=5)
    Action.objects.create(workflow=flow, name="Late call", trigger=Trigger.AFTER_DUE, days=10,
                          action_type=ActionType.PHONE_CALL)  # fmt: skip
    reminder = Action.objects.create(
        workflow=flow,
        name="Heads-up",
        trigger=Trigger.BEFORE_DUE,
        days=3,
        action_type=ActionType.EMAIL,
        subject="Invoice {{ invoiceNumber }}",
        body="Dear {{ recipientName }}",
        cc="finance@acme.test",
    )
    reminder.internal_recipients.add(am_alice)
    return flow


# ---------- who may do what ----------

READ_PAGES = [("workflows", False), ("workflow_edit", True)]
WRITE_GETS = [("workflow_add", False), ("workflow_delete", True)]
WRITE_POSTS = ["workflow_duplicate", "workflow_set_default", "workflow_delete"]


def _url(name, with_pk, workflow):
    return reverse(name, args=[workflow.pk]) if with_pk else reverse(name)


@pytest.mark.parametrize("name,with_pk", READ_PAGES + WRITE_GETS)
def test_anonymous_users_are_sent_to_login(client, gentle, name, with_pk):
    response = client.get(_url(name, with_pk, gentle))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", WRITE_POSTS)
def test_anonymous_posts_change_nothing(client, gentle, name):
    response = client.post(reverse(name, args=[gentle.pk]))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert Workflow.objects.filter(pk=gentle.pk, is_default=False).exists()
    assert Workflow.objects.count() == 2


@pytest.mark.parametrize("role", ["collections_user", "am_alice", "auditor", "admin_user", "ar_admin"])
@pytest.mark.parametrize("name,with_pk", READ_PAGES)
def test_everyone_signed_in_may_look(client, request, gentle, role, name, with_pk):
    response = login(client, request.getfixturevalue(role)).get(_url(name, with_pk, gentle))

    assert response.status_code == 200
    assert b"Gentle" in response.content


@pytest.mark.parametrize("role", ["collections_user", "am_alice", "auditor"])
def test_only_admins_and_ar_admins_may_change(client, request, gentle, role):
    login(client, request.getfixturevalue(role))

    for name, with_pk in WRITE_GETS:
        assert client.get(_url(name, with_pk, gentle)).status_code == 403
    for name in WRITE_POSTS:
        assert client.post(reverse(name, args=[gentle.pk])).status_code == 403
    edit = client.post(
        reverse("workflow_edit", args=[gentle.pk]), {"name": "Hacked", "contact_delay_days": 1}
    )
    assert edit.status_code == 403
    assert client.post(reverse("workflow_add"), {"name": "New", "contact_delay_days": 1}).status_code == 403

    assert list(Workflow.objects.order_by("name").values_list("name", flat=True)) == [
        "Gentle",
        "Standard reminders",
    ]
    assert Workflow.objects.get(is_default=True).name == "Standard reminders"


def test_viewers_see_no_change_buttons(client, auditor, gentle):
    page = login(client, auditor).get(reverse("workflows")).content.decode()

    assert "Add Workflow" not in page and "Duplicate" not in page
    assert "changed by admins and AR admins" in page


# ---------- the list ----------


def test_list_shows_actions_in_order_in_words_with_usage_and_default(client, ar_admin, book, default, gentle):
    Customer.objects.filter(pk__in=[book["acme"].pk, book["globex"].pk]).update(workflow=gentle)

    page = login(client, ar_admin).get(reverse("workflows")).content.decode()

    assert page.index("3 days before the due date") < page.index("Heads-up") < page.index("10 days after")
    assert "Used by <strong>2 customers</strong>" in page
    # The default counts every customer without a workflow: the other three of the book.
    assert "Used by <strong>3 customers</strong> (including those without a workflow)" in page
    assert page.index("Standard reminders") < page.index("Gentle")
    assert "On the due date" in page and "badge-success" in page


def test_settings_index_links_to_workflows(client, collections_user):
    page = login(client, collections_user).get(reverse("settings_index")).content.decode()

    assert reverse("workflows") in page


# ---------- add and edit ----------


def test_admin_adds_a_workflow(client, admin_user):
    response = login(client, admin_user).post(
        reverse("workflow_add"),
        {
            "name": "Strict",
            "description": "Short leash",
            "from_email": "ar@example.com",
            "reply_to": "",
            "contact_delay_days": 2,
            "business_days_only": "on",
        },
    )

    strict = Workflow.objects.get(name="Strict")
    assert response.status_code == 302 and response.url == reverse("workflow_edit", args=[strict.pk])
    assert (strict.from_email, strict.contact_delay_days, strict.business_days_only, strict.is_default) == (
        "ar@example.com",
        2,
        True,
        False,
    )


def test_ar_admin_edits_settings_and_bad_input_saves_nothing(client, ar_admin, gentle):
    login(client, ar_admin)
    url = reverse("workflow_edit", args=[gentle.pk])

    bad = client.post(
        url, {"name": "Standard reminders", "from_email": "not-an-email", "contact_delay_days": 1}
    )
    assert bad.status_code == 200 and b"nothing was saved" in bad.content
    gentle.refresh_from_db()
    assert gentle.name == "Gentle"

    client.post(url, {"name": "Gentler", "reply_to": "help@example.com", "contact_delay_days": 7})
    gentle.refresh_from_db()
    assert (gentle.name, gentle.reply_to, gentle.contact_delay_days, gentle.business_days_only) == (
        "Gentler",
        "help@example.com",
        7,
        False,
    )


# ---------- duplicate, default, delete ----------


def test_duplicate_copies_every_action(client, admin_user, am_alice, gentle):
    response = login(client, admin_user).post(reverse("workflow_duplicate", args=[gentle.pk]))

    copy = Workflow.objects.get(name="Gentle (copy)")
    assert response.url == reverse("workflow_edit", args=[copy.pk])
    assert not copy.is_default and copy.contact_delay_days == 5 and copy.description == "For good payers"
    copied = {a.name: a for a in copy.actions.all()}
    assert set(copied) == {"Late call", "Heads-up"}
    assert copied["Heads-up"].subject == "Invoice {{ invoiceNumber }}"
    assert copied["Heads-up"].cc == "finance@acme.test"
    assert list(copied["Heads-up"].internal_recipients.all()) == [am_alice]
    assert gentle.actions.count() == 2  # the original keeps its own

    client.post(reverse("workflow_duplicate", args=[gentle.pk]))
    assert Workflow.objects.filter(name="Gentle (copy) 2").exists()


def test_set_default_moves_the_one_flag(client, ar_admin, default, gentle):
    login(client, ar_admin).post(reverse("workflow_set_default", args=[gentle.pk]))

    assert list(Workflow.objects.filter(is_default=True)) == [gentle]


def test_delete_is_refused_while_customers_use_it(client, admin_user, book, gentle):
    Customer.objects.filter(pk__in=[book["acme"].pk, book["globex"].pk]).update(workflow=gentle)
    login(client, admin_user)
    url = reverse("workflow_delete", args=[gentle.pk])

    assert "used by <strong>2 customers</strong>" in client.get(url).content.decode()
    response = client.post(url, follow=True)

    assert Workflow.objects.filter(pk=gentle.pk).exists() and gentle.actions.count() == 2
    assert "Used by 2 customers" in response.content.decode()


def test_the_default_cannot_be_deleted(client, admin_user, default):
    login(client, admin_user)
    url = reverse("workflow_delete", args=[default.pk])

    assert b"cannot be deleted" in client.get(url).content
    client.post(url)

    assert Workflow.objects.filter(pk=default.pk, is_default=True).exists()


def test_an_unused_workflow_is_deleted_with_its_actions(client, admin_user, gentle):
    response = login(client, admin_user).post(reverse("workflow_delete", args=[gentle.pk]))

    assert response.url == reverse("workflows")
    assert not Workflow.objects.filter(pk=gentle.pk).exists()
    assert not Action.objects.filter(workflow_id=gentle.pk).exists()
