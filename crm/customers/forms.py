from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import StaffRole, User

from . import normalize
from .importing.fields import targets_for
from .importing.jobs import mapping_problems
from .models import (
    Company,
    CompanyRole,
    ConsentChannel,
    ConsentPurpose,
    DateFormat,
    Household,
    ImportEncoding,
    ImportJob,
    ImportKind,
    ImportProfile,
    Person,
    QualityRules,
    Vehicle,
    VehicleLink,
)
from .quality import REQUIRABLE
from .services import phones_normalize, tenant_region, tenant_regions, vehicle_link_add


class PersonForm(forms.ModelForm):
    phones = forms.CharField(label=_("Phones"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("One per line, in any format; without a country code they are read as local."))
    emails = forms.CharField(label=_("E-mails"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("One per line."))

    class Meta:
        model = Person
        fields = [
            "family_name", "given_name", "middle_name", "family_name_latin", "given_name_latin", "gender",
            "birth_date", "preferred_language", "address", "residential_area", "occupation", "income_band",
            "channel", "rooftop", "salesperson", "service_advisor", "notes",
        ]
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"}), "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        staff = User.objects.filter(is_active=True).exclude(role="")
        self.fields["salesperson"].queryset = staff.filter(
            role__in=[StaffRole.SALESPERSON, StaffRole.SALES_MANAGER])
        self.fields["service_advisor"].queryset = staff.filter(
            role__in=[StaffRole.SERVICE_ADVISOR, StaffRole.SERVICE_MANAGER])
        self.fields["family_name_latin"].help_text = _("Filled in from the name when left empty.")
        if self.instance.pk and not self.is_bound:
            self.initial["phones"] = "\n".join(self.instance.phones.values_list("number", flat=True))
            self.initial["emails"] = "\n".join(self.instance.emails.values_list("address", flat=True))

    def clean_phones(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["phones"].splitlines() if line.strip()]
        try:
            return phones_normalize(lines)
        except ValidationError as error:
            raise ValidationError(error.messages) from error

    def clean_emails(self) -> list[str]:
        lines = [line.strip().lower() for line in self.cleaned_data["emails"].splitlines() if line.strip()]
        bad = []
        for line in lines:
            try:
                validate_email(line)
            except ValidationError:
                bad.append(line)
        if bad:
            raise ValidationError(_("Not an e-mail address: %(values)s"), params={"values": ", ".join(bad)})
        return lines

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not (cleaned.get("family_name") or cleaned.get("given_name")):
            self.add_error("family_name", _("Enter at least a family name or a given name."))
        return cleaned

    def person_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class HandoverForm(forms.Form):
    responsibility = forms.ChoiceField(label=_("Responsibility"), choices=[
        ("salesperson", _("Salesperson")), ("service_advisor", _("Service advisor")),
    ])
    from_user = forms.ModelChoiceField(label=_("From"), queryset=User.objects.none())
    to_user = forms.ModelChoiceField(label=_("To"), queryset=User.objects.none())

    def __init__(self, *args: Any, allowed: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["responsibility"].choices = [
            choice for choice in self.fields["responsibility"].choices if choice[0] in allowed
        ]
        staff = User.objects.exclude(role="").order_by("last_name", "first_name", "email")
        self.fields["from_user"].queryset = staff  # departed staff too: they may be inactive already
        self.fields["to_user"].queryset = staff.filter(is_active=True)


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=ConsentChannel.choices)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    granted = forms.TypedChoiceField(label=_("Answer"), coerce=lambda value: value == "yes",
                                     choices=[("yes", _("Agrees")), ("no", _("Does not agree / withdraws"))])
    source = forms.CharField(label=_("Source"), max_length=120,
                             help_text=_("Where it was given: a form, a call, an import"))
    proof = forms.CharField(label=_("Proof"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    expires_on = forms.DateField(label=_("Valid until"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))


class NoteForm(forms.Form):
    summary = forms.CharField(label=_("What happened"), max_length=300)
    body = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("DMS export"), help_text=_("CSV (any encoding and separator) or XLSX, up to 50 MB."))
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportKind.choices)
    profile = forms.ModelChoiceField(label=_("Saved column mapping"), queryset=ImportProfile.objects.all(),
                                     required=False, empty_label=_("None: recognise the columns"),
                                     help_text=_("A profile sets the file type, columns and date format. Left "
                                                 "empty, a saved profile whose columns the file has is applied."))
    encoding = forms.ChoiceField(label=_("Encoding"), choices=ImportEncoding.choices, initial=ImportEncoding.AUTO)


class ImportMappingForm(forms.Form):
    """One choice per field the CRM can take from this kind of file: which column holds it."""

    date_format = forms.ChoiceField(label=_("Dates are written like"), choices=DateFormat.choices)
    profile_name = forms.CharField(label=_("Save this mapping as a profile"), max_length=120, required=False,
                                   help_text=_("For example “Autodealer sales export”. The same name overwrites."))

    def __init__(self, *args: Any, job: ImportJob, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job = job
        columns = [("", _("— not in this file —")), *((column, column) for column in job.header)]
        for target in targets_for(job.kind):
            self.fields[f"map_{target.name}"] = forms.ChoiceField(
                label=target.label, choices=columns, required=False, initial=job.mapping.get(target.name, ""))
        self.fields["date_format"].initial = job.date_format
        self.fields["profile_name"].initial = job.profile.name if job.profile else ""

    def mapping_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("map_")]

    def mapping(self) -> dict[str, str]:
        return {name.removeprefix("map_"): value for name, value in self.cleaned_data.items()
                if name.startswith("map_") and value}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for problem in mapping_problems(self.job, self.mapping()):
            self.add_error(None, problem)
        return cleaned


class QualityRulesForm(forms.ModelForm):
    required_fields = forms.MultipleChoiceField(
        label=_("A complete customer record has"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=list(REQUIRABLE.items()))

    class Meta:
        model = QualityRules
        fields = ["required_fields", "phone_refresh_months", "email_refresh_months", "address_refresh_months",
                  "archive_after_years"]

    def clean_archive_after_years(self) -> int:
        years = self.cleaned_data["archive_after_years"]
        if not 1 <= years <= 20:
            raise ValidationError(_("Choose between 1 and 20 years."))
        return years

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in ("phone_refresh_months", "email_refresh_months", "address_refresh_months"):
            if cleaned.get(name) is not None and not 1 <= cleaned[name] <= 120:
                self.add_error(name, _("Choose between 1 and 120 months."))
        return cleaned


class VehicleLinkForm(forms.Form):
    """A car for a customer: a VIN already known links that car; otherwise a new one is recorded."""

    kind = forms.ChoiceField(label=_("Relation"), choices=VehicleLink.Kind.choices, initial=VehicleLink.Kind.OWNER)
    vin = forms.CharField(label=_("VIN"), max_length=30, required=False)
    make = forms.CharField(label=_("Make"), max_length=60, required=False)
    model = forms.CharField(label=_("Model"), max_length=80, required=False)
    year = forms.IntegerField(label=_("Model year"), min_value=1900, max_value=2100, required=False)
    plate = forms.CharField(label=_("Plate"), max_length=20, required=False)
    started_on = forms.DateField(label=_("Since"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    kilometres = forms.IntegerField(label=_("Mileage (km)"), min_value=0, max_value=3_000_000, required=False)

    def clean_vin(self) -> str:
        raw = self.cleaned_data["vin"]
        return normalize.vin_normalize(raw) if raw.strip() else ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not (cleaned.get("vin") or cleaned.get("plate") or (cleaned.get("make") and cleaned.get("model"))):
            raise ValidationError(_("Enter the VIN, the plate, or the make and model."))
        return cleaned

    def save(self, *, party: Person | Company, by: User) -> VehicleLink | None:
        """Link the car to a customer or a company; None, with the reason on the form, when refused."""
        data = self.cleaned_data
        try:
            return vehicle_link_add(
                party=party, by=by, kind=data["kind"], started_on=data["started_on"], kilometres=data["kilometres"],
                vehicle_fields={name: data[name] for name in ("vin", "make", "model", "year", "plate")
                                if data[name] not in ("", None)})
        except ValidationError as error:
            self.add_error(None, error)
            return None


class VehicleForm(forms.ModelForm):
    """A car's details, as the dealer corrects or completes them."""

    class Meta:
        model = Vehicle
        fields = ["vin", "make", "model", "year", "plate", "colour", "purchase_date", "selling_rooftop", "salesperson",
                  "warranty_end", "insurance_expiry", "inspection_due"]
        widgets = {name: forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
                   for name in ("purchase_date", "warranty_end", "insurance_expiry", "inspection_due")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["salesperson"].queryset = User.objects.filter(
            is_active=True, role__in=[StaffRole.SALESPERSON, StaffRole.SALES_MANAGER])
        # Typed with spaces or dashes a VIN is longer than 17 until cleaned: clean_vin says what is wrong.
        self.fields["vin"] = forms.CharField(label=_("VIN"), max_length=30, required=False)
        self.fields["year"] = forms.IntegerField(label=_("Model year"), required=False, min_value=1900,
                                                 max_value=timezone.localdate().year + 2)

    def clean_vin(self) -> str:
        raw = self.cleaned_data["vin"]
        return normalize.vin_normalize(raw) if raw.strip() else ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not (cleaned.get("vin") or cleaned.get("plate") or (cleaned.get("make") and cleaned.get("model"))):
            raise ValidationError(_("Enter the VIN, the plate, or the make and model."))
        return cleaned


class MileageForm(forms.Form):
    kilometres = forms.IntegerField(label=_("Mileage (km)"), min_value=0, max_value=3_000_000)
    read_on = forms.DateField(label=_("Read on"), widget=forms.DateInput(attrs={"type": "date"}))


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ["legal_name", "tax_id", "fleet_size", "address", "phone", "email", "rooftop", "salesperson"]
        help_texts = {"phone": _("In any format; without a country code it is read as local.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["salesperson"].queryset = User.objects.filter(
            is_active=True, role__in=[StaffRole.SALESPERSON, StaffRole.SALES_MANAGER])

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"].strip()
        return normalize.phone_e164(raw, tenant_regions()) if raw else ""

    def clean_email(self) -> str:
        return normalize.email_normalize(self.cleaned_data["email"]) if self.cleaned_data["email"] else ""


class CustomerFinderForm(forms.Form):
    """Find one existing customer by name (any script) or phone (any format); several matches are offered
    to choose from and nothing happens until one is chosen. `cleaned_data["person"]` is the customer."""

    customer = forms.CharField(label=_("Customer (name or phone)"), max_length=120,
                               help_text=_("Create the person as a customer first if they are not in the CRM."))
    person = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.matches: list[Person] = []

    def candidates(self) -> QuerySet[Person]:
        return Person.objects.active()

    def clean(self) -> dict[str, Any]:
        from .selectors import customer_search

        cleaned = super().clean()
        if cleaned.get("person"):
            person = self.candidates().filter(pk=cleaned["person"]).first()
            if person is None:
                raise ValidationError(_("Choose one of the customers found."))
            cleaned["person"] = person
            return cleaned
        if not cleaned.get("customer"):
            return cleaned
        found = customer_search(cleaned["customer"], region=tenant_region())
        self.matches = list(found.filter(pk__in=self.candidates().values("pk"))[:10])
        if not self.matches:
            self.add_error("customer", _("No customer matches “%(query)s”.") % {"query": cleaned["customer"]})
        elif len(self.matches) > 1:
            self.add_error("customer", _("Several customers match: choose one below."))
        else:
            cleaned["person"] = self.matches[0]
        return cleaned


class CompanyContactForm(CustomerFinderForm):
    """Who at the company: found by name or phone among the customers, in a role, tied to cars."""

    role = forms.ChoiceField(label=_("Role"), choices=CompanyRole.choices)
    title = forms.CharField(label=_("Job title"), max_length=120, required=False)
    vehicles = forms.ModelMultipleChoiceField(label=_("Cars this role concerns"), queryset=Vehicle.objects.none(),
                                              required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vehicles"].queryset = Vehicle.objects.filter(
            links__company=company, links__ended_on__isnull=True).distinct()


class HouseholdMemberForm(CustomerFinderForm):
    """Someone who lives with the customer: found the same way, never the customer themself."""

    def __init__(self, *args: Any, person: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.person = person
        self.fields["customer"].label = _("Add someone (name or phone)")

    def candidates(self) -> QuerySet[Person]:
        return Person.objects.active().exclude(pk=self.person.pk)


class HouseholdNameForm(forms.ModelForm):
    class Meta:
        model = Household
        fields = ["name"]
