"""Who may do what, in one place, for every view to reuse.

Function views:
    @admin_required          settings pages: role admin or superuser; anyone else gets 403
    @write_required          any view that changes data: auditors (read-only) get 403
Class views:
    AdminRequiredMixin, WriteRequiredMixin
In code and templates:
    can_write(user), is_admin(user), require_write(user), require_admin(user)
Anonymous users are sent to the login page first, as login_required does.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied

READ_ONLY_MESSAGE = "Auditors can look but not change anything."
ADMIN_ONLY_MESSAGE = "Only admins can change settings."


def is_admin(user):
    return bool(user.is_authenticated and user.is_active and user.is_admin)


def can_write(user):
    """True when the user may change data: signed in, active and not an auditor."""
    return bool(user.is_authenticated and user.is_active and not user.is_read_only)


def require_write(user):
    if not can_write(user):
        raise PermissionDenied(READ_ONLY_MESSAGE)


def require_admin(user):
    if not is_admin(user):
        raise PermissionDenied(ADMIN_ONLY_MESSAGE)


def admin_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        require_admin(request.user)
        return view(request, *args, **kwargs)

    return wrapper


def write_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        require_write(request.user)
        return view(request, *args, **kwargs)

    return wrapper


class AdminRequiredMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            require_admin(request.user)
        return super().dispatch(request, *args, **kwargs)


class WriteRequiredMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            require_write(request.user)
        return super().dispatch(request, *args, **kwargs)
