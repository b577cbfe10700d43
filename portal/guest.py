"""Booking the workshop without an account, in three screens: the car (plate or VIN), the service and the
mobile number; a code texted to that number with the day's free times; the confirmation with an .ics file.

The code proves the number, and the number must be the one on file for the car's holder (as the portal's
own linking by phone proves it): whoever knows someone's plate cannot book their car, and the page says the
same whether the car or the number was wrong. Codes are limited per number a day and per car an hour, kept
only as a keyed hash of this dealer group, and tried five times at most. The pages' address is a random
token of a row in this group's schema: another group's host finds nothing under it.
"""

import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from accounts import tenant_signing
from config.celery import enqueue_on_commit
from crm.customers.models import Phone, Vehicle
from crm.customers.normalize import phone_e164, plate_key, vin_read
from crm.customers.services import tenant_language, tenant_regions
from crm.dealerships.models import Rooftop
from crm.service.booking import appointment_book
from crm.service.models import Appointment, ServiceType, Slot

from .models import GuestBooking
from .services import vehicle_holder

CODE_VALID = timedelta(minutes=15)
MAX_ATTEMPTS = 5
CODES_PER_NUMBER_DAY = 5
CODES_PER_CAR_HOUR = 3


def _code_hash(token: str, code: str) -> str:
    return tenant_signing.keyed_hash("portal.guest-booking", f"{token}:{code}")


def _not_found() -> ValidationError:
    return ValidationError(_("We could not find this car with this mobile number on file. Check the plate or VIN "
                             "and the number, sign in, or call us."))


def _car(raw: str, number: str) -> tuple[Vehicle, object] | None:
    """The car written as ``raw`` (its VIN or its plate, as anyone writes them) whose holder has ``number``."""
    vin, plate = vin_read(raw).vin, plate_key(raw)  # a VIN read as the import reads one (O for 0, I for 1)
    found = Q(vin=vin) if len(vin) == 17 else Q(pk__in=[])
    if plate:
        found |= Q(plate_key=plate)
    for vehicle in Vehicle.objects.filter(found).order_by("pk")[:5]:
        holder = vehicle_holder(vehicle)
        if holder is not None and Phone.objects.filter(person=holder, number=number).exists():
            return vehicle, holder
    return None


@transaction.atomic
def guest_booking_start(*, raw_number: str, car: str, service_type: ServiceType, rooftop: Rooftop) -> GuestBooking:
    """Text a code to the number on file for the car, for booking ``service_type`` at ``rooftop``. Refused in words
    for an unreadable number, a car and number we do not have together, or too many codes."""
    from .tasks import claim_code_sms

    try:
        number = phone_e164(raw_number, tenant_regions())
    except ValidationError as error:
        raise ValidationError({"number": error.messages}) from None
    match = _car(car, number)
    if match is None:
        raise _not_found()
    vehicle, holder = match
    Vehicle.objects.select_for_update().get(pk=vehicle.pk)  # the per-car limit holds under concurrent starts
    now = timezone.now()
    if (GuestBooking.objects.filter(number=number, created_at__gt=now - timedelta(days=1)).count()
            >= CODES_PER_NUMBER_DAY
            or GuestBooking.objects.filter(vehicle=vehicle, created_at__gt=now - timedelta(hours=1)).count()
            >= CODES_PER_CAR_HOUR):
        raise ValidationError(_("We have sent enough codes for this car for now. Please try again later, or call us."))
    code, token = f"{secrets.randbelow(10**6):06d}", secrets.token_urlsafe(32)
    booking = GuestBooking.objects.create(token=token, vehicle=vehicle, person=holder, number=number,
                                          service_type=service_type, rooftop=rooftop, code_hash=_code_hash(token, code),
                                          expires_at=now + CODE_VALID)
    with translation.override(holder.preferred_language or tenant_language()):
        text = _("Your code to book %(service)s: %(code)s. It is valid for 15 minutes. If you did not ask for it, "
                 "ignore this message.") % {"service": service_type, "code": code}
    # The provider's idempotency key names the schema: ids repeat in every dealer group.
    enqueue_on_commit(claim_code_sms, number, text, f"guest:{connection.schema_name}:{booking.pk}")
    return booking


def guest_booking_confirm(*, booking: GuestBooking, code: str, slot: Slot) -> Appointment:
    """The right code in time books ``slot`` for the car and its holder, from the online share of seats and hours;
    a time taken meanwhile leaves the code valid for another. Each wrong code counts; after five, or when the
    time is up, the owner starts again."""
    with transaction.atomic():
        booking = GuestBooking.objects.select_for_update().get(pk=booking.pk)
        if booking.appointment_id is not None:
            return booking.appointment
        if booking.expires_at <= timezone.now():
            raise ValidationError({"code": _("This code has expired. Start again for a new one.")})
        if booking.attempts >= MAX_ATTEMPTS:
            raise ValidationError({"code": _("Too many wrong codes. Start again for a new one.")})
        if constant_time_compare(_code_hash(booking.token, code.strip()), booking.code_hash):
            try:
                appointment = appointment_book(slot=slot, service_type=booking.service_type, vehicle=booking.vehicle,
                                               by=None, person=booking.person, channel=Appointment.Channel.ONLINE)
            except ValidationError as error:
                raise ValidationError({"slot": error.messages}) from None
            booking.appointment = appointment
            booking.save(update_fields=["appointment"])
            return appointment
        # Counted, and kept: the refusal is raised after this block commits.
        GuestBooking.objects.filter(pk=booking.pk).update(attempts=booking.attempts + 1)
    left = MAX_ATTEMPTS - booking.attempts - 1
    raise ValidationError({"code": _("That is not the code we sent. Attempts left: %(left)s.") % {"left": left}
                           if left else _("Too many wrong codes. Start again for a new one.")})
