"""Connections to accounting systems and the log of their syncs (DESIGN.md, "Accounting sync").

Synced rows keep the accounting system's id in their own `external_id` (customers, invoices,
payments, credit notes) with `source = accounting` when they came from it.
"""

from django.conf import settings
from django.db import models

from .crypto import EncryptedTextField


class Provider(models.TextChoices):
    XERO = "xero", "Xero"
    QUICKBOOKS = "quickbooks", "QuickBooks Online"


class ConnectionStatus(models.TextChoices):
    CONNECTED = "connected", "Connected"
    # the provider refused the tokens (revoked, refresh token expired): an admin must reconnect
    NEEDS_RECONNECT = "reconnect", "Needs reconnecting"
    DISCONNECTED = "disconnected", "Disconnected"


class Connection(models.Model):
    """One organisation (Xero tenant / QuickBooks realm) connected through OAuth 2.0."""

    provider = models.CharField(max_length=12, choices=Provider.choices)
    tenant_id = models.CharField(max_length=64, help_text="Xero tenant id or QuickBooks realm id.")
    tenant_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=12, choices=ConnectionStatus.choices, default=ConnectionStatus.CONNECTED
    )
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    # Where each kind of record was read up to: {"contacts": "2026-11-23T10:00:00Z", ...} (Xero) or
    # {"cdc": "2026-11-23T10:00:00Z"} (QuickBooks). Moved only after a batch commits.
    cursors = models.JSONField(default=dict, blank=True)
    # One sync at a time per connection: a run holds this lease (renewed as it goes); a run that
    # died leaves it to expire.
    locked_until = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connected_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "tenant_id"], name="connection_one_per_tenant"),
        ]

    def __str__(self):
        return f"{self.get_provider_display()}: {self.tenant_name or self.tenant_id}"


class SyncTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Every 5 minutes"
    MANUAL = "manual", "Sync now"
    WEBHOOK = "webhook", "Webhook"
    COMMAND = "command", "manage.py sync_accounting"
    DISPATCH = "dispatch", "Before sending reminders"


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class SyncRun(models.Model):
    """One sync of one connection: what it did and what went wrong."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=10, choices=SyncTrigger.choices)
    full = models.BooleanField(default=False, help_text="Read everything, not only what changed.")
    status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    pushed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # [{"kind": "invoice", "external_id": "…", "error": "…"}, …] and the run's own error, if it died
    errors = models.JSONField(default=list, blank=True)
    progress = models.CharField(max_length=200, blank=True, help_text="What it is doing now.")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["connection", "-started_at"], name="syncrun_connection_idx")]

    def __str__(self):
        return f"{self.connection} sync at {self.started_at:%Y-%m-%d %H:%M}"
