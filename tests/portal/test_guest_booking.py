"""Booking without an account: the car by plate or VIN and the mobile number on file, a texted code with the
first day's free times, a confirmation with the calendar file. The code proves the number on file for the
car, so nobody books someone else's car by knowing its plate, and nothing crosses to another group."""

from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django_tenants.utils import schema_context

from crm.customers.models import Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.dealerships.models import OpeningHours, Rooftop
from crm.service.booking import slots_generate
from crm.service.models import Appointment, CapacityRule, Closure, ServiceType
from portal.guest import MAX_ATTEMPTS
from portal.models import GuestBooking
from tests.conftest import run_as_the_worker, texted_code

pytestmark = pytest.mark.django_db

# A Monday morning in Berlin; the workshop is closed on Tuesday, so the first free day is Wednesday.
NOW = datetime(2026, 3, 16, 7, 0, tzinfo=UTC)


@pytest.fixture
def workshop(cast):
    for stale in Path(settings.SMS_FILE_PATH).glob("*.json"):  # booking ids start again in every test database
        stale.unlink()
    with time_machine.travel(NOW, tick=False), schema_context(cast.a.schema_name):
        rooftop = Rooftop.objects.get(name="Alpha Berlin")
        for weekday in range(7):
            OpeningHours.objects.update_or_create(rooftop=rooftop, weekday=weekday,
                                                  defaults={"opens": time(8), "closes": time(18)})
        tyres = ServiceType.objects.get(code="tyres")
        CapacityRule.objects.create(rooftop=rooftop, service_type=tyres, daily_hours=Decimal("8"), online_share=50)
        slots_generate(rooftop, datetime(2026, 3, 17).date(), 3, seats=2)
        Closure.objects.create(rooftop=rooftop, day=datetime(2026, 3, 17).date(), reason="Inventory")
        maria = person_create(by=None, fields={"family_name": "Maier", "given_name": "Maria"},
                              phones=["+49 171 2345678"])
        car = Vehicle.objects.create(vin="WVWZZZ1KZAW000077", make="VW", model="Golf", plate="B-MM 77")
        VehicleLink.objects.create(vehicle=car, person=maria, kind="owner")
        return {"rooftop": rooftop, "tyres": tyres, "maria": maria, "car": car}


def _start(client, workshop, *, car="b mm 77", number="0171 2345678", callbacks=None):
    """The first screen sent; the code texted by the task, run as the worker runs it."""
    data = {"car": car, "number": number, "service_type": workshop["tyres"].pk, "rooftop": workshop["rooftop"].pk}
    if callbacks is None:
        return client.post("/my/book/", data)
    with callbacks(execute=False) as queued:
        response = client.post("/my/book/", data)
    run_as_the_worker(queued)
    return response


@time_machine.travel(NOW, tick=False)
def test_a_guest_books_in_three_screens_with_the_code_texted_to_the_number_on_file(cast, workshop,
                                                                                   django_capture_on_commit_callbacks):
    guest = cast.client(cast.a)
    first = guest.get("/my/book/")
    assert first.status_code == 200 and "Plate or VIN" in first.text and "Text me a code" in first.text

    # The plate as anyone writes it, the number without its country code.
    started = _start(guest, workshop, callbacks=django_capture_on_commit_callbacks)
    assert started.status_code == 302, started.context["form"].errors
    with schema_context(cast.a.schema_name):
        booking = GuestBooking.objects.get()
        assert (booking.person, booking.vehicle, booking.number) == (workshop["maria"], workshop["car"], "+4917123456"
                                                                     "78")
        code = texted_code(f"guest:{cast.a.schema_name}:{booking.pk}")

    times = guest.get(started["Location"])  # screen 2: the code and the first day with free time (Tuesday is closed)
    assert times.context["day"] == datetime(2026, 3, 18).date()
    assert [label for label, _times in times.context["parts"]] == ["Morning", "Afternoon", "Evening"]
    assert "•••678" in times.text
    slot = times.context["parts"][0][1][0][0]

    wrong = guest.post(started["Location"], {"code": "000000" if code != "000000" else "111111", "slot": slot.pk,
                                             "day": "2026-03-18"})
    assert wrong.status_code == 400 and f"Attempts left: {MAX_ATTEMPTS - 1}" in wrong.text
    booked = guest.post(started["Location"], {"code": code, "slot": slot.pk, "day": "2026-03-18"})
    assert booked.status_code == 302

    confirmation = guest.get(booked["Location"])  # screen 3
    assert "You are booked in" in confirmation.text and "Tyre change" in confirmation.text
    calendar = guest.get(confirmation.context["calendar_url"])
    assert calendar["Content-Type"].startswith("text/calendar") and b"DTSTART" in calendar.content
    with schema_context(cast.a.schema_name):
        appointment = Appointment.objects.get()
        assert (appointment.person, appointment.vehicle, appointment.channel, appointment.slot_id) == (
            workshop["maria"], workshop["car"], "online", slot.pk)
    assert guest.get(started["Location"]).status_code == 302  # done: the code screen leads to the confirmation


@time_machine.travel(NOW, tick=False)
def test_a_plate_with_someone_elses_number_or_an_unknown_car_gets_the_same_answer_and_no_code(cast, workshop):
    guest = cast.client(cast.a)
    strangers = _start(guest, workshop, number="0172 9999999")
    unknown = _start(guest, workshop, car="XX-ZZ 1")
    for refused in (strangers, unknown):
        assert refused.status_code == 400
        assert "We could not find this car with this mobile number on file" in refused.text
    unreadable = _start(guest, workshop, number="call me")
    assert unreadable.status_code == 400 and unreadable.context["form"].errors["number"]
    with schema_context(cast.a.schema_name):
        assert not GuestBooking.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_codes_are_limited_and_wrong_codes_run_out(cast, workshop, django_capture_on_commit_callbacks):
    guest = cast.client(cast.a)
    answers = [_start(guest, workshop, callbacks=django_capture_on_commit_callbacks) for _attempt in range(4)]
    assert [answer.status_code for answer in answers] == [302, 302, 302, 400]  # three codes a car an hour
    assert "We have sent enough codes" in answers[-1].text
    with schema_context(cast.a.schema_name):
        slot_id = workshop["rooftop"].slots.order_by("starts_at").last().pk
    for _attempt in range(MAX_ATTEMPTS):
        guest.post(answers[0]["Location"], {"code": "999999", "slot": slot_id, "day": "2026-03-19"})
    locked = guest.post(answers[0]["Location"], {"code": "999999", "slot": slot_id, "day": "2026-03-19"})
    assert "Too many wrong codes" in locked.text
    with schema_context(cast.a.schema_name):
        assert not Appointment.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_another_browser_or_another_groups_host_finds_nothing_under_the_address(cast, workshop,
                                                                               django_capture_on_commit_callbacks):
    started = _start(cast.client(cast.a), workshop, callbacks=django_capture_on_commit_callbacks)
    address = started["Location"]
    assert cast.client(cast.a).get(address).status_code == 404  # the token alone is not enough
    assert cast.client(cast.b).get(address).status_code == 404
    assert cast.signed_in(cast.a, cast.a_owner).get(address).status_code == 404  # another owner's account


@time_machine.travel(NOW, tick=False)
def test_the_guest_screens_speak_russian_and_chinese(cast, workshop, django_capture_on_commit_callbacks):
    guest = cast.client(cast.a)
    guest.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    first = guest.get("/my/book/").text
    assert "Госномер или VIN" in first and "Прислать код" in first and "Plate or VIN" not in first
    started = _start(guest, workshop, callbacks=django_capture_on_commit_callbacks)
    guest.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    times = guest.get(started["Location"]).text
    assert "选择时间" in times and "上午" in times and "下午" in times and "Morning" not in times
