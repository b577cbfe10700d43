"""Writes on customers: each validates, saves, and records the timeline and audit in one transaction."""

from datetime import date, datetime
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_tenant_model

from accounts.models import StaffRole, User

from . import normalize
from .models import (
    AuditEntry,
    Company,
    Consent,
    Email,
    MileageReading,
    Person,
    Phone,
    TimelineEntry,
    Vehicle,
    VehicleLink,
)
from .timeline import timeline_event

CUSTOMER_COUNTRIES_CHANGED = "customer_countries_changed"

# Fields a person's form may change; the audit trail records each change of these.
PERSON_FIELDS = (
    "family_name", "given_name", "middle_name", "family_name_latin", "given_name_latin", "gender", "birth_date",
    "address", "residential_area", "occupation", "income_band", "preferred_language", "channel", "rooftop",
    "salesperson", "service_advisor", "notes",
)


def _tenant_value(name: str) -> str:
    """A setting of the current dealer group. In a request the tenant is at hand; in a task or a
    script (``schema_context``) it is looked up."""
    value = getattr(getattr(connection, "tenant", None), name, None)
    if value is None:
        value = (get_tenant_model().objects.filter(schema_name=connection.schema_name)
                 .values_list(name, flat=True).first())
    return value or ""


def tenant_region() -> str:
    """The region phones without a country code are read in: the dealer group's country."""
    return _tenant_value("country").upper()


def tenant_regions() -> list[str]:
    """The countries the group's customers come from, its own first: phones without a country code are
    read as numbers of these (``normalize.phone_read``). The dealer admin adds the others."""
    others = _tenant_value("customer_countries") or []
    return [region for region in dict.fromkeys([tenant_region(), *(code.upper() for code in others)]) if region]


def customer_countries_set(*, countries: list[str], by: User) -> list[str]:
    """Declare where else the group's customers come from (ISO codes); a change is audited."""
    tenant_model = get_tenant_model()
    group = tenant_model.objects.select_for_update().get(schema_name=connection.schema_name)
    countries = [code for code in dict.fromkeys(code.upper() for code in countries) if code != group.country.upper()]
    if unknown := [code for code in countries if code not in phonenumbers.SUPPORTED_REGIONS]:
        raise ValidationError(_("Not a country code: %(codes)s.") % {"codes": ", ".join(unknown)})
    before = list(group.customer_countries)
    if before != countries:
        tenant_model.objects.filter(pk=group.pk).update(customer_countries=countries)
        if getattr(connection, "tenant", None) is not None and getattr(connection.tenant, "pk", None) == group.pk:
            connection.tenant.customer_countries = countries
        AuditEntry.objects.create(person=None, actor=by, action=CUSTOMER_COUNTRIES_CHANGED,
                                  changes={"customer_countries": [before, countries]})
    return countries


def tenant_currency() -> str:
    """The dealer group's currency (ISO 4217), in which its DMS files give amounts."""
    return _tenant_value("currency").upper()


def tenant_language() -> str:
    """The dealer group's default language (its DMS files are written in it)."""
    return _tenant_value("default_language") or "en"


def phones_normalize(raw_numbers: list[str], regions: list[str] | None = None) -> list[str]:
    """E.164 numbers, duplicates dropped, order kept; ValidationError lists every unreadable or ambiguous
    one. Read in the group's countries (``tenant_regions``) unless ``regions`` says otherwise."""
    regions = tenant_regions() if regions is None else regions
    numbers: list[str] = []
    errors: list[ValidationError] = []
    for raw in raw_numbers:
        if not raw.strip():
            continue
        try:
            number = normalize.phone_e164(raw, regions)
        except ValidationError as error:
            errors.append(error)
            continue
        if number not in numbers:
            numbers.append(number)
    if errors:
        raise ValidationError(errors)
    return numbers


def _audit_value(value: Any) -> Any:
    if hasattr(value, "pk"):
        return value.pk
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@transaction.atomic
def person_create(*, by: User | None, fields: dict[str, Any], phones: list[str] = (), emails: list[str] = (),
                  source: str = "", source_name: str = "") -> Person:
    """Create a customer with their phones and e-mails; the timeline and audit say who and how (``source``: a
    code of ``wordings.SOURCES``, ``source_name`` the API key's or file's name it names)."""
    person = Person(**{name: value for name, value in fields.items() if name in PERSON_FIELDS})
    if not (person.family_name or person.given_name):
        raise ValidationError({"family_name": _("Enter at least a family name or a given name.")})
    person.derive()
    person.full_clean()
    person.save()
    _contacts_add(person, phones=phones, emails=emails)
    timeline_event("record_created", {"source": source, "name": source_name}, person=person, author=by,
                   rooftop=person.rooftop).save()
    AuditEntry.objects.create(
        person=person, actor=by, action="created",
        changes={name: _audit_value(getattr(person, name)) for name in PERSON_FIELDS if getattr(person, name)},
    )
    return person


@transaction.atomic
def person_update(*, person: Person, by: User | None, fields: dict[str, Any], phones: list[str] | None = None,
                  emails: list[str] | None = None) -> Person:
    """Apply changed fields; phones and e-mails given replace the current ones. Audited field by field.

    Changes are measured against the stored row, so a caller (a ModelForm) that already set the
    new values on ``person`` is audited all the same.
    """
    stored = Person.objects.select_for_update().get(pk=person.pk)
    changes: dict[str, list[Any]] = {}
    for name, value in fields.items():
        if name not in PERSON_FIELDS:
            continue
        if getattr(stored, name) != value:
            changes[name] = [_audit_value(getattr(stored, name)), _audit_value(value)]
        setattr(person, name, value)
    if {"family_name", "given_name"} & changes.keys():
        # The Latin spelling follows a changed native name unless it was changed along with it.
        if "family_name_latin" not in changes:
            person.family_name_latin = ""
        if "given_name_latin" not in changes:
            person.given_name_latin = ""
    person.derive()
    person.full_clean()
    person.save()
    if phones is not None:
        kept = phones_normalize(list(phones))
        before = list(person.phones.values_list("number", flat=True))
        if before != kept:
            changes["phones"] = [before, kept]
            person.phones.exclude(number__in=kept).delete()
            _contacts_add(person, phones=kept)
    if emails is not None:
        kept_emails = [normalize.email_normalize(address) for address in emails if address.strip()]
        before_emails = list(person.emails.values_list("address", flat=True))
        if before_emails != kept_emails:
            changes["emails"] = [before_emails, kept_emails]
            person.emails.exclude(address__in=kept_emails).delete()
            _contacts_add(person, emails=kept_emails)
    if changes:
        AuditEntry.objects.create(person=person, actor=by, action="updated", changes=changes)
    return person


def _contacts_add(person: Person, *, phones: list[str] = (), emails: list[str] = ()) -> None:
    existing_phones = set(person.phones.values_list("number", flat=True))
    has_primary = bool(existing_phones)
    for number in phones_normalize(list(phones)):
        if number not in existing_phones:
            Phone.objects.create(person=person, number=number, is_primary=not has_primary)
            has_primary = True
            existing_phones.add(number)
    existing_emails = set(person.emails.values_list("address", flat=True))
    has_primary = bool(existing_emails)
    for raw in emails:
        address = normalize.email_normalize(raw)
        if address and address not in existing_emails:
            email = Email(person=person, address=address, is_primary=not has_primary)
            email.full_clean(exclude=["person"])
            email.save()
            has_primary = True
            existing_emails.add(address)


@transaction.atomic
def consent_record(*, person: Person, by: User | None, channel: str, purpose: str, granted: bool, source: str,
                   proof: str = "", expires_at: datetime | None = None) -> Consent:
    """Append to the consent ledger; earlier entries stay as they were."""
    consent = Consent(person=person, channel=channel, purpose=purpose, granted=granted, source=source, proof=proof,
                      recorded_at=timezone.now(), expires_at=expires_at, recorded_by=by)
    consent.full_clean()
    consent.save()
    timeline_event("consent", {"granted": granted, "channel": channel, "purpose": purpose}, person=person,
                   occurred_at=consent.recorded_at, author=by).save()
    return consent


def note_add(*, person: Person, by: User, summary: str, body: str = "") -> TimelineEntry:
    summary = summary.strip()
    if not summary:
        raise ValidationError({"summary": _("Write what happened.")})
    return TimelineEntry.objects.create(person=person, kind=TimelineEntry.Kind.NOTE, occurred_at=timezone.now(),
                                        author=by, summary=summary[:300], body=body.strip())


HANDOVER_ROLES = {
    "salesperson": (StaffRole.SALESPERSON, StaffRole.SALES_MANAGER),
    "service_advisor": (StaffRole.SERVICE_ADVISOR, StaffRole.SERVICE_MANAGER),
}


@transaction.atomic
def customers_handover(*, responsibility: str, from_user: User, to_user: User, by: User) -> int:
    """Move every customer ``from_user`` is responsible for to ``to_user`` in one step.

    Set-based: one UPDATE, one insert of timeline entries and one of audit entries, however many
    customers. Each customer's timeline says who handed them over to whom. Returns how many moved.
    """
    if responsibility not in HANDOVER_ROLES:
        raise ValidationError(_("Unknown responsibility."))
    if from_user == to_user:
        raise ValidationError({"to_user": _("Choose someone else to take the customers over.")})
    if not (to_user.is_active and to_user.role in HANDOVER_ROLES[responsibility]):
        raise ValidationError({"to_user": _("%(name)s cannot take over these customers.") % {"name": to_user}})
    ids = list(Person.objects.select_for_update().filter(**{responsibility: from_user}).values_list("pk", flat=True))
    if not ids:
        return 0
    Person.objects.filter(pk__in=ids).update(**{responsibility: to_user, "updated_at": timezone.now()})
    now = timezone.now()
    data = {"from": str(from_user), "to": str(to_user)}
    TimelineEntry.objects.bulk_create(timeline_event("handover", data, person_id=pk, occurred_at=now, author=by)
                                      for pk in ids)
    AuditEntry.objects.bulk_create(
        AuditEntry(person_id=pk, actor=by, action="handover", changes={responsibility: [from_user.pk, to_user.pk]})
        for pk in ids
    )
    return len(ids)


@transaction.atomic
def vehicle_link_add(*, party: "Person | Company", by: User | None, kind: str, vehicle_fields: dict[str, Any],
                     started_on: date | None = None, kilometres: int | None = None) -> VehicleLink:
    """Link a car to a customer or a company. A VIN already known is that car: when the party
    becomes its owner, the previous owner's link ends that day (history is kept, never rewritten)."""
    vin = vehicle_fields.get("vin", "")
    vehicle = Vehicle.objects.select_for_update().filter(vin=vin).first() if vin else None
    side = {"person": party} if isinstance(party, Person) else {"company": party}
    if vehicle is None:
        vehicle = Vehicle(**vehicle_fields)
        vehicle.full_clean()
        vehicle.save()
    elif VehicleLink.objects.filter(vehicle=vehicle, kind=kind, ended_on__isnull=True, **side).exists():
        raise ValidationError(_("%(vehicle)s is already linked to this customer that way.") % {"vehicle": vehicle})
    since = started_on or timezone.localdate()
    if kind == VehicleLink.Kind.OWNER:
        for previous in VehicleLink.objects.filter(vehicle=vehicle, kind=VehicleLink.Kind.OWNER, ended_on__isnull=True):
            if previous.started_on and previous.started_on > since:
                raise ValidationError(_("The current owner has had this car since %(date)s: the new ownership cannot "
                                        "start before that.") % {"date": previous.started_on.isoformat()})
            previous.ended_on = since
            previous.save(update_fields=["ended_on"])
            if previous.person_id:
                timeline_event("vehicle_passed", {"vehicle": str(vehicle)}, person_id=previous.person_id,
                               author=by).save()
    link = VehicleLink.objects.create(vehicle=vehicle, kind=kind, started_on=since, **side)
    Vehicle.objects.filter(pk=vehicle.pk).update(updated_at=timezone.now())  # who holds it is part of the car
    if kilometres is not None:
        MileageReading.objects.get_or_create(vehicle=vehicle, read_on=timezone.localdate(), kilometres=kilometres,
                                             defaults={"source": "crm"})
    if isinstance(party, Person):
        timeline_event("vehicle_linked", {"vehicle": str(vehicle), "relation": kind}, person=party, author=by).save()
        AuditEntry.objects.create(person=party, actor=by, action="vehicle_linked",
                                  changes={"vehicle": vehicle.pk, "kind": kind, "since": since.isoformat()})
    return link


@transaction.atomic
def vehicle_link_end(*, link: VehicleLink, by: User | None, ended_on: date | None = None) -> None:
    link.ended_on = ended_on or timezone.localdate()
    link.save(update_fields=["ended_on"])
    Vehicle.objects.filter(pk=link.vehicle_id).update(updated_at=timezone.now())
    if link.person_id:
        timeline_event("vehicle_unlinked", {"vehicle": str(link.vehicle), "relation": link.kind,
                                            "until": link.ended_on.isoformat()}, person_id=link.person_id,
                       author=by).save()
        AuditEntry.objects.create(person_id=link.person_id, actor=by, action="vehicle_unlinked",
                                  changes={"vehicle": link.vehicle_id, "until": link.ended_on.isoformat()})
