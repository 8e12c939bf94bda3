import datetime as dt
import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from peakflo.models import Company, User

from . import templating
from .models import MANUAL_ACTION_TYPES, Action, ActionType, Trigger, Workflow

# Which fields apply to which action types; the editor hides the others and clean() empties them.
CUSTOMER_CHANNELS = {ActionType.EMAIL, ActionType.SMS, ActionType.WHATSAPP, ActionType.LINE}
EMAIL_TYPES = {ActionType.EMAIL, ActionType.INTERNAL_EMAIL}
SHOWN_FOR = {
    "contacts": CUSTOMER_CHANNELS,
    "internal_recipients": CUSTOMER_CHANNELS | {ActionType.INTERNAL_EMAIL},
    "cc": EMAIL_TYPES,
    "bcc": EMAIL_TYPES,
    "attach_invoice_pdf": EMAIL_TYPES,
    "subject": EMAIL_TYPES | MANUAL_ACTION_TYPES,
    "body": set(ActionType) - {ActionType.WEBHOOK},
}
NEEDS_SUBJECT = EMAIL_TYPES
NEEDS_BODY = CUSTOMER_CHANNELS | {ActionType.INTERNAL_EMAIL}
OFFSET_TRIGGERS = {
    Trigger.BEFORE_DUE,
    Trigger.AFTER_DUE,
    Trigger.AFTER_ISSUE,
    Trigger.BEFORE_PROMISE,
    Trigger.AFTER_PROMISE,
}
EMAIL_SPLIT = re.compile(r"[,;\s]+")


class WorkflowForm(forms.ModelForm):
    class Meta:
        model = Workflow
        fields = [
            "name",
            "description",
            "from_email",
            "reply_to",
            "contact_delay_days",
            "business_days_only",
            "credit_limit_amount",
            "credit_limit_days",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "credit_limit_amount": forms.NumberInput(
                attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}
            ),
            "credit_limit_days": forms.NumberInput(attrs={"min": "1"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["credit_limit_amount"].label = f"Credit limit ({Company.load().base_currency})"
        self.fields["credit_limit_amount"].help_text = (
            "Empty: no limit. A customer owing more than this on open invoices, counted in the "
            "company's base currency, is put on credit hold."
        )
        self.fields["credit_limit_days"].label = "Credit limit (days overdue)"
        self.fields[
            "credit_limit_days"
        ].help_text = (
            "Empty: no limit. A customer with an invoice overdue longer than this is put on credit hold."
        )

    def clean_credit_limit_amount(self):
        amount = self.cleaned_data.get("credit_limit_amount")
        if amount is not None and amount <= 0:
            raise ValidationError(
                f"The credit limit must be more than zero (not {amount}); leave it empty for none."
            )
        return amount

    def clean_credit_limit_days(self):
        days = self.cleaned_data.get("credit_limit_days")
        if days == 0:
            raise ValidationError("Days overdue must be at least 1; leave it empty for no limit.")
        return days


class EmailListField(forms.CharField):
    """Email addresses separated by commas, semicolons or spaces; stored as "a@x.com, b@y.com"."""

    def clean(self, value):
        value = super().clean(value)
        addresses = [address for address in EMAIL_SPLIT.split(value or "") if address]
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError(f"Not an email address: {', '.join(bad)}.")
        return ", ".join(address.lower() for address in addresses)


class DateListField(forms.CharField):
    """Dates as YYYY-MM-DD, separated by commas or spaces; stored as a sorted list of ISO strings."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def clean(self, value):
        value = super().clean(value)
        dates, bad = set(), []
        for text in (part for part in re.split(r"[,;\s]+", value or "") if part):
            try:
                dates.add(dt.date.fromisoformat(text))
            except ValueError:
                bad.append(text)
        if bad:
            raise ValidationError(f"Not a date (write it as 2026-12-01): {', '.join(bad)}.")
        return [day.isoformat() for day in sorted(dates)]


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return f"{user.get_full_name()} ({user.get_role_display()})"


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return user.get_full_name()


class ActionForm(forms.ModelForm):
    owner = UserChoiceField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        empty_label="The customer's account manager",
        help_text="Who is responsible: tasks go to them, and emails reply to them.",
    )
    internal_recipients = UsersChoiceField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Internal users",
    )
    dates = DateListField(
        required=False,
        label="Dates",
        help_text="One or more dates, such as 2026-12-01, 2027-01-15.",
        widget=forms.TextInput(attrs={"placeholder": "2026-12-01, 2027-01-15"}),
    )
    cc = EmailListField(required=False, label="CC", help_text="Email addresses, separated by commas.")
    bcc = EmailListField(required=False, label="BCC", help_text="Email addresses, separated by commas.")

    class Meta:
        model = Action
        fields = [
            "name",
            "action_type",
            "trigger",
            "days",
            "day_of_month",
            "dates",
            "repeat_every_days",
            "repeat_max",
            "owner",
            "to_main_contact",
            "to_other_contacts",
            "internal_recipients",
            "cc",
            "bcc",
            "attach_invoice_pdf",
            "subject",
            "body",
            "is_active",
        ]
        labels = {
            "action_type": "Action type",
            "trigger": "When",
            "days": "Days",
            "day_of_month": "Day of the month",
            "repeat_every_days": "Repeat every (days)",
            "repeat_max": "At most (times)",
            "to_main_contact": "The main contact",
            "to_other_contacts": "The other contacts",
            "attach_invoice_pdf": "Attach the invoice PDF",
            "is_active": "Active",
        }
        help_texts = {
            "days": "",
            "day_of_month": "1 to 28, so it falls in every month.",
            "repeat_every_days": "Repeat after it is done, while the invoice is still open. Empty: once.",
            "repeat_max": "Empty: no limit.",
            "is_active": "Inactive actions are kept but not scheduled.",
        }
        widgets = {
            "name": forms.TextInput(attrs={"placeholder": "Friendly reminder"}),
            "days": forms.NumberInput(attrs={"min": 0, "max": 3650}),
            "day_of_month": forms.NumberInput(attrs={"min": 1, "max": 28}),
            "repeat_every_days": forms.NumberInput(attrs={"min": 1}),
            "repeat_max": forms.NumberInput(attrs={"min": 1}),
            "body": forms.Textarea(attrs={"rows": 12}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].required = False
        self.fields["action_type"].widget.attrs["data-action-type"] = ""
        self.fields["trigger"].widget.attrs["data-trigger"] = ""
        for name in ("subject", "body"):
            self.fields[name].widget.attrs["data-template-field"] = ""

    def clean(self):
        data = super().clean()
        trigger = data.get("trigger")
        action_type = data.get("action_type")

        if trigger in OFFSET_TRIGGERS:
            data["days"] = data.get("days") or 0
        else:
            data["days"] = 0
        if trigger == Trigger.MONTHLY:
            if not 1 <= (data.get("day_of_month") or 0) <= 28:
                self.add_error("day_of_month", "Choose a day of the month from 1 to 28.")
        else:
            data["day_of_month"] = None
        if trigger == Trigger.ON_DATES:
            if not data.get("dates") and "dates" not in self.errors:
                self.add_error("dates", "Give at least one date.")
        else:
            data["dates"] = []

        every, most = data.get("repeat_every_days"), data.get("repeat_max")
        if every == 0:
            self.add_error("repeat_every_days", "Repeat at least one day apart, or leave it empty.")
        if most and not every:
            self.add_error("repeat_max", "Say how often it repeats first.")

        if action_type:
            self._clear_fields_that_do_not_apply(data, action_type)
            self._check_recipients(data, action_type)
            if action_type in NEEDS_SUBJECT and not data.get("subject", "").strip():
                self.add_error("subject", "An email needs a subject.")
            if action_type in NEEDS_BODY and not data.get("body", "").strip():
                self.add_error("body", "Write the message.")

        for name, label in (("subject", "subject"), ("body", "message")):
            try:
                templating.check(data.get(name, ""), field=label)
            except templating.TemplateError as error:
                self.add_error(name, str(error))
        return data

    def _clear_fields_that_do_not_apply(self, data, action_type):
        if action_type not in SHOWN_FOR["contacts"]:
            data["to_main_contact"] = data["to_other_contacts"] = False
        if action_type not in SHOWN_FOR["internal_recipients"]:
            data["internal_recipients"] = []
        for name in ("cc", "bcc", "subject", "body"):
            if action_type not in SHOWN_FOR[name]:
                data[name] = ""
        if action_type not in SHOWN_FOR["attach_invoice_pdf"]:
            data["attach_invoice_pdf"] = False

    def _check_recipients(self, data, action_type):
        if action_type in CUSTOMER_CHANNELS and not (
            data.get("to_main_contact") or data.get("to_other_contacts") or data.get("internal_recipients")
        ):
            self.add_error("to_main_contact", "Choose whom to send it to.")


class PreviewForm(forms.Form):
    """Just what the live preview needs from the action editor."""

    action_type = forms.ChoiceField(choices=ActionType.choices, required=False)
    subject = forms.CharField(required=False)
    body = forms.CharField(required=False)
