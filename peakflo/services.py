"""Writes to users and company settings. Every function takes keyword arguments and runs in a transaction."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from . import emails
from .models import Company, Role, User


def _email_owner_message(email):
    owner = User.objects.filter(email__iexact=email).first()
    if owner is None:
        return f"{email} is already in use."
    state = "" if owner.is_active else ", deactivated"
    return f"{email} already belongs to {owner.get_full_name()} ({owner.get_role_display()}{state})."


@transaction.atomic
def invite_user(*, name, email, role, invited_by):
    """Create a user with no password yet and email them a link to choose one."""
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": _email_owner_message(email)})
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=None, name=name.strip(), role=role)
    except IntegrityError:  # invited at the same moment by someone else
        raise ValidationError({"email": _email_owner_message(email)}) from None
    transaction.on_commit(lambda: emails.invitation(user=user, invited_by=invited_by))
    return user


def is_invitation_pending(user):
    return not user.has_usable_password() and user.last_login is None


@transaction.atomic
def resend_invitation(*, user, invited_by):
    if not is_invitation_pending(user):
        raise ValidationError(f"{user.get_full_name()} has already accepted the invitation.")
    if not user.is_active:
        raise ValidationError(f"{user.get_full_name()} is deactivated: reactivate them first.")
    transaction.on_commit(lambda: emails.invitation(user=user, invited_by=invited_by))


@transaction.atomic
def update_user(*, user, name, role, by):
    if user.pk == by.pk and by.role == Role.ADMIN and role != Role.ADMIN and not by.is_superuser:
        raise ValidationError({"role": "You cannot take away your own admin role: ask another admin."})
    user.name = name.strip()
    user.role = role
    user.save(update_fields=["name", "role"])
    return user


@transaction.atomic
def set_default_account_manager(*, user, replacing=None):
    """Make `user` the default account manager.

    When another user already is, this is refused unless `replacing` names that very user: the
    switch is then done in one transaction. A direct attempt to add a second default changes nothing.
    """
    if not user.is_active:
        raise ValidationError(
            f"{user.get_full_name()} is deactivated and cannot be the default account manager."
        )
    current = (
        User.objects.select_for_update().filter(is_default_account_manager=True).exclude(pk=user.pk).first()
    )
    if current is not None and (replacing is None or replacing.pk != current.pk):
        raise ValidationError(
            f"{current.get_full_name()} is already the default account manager. "
            f"Make {user.get_full_name()} the default instead of {current.get_full_name()}, "
            "or remove that flag first."
        )
    if current is not None:
        current.is_default_account_manager = False
        current.save(update_fields=["is_default_account_manager"])
    user.is_default_account_manager = True
    try:
        with transaction.atomic():
            user.save(update_fields=["is_default_account_manager"])
    except IntegrityError:  # another admin set a default at the same moment
        user.is_default_account_manager = False
        raise ValidationError(
            "Another user became the default account manager at the same moment; nothing was changed."
        ) from None
    return user


@transaction.atomic
def remove_default_account_manager(*, user):
    user.is_default_account_manager = False
    user.save(update_fields=["is_default_account_manager"])
    return user


@transaction.atomic
def deactivate_user(*, user, by):
    """The user can no longer sign in; they stop being the default account manager."""
    if user.pk == by.pk:
        raise ValidationError("You cannot deactivate yourself: ask another admin.")
    user.is_active = False
    user.is_default_account_manager = False
    user.save(update_fields=["is_active", "is_default_account_manager"])
    return user


@transaction.atomic
def reactivate_user(*, user):
    user.is_active = True
    user.save(update_fields=["is_active"])
    return user


COMPANY_FIELDS = [
    "name",
    "logo",
    "address",
    "base_currency",
    "time_zone",
    "send_window_start",
    "send_window_end",
    "send_weekdays",
    "sender_email",
    "invoice_footer",
    "brand_color",
    "bank_transfer_instructions",
]


@transaction.atomic
def update_company(*, changes):
    """Apply `changes` (field → value) to the company row. A logo of False removes the logo."""
    unknown = set(changes) - set(COMPANY_FIELDS)
    if unknown:
        raise ValueError(f"Not company settings: {', '.join(sorted(unknown))}")
    company = Company.objects.select_for_update().get(pk=Company.load().pk)
    old_logo = company.logo.name if company.logo else ""
    for field, value in changes.items():
        if field == "logo":
            if value is False:
                company.logo = ""
            elif value:
                company.logo = value
            continue
        setattr(company, field, value)
    company.full_clean()
    company.save()
    new_logo = company.logo.name if company.logo else ""
    if old_logo and old_logo != new_logo:
        storage = company.logo.storage
        transaction.on_commit(lambda: storage.delete(old_logo))
    return company
