"""Writes to workflows and their actions. Views call these; nothing else saves a Workflow or Action."""

from django.db import transaction
from django.db.models import Q

from customers.models import Customer

from .models import Action, Workflow

WORKFLOW_FIELDS = [
    "name",
    "description",
    "from_email",
    "reply_to",
    "contact_delay_days",
    "business_days_only",
    "credit_limit_amount",
    "credit_limit_days",
]
ACTION_FIELDS = [
    "name",
    "trigger",
    "days",
    "day_of_month",
    "dates",
    "repeat_every_days",
    "repeat_max",
    "action_type",
    "owner",
    "to_main_contact",
    "to_other_contacts",
    "cc",
    "bcc",
    "attach_invoice_pdf",
    "subject",
    "body",
    "is_active",
]


class WorkflowInUse(Exception):
    """A workflow customers follow (or the default) cannot be deleted."""


def customers_following(workflow):
    """Customers on this workflow; the default one also has every customer without a workflow."""
    condition = Q(workflow=workflow)
    if workflow.is_default:
        condition |= Q(workflow__isnull=True)
    return Customer.objects.filter(condition)


@transaction.atomic
def create_workflow(*, data):
    return Workflow.objects.create(**{name: data[name] for name in WORKFLOW_FIELDS if name in data})


@transaction.atomic
def update_workflow(*, workflow, data):
    for name in WORKFLOW_FIELDS:
        if name in data:
            setattr(workflow, name, data[name])
    workflow.save()
    return workflow


def _copy_name(name):
    base = f"{name} (copy)"[: Workflow._meta.get_field("name").max_length]
    candidate, number = base, 2
    while Workflow.objects.filter(name=candidate).exists():
        candidate = f"{base[:110]} {number}"
        number += 1
    return candidate


@transaction.atomic
def duplicate_workflow(*, workflow):
    """A copy with every action (and its internal recipients), never the default."""
    copy = Workflow.objects.create(
        name=_copy_name(workflow.name),
        **{name: getattr(workflow, name) for name in WORKFLOW_FIELDS if name != "name"},
    )
    for action in workflow.actions.prefetch_related("internal_recipients"):
        recipients = list(action.internal_recipients.all())
        action_copy = Action.objects.create(
            workflow=copy, **{name: getattr(action, name) for name in ACTION_FIELDS}
        )
        action_copy.internal_recipients.set(recipients)
    return copy


@transaction.atomic
def set_default_workflow(*, workflow):
    # Lock every workflow row so two admins choosing different defaults cannot both win.
    list(Workflow.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
    Workflow.objects.filter(is_default=True).exclude(pk=workflow.pk).update(is_default=False)
    Workflow.objects.filter(pk=workflow.pk).update(is_default=True)
    workflow.is_default = True
    return workflow


@transaction.atomic
def delete_workflow(*, workflow):
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    if workflow.is_default:
        raise WorkflowInUse("The default workflow cannot be deleted; make another one the default first.")
    used_by = customers_following(workflow).count()
    if used_by:
        raise WorkflowInUse(
            f"Used by {used_by} customer{'s' if used_by != 1 else ''}: "
            "move them to another workflow before deleting this one."
        )
    workflow.delete()


@transaction.atomic
def create_action(*, workflow, data):
    action = Action.objects.create(
        workflow=workflow, **{name: data[name] for name in ACTION_FIELDS if name in data}
    )
    if "internal_recipients" in data:
        action.internal_recipients.set(data["internal_recipients"])
    return action


@transaction.atomic
def update_action(*, action, data):
    for name in ACTION_FIELDS:
        if name in data:
            setattr(action, name, data[name])
    action.save()
    if "internal_recipients" in data:
        action.internal_recipients.set(data["internal_recipients"])
    return action


@transaction.atomic
def delete_action(*, action):
    action.delete()
