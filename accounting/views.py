"""Settings → Integrations: connect Xero and QuickBooks Online (OAuth 2.0 authorization code), choose
the organisation, sync now with progress, disconnect; the sync log with its Excel export.

Admins do everything; auditors may look (the page and the log, read-only); anyone else gets 403.
Tokens never reach a page: between the callback and the choice of organisation they wait in the
(server-side) session.
"""

import datetime as dt
import logging
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from peakflo.models import Company, Role
from peakflo.permissions import admin_required
from peakflo.spreadsheets import write_xlsx

from . import selectors
from .connectors import connector_for
from .connectors.base import ConnectorError, Tokens
from .filters import SyncRunFilter
from .forms import ChooseOrganisationForm
from .models import Connection, ConnectionStatus, Provider, SyncRun, SyncTrigger
from .tasks import sync_connection

log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RUNS_PER_PAGE = 50
OAUTH_SESSION_KEY = "accounting_oauth"  # {"provider", "state"} from Connect to the callback
PENDING_SESSION_KEY = "accounting_pending"  # tokens and organisations while an admin chooses one
# Sync now: after this long without a run starting, say the worker may not be running.
WORKER_PATIENCE = dt.timedelta(seconds=30)
POLL_FOR = dt.timedelta(minutes=15)

# What each provider needs in the environment before Connect can work.
PROVIDERS = {
    Provider.XERO: {
        "client_id": "XERO_CLIENT_ID",
        "variables": ["XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "XERO_WEBHOOK_KEY"],
        "portal": "Xero's developer portal (developer.xero.com → My Apps)",
        "webhook": True,
    },
    Provider.QUICKBOOKS: {
        "client_id": "QUICKBOOKS_CLIENT_ID",
        "variables": ["QUICKBOOKS_CLIENT_ID", "QUICKBOOKS_CLIENT_SECRET"],
        "portal": "Intuit's developer portal (developer.intuit.com → your app → Keys & credentials)",
        "webhook": False,
    },
}
# QuickBooks OAuth errors come back as error=access_denied etc.; say what they mean.
PROVIDER_ERRORS = {
    "access_denied": "access was declined on the consent screen",
    "invalid_scope": "the app asked for permissions the provider does not grant it",
    "unauthorized_client": "the app's client id is not allowed to connect (check its settings at the provider)",
    "server_error": "the provider had an error",
    "temporarily_unavailable": "the provider is unavailable for now; try again in a few minutes",
}


def integrations_viewer_required(view):
    """Admins, and auditors for a read-only look; everyone else 403."""

    @login_required
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not (user.is_active and (user.is_admin or user.role == Role.AUDITOR)):
            raise PermissionDenied("Only admins can manage integrations.")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def redirect_uri():
    return settings.SITE_URL + reverse("integrations_callback")


def _provider(value):
    try:
        return Provider(value)
    except ValueError:
        raise Http404("No such accounting system.") from None


def is_configured(provider):
    return bool(getattr(settings, PROVIDERS[provider]["client_id"], ""))


# --- the page -------------------------------------------------------------------------------------


@integrations_viewer_required
def integrations(request):
    connections = selectors.connections_with_runs()
    cards = []
    for provider in Provider:
        cards.append(
            {
                "provider": provider,
                "configured": is_configured(provider),
                "setup": PROVIDERS[provider],
                "connections": [c for c in connections if c.provider == provider],
            }
        )
    context = {
        "cards": cards,
        "redirect_uri": redirect_uri(),
        "webhook_url": settings.SITE_URL + reverse("xero_webhook"),
        "can_manage": request.user.is_admin,
        # after Sync now without HTMX: the page follows that connection's run
        "watch": int(request.GET["watch"]) if request.GET.get("watch", "").isdigit() else None,
        "since": _since(request),
    }
    return render(request, "accounting/integrations.html", context)


# --- OAuth 2.0 ------------------------------------------------------------------------------------


@admin_required
@require_POST
def connect(request, provider):
    provider = _provider(provider)
    if not is_configured(provider):
        messages.error(
            request,
            f"{provider.label} is not set up yet: set {', '.join(PROVIDERS[provider]['variables'][:2])} first.",
        )
        return redirect("integrations")
    state = secrets.token_urlsafe(32)
    request.session[OAUTH_SESSION_KEY] = {"provider": provider.value, "state": state}
    request.session.pop(PENDING_SESSION_KEY, None)
    url = connector_for(provider=provider.value).authorization_url(state=state, redirect_uri=redirect_uri())
    return redirect(url)


def _refused(request, text):
    messages.error(request, text)
    return redirect("integrations")


@admin_required
def callback(request):
    """Where the provider sends the admin back: check the state, swap the code for tokens, find the
    organisations they reach; one is connected at once, several are offered to choose from."""
    expected = request.session.pop(OAUTH_SESSION_KEY, None)
    state = request.GET.get("state", "")
    if not expected or not state or not secrets.compare_digest(state, expected["state"]):
        return _refused(
            request,
            "The connection could not be made: the answer from the accounting system does not match a "
            "Connect pressed here (it may be old, or already used). Nothing was saved; press Connect again.",
        )
    provider = Provider(expected["provider"])
    error = request.GET.get("error")
    if error:
        reason = PROVIDER_ERRORS.get(error, error)
        detail = request.GET.get("error_description", "")
        return _refused(
            request,
            f"{provider.label} did not connect: {reason}{f' ({detail})' if detail else ''}. Nothing was saved.",
        )
    code = request.GET.get("code", "")
    if not code:
        return _refused(
            request,
            f"{provider.label} sent no authorization code back. Nothing was saved; press Connect again.",
        )
    try:
        tokens = connector_for(provider=provider.value).exchange_code(code=code, redirect_uri=redirect_uri())
        # QuickBooks names the company (realm) on the callback; Xero lists the tenants the tokens reach.
        probe = Connection(provider=provider.value, tenant_id=request.GET.get("realmId", ""))
        probe.access_token = tokens.access_token
        organisations = [(str(tid), name or "") for tid, name in connector_for(probe).tenants(tokens)]
    except ConnectorError as error:
        log.warning("%s OAuth callback failed: %s", provider.label, error)
        return _refused(
            request,
            f"{provider.label} refused the connection: {error}. Nothing was saved; press Connect again.",
        )
    if not organisations:
        return _refused(request, f"The {provider.label} login reaches no organisation. Nothing was saved.")
    if len(organisations) == 1:
        _save_connection(request, provider, organisations[0], tokens)
        return redirect("integrations")
    request.session[PENDING_SESSION_KEY] = {
        "provider": provider.value,
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_at": tokens.expires_at.isoformat(),
        "organisations": organisations,
    }
    return redirect("integrations_choose")


@admin_required
def choose_organisation(request):
    pending = request.session.get(PENDING_SESSION_KEY)
    if not pending:
        return _refused(request, "There is no connection waiting for an organisation; press Connect again.")
    provider = Provider(pending["provider"])
    organisations = [tuple(pair) for pair in pending["organisations"]]
    connected = set(
        Connection.objects.filter(
            provider=provider,
            tenant_id__in=[tid for tid, _ in organisations],
            status=ConnectionStatus.CONNECTED,
        ).values_list("tenant_id", flat=True)
    )
    form = ChooseOrganisationForm(request.POST or None, organisations=organisations, connected=connected)
    if request.method == "POST" and form.is_valid():
        tenant_id = form.cleaned_data["organisation"]
        tokens = Tokens(
            access_token=pending["access_token"],
            refresh_token=pending["refresh_token"],
            expires_at=parse_datetime(pending["expires_at"]),
        )
        request.session.pop(PENDING_SESSION_KEY, None)
        _save_connection(request, provider, (tenant_id, dict(organisations)[tenant_id]), tokens)
        return redirect("integrations")
    return render(request, "accounting/choose.html", {"form": form, "provider": provider})


def _save_connection(request, provider, organisation, tokens):
    """Connect the organisation, or reconnect it (new tokens, connected again; its cursors and
    everything synced stay)."""
    tenant_id, name = organisation
    with transaction.atomic():
        connection = (
            Connection.objects.select_for_update().filter(provider=provider, tenant_id=tenant_id).first()
        )
        again = connection is not None
        if connection is None:
            connection = Connection(provider=provider, tenant_id=tenant_id)
        connection.tenant_name = name or connection.tenant_name
        connection.status = ConnectionStatus.CONNECTED
        connection.access_token = tokens.access_token
        connection.refresh_token = tokens.refresh_token
        connection.token_expires_at = tokens.expires_at
        connection.connected_by = request.user
        if again:
            connection.connected_at = timezone.now()
        connection.save()
    label = connection.tenant_name or tenant_id
    if again:
        messages.success(
            request,
            f"{provider.label}: {label} is connected again. The next sync carries on where the last one stopped.",
        )
    else:
        messages.success(
            request,
            f"{provider.label}: {label} is connected. Press Sync now, or wait for the next sync (every 5 minutes).",
        )
    return connection


# --- sync now, progress, disconnect ---------------------------------------------------------------


@admin_required
@require_POST
def sync_now(request, pk):
    connection = get_object_or_404(Connection, pk=pk)
    since = None
    if connection.status != ConnectionStatus.CONNECTED:
        messages.error(
            request,
            f"{connection} is {connection.get_status_display().lower()}: connect it again before syncing.",
        )
    elif selectors.is_syncing(connection):
        messages.info(request, f"{connection} is syncing already; its progress is shown below.")
    else:
        since = timezone.now()
        transaction.on_commit(lambda: sync_connection.delay(connection.pk, SyncTrigger.MANUAL))
    if request.htmx:
        return _progress(request, connection, since=since, asked=since is not None, show_messages=True)
    url = reverse("integrations")
    if since is not None:
        url += "?" + urlencode({"watch": connection.pk, "since": since.isoformat()})
    return redirect(f"{url}#connection-{connection.pk}")


@integrations_viewer_required
def sync_progress(request, pk):
    """The progress partial the page polls: the run asked for (`run`), or the first run since Sync
    now was pressed (`since`), or the one going now."""
    connection = get_object_or_404(Connection, pk=pk)
    run_id = request.GET.get("run", "")
    run = connection.runs.filter(pk=run_id).first() if run_id.isdigit() else None
    since = _since(request)
    return _progress(request, connection, since=since, asked=since is not None, run=run)


def _since(request):
    try:
        return parse_datetime(request.GET.get("since", ""))
    except ValueError:
        return None


def _progress(request, connection, *, since, asked, run=None, show_messages=False):
    run = run or selectors.run_since(connection, since)
    now = timezone.now()
    waiting = asked and run is None
    if run is not None:
        selectors.mark_stale([run])
    context = {
        "connection": connection,
        "run": run,
        "error_lines": error_text(run.errors) if run else [],
        "since": since,
        "waiting": waiting,
        "worker_late": waiting and since is not None and now - since > WORKER_PATIENCE,
        # Poll while a run goes, or while the one asked for has not started yet (for a while).
        "poll": (run is not None and selectors.is_going(run))
        or (waiting and since is not None and now - since < POLL_FOR),
        "show_messages": show_messages,
    }
    return render(request, "accounting/_progress.html", context)


@admin_required
def disconnect(request, pk):
    """GET asks for confirmation; POST forgets the tokens and marks the connection disconnected.
    Everything synced stays."""
    connection = get_object_or_404(Connection, pk=pk)
    if request.method == "POST":
        _revoke(connection)
        Connection.objects.filter(pk=connection.pk).update(
            status=ConnectionStatus.DISCONNECTED,
            access_token="",
            refresh_token="",
            token_expires_at=None,
            updated_at=timezone.now(),
        )
        messages.success(
            request,
            f"{connection} is disconnected: peakflo no longer syncs with it. The customers, invoices and "
            "payments it brought stay.",
        )
        return redirect("integrations")
    context = {"connection": connection, "runs": connection.runs.count()}
    return render(request, "accounting/disconnect.html", context)


def _revoke(connection):
    """Withdraw the tokens at the provider too where its connector can (QuickBooks); a failure there
    does not keep the connection: the tokens are forgotten here either way."""
    if not connection.refresh_token:
        return
    connector = connector_for(connection)
    revoke = getattr(connector, "revoke", None)
    if revoke is None:
        return
    try:
        revoke(connection.refresh_token)
    except Exception as error:  # noqa: BLE001 (any network or provider failure: logged, not fatal)
        log.warning("%s: revoking the tokens failed: %s", connection, error)


# --- the sync log ---------------------------------------------------------------------------------


def _log(request):
    company = Company.load()
    filterset = SyncRunFilter(request.GET, queryset=selectors.log_runs(), tz=company.tz)
    return company, filterset


@integrations_viewer_required
def sync_log(request):
    company, filterset = _log(request)
    page = Paginator(filterset.qs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    for run in selectors.mark_stale(page.object_list):
        run.error_lines = error_text(run.errors)
        run.duration_text = duration_text(run.duration)
    context = {
        "filter": filterset,
        "page": page,
        "runs": page.object_list,
        "bad_filters": filterset.problems(),
        "query": request.GET.copy(),
        "company": company,
        "any_runs": page.paginator.count > 0 or _any_runs(),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "accounting/log_table.html", context)
    return render(request, "accounting/log.html", context)


def _any_runs():
    return SyncRun.objects.exists()


def duration_text(duration):
    if duration is None:
        return ""
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s"


def error_text(errors):
    """The run's errors on one line each: "invoice INV-1: …" or the run's own error."""
    lines = []
    for error in errors or []:
        if not isinstance(error, dict):
            lines.append(str(error))
            continue
        subject = " ".join(
            str(part)
            for part in (error.get("kind", "").replace("_", " "), error.get("external_id", ""))
            if part
        )
        lines.append(f"{subject}: {error.get('error', '')}" if subject else str(error.get("error", "")))
    return lines


@integrations_viewer_required
def sync_log_export(request):
    company, filterset = _log(request)
    tz = company.tz

    def local(moment):
        return moment.astimezone(tz).replace(tzinfo=None) if moment else None

    headers = [
        "Organisation",
        "System",
        "Started by",
        "Full",
        f"Started ({company.time_zone})",
        f"Finished ({company.time_zone})",
        "Duration (s)",
        "Status",
        "Created",
        "Updated",
        "Pushed",
        "Failed",
        "Errors",
    ]
    rows = (
        [
            run.connection.tenant_name or run.connection.tenant_id,
            run.connection.get_provider_display(),
            run.get_trigger_display(),
            "Yes" if run.full else "No",
            local(run.started_at),
            local(run.finished_at),
            round(run.duration.total_seconds(), 1) if run.duration is not None else None,
            run.get_status_display(),
            run.created,
            run.updated,
            run.pushed,
            run.failed,
            "\n".join(error_text(run.errors)),
        ]
        for run in filterset.qs.iterator(chunk_size=2000)
    )
    response = HttpResponse(write_xlsx(headers, rows, sheet_title="Sync log"), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="sync-log-{company.today():%Y-%m-%d}.xlsx"'
    return response
