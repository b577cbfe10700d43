import zoneinfo
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import StaffRole, User
from crm.customers.models import ConsentChannel, ConsentPurpose, Vehicle
from crm.dealerships.models import Rooftop
from crm.service.models import DeclinedRecommendation, ServiceType, Slot

from .booking import BOOK_AHEAD, free_slots
from .privacy import PREFERENCES, phone_check
from .selectors import owner_vehicles


class ClaimForm(forms.Form):
    vin = forms.CharField(label=_("VIN"), max_length=40, help_text=_(
        "17 letters and digits, on your registration document and at the bottom of the windscreen."))


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=6, min_length=6,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))


class PhoneForm(forms.Form):
    number = forms.CharField(label=_("Mobile number"), max_length=40, widget=forms.TextInput(
        attrs={"inputmode": "tel", "autocomplete": "tel"}), help_text=_(
        "The number we have on file for you, e.g. from your last service visit."))


class BookForm(forms.Form):
    """Book the workshop: the car, the service, where and when; then one of that day's free times."""

    vehicle = forms.ModelChoiceField(label=_("Car"), queryset=Vehicle.objects.none(), empty_label=None)
    service_type = forms.ModelChoiceField(label=_("Service"), queryset=ServiceType.objects.none(), empty_label=None)
    declined = forms.ModelChoiceField(label=_("Recommended work to book"), required=False, empty_label=_("None"),
                                      queryset=DeclinedRecommendation.objects.none())
    rooftop = forms.ModelChoiceField(label=_("Workshop"), queryset=Rooftop.objects.none(), empty_label=None)
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    slot = forms.ModelChoiceField(label=_("Time"), queryset=Slot.objects.none(), required=False,
                                  widget=forms.RadioSelect, empty_label=None)
    advisor = forms.ModelChoiceField(label=_("Service advisor"), queryset=User.objects.none(), required=False,
                                     empty_label=_("No preference"))
    comment = forms.CharField(label=_("Anything we should know?"), max_length=500, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("For a repair: what happens, and when."))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cars = owner_vehicles(user)
        self.fields["vehicle"].queryset = cars
        self.fields["service_type"].queryset = ServiceType.objects.filter(online_bookable=True).order_by("position")
        self.fields["declined"].queryset = DeclinedRecommendation.objects.filter(
            vehicle__in=cars, status=DeclinedRecommendation.Status.OPEN)
        self.fields["rooftop"].queryset = Rooftop.objects.filter(is_active=True).order_by("name")
        self.fields["advisor"].queryset = User.objects.filter(
            is_active=True, role__in=[StaffRole.SERVICE_ADVISOR, StaffRole.SERVICE_MANAGER]).order_by("first_name")
        rooftop, day = self.value_before_clean("rooftop"), self.value_before_clean("day")
        if rooftop is not None and day is not None:
            tz = zoneinfo.ZoneInfo(rooftop.timezone)
            self.fields["slot"].queryset = free_slots(rooftop, day, self.value_before_clean("service_type"))
            self.fields["slot"].label_from_instance = lambda slot: f"{timezone.localtime(slot.starts_at, tz):%H:%M}"

    def value_before_clean(self, name: str) -> Any:
        """A field's clean value before the whole form is cleaned (to offer the day's times), or None."""
        try:
            return self.fields[name].clean(self[name].value())
        except ValidationError:
            return None

    def clean_day(self) -> date:
        day = self.cleaned_data["day"]
        if day < timezone.localdate():
            raise ValidationError(_("Choose a day from today on."))
        if day > timezone.localdate() + BOOK_AHEAD:
            raise ValidationError(_("We book up to six months ahead."))
        return day


class ProfileForm(forms.Form):
    """What the owner confirms about themselves, and how we may contact them."""

    given_name = forms.CharField(label=_("Given name"), max_length=120, required=False)
    family_name = forms.CharField(label=_("Family name"), max_length=120)
    phone = forms.CharField(label=_("Mobile phone"), max_length=30, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    preferred_language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for channel, purpose in PREFERENCES:
            self.fields[f"{channel}_{purpose}"] = forms.BooleanField(
                required=False, label=f"{ConsentPurpose(purpose).label} — {ConsentChannel(channel).label}")

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"].strip()
        return phone_check(raw) if raw else ""

    def preference_fields(self) -> list[forms.BoundField]:
        return [self[f"{channel}_{purpose}"] for channel, purpose in PREFERENCES]


class DeletionForm(forms.Form):
    reason = forms.CharField(label=_("Why (optional)"), max_length=1000, required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))
    confirm = forms.BooleanField(label=_("Yes, I want my data deleted"))


class InvitationForm(forms.Form):
    password1 = forms.CharField(label=_("Choose a password"), widget=forms.PasswordInput(attrs={
        "autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("The password again"), widget=forms.PasswordInput(attrs={
        "autocomplete": "new-password"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            try:
                password_validation.validate_password(first)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class JoinForm(forms.Form):
    accept_terms = forms.BooleanField(label=_("I accept the club terms"), required=True,
                                      error_messages={"required": _("Please accept the club terms to join.")})
    marketing_email = forms.BooleanField(label=_("E-mail me club news, events and offers"), required=False,
                                         help_text=_("You can change this at any time in your profile."))
    terms_version = forms.IntegerField(widget=forms.HiddenInput)


class LeaveForm(forms.Form):
    confirm = forms.BooleanField(label=_("I understand that my unused points lapse"), required=True,
                                 error_messages={"required": _("Tick the box to confirm that you want to leave.")})


class RsvpForm(forms.Form):
    coming = forms.TypedChoiceField(label=_("Are you coming?"), coerce=lambda value: value == "yes",
                                    choices=[("yes", _("Yes, I am coming")), ("no", _("No, I cannot come"))],
                                    widget=forms.RadioSelect)
    guests = forms.IntegerField(label=_("Guests"), min_value=0, max_value=4, initial=0, required=False,
                                help_text=_("Up to four guests."))


class GuestStartForm(forms.Form):
    """Booking without an account, first screen: the car, the service and the mobile number on file."""

    car = forms.CharField(label=_("Plate or VIN"), max_length=40, widget=forms.TextInput(attrs={
        "autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}))
    number = forms.CharField(label=_("Mobile number"), max_length=40, widget=forms.TextInput(attrs={
        "type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
        help_text=_("The number we have on file for you: we text a code to it."))
    service_type = forms.ModelChoiceField(label=_("Service"), queryset=ServiceType.objects.none(), empty_label=None,
                                          widget=forms.RadioSelect)
    rooftop = forms.ModelChoiceField(label=_("Workshop"), queryset=Rooftop.objects.none(), empty_label=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_type"].queryset = ServiceType.objects.filter(online_bookable=True).order_by("position")
        self.fields["rooftop"].queryset = Rooftop.objects.filter(is_active=True).order_by("name")
        for name in ("service_type", "rooftop"):  # one choice needs no question
            choices = list(self.fields[name].queryset[:2])
            if len(choices) == 1:
                self.fields[name].initial = choices[0].pk
                self.fields[name].widget = forms.HiddenInput()


class GuestTimeForm(forms.Form):
    """Booking without an account, second screen: the code we texted and one of the day's free times."""

    code = forms.CharField(label=_("Code"), max_length=6, min_length=6, widget=forms.TextInput(attrs={
        "autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*"}))
    slot = forms.ModelChoiceField(label=_("Time"), queryset=Slot.objects.none(), empty_label=None,
                                  error_messages={"required": _("Choose a time."),
                                                  "invalid_choice": _("This time is no longer free; choose another.")})

    def __init__(self, *args: Any, slots: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slot"].queryset = slots
