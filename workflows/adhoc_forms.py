"""The ad-hoc message form of the customer page."""

from django import forms

from invoices.models import Invoice
from invoices.money import format_money

from .adhoc import ADHOC_CHANNELS, contact_address
from .models import Action, ActionType, Channel
from .templating import TemplateError, check

ACTION_TYPES_OF = {
    Channel.EMAIL: ActionType.EMAIL,
    Channel.SMS: ActionType.SMS,
    Channel.WHATSAPP: ActionType.WHATSAPP,
    Channel.LINE: ActionType.LINE,
}


class AdhocMessageForm(forms.Form):
    channel = forms.ChoiceField(choices=[(c.value, c.label) for c in ADHOC_CHANNELS])
    contact = forms.ModelChoiceField(queryset=None, label="Recipient", empty_label=None)
    template = forms.ModelChoiceField(
        queryset=None, required=False, label="Start from an action's template", empty_label="Free text"
    )
    subject = forms.CharField(required=False, max_length=300)
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 10}))
    invoices = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Invoices to mention",
        help_text="None chosen: all open invoices.",
    )

    def __init__(self, *args, customer, channel=Channel.EMAIL, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        channel = self.data.get("channel", channel) if self.is_bound else channel
        if channel not in ADHOC_CHANNELS:
            channel = Channel.EMAIL
        self.chosen_channel = channel
        contacts = [c for c in customer.contacts.all() if contact_address(c, channel)]
        self.fields["contact"].queryset = customer.contacts.filter(pk__in=[c.pk for c in contacts])
        self.fields["contact"].label_from_instance = lambda c: f"{c.name} ({contact_address(c, channel)})"
        self.fields["template"].queryset = (
            Action.objects.filter(action_type=ACTION_TYPES_OF[channel])
            .select_related("workflow")
            .order_by("workflow__name", "name")
        )
        self.fields["template"].label_from_instance = lambda a: f"{a.workflow.name}: {a.name}"
        self.fields["invoices"].queryset = (
            Invoice.objects.filter(customer=customer).outstanding().order_by("due_date", "number")
        )
        self.fields["invoices"].label_from_instance = lambda i: (
            f"{i.number} · due {i.due_date:%-d %b %Y} · {format_money(i.amount_due, i.currency)}"
        )

    def clean_subject(self):
        subject = self.cleaned_data["subject"]
        if self.chosen_channel != Channel.EMAIL:
            return ""
        try:
            check(subject, field="subject")
        except TemplateError as error:
            raise forms.ValidationError(str(error)) from error
        return subject

    def clean_body(self):
        body = self.cleaned_data["body"]
        try:
            check(body, field="message")
        except TemplateError as error:
            raise forms.ValidationError(str(error)) from error
        return body

    def clean(self):
        data = super().clean()
        if (
            self.chosen_channel == Channel.EMAIL
            and not (data.get("subject") or "").strip()
            and "subject" not in self.errors
        ):
            self.add_error("subject", "An email needs a subject.")
        return data
