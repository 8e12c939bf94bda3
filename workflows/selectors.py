"""Reads of the workflow engine's rows."""

from django.db.models import Exists, OuterRef

from invoices.models import Invoice

from .models import Action, ActionRun


def orphan_runs():
    """Runs whose invoice or action is gone: their keys have no database constraint (see ActionRun)."""
    return ActionRun.objects.exclude(
        Exists(Invoice.objects.filter(pk=OuterRef("invoice_id")))
        & Exists(Action.objects.filter(pk=OuterRef("action_id")))
    )
