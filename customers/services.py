"""Writes on customers that record the timeline."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import timeline
from .models import ActivityKind, Customer, Source, Tag


@transaction.atomic
def record_promise_to_pay(*, customer, amount, date, actor=None, at=None):
    """The customer promised to pay `amount` by `date`; `actor` is the user or contact who took it."""
    amount = Decimal(amount)
    if amount <= 0:
        raise ValidationError({"promise_amount": "A promise to pay must be more than zero."})
    Customer.objects.filter(pk=customer.pk).update(promise_amount=amount, promise_date=date)
    customer.promise_amount, customer.promise_date = amount, date
    timeline.record(
        customer,
        ActivityKind.PROMISE_TO_PAY,
        actor=actor,
        data={"amount": str(amount), "currency": customer.currency, "date": date.isoformat()},
        at=at,
    )
    return customer


@transaction.atomic
def add_note(*, customer, text, actor):
    """A private note on the customer's timeline: internal users see it, the payer portal never does."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write something before saving the note."})
    return timeline.record(customer, ActivityKind.NOTE, actor=actor, data={"text": text})


@transaction.atomic
def attach_file(*, customer, upload, actor, description="", invoice=None):
    """Keep a file with the customer (checked by content and size) and show it on the timeline."""
    from peakflo.uploads import check_upload

    from .models import CustomerFile

    content_type = check_upload(upload)
    kept = CustomerFile.objects.create(
        customer=customer,
        invoice=invoice,
        file=upload,
        name=upload.name[:255],
        content_type=content_type,
        size=upload.size,
        description=description.strip()[:300],
        uploaded_by=actor,
    )
    timeline.record(
        customer,
        ActivityKind.FILE,
        invoice=invoice,
        actor=actor,
        data={
            "file_id": kept.pk,
            "name": kept.name,
            "content_type": content_type,
            "size": kept.size,
            "description": kept.description,
        },  # fmt: skip
    )
    return kept


@transaction.atomic
def update_contact(*, contact, actor, **fields):
    """Change a contact in place; making it the main contact demotes the previous one."""
    changed = {name: value for name, value in fields.items() if getattr(contact, name) != value}
    if not changed:
        return contact
    if changed.get("is_main"):
        contact.customer.contacts.exclude(pk=contact.pk).filter(is_main=True).update(is_main=False)
    for name, value in changed.items():
        setattr(contact, name, value)
    contact.full_clean()
    contact.save()
    timeline.record(
        contact.customer,
        ActivityKind.CUSTOMER_CHANGED,
        actor=actor,
        data={"contact": contact.name, "changed": sorted(changed)},
    )
    return contact


# --- Adding, editing and reassigning customers -------------------------------------------------

CUSTOMER_FIELDS = {
    "code": "customer ID",
    "name": "name",
    "currency": "currency",
    "payment_terms_days": "payment terms (days)",
    "workflow": "workflow",
}


def _names(users):
    return ", ".join(sorted(str(user) for user in users))


def default_account_manager():
    from peakflo.models import User

    return User.objects.filter(is_default_account_manager=True, is_active=True).first()


def tags_named(names):
    """Existing tags by name (case-insensitive), creating the ones nobody has used yet."""
    tags = []
    for name in {" ".join(n.split()) for n in names if n and n.strip()}:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name[:50])
        tags.append(tag)
    return tags


def _save_contacts(customer, contacts, removed_contacts=()):
    """Delete, then demote, then save: the one-main-contact constraint holds at every statement."""
    for contact in removed_contacts:
        if contact.pk and contact.customer_id == customer.pk:
            contact.delete()
    contacts = [contact for contact in contacts if contact not in removed_contacts]
    if sum(1 for contact in contacts if contact.is_main) > 1:
        raise ValidationError("A customer has one main contact at most.")
    new_main = next((contact for contact in contacts if contact.is_main), None)
    if new_main is not None:
        customer.contacts.filter(is_main=True).exclude(pk=new_main.pk).update(is_main=False)
    for contact in sorted(contacts, key=lambda c: c.is_main):  # the main one last
        contact.customer = customer
        contact.save()


@transaction.atomic
def create_customer(
    *,
    actor,
    code,
    name,
    currency="SGD",
    payment_terms_days=30,
    account_manager=None,
    default_viewers=(),
    tags=(),
    new_tags=(),
    workflow=None,
    contacts=(),
    source=Source.MANUAL,
):
    """A new customer with its contacts; without an account manager it goes to the default one."""
    customer = Customer(
        code=code.strip(),
        name=name.strip(),
        currency=currency,
        payment_terms_days=payment_terms_days,
        account_manager=account_manager or default_account_manager(),
        workflow=workflow,
        source=source,
    )
    customer.full_clean()
    customer.save()
    customer.default_viewers.set(default_viewers)
    customer.tags.set([*tags, *tags_named(new_tags)])
    _save_contacts(customer, list(contacts))
    timeline.record(
        customer,
        ActivityKind.CUSTOMER_CREATED,
        actor=actor,
        data={"code": customer.code, "name": customer.name, "source": source},
    )
    if customer.account_manager:
        timeline.record(
            customer, ActivityKind.ASSIGNMENT, actor=actor, data={"to": str(customer.account_manager)}
        )
    return customer


@transaction.atomic
def update_customer(
    *,
    customer,
    actor,
    default_viewers=None,
    tags=None,
    new_tags=(),
    contacts=(),
    removed_contacts=(),
    **fields,
):
    """Change what was given; the timeline says what changed, and the assignment when the manager moves.

    `fields` are Customer fields (code, name, currency, payment_terms_days, account_manager, workflow);
    `contacts` are new or changed Contact objects, `removed_contacts` those to delete.
    """
    unknown = set(fields) - {*CUSTOMER_FIELDS, "account_manager"}
    if unknown:
        raise TypeError(f"update_customer() cannot change {', '.join(sorted(unknown))}.")
    before = Customer.objects.select_for_update().get(pk=customer.pk)
    changes = {}
    for field_name, value in fields.items():
        old = getattr(before, field_name)
        if old != value:
            if field_name != "account_manager":
                changes[CUSTOMER_FIELDS[field_name]] = (
                    f"{old if old is not None else '—'} → {value if value is not None else '—'}"
                )
            setattr(customer, field_name, value)
    customer.full_clean(exclude=["default_viewers", "tags"])
    customer.save()

    if default_viewers is not None:
        old_viewers = set(before.default_viewers.all())
        new_viewers = set(default_viewers)
        customer.default_viewers.set(new_viewers)
        if new_viewers - old_viewers:
            changes["default viewers added"] = _names(new_viewers - old_viewers)
        if old_viewers - new_viewers:
            changes["default viewers removed"] = _names(old_viewers - new_viewers)
    if tags is not None or new_tags:
        old_tags = set(before.tags.all())
        new_tag_set = set(tags if tags is not None else old_tags) | set(tags_named(new_tags))
        customer.tags.set(new_tag_set)
        if new_tag_set - old_tags:
            changes["tags added"] = ", ".join(sorted(t.name for t in new_tag_set - old_tags))
        if old_tags - new_tag_set:
            changes["tags removed"] = ", ".join(sorted(t.name for t in old_tags - new_tag_set))
    contacts = list(contacts)
    if contacts or removed_contacts:
        _save_contacts(customer, contacts, removed_contacts)
        if contacts:
            changes["contacts saved"] = ", ".join(c.name for c in contacts)
        if removed_contacts:
            changes["contacts removed"] = ", ".join(c.name for c in removed_contacts)

    assignment = {}
    if "account_manager" in fields and before.account_manager_id != customer.account_manager_id:
        assignment = {
            "from": str(before.account_manager or ""),
            "to": str(customer.account_manager or "nobody"),
        }
    for key in ("default viewers added", "default viewers removed"):
        if key in changes:
            assignment[key] = changes.pop(key)
    if assignment:
        timeline.record(customer, ActivityKind.ASSIGNMENT, actor=actor, data=assignment)
    if changes:
        timeline.record(customer, ActivityKind.CUSTOMER_CHANGED, actor=actor, data=changes)
    return customer


UNCHANGED = object()


def _pairs_present(through, owner_ids, column, values):
    """Which (customer, user-or-tag) pairs already exist, in one query."""
    if not values:
        return set()
    return set(
        through.objects.filter(
            customer_id__in=owner_ids, **{f"{column}__in": [v.pk for v in values]}
        ).values_list("customer_id", column)
    )


@transaction.atomic
def bulk_update_customers(
    *,
    customers,
    actor,
    account_manager=UNCHANGED,
    add_viewers=(),
    remove_viewers=(),
    add_tags=(),
    remove_tags=(),
    workflow=UNCHANGED,
    workflow_paused=UNCHANGED,
    pause_reason="",
):
    """Change many customers at once with set-based SQL; one or two timeline entries per changed customer.

    `customers` is a queryset (the selection, already limited to what the actor sees). Returns how
    many customers changed. A handful of queries whatever the number of customers.
    """
    from peakflo.models import User
    from workflows.models import Workflow

    rows = list(
        customers.order_by().values_list("pk", "account_manager_id", "workflow_id", "workflow_paused")
    )
    paused_now = {pk: paused for pk, _, _, paused in rows}
    rows = [(pk, am_id, wf_id) for pk, am_id, wf_id, _ in rows]
    ids = [pk for pk, _, _ in rows]
    if not ids:
        return 0
    now = timezone.now()
    assignment = {pk: {} for pk in ids}
    changed = {pk: {} for pk in ids}

    if account_manager is not UNCHANGED:
        target_id = account_manager.pk if account_manager else None
        moving = [(pk, am_id) for pk, am_id, _ in rows if am_id != target_id]
        Customer.objects.filter(pk__in=[pk for pk, _ in moving]).update(
            account_manager=account_manager, updated_at=now
        )
        previous = User.objects.in_bulk({am_id for _, am_id in moving if am_id})
        for pk, am_id in moving:
            assignment[pk]["from"] = str(previous.get(am_id) or "")
            assignment[pk]["to"] = str(account_manager or "nobody")

    for through, column, add, remove, label, bucket in (
        (
            Customer.default_viewers.through,
            "user_id",
            add_viewers,
            remove_viewers,
            "default viewers",
            assignment,
        ),
        (Customer.tags.through, "tag_id", add_tags, remove_tags, "tags", changed),
    ):
        add = [item for item in add if item not in remove]
        present = _pairs_present(through, ids, column, [*add, *remove])
        new_pairs = [(pk, item) for pk in ids for item in add if (pk, item.pk) not in present]
        through.objects.bulk_create(
            [through(customer_id=pk, **{column: item.pk}) for pk, item in new_pairs],
            batch_size=5000,
            ignore_conflicts=True,
        )
        gone = [(pk, item) for pk in ids for item in remove if (pk, item.pk) in present]
        if remove:
            through.objects.filter(customer_id__in=ids, **{f"{column}__in": [v.pk for v in remove]}).delete()
        for pairs, verb in ((new_pairs, "added"), (gone, "removed")):
            for pk, item in pairs:
                entry = bucket[pk].setdefault(f"{label} {verb}", [])
                entry.append(str(item))

    if workflow is not UNCHANGED:
        target_id = workflow.pk if workflow else None
        moving = [(pk, wf_id) for pk, _, wf_id in rows if wf_id != target_id]
        Customer.objects.filter(pk__in=[pk for pk, _ in moving]).update(workflow=workflow, updated_at=now)
        names = dict(Workflow.objects.values_list("pk", "name"))
        for pk, wf_id in moving:
            changed[pk]["workflow"] = (
                f"{names.get(wf_id, 'Default')} → {workflow.name if workflow else 'Default'}"
            )

    pausing = {}
    if workflow_paused is not UNCHANGED:
        flipping = [pk for pk in ids if paused_now[pk] != workflow_paused]
        reason = pause_reason.strip()[:200] if workflow_paused else ""
        Customer.objects.filter(pk__in=flipping).update(
            workflow_paused=workflow_paused, workflow_pause_reason=reason, updated_at=now
        )
        for pk in flipping:
            pausing[pk] = {
                "reminders": "paused" if workflow_paused else "resumed",
                **({"reason": reason} if reason else {}),
            }

    def entries():
        for kind, per_customer in (
            (ActivityKind.ASSIGNMENT, assignment),
            (ActivityKind.CUSTOMER_CHANGED, changed),
            (ActivityKind.WORKFLOW, pausing),
        ):
            for pk, data in per_customer.items():
                if data:
                    data = {
                        key: ", ".join(value) if isinstance(value, list) else value
                        for key, value in data.items()
                    }
                    yield {
                        "customer_id": pk,
                        "kind": kind,
                        "actor": actor,
                        "data": {**data, "bulk": "yes"},
                        "at": now,
                    }

    timeline.record_many(entries())
    return sum(1 for pk in ids if assignment[pk] or changed[pk] or pk in pausing)
