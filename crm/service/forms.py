from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import StaffRole, User
from crm.dealerships.models import Rooftop

from .models import (
    CapacityRule,
    Closure,
    DeclinedRecommendation,
    JobCategory,
    JobLine,
    MaintenanceInterval,
    ReminderRule,
    ServiceType,
)
from .services import vehicle_find

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class VisitForm(forms.Form):
    vehicle = forms.CharField(label=_("Car (VIN or plate)"), max_length=30)
    rooftop = forms.ModelChoiceField(label=_("Rooftop"), queryset=Rooftop.objects.all())
    advisor = forms.ModelChoiceField(label=_("Service advisor"), required=False, queryset=User.objects.filter(
        is_active=True, role__in=[StaffRole.SERVICE_ADVISOR, StaffRole.SERVICE_MANAGER]))
    opened_on = forms.DateField(label=_("Opened"), widget=DATE)
    mileage = forms.IntegerField(label=_("Mileage (km)"), min_value=0, max_value=3_000_000, required=False)
    order_number = forms.CharField(label=_("Repair order number"), max_length=60, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"opened_on": timezone.localdate()})
        super().__init__(*args, **kwargs)

    def clean_vehicle(self) -> object:
        vehicle = vehicle_find(self.cleaned_data["vehicle"])
        if vehicle is None:
            raise ValidationError(_("No car with this VIN or plate: add it on the customer's page first."))
        return vehicle


class JobLineForm(forms.ModelForm):
    class Meta:
        model = JobLine
        fields = ["kind", "category", "description", "quantity", "unit_price", "labour_hours"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in ("quantity", "unit_price"):
            if cleaned.get(name) is not None and cleaned[name] < Decimal(0):
                self.add_error(name, _("Enter a positive number."))
        return cleaned


class DeclinedForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=JobCategory.choices)
    description = forms.CharField(label=_("Work declined"), max_length=300)
    estimate = forms.DecimalField(label=_("Estimate"), max_digits=12, decimal_places=2, min_value=0, required=False)
    follow_up_on = forms.DateField(label=_("Follow up on"), required=False, widget=DATE,
                                   help_text=_("Empty: a month after the visit."))


class DeclinedStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=DeclinedRecommendation.Status.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
    follow_up_on = forms.DateField(label=_("Next follow-up"), required=False, widget=DATE)


class AppointmentForm(forms.Form):
    vehicle = forms.CharField(label=_("Car (VIN or plate)"), max_length=30)
    service_type = forms.ModelChoiceField(label=_("Service"), queryset=ServiceType.objects.all(), empty_label=None)
    advisor = forms.ModelChoiceField(label=_("Service advisor"), required=False, queryset=User.objects.filter(
        is_active=True, role__in=[StaffRole.SERVICE_ADVISOR, StaffRole.SERVICE_MANAGER]))
    comment = forms.CharField(label=_("Comment"), max_length=500, required=False, widget=forms.Textarea(
        attrs={"rows": 2}))

    def clean_vehicle(self) -> object:
        vehicle = vehicle_find(self.cleaned_data["vehicle"])
        if vehicle is None:
            raise ValidationError(_("No car with this VIN or plate: add it on the customer's page first."))
        return vehicle


class CapacityRuleForm(forms.ModelForm):
    class Meta:
        model = CapacityRule
        fields = ["service_type", "daily_hours", "online_share"]

    def clean_online_share(self) -> int:
        share = self.cleaned_data["online_share"]
        if share > 100:
            raise ValidationError(_("A share is at most 100%."))
        return share


class ClosureForm(forms.ModelForm):
    class Meta:
        model = Closure
        fields = ["day", "reason"]
        widgets = {"day": DATE}


class SlotsForm(forms.Form):
    start = forms.DateField(label=pgettext_lazy("date range", "From"), widget=DATE)
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=120, initial=28)
    seats = forms.IntegerField(label=_("Customers per half hour"), min_value=1, max_value=50,
                               help_text=_("How many cars the reception takes at once."))


class ReminderRuleForm(forms.ModelForm):
    class Meta:
        model = ReminderRule
        fields = ["enabled", "days_ahead", "message", "task"]


class MaintenanceIntervalForm(forms.ModelForm):
    class Meta:
        model = MaintenanceInterval
        fields = ["make", "model", "every_km", "every_months"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("model") and not cleaned.get("make"):
            self.add_error("make", _("Name the make of this model."))
        if cleaned.get("every_km") == 0 or cleaned.get("every_months") == 0:
            raise ValidationError(_("An interval is at least 1 km and 1 month."))
        return cleaned


class AdvisorCapacityForm(forms.Form):
    advisor = forms.ModelChoiceField(label=_("Service advisor"), queryset=User.objects.filter(
        is_active=True, role__in=[StaffRole.SERVICE_ADVISOR, StaffRole.SERVICE_MANAGER]))
    appointments_per_day = forms.IntegerField(label=_("Appointments a day"), min_value=1, max_value=100)


class TyreSeasonForm(forms.Form):
    rooftop = forms.ModelChoiceField(label=_("Rooftop"), queryset=Rooftop.objects.all(), required=False,
                                     empty_label=_("All rooftops (default)"))
    autumn = forms.DateField(label=_("Winter tyres from"), widget=DATE)
    spring = forms.DateField(label=_("Summer tyres from"), widget=DATE)


class HolidayForm(forms.Form):
    name = forms.CharField(label=_("Holiday"), max_length=100)
    day = forms.DateField(label=_("Date"), widget=DATE)
