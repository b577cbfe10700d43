"""Forms of the sales screens. They check input; the services in services.py decide and record."""

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from crm.customers import normalize
from crm.customers.forms import CustomerFinderForm
from crm.dealerships.models import Rooftop

from .models import (
    WORKED_LEVELS,
    Cadence,
    CareStep,
    Condition,
    ContactKind,
    DemoVehicle,
    Level,
    LostReason,
    Opportunity,
    Outcome,
    SalesSchedule,
    Source,
    Stage,
)
from .services import SELLERS

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
WORKED_CHOICES = [(level.value, level.label) for level in WORKED_LEVELS]


def sellers() -> Any:
    return User.objects.filter(is_active=True, role__in=SELLERS).order_by("first_name", "last_name", "email")


class ProspectForm(CustomerFinderForm):
    """A prospect for a customer already in the CRM (found by name or phone) or for a new one."""

    family_name = forms.CharField(label=_("Family name"), max_length=120, required=False)
    given_name = forms.CharField(label=_("Given name"), max_length=120, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    level = forms.ChoiceField(label=_("Level"), choices=WORKED_CHOICES, initial=Level.B)
    source = forms.ChoiceField(label=_("Source"), choices=Source.choices, initial=Source.WALK_IN)
    source_detail = forms.CharField(label=_("Source details"), max_length=200, required=False)
    model_interest = forms.CharField(label=_("Model of interest"), max_length=120, required=False)
    condition = forms.ChoiceField(label=_("New or used"), choices=Condition.choices, initial=Condition.NEW)
    trade_in = forms.BooleanField(label=_("Trade-in"), required=False)
    financing = forms.BooleanField(label=_("Financing"), required=False)
    rooftop = forms.ModelChoiceField(label=_("Rooftop"), queryset=Rooftop.objects.filter(is_active=True),
                                     required=False)
    salesperson = forms.ModelChoiceField(label=_("Salesperson"), queryset=User.objects.none(), required=False,
                                         empty_label=_("Next in turn at the rooftop"))
    contact_kind = forms.ChoiceField(label=_("Registered during"), required=False, choices=[
        ("", _("No contact yet: plan the first one for today")), *ContactKind.choices])
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices, initial=Outcome.REACHED, required=False)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, may_assign: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].required = False
        self.fields["customer"].help_text = _("Or enter a new customer's name and contacts below.")
        if may_assign:
            self.fields["salesperson"].queryset = sellers()
        else:
            del self.fields["salesperson"]

    def clean_phone(self) -> str:
        from crm.customers.services import tenant_regions

        raw = self.cleaned_data["phone"].strip()
        if raw and not normalize.phone_e164(raw, tenant_regions()):
            raise ValidationError(_("This is not a phone number we can dial."))
        return raw

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not (cleaned.get("person") or self.errors.get("customer") or cleaned.get("family_name")
                or cleaned.get("given_name")):
            self.add_error("customer", _("Find the customer, or enter a new customer's name."))
        return cleaned


class ContactForm(forms.Form):
    kind = forms.ChoiceField(label=_("How"), choices=ContactKind.choices)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    note = forms.CharField(label=_("What was said"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    next_step = forms.CharField(label=_("Next step"), max_length=200, required=False)
    next_contact_on = forms.DateField(label=_("Next contact (if agreed)"), required=False, widget=DATE,
                                      help_text=_("Empty: planned by the level's cadence."))


class LevelForm(forms.Form):
    level = forms.ChoiceField(label=_("New level"), choices=Level.choices)
    note = forms.CharField(label=_("Why"), widget=forms.Textarea(attrs={"rows": 2}))
    lost_reason = forms.ChoiceField(label=_("Lost because"), choices=[("", "—"), *LostReason.choices],
                                    required=False)
    competitor = forms.CharField(label=_("Competitor"), max_length=120, required=False)


class AssignForm(forms.Form):
    to_user = forms.ModelChoiceField(label=_("Salesperson"), queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = sellers()


class HandoverForm(forms.Form):
    from_user = forms.ModelChoiceField(label=_("From"), queryset=User.objects.none(),
                                       help_text=_("The salesperson who leaves or changes job."))
    to_user = forms.ModelChoiceField(label=_("To"), queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from_user"].queryset = User.objects.filter(role__in=SELLERS).order_by("email")
        self.fields["to_user"].queryset = sellers()


class TransferForm(forms.Form):
    reason = forms.CharField(label=_("Why should the customer be yours?"), widget=forms.Textarea(attrs={"rows": 3}))


class DealForm(forms.ModelForm):
    class Meta:
        model = Opportunity
        fields = ["model", "condition", "equipment", "amount", "trade_in_amount", "probability", "expected_close"]
        widgets = {"expected_close": DATE, "equipment": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["probability"].required = False
        self.fields["probability"].help_text = _("Empty: the stage's usual probability.")


class StageForm(forms.Form):
    stage = forms.ChoiceField(label=_("Stage"), choices=[(s.value, s.label) for s in Stage if s != Stage.DELIVERED])
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
    probability = forms.IntegerField(label=_("Probability, %"), min_value=0, max_value=100, required=False)
    lost_reason = forms.ChoiceField(label=_("Lost because"), choices=[("", "—"), *LostReason.choices],
                                    required=False)
    competitor = forms.CharField(label=_("Competitor"), max_length=120, required=False)


DURATIONS = [(30, _("30 minutes")), (45, _("45 minutes")), (60, _("1 hour")), (90, _("1½ hours")),
             (120, _("2 hours")), (240, _("Half a day"))]


class TestDriveForm(forms.Form):
    __test__ = False

    demo = forms.ModelChoiceField(label=_("Demo car"), queryset=DemoVehicle.objects.none())
    starts_at = forms.DateTimeField(label=_("Starts"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                    input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    minutes = forms.TypedChoiceField(label=_("Length"), choices=DURATIONS, coerce=int, initial=45)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["demo"].queryset = DemoVehicle.objects.filter(is_active=True).select_related("rooftop")

    @property
    def ends_at(self) -> datetime:
        return self.cleaned_data["starts_at"] + timedelta(minutes=self.cleaned_data["minutes"])


class DeliveryForm(forms.Form):
    vin = forms.CharField(label=_("VIN"), max_length=30)
    make = forms.CharField(label=_("Make"), max_length=60)
    model = forms.CharField(label=_("Model"), max_length=80)
    year = forms.IntegerField(label=_("Model year"), min_value=1990, required=False)
    plate = forms.CharField(label=_("Plate"), max_length=20, required=False)
    delivered_on = forms.DateField(label=_("Delivered on"), widget=DATE)
    kilometres = forms.IntegerField(label=_("Mileage (km)"), min_value=0, max_value=100_000, required=False)

    def clean_vin(self) -> str:
        return normalize.vin_normalize(self.cleaned_data["vin"])

    def clean_year(self) -> int | None:
        year = self.cleaned_data["year"]
        if year and year > timezone.localdate().year + 1:
            raise ValidationError(_("A model year after next year is not possible."))
        return year


class CareDoneForm(forms.Form):
    outcome = forms.CharField(label=_("How it went"), max_length=300)


class CadenceForm(forms.ModelForm):
    class Meta:
        model = Cadence
        fields = ["min_days", "max_days"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("min_days") and cleaned.get("max_days") and cleaned["min_days"] > cleaned["max_days"]:
            self.add_error("max_days", _("A contact cannot be overdue before it is planned."))
        return cleaned


class ScheduleForm(forms.ModelForm):
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Working days"), coerce=int, widget=forms.CheckboxSelectMultiple,
        choices=[(0, _("Mon")), (1, _("Tue")), (2, _("Wed")), (3, _("Thu")), (4, _("Fri")), (5, _("Sat")),
                 (6, _("Sun"))])

    class Meta:
        model = SalesSchedule
        fields = ["user", "rooftop", "weekdays", "takes_leads", "away_until"]
        widgets = {"away_until": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = sellers()
        self.fields["user"].label = _("Salesperson")
        self.fields["rooftop"].queryset = Rooftop.objects.filter(is_active=True)


class DemoVehicleForm(forms.ModelForm):
    class Meta:
        model = DemoVehicle
        fields = ["rooftop", "model", "plate", "vin"]

    def clean_vin(self) -> str:
        raw = self.cleaned_data["vin"]
        return normalize.vin_normalize(raw) if raw.strip() else ""


class CareStepForm(forms.ModelForm):
    class Meta:
        model = CareStep
        fields = ["days_after", "kind", "title", "is_active"]
