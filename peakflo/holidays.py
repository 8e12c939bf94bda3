"""Company holidays: the days no reminder goes out when a workflow sends on business days only."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Holiday

DATE_EXAMPLE = "2026-12-25"


class HolidayDateField(forms.DateField):
    """A date as YYYY-MM-DD (a date picker sends that); a bad one is named in the message."""

    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(
                f"“{value}” is not a date: write it as YYYY-MM-DD, for example {DATE_EXAMPLE}.",
                code="invalid",
            ) from None


class HolidayForm(forms.Form):
    date = HolidayDateField(error_messages={"required": "Give the holiday's date."})
    name = forms.CharField(
        max_length=120,
        error_messages={"required": "Give the holiday a name, for example Christmas Day."},
        widget=forms.TextInput(attrs={"placeholder": "e.g. Christmas Day"}),
    )

    def clean_date(self):
        date = self.cleaned_data["date"]
        existing = Holiday.objects.filter(date=date).first()
        if existing:
            raise ValidationError(f"{date:%-d %b %Y} is already a holiday: {existing.name}.")
        return date


@transaction.atomic
def add_holiday(*, date, name):
    return Holiday.objects.create(date=date, name=name.strip())


@transaction.atomic
def delete_holiday(*, holiday):
    holiday.delete()
