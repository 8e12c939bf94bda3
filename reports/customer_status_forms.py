"""Forms of the Customer Status Tracking Report: inline tags and promise, and the task dialog."""

from decimal import Decimal

from django import forms

from customers.models import Tag
from workflows.models import MANUAL_ACTION_TYPES, ActionType
from workflows.task_selectors import possible_owners

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class TagsForm(forms.Form):
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.order_by("name"), required=False, widget=forms.CheckboxSelectMultiple
    )
    new_tags = forms.CharField(
        label="New tags", required=False, max_length=300, help_text="Separate several with commas."
    )

    def new_tag_names(self):
        return [name.strip() for name in self.cleaned_data["new_tags"].split(",") if name.strip()]


class PromiseForm(forms.Form):
    promise_amount = forms.DecimalField(
        label="Amount", max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    promise_date = forms.DateField(label="Date", widget=DATE)


class ReportTaskForm(forms.Form):
    kind = forms.ChoiceField(
        label="Type",
        choices=[(v, label) for v, label in ActionType.choices if v in MANUAL_ACTION_TYPES],
        initial=ActionType.PHONE_CALL,
    )
    title = forms.CharField(max_length=200, initial="Follow up")
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="Nobody yet")
    due_on = forms.DateField(label="Due date", widget=DATE)
    promise_amount = forms.DecimalField(
        label="Promise amount (optional)", required=False, max_digits=14, decimal_places=2,
        min_value=Decimal("0.01"),
    )  # fmt: skip
    promise_date = forms.DateField(label="Promise date (optional)", required=False, widget=DATE)
    details = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, customer, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["owner"].queryset = possible_owners(customer)
        self.fields["due_on"].widget.attrs["min"] = today.isoformat()

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if due_on < self.today:
            raise forms.ValidationError("Choose today or a later date.")
        return due_on

    def clean(self):
        data = super().clean()
        amount, date = data.get("promise_amount"), data.get("promise_date")
        if (amount is None) != (date is None) and not self.errors.get("promise_amount"):
            missing = "promise_date" if date is None else "promise_amount"
            self.add_error(missing, "Give both the promised amount and its date, or neither.")
        return data
