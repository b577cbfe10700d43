"""Booking without an account on a phone, from the dealer site's home page: three screens (the car and the
number on file; the texted code and a time; the confirmation with the calendar file), in a real browser
against a real server and Celery worker. Screenshots of each screen are kept as artifacts."""

import re
from datetime import time as clock
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from cms.demo import site_demo_build
from crm.customers.models import Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.dealerships.models import OpeningHours, Rooftop
from crm.service.booking import slots_generate
from crm.service.models import Appointment, CapacityRule, ServiceType
from portal.models import GuestBooking
from tests.browser.conftest import SCREENSHOTS, accessibility_problems
from tests.conftest import texted_code

pytestmark = [pytest.mark.browser]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "en-US"}


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"guest-booking-{name}-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{name}: the page is {width}px wide on a 390px phone"


def _texted_code(schema: str, django_db_blocker) -> str:
    with django_db_blocker.unblock(), schema_context(schema):
        booking = GuestBooking.objects.order_by("-pk").first()  # made before the page it leads to was shown
    return texted_code(f"guest:{schema}:{booking.pk}", wait=30)


def test_a_guest_books_from_the_home_page_in_three_screens_on_a_phone(scratch, server_url, browser, celery_worker,
                                                                      django_db_blocker):
    day = timezone.localdate() + timedelta(days=2)
    with django_db_blocker.unblock(), schema_context(scratch.tenant.schema_name):
        Rooftop.objects.exclude(name="Scratch Mitte").update(is_active=False)  # one workshop: no question about it
        rooftop = Rooftop.objects.create(name="Scratch Mitte", city="Berlin", timezone="Europe/Berlin")
        for weekday in range(7):
            OpeningHours.objects.create(rooftop=rooftop, weekday=weekday, opens=clock(8), closes=clock(18))
        service = ServiceType.objects.filter(online_bookable=True).order_by("position").first()
        CapacityRule.objects.create(rooftop=rooftop, service_type=service, daily_hours=Decimal(8), online_share=50)
        slots_generate(rooftop, day, 2, seats=2)
        holder = person_create(by=None, fields={"family_name": "Weber", "given_name": "Gesa"},
                               phones=["+49 151 70004321"])
        car = Vehicle.objects.create(vin="WVWZZZ1KZAW654321", make="Volkswagen", model="Polo", plate="B-GW 4321")
        VehicleLink.objects.create(vehicle=car, person=holder, kind="owner")
        site_demo_build(dealer_name=scratch.tenant.name, language="en", rooftops=[rooftop])  # the dealer's site
    for stale in Path(settings.SMS_FILE_PATH).glob("*.json"):  # a scratch schema an earlier run had
        if f'"key": "guest:{scratch.tenant.schema_name}:' in stale.read_text(encoding="utf-8"):
            stale.unlink()
    base = server_url.format(host=scratch.tenant.primary_host)
    page = browser.new_context(**PHONE).new_page()
    screens = []

    page.goto(f"{base}/")
    page.get_by_role("link", name="Book a service visit").click()
    page.wait_for_url(f"{base}/my/book/")
    screens.append(page.url)  # 1: the car and the number on file
    page.fill("input[name=car]", "b-gw 4321")
    page.fill("input[name=number]", "0151 70004321")
    page.click(".choice >> nth=0")
    _shot(page, "start")
    problems = accessibility_problems(page)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/my/book/[\w-]+/$"))
    screens.append(page.url)  # 2: the code and the first day's times
    assert "•••321" in page.content()
    page.fill("input[name=code]", _texted_code(scratch.tenant.schema_name, django_db_blocker))
    page.click(".time >> nth=0")
    _shot(page, "times")
    problems += accessibility_problems(page)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/my/book/[\w-]+/booked/$"))
    screens.append(page.url)  # 3: booked
    assert "You are booked in" in page.content() and "Volkswagen Polo" in page.content()
    _shot(page, "booked")
    problems += accessibility_problems(page)
    with page.expect_download() as download:
        page.click("main >> text=Add to my calendar")
    assert b"BEGIN:VEVENT" in Path(download.value.path()).read_bytes()

    assert len(screens) == 3
    assert problems == []  # axe-core: no serious or critical violations on any of the three screens
    with django_db_blocker.unblock(), schema_context(scratch.tenant.schema_name):
        appointment = Appointment.objects.get()
        assert (appointment.person, appointment.vehicle, appointment.channel) == (holder, car, "online")
