"""The public enquiry form, with its spam protection: a honeypot field and a signed issue time.

No third-party service: a bot that fills every field, or posts sooner than a person could type,
is recognised here; the view then thanks it and keeps nothing.
"""

import time
import zoneinfo
from datetime import date, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from accounts import tenant_signing
from crm.customers import normalize
from crm.customers.services import tenant_regions
from crm.dealerships.models import Rooftop

from .leads import Enquiry
from .models import Condition

HONEYPOT = "website"
# A person needs longer than this to fill the form in; a page older than this is re-issued.
MIN_SECONDS = 3
MAX_SECONDS = 24 * 3600
TEST_DRIVE_DAYS_AHEAD = 180
ENQUIRY_PURPOSE = "crm.sales.enquiry"


def form_token(issued_at: float | None = None) -> str:
    """The signed time the form was handed out (now, unless given)."""
    # Per dealer group: a token fetched from one group's page is worthless on another's.
    return tenant_signing.signer(ENQUIRY_PURPOSE).sign(str(int(time.time() if issued_at is None else issued_at)))


def token_age(token: str, now: float | None = None) -> float | None:
    """Seconds since the token was issued; None when it is missing, forged or from another group."""
    try:
        issued = int(tenant_signing.signer(ENQUIRY_PURPOSE).unsign(token or ""))
    except (tenant_signing.BadSignature, ValueError):
        return None
    return (time.time() if now is None else now) - issued


def consent_wording() -> str:
    """What the visitor agrees to by ticking the box, in the active language; kept as the proof."""
    dealer = getattr(connection.tenant, "name", "") or _("the dealer")
    return _("Yes, %(dealer)s may send me news and offers about cars and services by e-mail and SMS. I can "
             "withdraw this consent at any time.") % {"dealer": dealer}


def tenant_today() -> date:
    name = getattr(connection.tenant, "timezone", "") or "UTC"
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(name))


class EnquiryForm(forms.Form):
    given_name = forms.CharField(label=gettext_lazy("Given name"), max_length=120,
                                 widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    family_name = forms.CharField(label=gettext_lazy("Family name"), max_length=120,
                                  widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=40, required=False,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}))
    email = forms.EmailField(label=gettext_lazy("E-mail"), required=False,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    rooftop = forms.ModelChoiceField(label=gettext_lazy("Dealership"), queryset=Rooftop.objects.none(),
                                     required=False, empty_label=gettext_lazy("No preference"))
    model_interest = forms.CharField(label=gettext_lazy("Model of interest"), max_length=120, required=False)
    condition = forms.ChoiceField(label=gettext_lazy("New or used"), choices=Condition.choices,
                                  initial=Condition.NEW)
    test_drive = forms.BooleanField(label=gettext_lazy("I'd like a test drive"), required=False)
    test_drive_on = forms.DateField(label=gettext_lazy("Preferred test drive date"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    trade_in = forms.BooleanField(label=gettext_lazy("I have a car to trade in"), required=False)
    financing = forms.BooleanField(label=gettext_lazy("I'm interested in financing"), required=False)
    message = forms.CharField(label=gettext_lazy("Message"), max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 4}))
    marketing_consent = forms.BooleanField(required=False)
    source_detail = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)
    token = forms.CharField(required=False, widget=forms.HiddenInput)
    # The honeypot: hidden from sighted visitors by CSS, announced to screen readers as one to skip.
    website = forms.CharField(label=gettext_lazy("Leave this field empty"), required=False,
                              widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["marketing_consent"].label = consent_wording()
        rooftops = Rooftop.objects.filter(is_active=True).order_by("name", "pk")
        if rooftops.count() > 1:
            self.fields["rooftop"].queryset = rooftops
        else:  # one dealership (or none yet): nothing to choose
            del self.fields["rooftop"]
        if (get_language() or "").startswith("zh"):  # the family name comes first where it is written first
            order = ["family_name", "given_name"]
            self.order_fields(order + [name for name in self.fields if name not in order])
        self.token_age = token_age(self.data.get("token", "")) if self.is_bound else None
        if not self.is_bound:
            self.initial["token"] = form_token()
        elif self.token_age is not None and self.token_age > MAX_SECONDS:
            # Shown again with a fresh token (the old one would never pass); the visitor sends it again.
            self.data = self.data.copy()
            self.data["token"] = form_token()

    @property
    def human_fields(self) -> list[forms.BoundField]:
        return [field for field in self.visible_fields() if field.name != HONEYPOT]

    def spam_reason(self) -> str | None:
        """Why this submission is a bot's, or None. Told to nobody: the bot is thanked all the same."""
        if self.data.get(HONEYPOT, "").strip():
            return "honeypot"
        if self.token_age is None:
            return "token_invalid"
        if self.token_age < MIN_SECONDS:
            return "too_fast"
        return None

    def clean_given_name(self) -> str:
        return " ".join(self.cleaned_data["given_name"].split())

    def clean_family_name(self) -> str:
        return " ".join(self.cleaned_data["family_name"].split())

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"].strip()
        return normalize.phone_e164(raw, tenant_regions()) if raw else ""

    def clean_email(self) -> str:
        return normalize.email_normalize(self.cleaned_data["email"])

    def clean_test_drive_on(self) -> date | None:
        day = self.cleaned_data["test_drive_on"]
        today = tenant_today()
        if day is not None and day < today:
            raise ValidationError(_("Choose today or a later day."))
        if day is not None and day > today + timedelta(days=TEST_DRIVE_DAYS_AHEAD):
            raise ValidationError(_("Choose a day within the next six months."))
        return day

    def clean_source_detail(self) -> str:
        return self.cleaned_data["source_detail"].strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.token_age is not None and self.token_age > MAX_SECONDS:
            raise ValidationError(_("This page was open for more than a day. Please check your details and send "
                                    "them again."))
        if not self.has_error("phone") and not self.has_error("email") and not (data.get("phone")
                                                                                or data.get("email")):
            self.add_error("phone", _("Give a phone number or an e-mail address so that we can answer you."))
        if data.get("test_drive_on"):  # a preferred date is a test drive request
            data["test_drive"] = True
        return data

    def enquiry(self, *, language: str = "") -> Enquiry:
        """The validated enquiry, for ``leads.enquiry_receive``."""
        data = self.cleaned_data
        return Enquiry(
            given_name=data["given_name"], family_name=data["family_name"], phone=data["phone"],
            email=data["email"], rooftop=data.get("rooftop"), model_interest=data["model_interest"].strip(),
            condition=data["condition"], test_drive=data["test_drive"], test_drive_on=data["test_drive_on"],
            trade_in=data["trade_in"], financing=data["financing"], message=data["message"].strip(),
            source_detail=data["source_detail"], marketing_consent=data["marketing_consent"],
            consent_wording=self.fields["marketing_consent"].label if data["marketing_consent"] else "",
            language=language)
