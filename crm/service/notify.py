"""Telling customers about their appointments: a confirmation when booked and a reminder the day
before, by e-mail with the appointment as an .ics file. Each is recorded on the appointment by a
conditional update, so however often a task runs, a customer gets each message once."""

import zoneinfo
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone, translation
from icalendar import Calendar, Event

from crm.customers.models import ConsentChannel, ConsentPurpose, TimelineEntry
from crm.customers.selectors import consent_allows
from crm.customers.services import tenant_language
from crm.customers.timeline import timeline_event

from .models import Appointment

# Reminders go out in daytime at the rooftop, never at night.
QUIET_BEFORE, QUIET_AFTER = time(9), time(20)


def appointment_ics(appointment: Appointment) -> bytes:
    slot, rooftop = appointment.slot, appointment.rooftop
    calendar = Calendar()
    calendar.add("prodid", "-//DealerCRM//appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"appointment-{appointment.pk}@{connection.schema_name}.{settings.APP_DOMAIN}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", slot.starts_at)
    event.add("dtend", slot.starts_at + max(timedelta(minutes=30), timedelta(hours=float(appointment.labour_hours))))
    event.add("summary", f"{appointment.service_type} — {rooftop}")
    event.add("location", ", ".join(part for part in (rooftop.name, getattr(rooftop, "address", ""),
                                                      getattr(rooftop, "city", "")) if part))
    event.add("description", str(appointment.vehicle))
    calendar.add_component(event)
    return calendar.to_ical()


def _address(appointment: Appointment) -> str:
    return appointment.person.email_address() if appointment.person else ""


def _send(appointment: Appointment, kind: str) -> bool:
    address = _address(appointment)
    if not address:
        return False
    tz = zoneinfo.ZoneInfo(appointment.rooftop.timezone)
    language = appointment.person.preferred_language or tenant_language()
    with translation.override(language), timezone.override(tz):  # the time as it reads at the rooftop
        context = {"appointment": appointment, "when": appointment.slot.starts_at.astimezone(tz)}
        subject = render_to_string(f"service/email/{kind}_subject.txt", context).strip()
        body = render_to_string(f"service/email/{kind}.txt", context)
    message = EmailMessage(subject, body, to=[address])
    message.attach("appointment.ics", appointment_ics(appointment), "text/calendar; method=PUBLISH")
    message.send()
    # Every message a customer gets is on their timeline, the workshop's as well as marketing's.
    timeline_event("appointment_mail", {"what": kind, "to": address, "at": appointment.slot.starts_at.isoformat(),
                                        "tz": str(tz)}, kind=TimelineEntry.Kind.MESSAGE, person=appointment.person,
                   rooftop=appointment.rooftop, source_ref=f"service:appointment:{appointment.pk}:{kind}").save()
    return True


def confirmation_send(appointment_id: int) -> bool:
    """The booking confirmation: the customer asked for the appointment, so it needs no marketing
    consent, only an e-mail address on file."""
    if not Appointment.objects.filter(pk=appointment_id, confirmation_sent_at__isnull=True).update(
            confirmation_sent_at=timezone.now()):
        return False
    appointment = Appointment.objects.select_related("slot", "rooftop", "service_type", "vehicle", "person").get(
        pk=appointment_id)
    return _send(appointment, "confirmation")


def reminders_send(now: datetime | None = None) -> int:
    """Remind tomorrow's customers (in each rooftop's own time zone), in daytime there, where the
    consent ledger allows service reminders by e-mail. Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    candidates = Appointment.objects.filter(
        status__in=[Appointment.Status.BOOKED, Appointment.Status.CONFIRMED], reminded_at__isnull=True,
        person__isnull=False, slot__starts_at__gt=now, slot__starts_at__lt=now + timedelta(days=2),
    ).select_related("slot", "rooftop", "service_type", "vehicle", "person")
    for appointment in candidates:
        tz = zoneinfo.ZoneInfo(appointment.rooftop.timezone)
        local_now = now.astimezone(tz)
        if appointment.slot.starts_at.astimezone(tz).date() != local_now.date() + timedelta(days=1):
            continue
        if not QUIET_BEFORE <= local_now.time() < QUIET_AFTER:
            continue
        if not consent_allows(appointment.person, channel=ConsentChannel.EMAIL,
                              purpose=ConsentPurpose.SERVICE_REMINDERS):
            continue
        if Appointment.objects.filter(pk=appointment.pk, reminded_at__isnull=True).update(reminded_at=now):
            sent += _send(appointment, "reminder")
    return sent
