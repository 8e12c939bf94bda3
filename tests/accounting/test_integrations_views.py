"""Settings → Integrations and the sync log, through the real connectors against the local emulators.

The OAuth consent is the emulators' (they answer the authorization URL with a redirect to our
callback carrying a code and the state); the sync behind Sync now runs through Celery in eager
mode, so the run a test looks at is the one the button started.
"""

import datetime as dt
import io
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.messages import get_messages
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from accounting.models import Connection, ConnectionStatus, SyncRun, SyncStatus
from customers.models import Customer
from invoices.models import Invoice
from peakflo.models import Company, Role
from tests.conftest import PASSWORD, make_user

PAGE = "/settings/integrations/"
CALLBACK = "/settings/integrations/callback/"
LOG = "/settings/integrations/log/"
EXPORT = "/settings/integrations/log/export.xlsx"


def login(client, user):
    assert client.login(username=user.email, password=PASSWORD)
    return client


def texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def eager_celery():
    from peakflo.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def consent(client, provider):
    """Press Connect, let the emulator play the consent, and come back to the callback: returns the
    callback's response (not followed)."""
    response = client.post(f"{PAGE}connect/{provider}/")
    assert response.status_code == 302
    answer = requests.get(response["Location"], allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert back.path == CALLBACK
    return client.get(f"{back.path}?{back.query}")


def connected_xero(xero, admin_user, **fields):
    tokens = xero.issue_tokens()
    connection = Connection(
        provider="xero",
        tenant_id=xero.tenant_id,
        tenant_name="Demo Company (SG)",
        token_expires_at=timezone.now() + dt.timedelta(minutes=30),
        connected_by=admin_user,
        **fields,
    )
    connection.access_token = tokens["access_token"]
    connection.refresh_token = tokens["refresh_token"]
    connection.save()
    return connection


# --- who may do what -------------------------------------------------------------------------------


@pytest.fixture
def people(db):
    return {
        "admin": make_user("admin@example.com", Role.ADMIN),
        "ar_admin": make_user("ar@example.com", Role.AR_ADMIN),
        "collections": make_user("collections@example.com", Role.COLLECTIONS),
        "account_manager": make_user("alice@example.com", Role.ACCOUNT_MANAGER),
        "auditor": make_user("auditor@example.com", Role.AUDITOR),
    }


@pytest.fixture
def a_connection(people):
    connection = Connection(
        provider="xero", tenant_id="t-1", tenant_name="Acme Books", connected_by=people["admin"]
    )
    connection.access_token, connection.refresh_token = "a", "r"
    connection.save()
    SyncRun.objects.create(
        connection=connection,
        trigger="schedule",
        status=SyncStatus.SUCCEEDED,
        started_at=timezone.now() - dt.timedelta(minutes=3),
        finished_at=timezone.now() - dt.timedelta(minutes=2),
        created=4,
    )
    return connection


# (method, url, what the admin gets, what an auditor gets); everyone else: 403
def urls(pk):
    return [
        ("get", PAGE, 200, 200),
        ("get", LOG, 200, 200),
        ("get", EXPORT, 200, 200),
        ("get", f"{PAGE}{pk}/progress/", 200, 200),
        ("post", f"{PAGE}connect/quickbooks/", 302, 403),
        ("get", f"{CALLBACK}?state=x&code=y", 302, 403),
        ("get", f"{PAGE}choose/", 302, 403),
        ("post", f"{PAGE}{pk}/sync/", 302, 403),
        ("get", f"{PAGE}{pk}/disconnect/", 200, 403),
    ]


@pytest.mark.parametrize("role", ["admin", "ar_admin", "collections", "account_manager", "auditor", None])
def test_role_matrix_on_every_integrations_url(
    client, people, a_connection, role, django_capture_on_commit_callbacks
):
    if role:
        login(client, people[role])
    for method, url, for_admin, for_auditor in urls(a_connection.pk):
        with django_capture_on_commit_callbacks(execute=False) as queued:
            response = getattr(client, method)(url)
        if role is None:
            assert response.status_code == 302 and response["Location"].startswith("/login/"), url
        elif role == "admin":
            assert response.status_code == for_admin, url
        elif role == "auditor":
            assert response.status_code == for_auditor, url
        else:
            assert response.status_code == 403, (role, url)
        if role != "admin":
            assert queued == [], url  # nobody else starts a sync
    # Nobody but the admin changed the connection (the admin's Sync now is the only thing queued).
    a_connection.refresh_from_db()
    assert a_connection.status == ConnectionStatus.CONNECTED and a_connection.access_token == "a"


def test_the_settings_index_links_integrations_for_admins_and_auditors_only(client, people):
    for role, shown in [("admin", True), ("auditor", True), ("ar_admin", False), ("account_manager", False)]:
        client.logout()
        page = login(client, people[role]).get("/settings/").content.decode()
        assert ('href="/settings/integrations/"' in page) is shown, role


def test_the_auditor_sees_the_connections_without_buttons(client, people, a_connection):
    page = login(client, people["auditor"]).get(PAGE).content.decode()
    assert "Acme Books" in page and "Sync now" not in page and "Disconnect" not in page
    assert "Only admins can connect, sync or disconnect" in page


# --- not set up ------------------------------------------------------------------------------------


def test_a_provider_without_a_client_id_says_what_to_set(client, admin_user, settings):
    settings.XERO_CLIENT_ID = ""
    settings.QUICKBOOKS_CLIENT_ID = ""
    settings.SITE_URL = "https://collect.example.com"
    page = login(client, admin_user).get(PAGE).content.decode()
    assert page.count("is not set up on this server yet") == 2
    for name in [
        "XERO_CLIENT_ID",
        "XERO_CLIENT_SECRET",
        "XERO_WEBHOOK_KEY",
        "QUICKBOOKS_CLIENT_ID",
        "QUICKBOOKS_CLIENT_SECRET",
    ]:
        assert f"<code>{name}</code>" in page
    assert "https://collect.example.com/settings/integrations/callback/" in page
    assert "https://collect.example.com/webhooks/xero/" in page
    assert "Connect Xero" not in page
    response = client.post(f"{PAGE}connect/xero/")
    assert response.status_code == 302 and response["Location"] == PAGE
    assert texts(response) == ["Xero is not set up yet: set XERO_CLIENT_ID, XERO_CLIENT_SECRET first."]


def test_an_unknown_provider_is_404(client, admin_user):
    assert login(client, admin_user).post(f"{PAGE}connect/sage/").status_code == 404


# --- OAuth ------------------------------------------------------------------------------------------


def test_connecting_xero_saves_the_organisation_with_encrypted_tokens(client, admin_user, xero, settings):
    settings.SITE_URL = "http://testserver"
    login(client, admin_user)
    response = client.post(f"{PAGE}connect/xero/")
    location = urlsplit(response["Location"])
    query = parse_qs(location.query)
    assert location.path == "/identity/connect/authorize"
    assert query["redirect_uri"] == ["http://testserver/settings/integrations/callback/"]
    assert query["state"] == [client.session["accounting_oauth"]["state"]] and len(query["state"][0]) >= 40
    assert not Connection.objects.exists()

    answer = requests.get(response["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(answer.headers["Location"])
    response = client.get(f"{back.path}?{back.query}")

    assert response.status_code == 302 and response["Location"] == PAGE
    connection = Connection.objects.get()
    assert (connection.provider, connection.tenant_id, connection.tenant_name) == (
        "xero",
        xero.tenant_id,
        "Demo Company (SG)",
    )
    assert connection.status == ConnectionStatus.CONNECTED and connection.connected_by == admin_user
    assert connection.access_token in xero.access_tokens and connection.refresh_token in xero.refresh_tokens
    assert connection.token_expires_at > timezone.now() + dt.timedelta(minutes=25)
    with db_connection.cursor() as cursor:  # encrypted at rest
        cursor.execute("select access_token from accounting_connection")
        assert connection.access_token not in cursor.fetchone()[0]
    assert texts(response) == [
        "Xero: Demo Company (SG) is connected. Press Sync now, or wait for the next sync (every 5 minutes)."
    ]
    assert "accounting_oauth" not in client.session  # the state is used once
    page = client.get(PAGE).content.decode()
    assert "Demo Company (SG)" in page and "Connected" in page and "Sync now" in page
    assert connection.access_token not in page and connection.refresh_token not in page


def test_a_wrong_or_missing_state_saves_nothing(client, admin_user, xero):
    login(client, admin_user)
    response = client.post(f"{PAGE}connect/xero/")
    answer = requests.get(response["Location"], allow_redirects=False, timeout=5)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    code = query["code"][0]

    forged = client.get(CALLBACK, {"code": code, "state": "somebody-else's"})
    assert forged.status_code == 302 and forged["Location"] == PAGE
    assert texts(forged)[0].startswith(
        "The connection could not be made: the answer from the accounting system does not match"
    )
    # the state is spent by the failed try: the genuine answer no longer works either
    again = client.get(CALLBACK, {"code": code, "state": query["state"][0]})
    assert texts(again)[0].startswith("The connection could not be made")
    missing = client.get(CALLBACK, {"code": code})
    assert texts(missing)[0].startswith("The connection could not be made")
    assert not Connection.objects.exists()


def test_the_provider_declining_or_a_bad_code_is_said_plainly(client, admin_user, xero):
    login(client, admin_user)
    client.post(f"{PAGE}connect/xero/")
    state = client.session["accounting_oauth"]["state"]
    declined = client.get(CALLBACK, {"error": "access_denied", "state": state})
    assert texts(declined) == [
        "Xero did not connect: access was declined on the consent screen. Nothing was saved."
    ]

    client.post(f"{PAGE}connect/xero/")
    state = client.session["accounting_oauth"]["state"]
    bad = client.get(CALLBACK, {"code": "not-a-code-xero-gave", "state": state})
    message = texts(bad)[-1]
    assert message.startswith("Xero refused the connection:") and message.endswith(
        "Nothing was saved; press Connect again."
    )
    assert not Connection.objects.exists()


def test_several_organisations_are_offered_and_the_tokens_stay_off_the_page(client, admin_user, xero):
    second = xero.add_tenant("Second Branch Pte Ltd")
    login(client, admin_user)
    response = consent(client, "xero")
    assert response.status_code == 302 and response["Location"] == f"{PAGE}choose/"
    assert not Connection.objects.exists()
    pending = client.session["accounting_pending"]
    page = client.get(f"{PAGE}choose/").content.decode()
    assert "Demo Company (SG)" in page and "Second Branch Pte Ltd" in page
    assert pending["access_token"] not in page and pending["refresh_token"] not in page

    wrong = client.post(f"{PAGE}choose/", {"organisation": "not-one-of-them"})
    assert "That organisation is not one this login reaches" in wrong.content.decode()
    assert not Connection.objects.exists()

    chosen = client.post(f"{PAGE}choose/", {"organisation": second})
    assert chosen.status_code == 302
    connection = Connection.objects.get()
    assert (connection.tenant_id, connection.tenant_name) == (second, "Second Branch Pte Ltd")
    assert connection.access_token == pending["access_token"]
    assert "accounting_pending" not in client.session


def test_reconnecting_updates_the_tokens_and_the_state_of_the_same_connection(
    client, admin_user, people_free_admin, xero
):
    old = connected_xero(
        xero,
        people_free_admin,
        status=ConnectionStatus.NEEDS_RECONNECT,
        cursors={"invoice": "2026-11-01T00:00:00Z"},
    )
    old_token = old.access_token
    login(client, admin_user)
    response = consent(client, "xero")
    assert texts(response) == [
        "Xero: Demo Company (SG) is connected again. The next sync carries on where the last one stopped."
    ]
    connection = Connection.objects.get()
    assert connection.pk == old.pk and connection.status == ConnectionStatus.CONNECTED
    assert connection.access_token != old_token and connection.connected_by == admin_user
    assert connection.cursors == {"invoice": "2026-11-01T00:00:00Z"}


@pytest.fixture
def people_free_admin(db):
    return make_user("first-admin@example.com", Role.ADMIN)


def test_connecting_quickbooks_takes_the_realm_from_the_callback(client, admin_user, quickbooks):
    login(client, admin_user)
    response = consent(client, "quickbooks")
    assert response.status_code == 302 and response["Location"] == PAGE
    connection = Connection.objects.get()
    assert connection.provider == "quickbooks"
    assert connection.tenant_id == quickbooks.consent_realm
    assert connection.tenant_name == "Sandbox Company_US_1"
    assert texts(response) == [
        "QuickBooks Online: Sandbox Company_US_1 is connected. Press Sync now, or wait for the next sync (every 5 minutes)."
    ]


# --- sync now, progress, disconnect -------------------------------------------------------------------


def test_sync_now_runs_a_manual_sync_and_the_progress_shows_its_counts(
    client, admin_user, xero, eager_celery, django_capture_on_commit_callbacks
):
    contact = xero.add_contact("Harbour Freight Pte Ltd")
    xero.add_invoice(contact, "250.00", number="INV-9001")
    xero.add_invoice(contact, "100.00", number="INV-9002")
    connection = connected_xero(xero, admin_user)
    login(client, admin_user)

    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(f"{PAGE}{connection.pk}/sync/")
    assert len(queued) == 1
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == PAGE and parse_qs(location.query)["watch"] == [str(connection.pk)]

    run = SyncRun.objects.get()
    assert (run.trigger, run.status, run.created) == (
        "manual",
        SyncStatus.SUCCEEDED,
        3,
    )  # 1 customer + 2 invoices
    assert set(Invoice.objects.values_list("number", flat=True)) == {"INV-9001", "INV-9002"}

    since = parse_qs(location.query)["since"][0]
    partial = client.get(f"{PAGE}{connection.pk}/progress/", {"since": since}).content.decode()
    assert "Sync finished" in partial and "3 created · 0 updated · 0 pushed · 0 failed" in partial
    assert "hx-trigger" not in partial  # finished: the page stops polling
    page = client.get(response["Location"]).content.decode()
    assert f'data-run="{run.pk}"' in page and "Sync now" in page


def test_sync_now_through_htmx_answers_the_progress_partial(
    client, admin_user, xero, django_capture_on_commit_callbacks
):
    connection = connected_xero(xero, admin_user)
    login(client, admin_user)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(f"{PAGE}{connection.pk}/sync/", HTTP_HX_REQUEST="true")
    assert len(queued) == 1
    partial = response.content.decode()
    # nothing started yet (no worker in this test): it says so and keeps asking every 2 s
    assert "Sync asked for" in partial and 'hx-trigger="every 2s"' in partial


def test_a_running_sync_is_not_started_twice_and_its_progress_is_polled(
    client, admin_user, xero, django_capture_on_commit_callbacks
):
    connection = connected_xero(xero, admin_user, locked_until=timezone.now() + dt.timedelta(minutes=9))
    run = SyncRun.objects.create(
        connection=connection,
        trigger="schedule",
        started_at=timezone.now() - dt.timedelta(seconds=40),
        progress="Reading invoices",
        created=120,
        updated=7,
    )
    login(client, admin_user)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(f"{PAGE}{connection.pk}/sync/", follow=True)
    assert queued == []
    page = response.content.decode()
    assert "Demo Company (SG) is syncing already; its progress is shown below." in page.replace("Xero: ", "")
    assert "Syncing…" in page and "Reading invoices" in page and "120 created · 7 updated" in page
    assert f'hx-get="/settings/integrations/{connection.pk}/progress/?run={run.pk}"' in page

    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncStatus.FAILED,
        finished_at=timezone.now(),
        failed=1,
        errors=[
            {"kind": "invoice", "external_id": "X-1", "error": "Amount mismatch"},
            {"error": "Xero answered 500 five times"},
        ],
    )
    partial = client.get(f"{PAGE}{connection.pk}/progress/", {"run": run.pk}).content.decode()
    assert "The sync failed" in partial and "Xero answered 500 five times" in partial
    assert "hx-trigger" not in partial and "See the errors in the sync log" in partial


def test_a_connection_needing_reconnection_cannot_sync(
    client, admin_user, xero, django_capture_on_commit_callbacks
):
    connection = connected_xero(xero, admin_user, status=ConnectionStatus.NEEDS_RECONNECT)
    login(client, admin_user)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(f"{PAGE}{connection.pk}/sync/")
    assert queued == []
    assert texts(response) == [
        "Xero: Demo Company (SG) is needs reconnecting: connect it again before syncing."
    ]
    page = client.get(PAGE).content.decode()
    assert "Needs reconnecting" in page and "Connect again" in page


def test_disconnecting_forgets_the_tokens_and_keeps_the_synced_data(client, admin_user, quickbooks, book):
    login(client, admin_user)
    consent(client, "quickbooks")
    connection = Connection.objects.get()
    refresh = connection.refresh_token
    invoices_before = Invoice.objects.count()

    confirm = client.get(f"{PAGE}{connection.pk}/disconnect/").content.decode()
    assert "Disconnect Sandbox Company_US_1?" in confirm and "stay" in confirm
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED  # GET only asks

    response = client.post(f"{PAGE}{connection.pk}/disconnect/")
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert (connection.access_token, connection.refresh_token, connection.token_expires_at) == ("", "", None)
    assert Invoice.objects.count() == invoices_before and Customer.objects.count() == 5
    assert quickbooks.refresh_tokens[refresh]["active"] is False  # withdrawn at QuickBooks too
    page = client.get(PAGE).content.decode()
    assert "Disconnected" in page and "Connect again" in page


# --- the sync log ----------------------------------------------------------------------------------


@pytest.fixture
def runs(people):
    company = Company.load()
    company.time_zone = "Asia/Singapore"
    company.save()
    xero = Connection(provider="xero", tenant_id="t-x", tenant_name="Xero Books")
    xero.save()
    qbo = Connection(provider="quickbooks", tenant_id="r-q", tenant_name="QBO Books")
    qbo.save()
    sgt = dt.timezone(dt.timedelta(hours=8))

    def run(connection, day, hour, trigger, status, seconds, **counts):
        started = dt.datetime(2026, 11, day, hour, 0, tzinfo=sgt)
        return SyncRun.objects.create(
            connection=connection,
            trigger=trigger,
            status=status,
            started_at=started,
            finished_at=started + dt.timedelta(seconds=seconds) if seconds is not None else None,
            **counts,
        )

    return {
        "a": run(xero, 20, 9, "schedule", SyncStatus.SUCCEEDED, 12, created=10, updated=2),
        "b": run(
            xero,
            21,
            7,
            "manual",
            SyncStatus.FAILED,
            75,
            created=1,
            failed=2,
            errors=[
                {"kind": "invoice", "external_id": "INV-77", "error": '=HYPERLINK("http://evil")'},
                {"error": "Xero answered 503 five times"},
            ],
        ),
        "c": run(qbo, 21, 23, "webhook", SyncStatus.SUCCEEDED, 3, pushed=4),
        # 00:30 on the 22nd in Singapore is still the 21st in UTC: it belongs to the 22nd here
        "d": run(qbo, 22, 0, "schedule", SyncStatus.SUCCEEDED, 1, updated=1),
        "xero": xero,
        "qbo": qbo,
    }


def shown(response):
    return [run.pk for run in response.context["runs"]]


def test_the_log_lists_every_run_newest_first_with_errors(client, people, runs):
    response = login(client, people["admin"]).get(LOG)
    assert shown(response) == [runs[k].pk for k in "dcba"]
    page = response.content.decode()
    assert "4 runs" in page and "1 min 15 s" in page and "12.0 s" in page
    assert (
        "2 errors" in page and "invoice INV-77: =HYPERLINK" in page and "Xero answered 503 five times" in page
    )


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"status": "failed"}, "b"),
        ({"trigger": "schedule"}, "da"),
        ({"connection": "qbo"}, "dc"),
        ({"date_from": "2026-11-21", "date_to": "2026-11-21"}, "cb"),
        ({"date_from": "2026-11-22"}, "d"),
        ({"date_to": "2026-11-20"}, "a"),
        ({"sort": "duration"}, "dcab"),
        ({"sort": "-created"}, "abdc"),
    ],
)
def test_the_log_filters(client, people, runs, query, expected):
    query = {k: (runs[v].pk if k == "connection" else v) for k, v in query.items()}
    response = login(client, people["admin"]).get(LOG, query, HTTP_HX_REQUEST="true")
    assert shown(response) == [runs[k].pk for k in expected]
    assert 'id="export-link" hx-swap-oob="true"' in response.content.decode()


def test_a_wrong_date_is_named_and_an_empty_result_says_so(client, people, runs):
    response = login(client, people["admin"]).get(
        LOG, {"date_from": "21/11/2026", "status": "failed", "trigger": "webhook"}
    )
    page = response.content.decode()
    assert "From: Enter a valid date." in page and "No run matches these filters" in page


def test_the_log_is_empty_before_any_sync(client, people):
    page = login(client, people["admin"]).get(LOG).content.decode()
    assert "No sync has run yet" in page


def test_the_log_pages_with_a_constant_number_of_queries(client, people, runs):
    login(client, people["admin"])

    def queries():
        with CaptureQueriesContext(db_connection) as captured:
            assert client.get(LOG).status_code == 200
        return len(captured)

    before = queries()
    for n in range(60):
        SyncRun.objects.create(
            connection=runs["xero"],
            trigger="schedule",
            status=SyncStatus.FAILED,
            started_at=timezone.now() - dt.timedelta(minutes=n),
            errors=[{"error": f"e{n}"}],
        )
    assert queries() == before
    response = client.get(LOG)
    assert len(response.context["runs"]) == 50 and response.context["page"].paginator.count == 64
    assert len(client.get(LOG, {"page": 2}).context["runs"]) == 14


def test_the_export_holds_the_filtered_runs_with_formulas_neutralised(client, people, runs):
    response = login(client, people["auditor"]).get(EXPORT, {"connection": runs["xero"].pk})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="sync-log-')
    rows = list(
        load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0].iter_rows(values_only=True)
    )
    assert rows[0] == (
        "Organisation",
        "System",
        "Started by",
        "Full",
        "Started (Asia/Singapore)",
        "Finished (Asia/Singapore)",
        "Duration (s)",
        "Status",
        "Created",
        "Updated",
        "Pushed",
        "Failed",
        "Errors",
    )
    assert rows[1:] == [
        (
            "Xero Books",
            "Xero",
            "Sync now",
            "No",
            dt.datetime(2026, 11, 21, 7, 0),
            dt.datetime(2026, 11, 21, 7, 1, 15),
            75,
            "Failed",
            1,
            0,
            0,
            2,
            'invoice INV-77: =HYPERLINK("http://evil")\nXero answered 503 five times',
        ),
        (
            "Xero Books",
            "Xero",
            "Every 5 minutes",
            "No",
            dt.datetime(2026, 11, 20, 9, 0),
            dt.datetime(2026, 11, 20, 9, 0, 12),
            12,
            "Succeeded",
            10,
            2,
            0,
            0,
            None,
        ),
    ]


def test_the_export_neutralises_an_error_that_starts_like_a_formula(client, people, runs):
    SyncRun.objects.filter(pk=runs["b"].pk).update(errors=[{"error": "=1+1"}])
    response = login(client, people["admin"]).get(EXPORT, {"status": "failed"})
    rows = list(
        load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0].iter_rows(values_only=True)
    )
    assert rows[1][-1] == "'=1+1"


def test_the_integrations_page_reads_a_fixed_number_of_queries(client, people, a_connection):
    login(client, people["admin"])
    client.get(PAGE)

    def queries():
        with CaptureQueriesContext(db_connection) as captured:
            assert client.get(PAGE).status_code == 200
        return len(captured)

    before = queries()
    for n in range(3):
        other = Connection(provider="quickbooks", tenant_id=f"r-{n}", tenant_name=f"Books {n}")
        other.save()
        for m in range(8):
            SyncRun.objects.create(
                connection=other,
                trigger="schedule",
                status=SyncStatus.SUCCEEDED,
                started_at=timezone.now() - dt.timedelta(minutes=5 * m),
                finished_at=timezone.now() - dt.timedelta(minutes=5 * m - 1),
            )
    assert queries() == before
    response = client.get(PAGE)
    # the last five runs of each, newest first
    cards = {c.tenant_name: c for card in response.context["cards"] for c in card["connections"]}
    assert [len(cards[f"Books {n}"].recent_runs) for n in range(3)] == [5, 5, 5]
    runs = cards["Books 0"].recent_runs
    assert runs == sorted(runs, key=lambda run: run.started_at, reverse=True)
