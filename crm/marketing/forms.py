"""Forms of the marketing screens: templates with a text per language, campaigns, sending rules."""

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.sales.calllist_forms import DATETIME

from .models import MessageChannel, MessageTemplate, SendingRules
from .segment_forms import AudienceForm
from .templating import fields_check


class TemplateForm(forms.ModelForm):
    """The template and its text in each of the product's languages (the customer's is used, else the
    group's, else any)."""

    class Meta:
        model = MessageTemplate
        fields = ["name", "channel", "purpose", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        texts = {text.language: text for text in self.instance.texts.all()} if self.instance.pk else {}
        for code, label in settings.LANGUAGES:
            text = texts.get(code)
            self.fields[f"subject_{code}"] = forms.CharField(
                label=_("Subject (%(language)s)") % {"language": label}, max_length=200, required=False,
                initial=text.subject if text else "")
            self.fields[f"body_{code}"] = forms.CharField(
                label=_("Text (%(language)s)") % {"language": label}, required=False,
                widget=forms.Textarea(attrs={"rows": 5}), initial=text.body if text else "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        written = [code for code, _label in settings.LANGUAGES if cleaned.get(f"body_{code}", "").strip()]
        if not written:
            raise ValidationError(_("Write the text in at least one language."))
        for code, _label in settings.LANGUAGES:
            for part in ("subject", "body"):
                try:
                    fields_check(cleaned.get(f"{part}_{code}", ""))
                except ValidationError as error:
                    self.add_error(f"{part}_{code}", error)
            if (cleaned.get("channel") == MessageChannel.EMAIL and cleaned.get(f"body_{code}", "").strip()
                    and not cleaned.get(f"subject_{code}", "").strip()):
                self.add_error(f"subject_{code}", _("An e-mail needs a subject."))
        return cleaned

    def texts(self) -> dict[str, tuple[str, str]]:
        return {code: (self.cleaned_data[f"subject_{code}"].strip(), self.cleaned_data[f"body_{code}"].strip())
                for code, _label in settings.LANGUAGES if self.cleaned_data[f"body_{code}"].strip()}


class CampaignForm(AudienceForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    template = forms.ModelChoiceField(label=_("Template"), queryset=MessageTemplate.objects.none())
    rate_per_minute = forms.IntegerField(label=_("Messages a minute"), min_value=1, max_value=60_000, initial=600)
    scheduled_at = forms.DateTimeField(label=_("Send at"), required=False, widget=DATETIME,
                                       input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                       help_text=_("Empty: when you press Send."))

    attribution_days = forms.IntegerField(
        label=_("Attribution window (days)"), min_value=1, max_value=365, initial=30, required=False,
        help_text=_("Bookings, visits and prospects of recipients within this many days count as its results."))
    cost_per_message = forms.DecimalField(label=_("Cost per message"), min_value=0, max_digits=8,
                                          decimal_places=4, initial=0, required=False)

    field_order = ("name", "template", "rate_per_minute", "scheduled_at", "attribution_days", "cost_per_message")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = MessageTemplate.objects.filter(is_active=True)

    def clean_scheduled_at(self) -> Any:
        when = self.cleaned_data["scheduled_at"]
        if when is not None and not timezone.now() <= when <= timezone.now() + timedelta(days=366):
            raise ValidationError(_("Choose a time within the next year."))
        return when


class SendingRulesForm(forms.ModelForm):
    class Meta:
        model = SendingRules
        fields = ["quiet_from", "quiet_until", "weekly_cap", "track_email"]
        widgets = {"quiet_from": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "quiet_until": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}


class EventForm(forms.ModelForm):
    class Meta:
        from .models import Event

        model = Event
        fields = ["name", "kind", "rooftop", "starts_at", "ends_at", "capacity", "description"]
        widgets = {"starts_at": DATETIME, "ends_at": DATETIME, "description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("starts_at", "ends_at"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The event ends after it starts."))
        return cleaned


class InviteForm(AudienceForm):
    """Whom to invite: a segment and filters, or (for a "second delivery" evening) the recent buyers."""

    recent_buyers = forms.BooleanField(label=_("Everyone who got a car in the four weeks before the event"),
                                       required=False)
    template = forms.ModelChoiceField(label=_("Invitation message"), queryset=MessageTemplate.objects.none(),
                                      required=False, help_text=_("Empty: invite without a message (e.g. by phone)."))

    field_order = ("recent_buyers", "template")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = MessageTemplate.objects.filter(is_active=True)

    def clean(self) -> dict[str, Any]:
        if self.data.get(self.add_prefix("recent_buyers")):
            return forms.Form.clean(self) | {"criteria": None}
        return super().clean()


class AnswerForm(forms.Form):
    coming = forms.TypedChoiceField(label=_("Will you come?"), coerce=lambda value: value == "yes",
                                    choices=[("yes", _("Yes, I will come")), ("no", _("No, I cannot come"))],
                                    widget=forms.RadioSelect)
    guests = forms.IntegerField(label=_("Guests with you"), min_value=0, max_value=4, initial=0, required=False)
