"""Reads on customers: search, the 360 view, and the consent check everything that contacts asks."""

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from . import normalize
from .models import Consent, ConsentChannel, ConsentPurpose, Person, TimelineEntry, Vehicle, VehicleLink

TIMELINE_PAGE = 50
_DIGITS = re.compile(r"\D")
_VEHICLE_TOKEN = re.compile(r"^[\w\s-]{3,20}$")


def customer_search(query: str, *, region: str = "") -> QuerySet[Person]:
    """Active customers matching a name in any script, a phone in any format, a VIN fragment or a plate.

    Every branch is served by an index: trigram indexes on the name search text, VIN and plate;
    the phone branch matches the E.164 digits' ending, indexed on the phone number.
    """
    people = Person.objects.active()
    query = (query or "").strip()
    if not query:
        return people
    condition = Q(search_text__icontains=query.lower())
    latin_key = normalize.name_key(query)
    if latin_key and latin_key != query.lower():
        condition |= Q(name_key__contains=latin_key) | Q(search_text__icontains=latin_key)
    digits = _DIGITS.sub("", query)
    if len(digits) >= 5 and len(digits) >= len(query.replace(" ", "")) - 4:
        # Numbers are stored in E.164; what people type may carry a trunk prefix (8…, 0…) or
        # another country's domestic form. Its last nine digits, or all of a shorter fragment,
        # are the part every form shares.
        condition |= Q(phones__number__endswith=digits[-9:])
        with contextlib.suppress(ValidationError):  # and, read whole in the dealer's region, the number
            condition |= Q(phones__number=normalize.phone_e164(query, region))
    if _VEHICLE_TOKEN.match(query) and any(char.isdigit() for char in query):
        token = normalize.plate_key(query)
        vehicles = Vehicle.objects.filter(Q(vin__contains=token) | Q(plate_key__contains=token))
        condition |= Q(vehicle_links__vehicle__in=vehicles, vehicle_links__ended_on__isnull=True)
    return people.filter(condition).distinct()


def person_for_staff(pk: int) -> Person:
    """A customer for a staff screen, or 404 for a missing or merged-away one alike."""
    try:
        return Person.objects.select_related("rooftop", "salesperson", "service_advisor").get(
            pk=pk, merged_into__isnull=True)
    except Person.DoesNotExist as error:
        raise Http404 from error


@dataclass(frozen=True)
class ConsentState:
    channel: str
    purpose: str
    latest: Consent | None

    @property
    def allowed(self) -> bool:
        return bool(self.latest and self.latest.granted and not (
            self.latest.expires_at and self.latest.expires_at <= timezone.now()))


@dataclass(frozen=True)
class Customer360:
    person: Person
    phones: list
    emails: list
    vehicle_links: list[VehicleLink]
    timeline: list[TimelineEntry]
    timeline_has_more: bool
    consents: list[ConsentState]
    audit: list
    merges: list


def customer_360(person: Person) -> Customer360:
    """Everything the customer page shows, in a fixed number of queries whatever the history size."""
    phones = list(person.phones.all())
    emails = list(person.emails.all())
    links = list(
        person.vehicle_links.select_related("vehicle").prefetch_related(
            Prefetch("vehicle__mileage_readings", to_attr="readings")
        ).order_by("ended_on", "-started_on", "-pk")
    )
    timeline = list(person.timeline.select_related("author", "rooftop")[: TIMELINE_PAGE + 1])
    ledger = list(person.consents.order_by("-recorded_at", "-pk"))
    consents = []
    for channel in ConsentChannel.values:
        for purpose in ConsentPurpose.values:
            latest = next((c for c in ledger if c.channel == channel and c.purpose == purpose), None)
            consents.append(ConsentState(channel, purpose, latest))
    audit = list(person.audit.select_related("actor")[:20])
    merges = list(person.merges.filter(undone_at__isnull=True).select_related("by"))
    return Customer360(person=person, phones=phones, emails=emails, vehicle_links=links,
                       timeline=timeline[:TIMELINE_PAGE], timeline_has_more=len(timeline) > TIMELINE_PAGE,
                       consents=consents, audit=audit, merges=merges)


def consent_allows(person: Person, *, channel: str, purpose: str, at: datetime | None = None) -> bool:
    """May we contact this person on this channel for this purpose? Only a granted, unexpired latest entry says yes."""
    at = at or timezone.now()
    latest = (Consent.objects.filter(person=person, channel=channel, purpose=purpose, recorded_at__lte=at)
              .order_by("-recorded_at", "-pk").first())
    return bool(latest and latest.granted and not (latest.expires_at and latest.expires_at <= at))
