from django import forms

from invoices.models import Invoice, InvoiceStatus

from .models import MANUAL_ACTION_TYPES, ActionType, Task
from .task_selectors import possible_owners
from .task_services import SNOOZE_DAYS

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class TaskForm(forms.ModelForm):
    kind = forms.ChoiceField(
        label="Type", choices=[(v, label) for v, label in ActionType.choices if v in MANUAL_ACTION_TYPES]
    )

    class Meta:
        model = Task
        fields = ["kind", "title", "due_on", "owner", "invoice", "details"]
        labels = {"due_on": "Due date", "invoice": "Invoice (optional)"}
        widgets = {
            "due_on": DATE,
            "details": forms.Textarea(attrs={"rows": 3}),
            "title": forms.TextInput(attrs={"placeholder": "e.g. Call Ann about the March invoices"}),
        }

    def __init__(self, *args, customer, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["due_on"].widget.attrs["min"] = today.isoformat()
        self.fields["owner"].queryset = possible_owners(customer)
        self.fields["owner"].empty_label = "Nobody yet"
        self.fields["invoice"].queryset = (
            Invoice.objects.filter(customer=customer)
            .exclude(status=InvoiceStatus.VOID)
            .order_by("-due_date", "-id")
        )
        self.fields["invoice"].empty_label = "None: the whole account"

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if due_on < self.today:
            raise forms.ValidationError("Choose today or a later date.")
        return due_on


class CompleteForm(forms.Form):
    outcome = forms.CharField(
        label="Outcome",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What happened? e.g. Ann will pay on Friday"}),
    )


class RescheduleForm(forms.Form):
    due_on = forms.DateField(label="New due date", widget=DATE)

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["due_on"].widget.attrs["min"] = today.isoformat()

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if due_on < self.today:
            raise forms.ValidationError("Choose today or a later date.")
        return due_on


class SnoozeForm(forms.Form):
    days = forms.TypedChoiceField(
        coerce=int, choices=[(d, f"{d} day{'s' if d > 1 else ''}") for d in SNOOZE_DAYS]
    )
