"""Choosing the organisation when one login reaches several (Xero tenants)."""

from django import forms


class ChooseOrganisationForm(forms.Form):
    organisation = forms.ChoiceField(widget=forms.RadioSelect, label="Organisation")

    def __init__(self, *args, organisations, connected=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = [
            (
                tenant_id,
                f"{name or tenant_id}{' (connected already: reconnect it)' if tenant_id in connected else ''}",
            )
            for tenant_id, name in organisations
        ]
        self.fields["organisation"].error_messages["required"] = "Choose the organisation to connect."
        self.fields["organisation"].error_messages["invalid_choice"] = (
            "That organisation is not one this login reaches; choose one of the list."
        )
