"""Owners book the workshop from the portal: the same slots, seats and workshop hours the CRM books
from (``service.booking.appointment_book``, channel "online", within the online share), and they move or
cancel within the rooftop's notice."""

import zoneinfo
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts.models import User
from crm.customers.models import Person, Vehicle
from crm.dealerships.models import Rooftop
from crm.service.booking import appointment_book, appointment_move
from crm.service.models import (
    Appointment,
    CapacityRule,
    Closure,
    DayLoad,
    DeclinedRecommendation,
    ServiceType,
    Slot,
)

from .models import CustomerLink
from .selectors import owner_holders, owner_vehicles
from .services import vehicle_holder

OPEN = (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED)


BOOK_AHEAD = timedelta(days=180)
DAYS_CHECKED = 60  # days with a seat free that ``free_days`` checks for the service's hours, at most


def bookable_day(day: date) -> bool:
    today = timezone.localdate()
    return today <= day <= today + BOOK_AHEAD


def free_slots(rooftop: Rooftop, day: date, service_type: ServiceType | None = None) -> QuerySet[Slot]:
    """The day's times (in the rooftop's time zone) with a seat free for online bookings, from now on;
    none for a day outside the booking window, a day the workshop is closed, or (with ``service_type``)
    a day whose online hours for that service are used up: only times the booking will accept."""
    if not bookable_day(day) or Closure.objects.filter(rooftop=rooftop, day=day).exists():
        return Slot.objects.none()
    if service_type is not None:
        if not CapacityRule.objects.filter(rooftop=rooftop, service_type=service_type).exists():
            return Slot.objects.none()
        hours_left = DayLoad.objects.filter(rooftop=rooftop, day=day, service_type=service_type,
                                            hours_booked_online__gt=F("hours_online") - service_type.labour_hours)
        if hours_left.exists():
            return Slot.objects.none()
    tz = zoneinfo.ZoneInfo(rooftop.timezone)
    start = datetime.combine(day, time.min, tzinfo=tz)
    return (Slot.objects.filter(rooftop=rooftop, starts_at__gte=max(start, timezone.now()),
                                starts_at__lt=start + timedelta(days=1), booked__lt=F("capacity"),
                                online_booked__lt=F("online_capacity")).order_by("starts_at"))


def free_days(rooftop: Rooftop, service_type: ServiceType | None, *, limit: int = 7) -> list[date]:
    """The first ``limit`` days from today with a free time for ``service_type`` at ``rooftop``: the booking opens
    on the first of them, not on a full day (days are taken from the slots with a seat free, then checked
    as ``free_slots`` checks them)."""
    tz = zoneinfo.ZoneInfo(rooftop.timezone)
    seats = (Slot.objects.filter(rooftop=rooftop, starts_at__gte=timezone.now(),
                                 starts_at__lt=timezone.now() + BOOK_AHEAD, booked__lt=F("capacity"),
                                 online_booked__lt=F("online_capacity"))
             .order_by("starts_at").values_list("starts_at", flat=True))
    days: list[date] = []
    checked: set[date] = set()
    for starts_at in seats.iterator(chunk_size=500):
        day = starts_at.astimezone(tz).date()
        if day in checked:
            continue
        if len(checked) >= DAYS_CHECKED:
            break  # a workshop full for two months: the owner is asked to call, not made to wait for the scan
        checked.add(day)
        if free_slots(rooftop, day, service_type).exists():
            days.append(day)
            if len(days) >= limit:
                break
    return days


def times_by_part_of_day(slots: Iterable[Slot], rooftop: Rooftop) -> list[tuple[str, list[tuple[Slot, str]]]]:
    """The times of a day as the rooftop's clock shows them, under morning, afternoon and evening."""
    tz = zoneinfo.ZoneInfo(rooftop.timezone)
    parts: dict[str, list[tuple[Slot, str]]] = {}
    for slot in slots:
        local = timezone.localtime(slot.starts_at, tz)
        part = (pgettext("part of day", "Morning") if local.hour < 12
                else pgettext("part of day", "Afternoon") if local.hour < 17 else pgettext("part of day", "Evening"))
        parts.setdefault(part, []).append((slot, f"{local:%H:%M}"))
    return list(parts.items())


def owner_appointments(user: User) -> QuerySet[Appointment]:
    """The owner's coming appointments, for their proven cars only."""
    return (Appointment.objects.filter(vehicle__in=owner_vehicles(user), person__in=owner_holders(user),
                                       status__in=OPEN, slot__starts_at__gt=timezone.now())
            .select_related("slot", "rooftop", "service_type", "vehicle", "advisor").order_by("slot__starts_at"))


def _customer(user: User, vehicle: Vehicle) -> Person | None:
    link = CustomerLink.objects.filter(user=user).select_related("person").first()
    return link.person if link else vehicle_holder(vehicle)


def owner_book(*, user: User, vehicle: Vehicle, slot: Slot, service_type: ServiceType, advisor: User | None = None,
               comment: str = "", declined: DeclinedRecommendation | None = None) -> Appointment:
    """Book one of the owner's proven cars into a slot, from the online share of seats and hours."""
    if not owner_vehicles(user).filter(pk=vehicle.pk).exists():
        raise ValidationError(_("Choose one of the cars in your garage."))
    if declined is not None and (declined.vehicle_id != vehicle.pk
                                 or declined.status != DeclinedRecommendation.Status.OPEN):
        raise ValidationError(_("This recommendation is not open for this car."))
    with transaction.atomic():
        return appointment_book(slot=slot, service_type=service_type, vehicle=vehicle, by=user, advisor=advisor,
                                person=_customer(user, vehicle), channel=Appointment.Channel.ONLINE,
                                comment=comment.strip()[:500], declined=declined)


def _changeable(appointment: Appointment) -> None:
    notice = timedelta(hours=appointment.rooftop.online_change_hours)
    if appointment.status not in OPEN:
        raise ValidationError(_("This appointment can no longer be changed."))
    if appointment.slot.starts_at - timezone.now() < notice:
        raise ValidationError(_("Less than %(hours)s hours before the appointment: please call us to change it.")
                              % {"hours": appointment.rooftop.online_change_hours})


@transaction.atomic
def owner_cancel(*, user: User, appointment: Appointment) -> Appointment:
    """Cancel; work it was booked for is open again (for the advisor's follow-up and the garage)."""
    _changeable(appointment)
    cancelled = appointment_move(appointment=appointment, status=Appointment.Status.CANCELLED, by=user)
    if appointment.declined_id:
        DeclinedRecommendation.objects.filter(pk=appointment.declined_id,
                                              status=DeclinedRecommendation.Status.BOOKED).update(
            status=DeclinedRecommendation.Status.OPEN)
    return cancelled


@transaction.atomic
def owner_move(*, user: User, appointment: Appointment, slot: Slot) -> Appointment:
    """The same service for the same car at another time: the new seat is taken first, then the old one
    given back, so a full calendar leaves the appointment as it was."""
    _changeable(appointment)
    moved = owner_book(user=user, vehicle=appointment.vehicle, slot=slot, service_type=appointment.service_type,
                       advisor=appointment.advisor, comment=appointment.comment)
    appointment_move(appointment=appointment, status=Appointment.Status.CANCELLED, by=user)
    if appointment.declined_id:  # the work it was booked for goes with it
        Appointment.objects.filter(pk=moved.pk).update(declined_id=appointment.declined_id)
        moved.declined_id = appointment.declined_id
    return moved
