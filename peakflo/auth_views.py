"""Django's own auth views, with our forms, templates and messages."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from .forms import LoginForm, PasswordResetForm
from .tokens import invitation_token_generator


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have signed out.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm


class ActiveUserMixin:
    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None


class PasswordResetConfirmView(ActiveUserMixin, auth_views.PasswordResetConfirmView):
    pass


class AcceptInvitationView(ActiveUserMixin, auth_views.PasswordResetConfirmView):
    """The invitee chooses a password, then is signed in."""

    template_name = "registration/accept_invitation.html"
    token_generator = invitation_token_generator
    post_reset_login = True
    # Two backends are configured (django-axes only counts attempts), so say which one signs in.
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("dashboard")
    title = "Choose your password"

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(
            self.request, f"Welcome to peakflo, {form.user.get_short_name()}. Your password is set."
        )
        return response
