import zoneinfo

from babel.numbers import list_currencies
from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import ValidationError

from . import emails
from .models import Company, Role, User
from .services import COMPANY_FIELDS
from .uploads import IMAGES, check_upload

LOGO_MAX_BYTES = 2 * 1024 * 1024
WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


class LoginForm(auth_forms.AuthenticationForm):
    error_messages = {
        "invalid_login": "That email address and password do not match an account. Check them and try again.",
        "inactive": "This account has been deactivated. Ask an admin to reactivate it.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget = forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
        self.fields["username"].label = "Email address"

    def get_invalid_login_error(self):
        # The backend refuses inactive users silently; say why when the password was right.
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        user = User.objects.filter(email__iexact=email or "").first()
        if user is not None and not user.is_active and user.check_password(password):
            return ValidationError(self.error_messages["inactive"], code="inactive")
        return super().get_invalid_login_error()


class PasswordResetForm(auth_forms.PasswordResetForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "Email address"
        self.fields["email"].widget.attrs["autofocus"] = True

    def get_users(self, email):
        # An invitee who lost the invitation may choose a password this way too.
        return User.objects.filter(email__iexact=email, is_active=True)

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        emails.password_reset(user=context["user"], token=context["token"])


class InviteForm(forms.Form):
    name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autofocus": True}))
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ACCOUNT_MANAGER)

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        owner = User.objects.filter(email__iexact=email).first()
        if owner is not None:
            state = "" if owner.is_active else ", deactivated"
            raise ValidationError(
                f"{email} already belongs to {owner.get_full_name()} ({owner.get_role_display()}{state})."
            )
        return email


class UserForm(forms.Form):
    name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autofocus": True}))
    role = forms.ChoiceField(choices=Role.choices)


class CompanyForm(forms.ModelForm):
    send_weekdays = forms.TypedMultipleChoiceField(
        label="Days reminders may go out",
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one weekday."},
    )

    class Meta:
        model = Company
        fields = COMPANY_FIELDS
        labels = {
            "name": "Company name",
            "base_currency": "Base currency",
            "send_window_start": "Send from",
            "send_window_end": "Send until",
            "sender_email": "Sender address",
            "brand_color": "Brand colour",
            "bank_transfer_instructions": "Bank-transfer instructions",
        }
        help_texts = {
            "base_currency": "ISO 4217 code, for example SGD, USD, EUR. Report totals are in this currency.",
            "time_zone": "Where the company works, for example Asia/Singapore. Due dates and the send window use it.",
            "sender_email": "The From address of reminders. Empty: the server's default sender.",
            "logo": "PNG, JPEG, GIF or WebP, up to 2 MB.",
            "brand_color": "Used on invoice PDFs and emails.",
            "bank_transfer_instructions": "Bank, account name and number, and what to put in the reference. "
            "The payer portal shows them when online payment (Stripe) is not configured.",
        }
        widgets = {
            "name": forms.TextInput(attrs={"autofocus": True}),
            "address": forms.Textarea(attrs={"rows": 3}),
            "invoice_footer": forms.Textarea(attrs={"rows": 3}),
            "bank_transfer_instructions": forms.Textarea(attrs={"rows": 4}),
            "base_currency": forms.TextInput(
                attrs={"list": "currencies", "maxlength": 3, "size": 5, "autocapitalize": "characters"}
            ),
            "time_zone": forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
            "send_window_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "send_window_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "brand_color": forms.TextInput(attrs={"type": "color"}),
            "logo": forms.ClearableFileInput(attrs={"accept": ",".join(sorted(IMAGES))}),
        }

    def clean_base_currency(self):
        return self.cleaned_data["base_currency"].strip().upper()

    def clean_time_zone(self):
        return self.cleaned_data["time_zone"].strip()

    def clean_brand_color(self):
        color = self.cleaned_data["brand_color"].strip().lower()
        if len(color) != 7 or color[0] != "#" or any(c not in "0123456789abcdef" for c in color[1:]):
            raise ValidationError("Give a colour as #rrggbb, for example #1d4ed8.")
        return color

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "content_type"):  # a new upload, which Pillow has already opened
            if logo.size > LOGO_MAX_BYTES:
                raise ValidationError(
                    f"{logo.name} is {logo.size / 1024 / 1024:.1f} MB; a logo may be at most 2 MB."
                )
            check_upload(logo, allowed=IMAGES, max_bytes=LOGO_MAX_BYTES)
        return logo

    @staticmethod
    def currencies():
        return sorted(list_currencies())

    @staticmethod
    def time_zones():
        return sorted(zoneinfo.available_timezones())
