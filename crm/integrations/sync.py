"""Writes from other systems: upserts keyed by their own record numbers, through the same services as the
screens, so a nightly or incremental sync run twice changes nothing twice and never duplicates a customer.

Identity resolution for a number seen the first time is the DMS import's: an active customer with the same
name (in any script) who shares a phone or an e-mail address is that customer; otherwise a new record, queued
for duplicate review like any other.
"""

import copy
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from crm.customers import normalize
from crm.customers.identity import review_queue_refresh
from crm.customers.models import Company, Email, ExternalRef, Person, Phone, Vehicle, VehicleLink
from crm.customers.services import person_create, person_update, phones_normalize, vehicle_link_add
from crm.customers.vehicles import vehicle_update
from crm.dealerships.models import Rooftop
from crm.service import dms
from crm.service.models import ServiceVisit
from crm.service.services import repeats_reflag, visit_close, visit_open

from .models import ApiKey


def _lock(*parts: str) -> None:
    """Serialise writers of the same outside record (two sync workers, a retried request) until commit."""
    with connection.cursor() as cursor:
        # Advisory locks are database-wide: the schema keeps two groups' "RO-1001" apart.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["\x1f".join((connection.schema_name, *parts))])


def survivor(person: Person) -> Person:
    """The record a customer was merged into, through any chain of merges."""
    seen = set()
    while person.merged_into_id and person.pk not in seen:
        seen.add(person.pk)
        person = Person.objects.get(pk=person.merged_into_id)
    return person


def _strong_match(fields: dict[str, Any], phones: list[str], emails: list[str]) -> Person | None:
    key = normalize.name_key(fields.get("family_name", ""), fields.get("given_name", ""))
    if not key or not (phones or emails):
        return None
    shared = Q(pk__in=Phone.objects.filter(number__in=phones).values("person_id")) | Q(
        pk__in=Email.objects.filter(address__in=emails).values("person_id"))
    born = fields.get("birth_date")
    for person in Person.objects.active().filter(shared, name_key=key).order_by("pk"):
        if not (born and person.birth_date and born != person.birth_date):
            return person
    return None


@transaction.atomic
def customer_upsert(*, api_key: ApiKey, system: str, key: str, fields: dict[str, Any],
                    phones: list[str] | None, emails: list[str] | None) -> tuple[Person, bool]:
    """The customer another system knows as ``system``/``key``: updated with the fields sent (phones and
    e-mails are added, never removed: the CRM may know more), or found or made the first time.
    Returns (customer, created)."""
    _lock("person", system, key)
    phones = phones_normalize(list(phones or []))
    emails = [normalize.email_normalize(address) for address in emails or [] if address.strip()]
    ref = ExternalRef.objects.filter(system=system, key=key).select_related("person").first()
    if ref is not None and ref.person is None:
        raise ValidationError({"key": ValidationError(
            _("This number belongs to a company in the CRM, not to a person."), code="conflict")})
    person = survivor(ref.person) if ref else _strong_match(fields, phones, emails)
    if person is None:
        person = person_create(by=None, fields=fields, phones=phones, emails=emails,
                               source="api", source_name=api_key.name)
        ExternalRef.objects.create(system=system, key=key, person=person)
        transaction.on_commit(lambda: review_queue_refresh([person.pk]))
        return person, True
    known_phones = list(person.phones.values_list("number", flat=True))
    known_emails = list(person.emails.values_list("address", flat=True))
    person_update(person=person, by=None, fields=fields,
                  phones=known_phones + [n for n in phones if n not in known_phones],
                  emails=known_emails + [a for a in emails if a not in known_emails])
    if ref is None:
        ExternalRef.objects.create(system=system, key=key, person=person)
    return person, False


@transaction.atomic
def company_upsert(*, system: str, key: str, fields: dict[str, Any]) -> tuple[Company, bool]:
    """A company by the other system's number, else by its tax id, else new."""
    _lock("company", system, key)
    ref = ExternalRef.objects.filter(system=system, key=key).select_related("company").first()
    if ref is not None and ref.company is None:
        raise ValidationError({"key": ValidationError(
            _("This number belongs to a person in the CRM, not to a company."), code="conflict")})
    company = ref.company if ref else None
    if company is None and fields.get("tax_id"):
        company = Company.objects.filter(tax_id=fields["tax_id"], archived_at__isnull=True).order_by("pk").first()
    created = company is None
    company = company or Company()
    for name, value in fields.items():
        setattr(company, name, value)
    company.full_clean()
    company.save()
    if ref is None:
        ExternalRef.objects.create(system=system, key=key, company=company)
    return company, created


@transaction.atomic
def vehicle_upsert(*, vin: str, fields: dict[str, Any], owner: Person | Company | None,
                   owner_since: date | None) -> tuple[Vehicle, bool]:
    """A car by its VIN: its details updated, and its owner changed when the other system says so (the
    previous owner's link ends that day, as at the counter)."""
    vin = vin.strip().upper()
    _lock("vehicle", vin)
    vehicle = Vehicle.objects.filter(vin=vin).first()
    created = vehicle is None
    candidate = copy.copy(vehicle) if vehicle else Vehicle(vin=vin)
    for name, value in fields.items():
        setattr(candidate, name, value)
    candidate.full_clean(validate_unique=False)
    if vehicle is not None and fields:
        vehicle_update(vehicle=vehicle, by=None, fields=fields)
    if owner is not None:
        side = {"person": owner} if isinstance(owner, Person) else {"company": owner}
        current = vehicle is not None and VehicleLink.objects.filter(
            vehicle=vehicle, kind=VehicleLink.Kind.OWNER, ended_on__isnull=True, **side).exists()
        if not current:
            link = vehicle_link_add(party=owner, by=None, kind=VehicleLink.Kind.OWNER,
                                    vehicle_fields={**fields, "vin": vin}, started_on=owner_since)
            vehicle = link.vehicle
    if vehicle is None:
        vehicle = Vehicle(**fields, vin=vin)
        vehicle.full_clean()
        vehicle.save()
    vehicle.refresh_from_db()
    return vehicle, created


@transaction.atomic
def visit_upsert(*, order_ref: str, vehicle: Vehicle, person: Person | None, rooftop: Rooftop | None,
                 opened_on: date, closed_on: date | None, fields: dict[str, Any],
                 lines: list[dict[str, Any]] | None = None,
                 declined: list[dict[str, Any]] | None = None) -> tuple[ServiceVisit, bool]:
    """A repair order by the DMS's reference: opened once, its amounts, mileage and advisor kept current, its
    job lines replaced by the ones sent (totals follow them) and its declined work added or updated by key
    (``crm.service.dms``), and closed (timeline, repeat-repair flag, survey, webhook) once, when the DMS
    first says it is closed. Lines changed on a closed order flag repeat repairs again."""
    _lock("visit", order_ref)
    visit = ServiceVisit.objects.select_for_update().filter(source_ref=order_ref).first()
    created = visit is None
    if visit is None:
        visit = visit_open(vehicle=vehicle, rooftop=rooftop, opened_on=opened_on, by=None, person=person,
                           mileage=fields.get("mileage"), order_number=fields.get("order_number", ""))
        visit.source_ref = order_ref
    elif visit.vehicle_id != vehicle.pk:
        raise ValidationError({"vin": _("This repair order is for another car.")})
    for name, value in fields.items():
        setattr(visit, name, value)
    changed = set(fields) | ({"source_ref"} if created else set())
    if {"labour_amount", "parts_amount"} & fields.keys() and "total_amount" not in fields:
        visit.total_amount = (visit.labour_amount or 0) + (visit.parts_amount or 0)
        changed.add("total_amount")
    visit.full_clean(exclude=["vehicle", "person", "rooftop", "company", "advisor", "repeat_of"])
    if changed:
        visit.save(update_fields=sorted(changed))  # never the status: closing is visit_close's
    if lines is not None:
        dms.order_lines_replace(visit=visit, lines=lines)
        visit.refresh_from_db(fields=["labour_amount", "parts_amount", "total_amount"])
    if declined is not None:
        dms.order_declined_upsert(visit=visit, items=declined)
    if closed_on is not None and visit.status != ServiceVisit.Status.CLOSED:
        visit = visit_close(visit=visit, by=None, closed_on=closed_on)
        if lines:
            repeats_reflag([visit.pk])  # the car's later orders, received first, may repeat this one
    elif lines is not None and visit.status == ServiceVisit.Status.CLOSED:
        repeats_reflag([visit.pk])
    return visit, created
