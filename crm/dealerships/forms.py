import re
import zoneinfo
from typing import Any

import phonenumbers
from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from accounts.models import StaffRole, User

from .models import OpeningHours, Rooftop, Weekday

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class RooftopForm(forms.ModelForm):
    timezone = forms.ChoiceField(label=_("Time zone"), choices=TIMEZONE_CHOICES)

    class Meta:
        model = Rooftop
        fields = ["name", "city", "address", "timezone", "phone", "online_change_hours", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["online_change_hours"].required = False

    def clean_online_change_hours(self) -> int:
        hours = self.cleaned_data.get("online_change_hours")
        return Rooftop._meta.get_field("online_change_hours").default if hours is None else hours


class OpeningHoursForm(forms.Form):
    """One line per weekday; a day left empty is a day the rooftop is closed."""

    def __init__(self, *args: Any, rooftop: Rooftop | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = {hours.weekday: hours for hours in rooftop.opening_hours.all()} if rooftop and rooftop.pk else {}
        for day in Weekday:
            widget = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
            self.fields[f"opens_{day.value}"] = forms.TimeField(label=day.label, required=False, widget=widget)
            self.fields[f"closes_{day.value}"] = forms.TimeField(label=day.label, required=False, widget=widget)
            if day.value in current:
                self.initial[f"opens_{day.value}"] = current[day.value].opens
                self.initial[f"closes_{day.value}"] = current[day.value].closes

    def days(self) -> list[tuple[Weekday, forms.BoundField, forms.BoundField]]:
        return [(day, self[f"opens_{day.value}"], self[f"closes_{day.value}"]) for day in Weekday]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for day in Weekday:
            opens, closes = cleaned.get(f"opens_{day.value}"), cleaned.get(f"closes_{day.value}")
            if bool(opens) != bool(closes):
                self.add_error(f"closes_{day.value}", _("Give both the opening and the closing time, or neither."))
            elif opens and closes and opens >= closes:
                self.add_error(f"closes_{day.value}", _("Closing time must be after opening time."))
        return cleaned

    def save(self, rooftop: Rooftop) -> None:
        rooftop.opening_hours.all().delete()
        OpeningHours.objects.bulk_create(
            OpeningHours(rooftop=rooftop, weekday=day.value, opens=self.cleaned_data[f"opens_{day.value}"],
                         closes=self.cleaned_data[f"closes_{day.value}"])
            for day in Weekday if self.cleaned_data.get(f"opens_{day.value}")
        )


class StaffCreateForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=StaffRole.choices)
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput,
                               help_text=_("Tell it to them in person; they can change it after signing in."))

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError(_("Someone here already signs in with this e-mail."))
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("email"):
            try:
                validate_password(cleaned["password"], User(email=cleaned["email"]))
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class StaffEditForm(forms.ModelForm):
    role = forms.ChoiceField(label=_("Role"), choices=StaffRole.choices)

    class Meta:
        model = User
        fields = ["first_name", "last_name", "role", "is_active"]
        labels = {"is_active": _("Can sign in")}


class ExportRolesForm(forms.Form):
    """Which roles besides dealer admins may download customer lists."""

    roles = forms.MultipleChoiceField(
        label=_("Who may download customer lists (CSV, Excel)"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(role.value, role.label) for role in StaffRole if role != StaffRole.DEALER_ADMIN],
        help_text=_("Dealer admins always may. Everyone else can still search and open customers; only the "
                    "download of whole lists is limited."))


class CustomerCountriesForm(forms.Form):
    """Where the group's customers come from besides its own country: phones are read in these."""

    countries = forms.CharField(
        label=_("Customers also come from"), max_length=200, required=False,
        help_text=_("Country codes (ISO 3166-1), separated by commas, e.g. CN, KZ. A phone written without "
                    "a country code is read as a number of your own country first, then of these. A number that "
                    "could belong to two of them is never guessed."))

    def clean_countries(self) -> list[str]:
        codes = [code.upper() for code in re.split(r"[\s,;]+", self.cleaned_data["countries"]) if code]
        if unknown := [code for code in codes if code not in phonenumbers.SUPPORTED_REGIONS]:
            raise forms.ValidationError(_("Not a country code: %(codes)s.") % {"codes": ", ".join(unknown)})
        return list(dict.fromkeys(codes))
