from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ..models import BillingInterval, DealerGroup, Plan


class PlanChangeForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=Plan.objects.filter(is_public=True),
                                  widget=forms.RadioSelect, empty_label=None)
    interval = forms.ChoiceField(label=_("Billed"), choices=BillingInterval.choices, widget=forms.RadioSelect)
    rooftops = forms.IntegerField(label=_("Rooftops"), min_value=1, max_value=500)

    def __init__(self, *args: Any, group: DealerGroup, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"plan": group.plan_id, "interval": group.billing_interval,
                                      "rooftops": group.rooftops_paid})
        super().__init__(*args, **kwargs)


COUNTRIES = (
    ("DE", _("Germany")), ("AT", _("Austria")), ("CH", _("Switzerland")), ("FR", _("France")), ("IT", _("Italy")),
    ("ES", _("Spain")), ("NL", _("Netherlands")), ("PL", _("Poland")), ("CZ", _("Czechia")),
    ("GB", _("United Kingdom")), ("RU", _("Russia")), ("KZ", _("Kazakhstan")), ("BY", _("Belarus")),
    ("CN", _("China")), ("HK", _("Hong Kong")), ("SG", _("Singapore")), ("AE", _("United Arab Emirates")),
    ("US", _("United States")),
)


class SignupForm(forms.Form):
    """The wizard's first step: the group, its address in the CRM, its first admin and the plan."""

    name = forms.CharField(label=_("Dealer group name"), max_length=200)
    country = forms.ChoiceField(label=_("Country"), choices=COUNTRIES)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    rooftops = forms.IntegerField(label=_("Number of rooftops"), min_value=1, max_value=500, initial=1,
                                  help_text=_("Dealerships you will run in the CRM; the price is per rooftop."))
    slug = forms.CharField(label=_("Your address"), max_length=40,
                           help_text=_("3 to 40 lowercase letters, digits or hyphens."))
    admin_email = forms.EmailField(label=_("Your e-mail"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(render_value=False),
                               strip=False)
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=Plan.objects.filter(is_public=True),
                                  widget=forms.RadioSelect, empty_label=None, to_field_name="code")
    interval = forms.ChoiceField(label=_("Billed"), choices=BillingInterval.choices, widget=forms.RadioSelect,
                                 initial=BillingInterval.MONTH)

    def clean_slug(self) -> str:
        from .signup import slug_available

        return slug_available(self.cleaned_data["slug"])

    def clean_admin_email(self) -> str:
        return self.cleaned_data["admin_email"].strip().lower()

    def clean_password(self) -> str:
        from django.contrib.auth.password_validation import validate_password

        validate_password(self.cleaned_data["password"])
        return self.cleaned_data["password"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        plan, rooftops = cleaned.get("plan"), cleaned.get("rooftops")
        if plan and rooftops and plan.max_rooftops is not None and rooftops > plan.max_rooftops:
            self.add_error("rooftops", _("%(plan)s covers up to %(max)d rooftops: choose a larger plan.")
                           % {"plan": plan, "max": plan.max_rooftops})
        return cleaned
