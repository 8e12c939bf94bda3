"""Who on the staff side may act on a customer's portal access."""

from peakflo.models import Role


def can_revoke_portal_access(user, customer):
    """The customer's account manager, AR admins and admins (auditors never: they are read-only)."""
    if not (user.is_authenticated and user.is_active) or user.is_read_only:
        return False
    if user.is_admin or user.role == Role.AR_ADMIN:
        return True
    return user.role == Role.ACCOUNT_MANAGER and customer.account_manager_id == user.pk
