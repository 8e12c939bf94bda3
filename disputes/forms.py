from django import forms
from django.utils.text import format_lazy

from peakflo.uploads import upload_limit_lazy

from .selectors import active_reasons

FILE_HELP = format_lazy(
    "A screenshot of a WhatsApp chat, a photo, a PDF… (image, PDF, Word, Excel or text; up to {})",
    upload_limit_lazy(),
)
FILE_ACCEPT = "image/*,.pdf,.doc,.docx,.xls,.xlsx,.txt"


class RaiseDisputeForm(forms.Form):
    reason = forms.ModelChoiceField(queryset=active_reasons(), empty_label="Choose a reason")
    comment = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What does the customer say? (optional)"}),
    )
    file = forms.FileField(
        label="File or screenshot",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": FILE_ACCEPT}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = active_reasons()  # fresh on every form: reasons change


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "Write to the thread, or attach what the customer sent."}
        ),
    )
    file = forms.FileField(
        label="File or screenshot",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": FILE_ACCEPT}),
    )

    def clean(self):
        data = super().clean()
        if not (data.get("body") or "").strip() and not data.get("file"):
            raise forms.ValidationError("Write a comment or attach a file.")
        return data


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label="How was it resolved?",
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "e.g. Credit note CN-00012 issued for the damaged pallet."}
        ),
    )


class ReasonForm(forms.Form):
    name = forms.CharField(label="Reason", max_length=120)
