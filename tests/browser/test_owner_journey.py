"""A car owner's whole journey on a phone, in a real browser against a real server and Celery worker:
sign up, add the car with the code texted to the number on file, book a slot, see it coming, recommend
a friend, join the club and answer a club event; then staff see the booking and the referral prospect
in the CRM. Phone-sized screenshots of the main portal pages are kept as artifacts."""

import re
from datetime import time as clock
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from crm.customers.models import Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.dealerships.models import OpeningHours, Rooftop
from crm.loyalty.models import ClubRules, Membership
from crm.marketing.models import Event, EventInvitation
from crm.sales.models import Prospect
from crm.service.booking import slots_generate
from crm.service.models import Appointment, CapacityRule, ServiceType
from portal.models import VehicleClaim
from tests.browser.conftest import SCREENSHOTS, accessibility_problems, sign_in
from tests.conftest import texted_code

pytestmark = [pytest.mark.browser]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "en-US"}
VIN = "WVWZZZ1KZAW123456"


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"portal-{name}-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{name}: the page is {width}px wide on a 390px phone"
    assert accessibility_problems(page) == [], name  # axe-core: no serious or critical violations


def _texted_code(claim_pk: int, schema: str) -> str:
    """The code the worker texted (the SMS file backend, keyed like the provider: by schema and claim)."""
    return texted_code(f"claim:{schema}:{claim_pk}", containing=VIN, wait=30)


def test_an_owner_signs_up_claims_books_refers_joins_and_answers(scratch, server_url, browser, celery_worker,
                                                                 django_db_blocker):
    day = timezone.localdate() + timedelta(days=3)
    with django_db_blocker.unblock(), schema_context(scratch.tenant.schema_name):
        rooftop = Rooftop.objects.create(name="Scratch Mitte", city="Berlin", timezone="Europe/Berlin")
        for weekday in range(7):
            OpeningHours.objects.create(rooftop=rooftop, weekday=weekday, opens=clock(8), closes=clock(12))
        maintenance = ServiceType.objects.filter(online_bookable=True).order_by("position").first()
        CapacityRule.objects.create(rooftop=rooftop, service_type=maintenance, daily_hours=Decimal(8),
                                    online_share=50)
        slots_generate(rooftop, day, 1, seats=2)
        holder = person_create(by=None, fields={"family_name": "Weber", "given_name": "Olga"},
                               phones=["+49 151 70001234"])
        car = Vehicle.objects.create(vin=VIN, make="Volkswagen", model="Golf", year=2021)
        VehicleLink.objects.create(vehicle=car, person=holder, kind="owner")
        ClubRules.current()
        starts = timezone.now() + timedelta(days=10)
        evening = Event.objects.create(name="Club evening", kind="club", rooftop=rooftop, capacity=20,
                                       starts_at=starts, ends_at=starts + timedelta(hours=3))
    base = server_url.format(host=scratch.tenant.primary_host)
    context = browser.new_context(**PHONE)
    page = context.new_page()

    # Sign up: the account is nobody's yet, and the garage says how to add a car.
    page.goto(f"{base}/accounts/signup/")
    page.fill("input[name=email]", "olga.weber@example.de")
    page.fill("input[name=password1]", "a-long-owner-passphrase")
    page.fill("input[name=password2]", "a-long-owner-passphrase")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/my/")
    assert "Your garage is empty" in page.content()

    # Add the car: the code goes to the phone on file, not to the new account's address.
    page.click("main >> text=Add my car")
    page.fill("input[name=vin]", VIN)
    for stale in Path(settings.SMS_FILE_PATH).glob("*.json"):  # a scratch name an earlier run had
        if VIN in stale.read_text(encoding="utf-8"):
            stale.unlink()
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/my/cars/add/\d+/$"))
    assert "•••234" in page.content()
    _shot(page, "claim-code")
    claim_pk = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.fill("input[name=code]", _texted_code(claim_pk, scratch.tenant.schema_name))
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/my/")
    assert "Volkswagen Golf" in page.content()
    _shot(page, "garage")

    # Book a slot from the shared capacity, and see it coming.
    page.click("main >> text=Book a service for this car")
    page.fill("input[name=day]", day.isoformat())
    page.click("button[value=times]")
    page.click(".time >> nth=0")  # the times are large tap targets, grouped by part of the day
    assert page.is_checked("input[name=slot] >> nth=0")
    page.fill("textarea[name=comment]", "A squeak from the front left")
    _shot(page, "book")
    page.click("button[value=book]")
    page.wait_for_url(re.compile(r".*/my/appointments/\d+/$"))  # the second screen: booked, with a calendar file
    assert "You are booked in" in page.content() and "Maintenance" in page.content()
    _shot(page, "booked")
    page.click("main >> text=Back to my garage")
    assert "Coming appointments" in page.content() and "Maintenance" in page.content()
    # Cancelling is asked twice: the first tap only says what it does.
    page.click("main summary >> text=Cancel")
    assert page.is_visible("text=The workshop gives this time to someone else.")
    _shot(page, "cancel-asked")
    page.click("main button.danger >> text=Yes, cancel the appointment")
    page.wait_for_load_state()
    assert "Coming appointments" not in page.content()
    page.click("nav.subnav >> text=Service history")
    _shot(page, "history")

    # Recommend a friend: the friend's form, in a browser of their own.
    page.click("nav.subnav >> text=Recommend us")
    link = page.input_value("#referral-link")
    _shot(page, "refer")
    # The share buttons wrap on a phone without overlapping (they overlapped by 14 px at 390 px).
    boxes = page.eval_on_selector_all(".share-buttons a", "links => links.map(link => { const b = "
                                      "link.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; })")
    assert len(boxes) == 3
    for index, a in enumerate(boxes):
        for b in boxes[index + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], ("overlap", a, b)
    friend = browser.new_context(**PHONE).new_page()
    friend.goto(link)
    friend.fill("input[name=given_name]", "Fritz")
    friend.fill("input[name=family_name]", "Freund")
    friend.fill("input[name=phone]", "+49 151 70009999")
    friend.fill("input[name=model_interest]", "ID.4")
    friend.wait_for_timeout(3200)  # the spam check refuses forms sent within three seconds
    friend.click("main button[type=submit]")
    assert "Thank you" in friend.content()
    friend.context.close()
    page.reload()
    assert "Fritz F." in page.content() and "Submitted" in page.content()

    # Join the club and take a seat at its evening.
    page.click("nav.subnav >> text=Owners' club")
    _shot(page, "club-join")
    page.check("input[name=accept_terms]")
    page.click("form[action$='/club/join/'] button[type=submit]")
    page.wait_for_url(f"{base}/my/club/")
    assert "Membership card" in page.content() and page.locator("svg.qr").count() == 1
    page.fill(f"#guests-{evening.pk}", "1")
    page.click(f"form[action$='/club/events/{evening.pk}/'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/my/club/(#events)?$"))
    assert "You are coming with 1 guest." in page.content()
    _shot(page, "club-card")
    page.click("nav.subnav >> text=Profile and privacy")
    _shot(page, "profile")
    context.close()

    with django_db_blocker.unblock(), schema_context(scratch.tenant.schema_name):
        appointment = Appointment.objects.select_related("person").get()
        assert (appointment.person, appointment.channel, appointment.vehicle_id) == (holder, "online", car.pk)
        assert appointment.status == "cancelled"
        assert VehicleClaim.objects.filter(vehicle=car, confirmed_at__isnull=False).count() == 1
        referral = Prospect.objects.select_related("person").get(referrer=holder)
        assert (referral.person.family_name, referral.source) == ("Freund", "referral")
        assert Membership.objects.filter(person=holder, left_at__isnull=True).exists()
        assert EventInvitation.objects.get(event=evening, person=holder).status == "accepted"

    # Staff see the booking in the workshop calendar and the referral as a prospect, at once.
    staff = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US").new_page()
    sign_in(staff, base, scratch.admin, scratch.password, lands_on="/crm/")
    staff.goto(f"{base}/crm/service/calendar/?rooftop={rooftop.pk}&day={day.isoformat()}")
    assert "Weber" in staff.content() and "Golf" in staff.content()
    staff.goto(f"{base}/crm/sales/prospects/{referral.pk}/")
    assert "Freund" in staff.content() and "Referral" in staff.content()
    staff.context.close()
