"""One car: its details, everyone who owned, used or drove it, and its mileage history."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from accounts.models import User

from .models import CURRENT_FIRST, AuditEntry, CompanyContact, MileageReading, TimelineEntry, Vehicle, VehicleLink
from .timeline import timeline_event

READINGS_SHOWN = 20


@dataclass(frozen=True)
class VehicleView:
    vehicle: Vehicle
    links: list[VehicleLink]
    readings: list[MileageReading]
    readings_more: bool
    company_contacts: list[CompanyContact]


def vehicle_view(vehicle: Vehicle) -> VehicleView:
    """Everything the car's page shows, in a fixed number of queries whatever its history."""
    links = list(vehicle.links.select_related("person", "company").order_by(CURRENT_FIRST, "-started_on", "-pk"))
    readings = list(vehicle.mileage_readings.order_by("-read_on", "-pk")[:READINGS_SHOWN + 1])
    contacts = list(vehicle.company_contacts.filter(ended_on__isnull=True).select_related("person", "company"))
    return VehicleView(vehicle=vehicle, links=links, readings=readings[:READINGS_SHOWN],
                       readings_more=len(readings) > READINGS_SHOWN, company_contacts=contacts)


def _holders(vehicle: Vehicle) -> list[int]:
    return list(vehicle.links.filter(ended_on__isnull=True, person__isnull=False).values_list("person_id", flat=True))


@transaction.atomic
def vehicle_update(*, vehicle: Vehicle, by: User | None, fields: dict[str, Any]) -> dict[str, list[Any]]:
    """Change the car's details; each change is on the audit trail of the people who hold it now."""
    before = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
    changes = {}
    for name, value in fields.items():
        old = getattr(before, name)
        if old != value:
            changes[name] = [_plain(old), _plain(value)]
            setattr(vehicle, name, value)
    if not changes:
        return {}
    vehicle.save()
    AuditEntry.objects.bulk_create([
        AuditEntry(person_id=pk, actor=by, action="vehicle_updated", changes={"vehicle": vehicle.pk, **changes})
        for pk in _holders(vehicle)
    ])
    return changes


@transaction.atomic
def mileage_record(*, vehicle: Vehicle, kilometres: int, read_on: date, by: User | None,
                   source: str = "crm") -> MileageReading:
    """A new odometer reading. Odometers only go up: a reading below an earlier one, or above a
    later one, is a typo (or a replaced instrument cluster, which the service department records)."""
    if read_on > timezone.localdate():
        raise ValidationError(_("A mileage cannot be read in the future."))
    Vehicle.objects.select_for_update().get(pk=vehicle.pk)  # readings of one car are recorded one at a time
    readings = MileageReading.objects.filter(vehicle=vehicle)
    earlier = readings.filter(read_on__lte=read_on, kilometres__gt=kilometres).order_by("-kilometres").first()
    if earlier is not None:
        raise ValidationError(_("%(km)s km is less than the %(earlier)s km read on %(date)s.") % {
            "km": number_format(kilometres, force_grouping=True),
            "earlier": number_format(earlier.kilometres, force_grouping=True), "date": earlier.read_on.isoformat()})
    later = readings.filter(read_on__gt=read_on, kilometres__lt=kilometres).order_by("kilometres").first()
    if later is not None:
        raise ValidationError(_("%(km)s km is more than the %(later)s km read later, on %(date)s.") % {
            "km": number_format(kilometres, force_grouping=True),
            "later": number_format(later.kilometres, force_grouping=True), "date": later.read_on.isoformat()})
    reading, created = MileageReading.objects.get_or_create(vehicle=vehicle, read_on=read_on, kilometres=kilometres,
                                                            defaults={"source": source})
    if not created:
        raise ValidationError(_("This reading is already recorded."))
    TimelineEntry.objects.bulk_create([
        timeline_event("mileage", {"vehicle": str(vehicle), "km": kilometres}, person_id=pk, author=by)
        for pk in _holders(vehicle)
    ])
    return reading


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value
