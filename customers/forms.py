"""Forms for adding, editing and reassigning customers, and for the customer uploads."""

from babel.numbers import list_currencies
from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, inlineformset_factory

from peakflo.models import Role, User
from workflows.models import Workflow

from .models import Contact, Customer, Tag

CURRENCY_CHOICES = [(code, code) for code in sorted(list_currencies())]


def active_users():
    """People who can manage or view customers: active, and not read-only auditors."""
    return User.objects.filter(is_active=True).exclude(role=Role.AUDITOR).order_by("name", "email")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return f"{user.get_full_name()} ({user.email})" if user.name else user.email


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return f"{user.get_full_name()} ({user.email})" if user.name else user.email


def split_names(text):
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class CustomerForm(forms.ModelForm):
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, initial="SGD")
    account_manager = UserChoiceField(
        queryset=active_users(),
        required=False,
        empty_label="The default account manager",
        help_text="Left empty, new customers go to the default account manager.",
    )
    default_viewers = UsersChoiceField(
        queryset=active_users(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
        help_text="Account managers who also see this customer. Ctrl/⌘-click to pick several.",
    )
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(), required=False, widget=forms.SelectMultiple(attrs={"size": 5})
    )
    new_tags = forms.CharField(
        label="New tags",
        required=False,
        max_length=500,
        help_text="Type tags that don't exist yet, separated by commas.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. key account, Thailand"}),
    )

    class Meta:
        model = Customer
        fields = [
            "name",
            "code",
            "currency",
            "payment_terms_days",
            "account_manager",
            "default_viewers",
            "tags",
            "workflow",
        ]
        labels = {"code": "Customer ID"}
        error_messages = {"code": {"unique": "Another customer already has this customer ID."}}
        help_texts = {"code": "Your own reference for the customer, unique (invoices are matched by it)."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.setdefault("autocomplete", "off")
        self.fields["workflow"].empty_label = "The default workflow"
        self.fields["workflow"].help_text = "The reminder schedule this customer follows."
        if self.instance.pk:
            self.fields["account_manager"].empty_label = "Nobody"
            self.fields["account_manager"].help_text = ""

    def clean_new_tags(self):
        names = split_names(self.cleaned_data["new_tags"])
        too_long = [name for name in names if len(name) > 50]
        if too_long:
            raise ValidationError(f"{too_long[0][:20]!r}… is longer than 50 characters.")
        return names


class BaseContactFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        main = [
            form.cleaned_data.get("name") or "?"
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("is_main")
        ]
        if len(main) > 1:
            raise ValidationError(
                f"Only one contact can be the main contact; you ticked {len(main)} ({', '.join(main)})."
            )


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "email", "phone", "whatsapp", "line_id", "is_main"]
        labels = {"whatsapp": "WhatsApp", "line_id": "LINE id", "is_main": "Main"}

    def validate_constraints(self):
        # The one-main-contact rule is checked across the whole formset; the service demotes the old one.
        pass


ContactFormSet = inlineformset_factory(
    Customer,
    Contact,
    form=ContactForm,
    formset=BaseContactFormSet,
    extra=1,
    can_delete=True,
)


class BulkUpdateForm(forms.Form):
    """What to change on the selected customers; empty fields leave the attribute as it is."""

    KEEP, SET = "", "set"
    account_manager = UserChoiceField(
        queryset=active_users(), required=False, empty_label="Keep as it is", label="New account manager"
    )
    add_viewers = UsersChoiceField(
        queryset=active_users(),
        required=False,
        label="Add default viewers",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    remove_viewers = UsersChoiceField(
        queryset=User.objects.all(),
        required=False,
        label="Remove default viewers",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    add_tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(), required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    new_tags = forms.CharField(
        label="Add new tags", required=False, help_text="Separated by commas.", max_length=500
    )
    remove_tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(), required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    workflow = forms.ModelChoiceField(
        queryset=Workflow.objects.all(), required=False, empty_label="Keep as it is"
    )
    reminders = forms.ChoiceField(
        label="Automatic reminders",
        required=False,
        choices=[("", "Keep as they are"), ("pause", "Pause"), ("resume", "Resume")],
    )
    pause_reason = forms.CharField(
        label="Why (for the timeline)",
        required=False,
        max_length=200,
        help_text='Required to pause, e.g. "Negotiating a payment plan".',
    )

    def clean_new_tags(self):
        return split_names(self.cleaned_data["new_tags"])

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data.get("reminders") == "pause" and not data.get("pause_reason", "").strip():
            self.add_error("pause_reason", "Say why the reminders pause: the timeline keeps the reason.")
            return data
        both = set(data.get("add_viewers") or ()) & set(data.get("remove_viewers") or ())
        if both:
            raise ValidationError(f"{', '.join(map(str, both))}: add or remove a viewer, not both.")
        both = set(data.get("add_tags") or ()) & set(data.get("remove_tags") or ())
        if both:
            raise ValidationError(f"{', '.join(map(str, both))}: add or remove a tag, not both.")
        if not any(
            data.get(name)
            for name in (
                "account_manager",
                "add_viewers",
                "remove_viewers",
                "add_tags",
                "new_tags",
                "remove_tags",
                "workflow",
                "reminders",
            )
        ):
            raise ValidationError("Choose at least one thing to change.")
        return data


class SpreadsheetUploadForm(forms.Form):
    file = forms.FileField(
        label="Excel (.xlsx) or CSV file",
        allow_empty_file=True,  # read_table says why an empty file cannot be used, like any other
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )
