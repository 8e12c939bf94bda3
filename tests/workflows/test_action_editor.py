import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from workflows.models import Action, ActionType, Trigger, Workflow


def login(client, user):
    assert client.login(username=user.email, password=PASSWORD)
    return client


@pytest.fixture
def flow(db):
    return Workflow.objects.create(name="Gentle")


@pytest.fixture
def reminder(flow):
    return Action.objects.create(
        workflow=flow,
        name="Heads-up",
        trigger=Trigger.BEFORE_DUE,
        days=3,
        action_type=ActionType.EMAIL,
        subject="Invoice {{ invoiceNumber }}",
        body="Dear {{ recipientName }}",
    )


def email_action(**changes):
    data = {
        "name": "Friendly reminder",
        "action_type": "email",
        "trigger": "before_due",
        "days": "3",
        "day_of_month": "",
        "dates": "",
        "repeat_every_days": "",
        "repeat_max": "",
        "owner": "",
        "to_main_contact": "on",
        "cc": "",
        "bcc": "",
        "subject": "Invoice {{ invoiceNumber }} is due on {{ invoiceDueDate }}",
        "body": "Dear {{ recipientName }},\n\n{{ table_outstanding_invoices }}",
        "is_active": "on",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


# ---------- who may do what ----------


def test_anonymous_users_are_sent_to_login(client, flow, reminder):
    for url in [
        reverse("action_add", args=[flow.pk]),
        reverse("action_edit", args=[reminder.pk]),
        reverse("action_delete", args=[reminder.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
    response = client.post(reverse("action_preview"), {"body": "x"})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("role", ["collections_user", "am_alice", "auditor"])
def test_viewers_may_not_edit_actions(client, request, flow, reminder, role):
    login(client, request.getfixturevalue(role))

    assert client.get(reverse("action_add", args=[flow.pk])).status_code == 403
    assert client.post(reverse("action_add", args=[flow.pk]), email_action()).status_code == 403
    assert client.get(reverse("action_edit", args=[reminder.pk])).status_code == 403
    assert client.post(reverse("action_edit", args=[reminder.pk]), email_action(name="X")).status_code == 403
    assert client.post(reverse("action_delete", args=[reminder.pk])).status_code == 403
    assert client.post(reverse("action_preview"), {"body": "x"}).status_code == 403

    assert list(flow.actions.values_list("name", flat=True)) == ["Heads-up"]


# ---------- create, edit, delete ----------


def test_ar_admin_creates_an_email_action(client, ar_admin, am_alice, flow):
    response = login(client, ar_admin).post(
        reverse("action_add", args=[flow.pk]),
        email_action(
            owner=str(am_alice.pk),
            internal_recipients=[str(am_alice.pk)],
            cc="Finance@Acme.test; boss@acme.test",
            bcc="audit@example.com",
            attach_invoice_pdf="on",
            repeat_every_days="7",
            repeat_max="3",
        ),
    )

    assert response.status_code == 302 and response.url == reverse("workflow_edit", args=[flow.pk])
    action = flow.actions.get()
    assert (action.trigger, action.days, action.owner, action.cc, action.bcc) == (
        "before_due",
        3,
        am_alice,
        "finance@acme.test, boss@acme.test",
        "audit@example.com",
    )
    assert (action.repeat_every_days, action.repeat_max, action.attach_invoice_pdf) == (7, 3, True)
    assert list(action.internal_recipients.all()) == [am_alice]


def test_the_editor_page_offers_placeholders_and_a_live_preview(client, admin_user, flow):
    page = login(client, admin_user).get(reverse("action_add", args=[flow.pk])).content.decode()

    assert 'data-insert="{{ invoiceNumber }}"' in page
    assert f'hx-post="{reverse("action_preview")}"' in page
    assert "The customer&#x27;s account manager" in page


def test_each_trigger_keeps_only_its_own_fields(client, admin_user, flow):
    login(client, admin_user)
    url = reverse("action_add", args=[flow.pk])

    client.post(url, email_action(name="Monthly", trigger="monthly", days="9", day_of_month="5"))
    client.post(url, email_action(name="Dated", trigger="on_dates", days="9", dates="2027-01-15, 2026-12-01"))

    monthly, dated = Action.objects.get(name="Monthly"), Action.objects.get(name="Dated")
    assert (monthly.days, monthly.day_of_month, monthly.dates) == (0, 5, [])
    assert (dated.days, dated.day_of_month, dated.dates) == (0, None, ["2026-12-01", "2027-01-15"])


@pytest.mark.parametrize(
    "changes,field_error",
    [
        ({"trigger": "monthly", "day_of_month": "31"}, "day of the month from 1 to 28"),
        ({"trigger": "monthly", "day_of_month": ""}, "day of the month from 1 to 28"),
        ({"trigger": "on_dates", "dates": "next tuesday"}, "Not a date"),
        ({"trigger": "on_dates", "dates": ""}, "at least one date"),
        ({"cc": "finance@acme.test, not-an-address"}, "Not an email address: not-an-address"),
        ({"repeat_max": "3"}, "how often it repeats"),
        ({"to_main_contact": None}, "whom to send it to"),
        ({"subject": ""}, "needs a subject"),
    ],
)
def test_bad_actions_show_the_error_and_save_nothing(client, admin_user, flow, changes, field_error):
    response = login(client, admin_user).post(reverse("action_add", args=[flow.pk]), email_action(**changes))

    assert response.status_code == 200
    assert field_error in response.content.decode()
    assert not flow.actions.exists()


@pytest.mark.parametrize(
    "field,template,named",
    [
        ("body", "Dear {{ nope }}", "{{ nope }}"),
        ("subject", "Re {{ invoice.customer }}", "{{ invoice.customer }}"),
        ("body", "{% for x in y %}", "{{ % for x in y % }}"),
    ],
)
def test_an_unknown_placeholder_is_an_error_at_save_time(
    client, admin_user, flow, reminder, field, template, named
):
    login(client, admin_user)

    created = client.post(reverse("action_add", args=[flow.pk]), email_action(**{field: template}))
    edited = client.post(reverse("action_edit", args=[reminder.pk]), email_action(**{field: template}))

    for response in (created, edited):
        assert response.status_code == 200
        assert f"uses {named}, which is not a placeholder" in response.content.decode().replace("&#x27;", "'")
    assert list(flow.actions.values_list("name", flat=True)) == ["Heads-up"]
    reminder.refresh_from_db()
    assert (reminder.subject, reminder.body) == ("Invoice {{ invoiceNumber }}", "Dear {{ recipientName }}")


def test_manual_actions_drop_recipients_and_channel_fields(client, admin_user, am_alice, flow):
    login(client, admin_user).post(
        reverse("action_add", args=[flow.pk]),
        email_action(
            name="Call",
            action_type="phone_call",
            to_main_contact="on",
            internal_recipients=[str(am_alice.pk)],
            cc="x@example.com",
            attach_invoice_pdf="on",
            subject="Call about {{ invoiceNumber }}",
            body="",
        ),
    )

    call = Action.objects.get(name="Call")
    assert (call.to_main_contact, call.cc, call.attach_invoice_pdf, call.subject) == (
        False,
        "",
        False,
        "Call about {{ invoiceNumber }}",
    )
    assert not call.internal_recipients.exists()


def test_text_channels_keep_no_subject(client, admin_user, flow):
    login(client, admin_user).post(
        reverse("action_add", args=[flow.pk]),
        email_action(name="Nudge", action_type="whatsapp", subject="ignored", body="Hi {{ recipientName }}"),
    )

    assert Action.objects.get(name="Nudge").subject == ""


def test_edit_saves_and_delete_confirms_then_deletes(client, ar_admin, flow, reminder):
    login(client, ar_admin)

    client.post(reverse("action_edit", args=[reminder.pk]), email_action(name="Renamed", days="5"))
    reminder.refresh_from_db()
    assert (reminder.name, reminder.days) == ("Renamed", 5)

    confirm = client.get(reverse("action_delete", args=[reminder.pk]))
    assert confirm.status_code == 200 and b"Delete the action" in confirm.content
    assert Action.objects.filter(pk=reminder.pk).exists()

    response = client.post(reverse("action_delete", args=[reminder.pk]))
    assert response.url == reverse("workflow_edit", args=[flow.pk])
    assert not Action.objects.filter(pk=reminder.pk).exists()


def test_workflow_page_lists_the_triggers_in_words(client, auditor, flow, reminder):
    Action.objects.create(workflow=flow, name="Monthly", trigger=Trigger.MONTHLY, day_of_month=1,
                          action_type=ActionType.LETTER, repeat_every_days=7, repeat_max=2)  # fmt: skip
    Action.objects.create(workflow=flow, name="Dated", trigger=Trigger.ON_DATES, dates=["2026-12-01"])

    page = login(client, auditor).get(reverse("workflow_edit", args=[flow.pk])).content.decode()

    assert "3 days before the due date" in page
    assert "Every month on the 1st" in page and "then every 7 days, at most 2 times" in page
    assert "On 1 Dec 2026" in page
    assert reverse("action_edit", args=[reminder.pk]) not in page  # viewers get no edit links


# ---------- the preview ----------


def test_preview_renders_sample_values_as_html_for_email(client, admin_user):
    response = login(client, admin_user).post(
        reverse("action_preview"),
        {
            "action_type": "email",
            "subject": "Invoice {{ invoiceNumber }}",
            "body": "Dear {{ recipientName }} <script>alert(1)</script>\n{{ table_outstanding_invoices }}",
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Invoice INV-2026-0187" in page and "Dear Priya Raman" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "<table" in page and "<br>" in page


def test_preview_renders_text_for_messaging_channels(client, admin_user):
    page = (
        login(client, admin_user)
        .post(
            reverse("action_preview"),
            {"action_type": "sms", "body": "<b>Hi</b> {{ recipientName }}\n{{ table_outstanding_invoices }}"},
        )
        .content.decode()
    )

    assert "&lt;b&gt;Hi&lt;/b&gt; Priya Raman" in page
    assert "INV-2026-0187 · due" in page and "<table" not in page


def test_preview_names_unknown_placeholders(client, admin_user):
    page = (
        login(client, admin_user)
        .post(reverse("action_preview"), {"action_type": "email", "subject": "{{ nope }}", "body": "Hi"})
        .content.decode()
    )

    assert "{{ nope }}, which is not a placeholder" in page


def test_the_editor_warns_about_a_channel_without_settings(client, admin_user, flow, settings):
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = settings.TWILIO_FROM_NUMBER = ""
    settings.LINE_CHANNEL_ACCESS_TOKEN = "configured"

    page = login(client, admin_user).get(reverse("action_add", args=[flow.pk])).content.decode()

    assert "SMS is not configured on this server: set TWILIO_ACCOUNT_SID" in page
    assert "LINE is not configured" not in page
