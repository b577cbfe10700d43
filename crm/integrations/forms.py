from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Access, ApiKey, Module, WebhookEndpoint, WebhookEvent
from .webhooks import url_check

NO_ACCESS = ""


class ApiKeyForm(forms.ModelForm):
    """A key's name and, per module, no access, read, or read and write."""

    class Meta:
        model = ApiKey
        fields = ["name", "system", "rate_per_minute"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rate_per_minute"].widget.attrs.update(min=1, max=6000)
        choices = [(NO_ACCESS, _("No access")), *Access.choices]
        for module, label in Module.choices:
            self.fields[f"scope_{module}"] = forms.ChoiceField(label=label, choices=choices, required=False)

    def clean_rate_per_minute(self) -> int:
        rate = self.cleaned_data["rate_per_minute"]
        if not 1 <= rate <= 6000:
            raise ValidationError(_("Between 1 and 6,000 requests a minute."))
        return rate

    def scope_fields(self) -> list[forms.BoundField]:
        return [self[f"scope_{module}"] for module in Module.values]

    def scopes(self) -> list[str]:
        return [f"{module}:{self.cleaned_data[f'scope_{module}']}" for module in Module.values
                if self.cleaned_data.get(f"scope_{module}")]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not any(cleaned.get(f"scope_{module}") for module in Module.values):
            raise ValidationError(_("Give the key access to at least one module."))
        return cleaned


class WebhookForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(label=_("Events"), choices=WebhookEvent.choices,
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "is_active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        url_check(url)
        return url
