"""Appointments on one capacity model, for staff and (later) the owner portal alike.

A booking takes a seat in a reception slot and the service's labour hours from the day's
workshop capacity. Both are conditional UPDATEs (``… SET booked = booked + 1 WHERE booked <
capacity``) in one transaction, and CHECK constraints on both tables make overbooking impossible
even for code that forgets the condition: PostgreSQL re-checks the condition after waiting for a
concurrent booking's row lock, so of fifty simultaneous attempts on three seats, three succeed.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import StaffRole, User
from crm.customers.models import Person, TimelineEntry, Vehicle
from crm.customers.timeline import timeline_event
from crm.dealerships.models import Rooftop
from crm.integrations.models import WebhookEvent
from crm.integrations.webhooks import webhook_emit

from .models import (
    DEFAULT_ADVISOR_APPOINTMENTS,
    AdvisorCapacity,
    AdvisorDay,
    Appointment,
    CapacityRule,
    Closure,
    DayLoad,
    DeclinedRecommendation,
    ServiceType,
    Slot,
)

SLOT_MINUTES = 30
DEFAULT_ONLINE_SHARE = 50


class Full(ValidationError):
    """No room left: the slot's seats or the day's labour hours for this service."""


def slots_generate(rooftop: Rooftop, start: date, days: int, *, minutes: int = SLOT_MINUTES,
                   seats: int | None = None) -> int:
    """Reception slots from the rooftop's opening hours, skipping closures; existing slots stay as
    they are (bookings keep their seats). Seats default to the active service advisors."""
    tz = zoneinfo.ZoneInfo(rooftop.timezone)
    hours = {row.weekday: row for row in rooftop.opening_hours.all()}
    closed = set(Closure.objects.filter(rooftop=rooftop, day__gte=start, day__lt=start + timedelta(days=days))
                 .values_list("day", flat=True))
    if seats is None:
        seats = max(User.objects.filter(is_active=True, role=StaffRole.SERVICE_ADVISOR).count(), 1)
    share = (CapacityRule.objects.filter(rooftop=rooftop).values_list("online_share", flat=True).first()
             or DEFAULT_ONLINE_SHARE)
    online = int((Decimal(seats) * share / 100).to_integral_value(ROUND_FLOOR))
    slots = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        opening = hours.get(day.weekday())
        if opening is None or day in closed:
            continue
        moment = datetime.combine(day, opening.opens, tzinfo=tz)
        end = datetime.combine(day, opening.closes, tzinfo=tz)
        while moment + timedelta(minutes=minutes) <= end:
            slots.append(Slot(rooftop=rooftop, starts_at=moment, capacity=seats, online_capacity=online))
            moment += timedelta(minutes=minutes)
    Slot.objects.bulk_create(slots, ignore_conflicts=True)
    return len(slots)


def slots_extend() -> int:
    """Keep every active rooftop's reception slots ``SLOT_HORIZON_DAYS`` ahead of its own today (run nightly): online
    booking never quietly runs out because nobody generated the next months. Days after the last slot are
    filled as the manager last laid them out (the same slot length and seats), from the opening hours and closures
    as they are now; slots already there stay as they are."""
    made = 0
    for rooftop in Rooftop.objects.filter(is_active=True, opening_hours__isnull=False).distinct().prefetch_related(
            "opening_hours"):
        tz = zoneinfo.ZoneInfo(rooftop.timezone)
        today = timezone.now().astimezone(tz).date()
        last = list(Slot.objects.filter(rooftop=rooftop).order_by("-starts_at")[:2])
        start, minutes, seats = today, SLOT_MINUTES, None
        if last:
            start = max(today, last[0].starts_at.astimezone(tz).date() + timedelta(days=1))
            seats = last[0].capacity
            if len(last) == 2 and last[0].starts_at.astimezone(tz).date() == last[1].starts_at.astimezone(tz).date():
                minutes = int((last[0].starts_at - last[1].starts_at).total_seconds() // 60) or SLOT_MINUTES
        days = (today + timedelta(days=settings.SLOT_HORIZON_DAYS) - start).days
        if days > 0:
            made += slots_generate(rooftop, start, days, minutes=minutes, seats=seats)
    return made


def day_load_for(rooftop: Rooftop, day: date, service_type: ServiceType) -> DayLoad:
    rule = CapacityRule.objects.filter(rooftop=rooftop, service_type=service_type).first()
    if rule is None:
        raise Full(_("%(rooftop)s takes no %(service)s appointments.") % {"rooftop": rooftop, "service": service_type})
    online = (rule.daily_hours * rule.online_share / 100).quantize(Decimal("0.01"))
    load, _created = DayLoad.objects.get_or_create(rooftop=rooftop, day=day, service_type=service_type,
                                                   defaults={"hours_capacity": rule.daily_hours,
                                                             "hours_online": online})
    return load


@transaction.atomic
def appointment_book(*, slot: Slot, service_type: ServiceType, vehicle: Vehicle, by: User | None,
                     person: Person | None = None, advisor: User | None = None, channel: str = Appointment.Channel.CRM,
                     comment: str = "", declined: DeclinedRecommendation | None = None) -> Appointment:
    """Book a slot for a service, or raise Full (nothing taken) when there is no room."""
    if slot.starts_at <= timezone.now():
        raise ValidationError(_("This time has passed; choose a later one."))
    tz = zoneinfo.ZoneInfo(slot.rooftop.timezone)
    if Closure.objects.filter(rooftop=slot.rooftop, day=slot.starts_at.astimezone(tz).date()).exists():
        raise Full(_("The workshop is closed that day; choose another."))
    online = channel == Appointment.Channel.ONLINE
    if online and not service_type.online_bookable:
        raise ValidationError(_("%(service)s is booked by phone.") % {"service": service_type})
    seats = Slot.objects.filter(pk=slot.pk, booked__lt=F("capacity"))
    seat_taken = {"booked": F("booked") + 1}
    if online:
        seats = seats.filter(online_booked__lt=F("online_capacity"))
        seat_taken["online_booked"] = F("online_booked") + 1
    if not seats.update(**seat_taken):
        raise Full(_("This time is fully booked; choose another."))
    load = day_load_for(slot.rooftop, slot.starts_at.astimezone(tz).date(), service_type)
    hours = service_type.labour_hours
    workshop = DayLoad.objects.filter(pk=load.pk, hours_booked__lte=F("hours_capacity") - hours)
    hours_taken = {"hours_booked": F("hours_booked") + hours}
    if online:
        workshop = workshop.filter(hours_booked_online__lte=F("hours_online") - hours)
        hours_taken["hours_booked_online"] = F("hours_booked_online") + hours
    if not workshop.update(**hours_taken):
        raise Full(_("The workshop is fully booked for %(service)s that day; choose another day.")
                   % {"service": service_type})
    if advisor is not None:
        _advisor_take(advisor, slot.starts_at.astimezone(tz).date())
    appointment = Appointment.objects.create(
        rooftop=slot.rooftop, slot=slot, day_load=load, service_type=service_type, vehicle=vehicle, person=person,
        advisor=advisor, channel=channel, labour_hours=hours, comment=comment, created_by=by, declined=declined)
    if declined is not None:
        DeclinedRecommendation.objects.filter(pk=declined.pk).update(status=DeclinedRecommendation.Status.BOOKED)
    webhook_emit(WebhookEvent.APPOINTMENT_CREATED, appointment)
    from config.celery import enqueue_on_commit

    from .tasks import appointment_confirmation_send

    enqueue_on_commit(appointment_confirmation_send, appointment.pk)
    if person is not None:
        timeline_event("appointment_booked", {"service": str(service_type), "at": slot.starts_at.isoformat(),
                                              "tz": str(tz)}, kind=TimelineEntry.Kind.CONTACT, person=person,
                       author=by, rooftop=slot.rooftop, source_ref=f"service:appointment:{appointment.pk}").save()
    return appointment


def _advisor_take(advisor: User, day: date) -> None:
    limit = AdvisorCapacity.objects.filter(advisor=advisor).values_list("appointments_per_day", flat=True).first()
    advisor_day, _created = AdvisorDay.objects.get_or_create(
        advisor=advisor, day=day, defaults={"capacity": DEFAULT_ADVISOR_APPOINTMENTS if limit is None else limit})
    if not AdvisorDay.objects.filter(pk=advisor_day.pk, booked__lt=F("capacity")).update(booked=F("booked") + 1):
        raise Full(_("%(advisor)s is fully booked that day; choose another advisor or day.") % {"advisor": advisor})


TRANSITIONS = {
    Appointment.Status.BOOKED: {Appointment.Status.CONFIRMED, Appointment.Status.ARRIVED,
                                Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW},
    Appointment.Status.CONFIRMED: {Appointment.Status.ARRIVED, Appointment.Status.CANCELLED,
                                   Appointment.Status.NO_SHOW},
    Appointment.Status.ARRIVED: {Appointment.Status.IN_PROGRESS, Appointment.Status.DONE},
    Appointment.Status.IN_PROGRESS: {Appointment.Status.DONE},
}


@transaction.atomic
def appointment_move(*, appointment: Appointment, status: str, by: User | None) -> Appointment:
    """The next step of an appointment. Cancelling gives its seat and hours back; a no-show does not
    (its time has passed, and the day's figures should show the lost capacity)."""
    appointment = Appointment.objects.select_for_update(of=("self",)).select_related("slot", "rooftop").get(
        pk=appointment.pk)
    if status not in TRANSITIONS.get(appointment.status, set()):
        raise ValidationError(_("An appointment that is “%(now)s” cannot become “%(next)s”.") % {
            "now": appointment.get_status_display(), "next": Appointment.Status(status).label})
    releases = appointment.holds_capacity and status in (Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW)
    appointment.status = status
    appointment.save(update_fields=["status"])
    if releases and status == Appointment.Status.CANCELLED:
        online = appointment.channel == Appointment.Channel.ONLINE
        Slot.objects.filter(pk=appointment.slot_id).update(
            booked=F("booked") - 1, **({"online_booked": F("online_booked") - 1} if online else {}))
        DayLoad.objects.filter(pk=appointment.day_load_id).update(
            hours_booked=F("hours_booked") - appointment.labour_hours,
            **({"hours_booked_online": F("hours_booked_online") - appointment.labour_hours} if online else {}))
        if appointment.advisor_id:
            day = appointment.slot.starts_at.astimezone(zoneinfo.ZoneInfo(appointment.rooftop.timezone)).date()
            AdvisorDay.objects.filter(advisor_id=appointment.advisor_id, day=day).update(booked=F("booked") - 1)
    webhook_emit(WebhookEvent.APPOINTMENT_CHANGED, appointment)
    return appointment


@dataclass(frozen=True)
class CalendarDay:
    rooftop: Rooftop
    day: date
    slots: list[Slot]
    loads: list[DayLoad]


def calendar_day(rooftop: Rooftop, day: date, *, advisor: User | None = None) -> CalendarDay:
    """A rooftop's day: its slots with their appointments (an advisor's only, if given) and the
    workshop's hours per service type, in three queries."""
    from django.db.models import Prefetch

    tz = zoneinfo.ZoneInfo(rooftop.timezone)
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    appointments = Appointment.objects.select_related("vehicle", "person", "service_type", "advisor")
    if advisor is not None:
        appointments = appointments.filter(advisor=advisor)
    slots = list(Slot.objects.filter(rooftop=rooftop, starts_at__gte=start, starts_at__lt=start + timedelta(days=1))
                 .prefetch_related(Prefetch("appointments", queryset=appointments, to_attr="listed")))
    loads = list(DayLoad.objects.filter(rooftop=rooftop, day=day).select_related("service_type"))
    return CalendarDay(rooftop=rooftop, day=day, slots=slots, loads=loads)
