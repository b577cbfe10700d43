"""Numbers and dates a page reads from its query or a form, however odd, give a page, never a 500: a year or
month too large for a date (``date()`` raises OverflowError, not ValueError), and an id with more digits than
Python turns into an int (ValueError past 4,300) or the database holds."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.models import Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.dealerships.models import OpeningHours, Rooftop
from crm.service.booking import appointment_book, slots_generate
from crm.service.models import CapacityRule, ServiceType, Slot
from portal.models import CustomerLink, VehicleClaim

pytestmark = pytest.mark.django_db

HUGE = "99999999999"
LONG_ID = "9" * 5000  # beyond int()'s 4,300 digits
TOO_BIG_ID = "9" * 30  # an int, but no bigint
NOW = datetime(2026, 11, 18, 9, 15, tzinfo=UTC)

PAGES = [
    pytest.param("admin", "get", f"/crm/sales/review/?month={HUGE}-01", None, id="review, huge year"),
    pytest.param("admin", "get", f"/crm/sales/review/?month=2026-{HUGE}", None, id="review, huge month"),
    pytest.param("admin", "get", f"/crm/sales/review/?month={HUGE}-{HUGE}-01", None, id="review, huge day's month"),
    pytest.param("admin", "get", f"/crm/sales/review/?rooftop={LONG_ID}&salesperson={LONG_ID}", None,
                 id="review, long ids"),
    pytest.param("admin", "get", f"/crm/sales/prospects/?rooftop={LONG_ID}&salesperson={LONG_ID}", None,
                 id="prospects, long ids"),
    pytest.param("admin", "get", f"/crm/sales/prospects/?rooftop={TOO_BIG_ID}&salesperson={TOO_BIG_ID}", None,
                 id="prospects, ids past a bigint"),
    pytest.param("admin", "get", f"/crm/sales/prospects/new/?person={LONG_ID}", None, id="new prospect, long id"),
    pytest.param("admin", "get", f"/crm/sales/test-drives/?day={HUGE}-01-01", None, id="demo cars, huge year"),
    pytest.param("admin", "get", f"/crm/customers/?rooftop={LONG_ID}", None, id="customers, long id"),
    pytest.param("admin", "get", f"/crm/customers/export.csv?rooftop={LONG_ID}", None, id="export, long id"),
    pytest.param("admin", "get", f"/crm/service/?rooftop={LONG_ID}&advisor={LONG_ID}", None, id="visits, long ids"),
    pytest.param("admin", "get", f"/crm/service/?from={HUGE}-01-01&to=2026-01-{HUGE}", None, id="visits, huge days"),
    pytest.param("admin", "get", f"/crm/service/calendar/?day={HUGE}-01-01", None, id="calendar, huge year"),
    pytest.param("salesperson", "get", f"/crm/sales/calls/next/?list={LONG_ID}", None, id="next call, long id"),
    pytest.param("salesperson", "post", "/crm/sales/calls/next/", {"list": LONG_ID}, id="next call posted, long id"),
    pytest.param("admin", "post", "/crm/sales/transfers/", {"request": LONG_ID, "decision": "approve"},
                 id="transfer decision, long id"),
    pytest.param("admin", "post", "/crm/sales/transfers/", {"request": TOO_BIG_ID, "decision": "approve"},
                 id="transfer decision, id past a bigint"),
    pytest.param("admin", "post", "/crm/sales/settings/schedules/", {"user": LONG_ID}, id="schedule, long id"),
    pytest.param("admin", "post", "/crm/sales/settings/demo-cars/", {"retire": LONG_ID}, id="demo car, long id"),
    pytest.param("admin", "post", "/hq-sharing/", {"withdraw": LONG_ID}, id="HQ share withdrawn, long id"),
    pytest.param("admin", "post", "/hq-sharing/", {"organisation": LONG_ID}, id="HQ share granted, long id"),
]


@pytest.mark.parametrize(("who", "method", "address", "form"), PAGES)
def test_an_odd_number_or_date_in_the_query_or_a_form_gives_a_page_not_a_server_error(cast, who, method, address,
                                                                                       form):
    client = cast.signed_in(cast.a, {"admin": cast.a_admin, "salesperson": cast.a_salesperson}[who])

    with time_machine.travel(NOW, tick=False):
        response = client.get(address) if method == "get" else client.post(address, form)

    assert response.status_code in (200, 302, 404), response.status_code


@pytest.mark.parametrize("value", [LONG_ID, TOO_BIG_ID, f"{HUGE}-01-01"])
def test_an_odd_time_chosen_for_moving_an_appointment_gives_a_page_not_a_server_error(cast, value):
    with schema_context(cast.a.schema_name), time_machine.travel(NOW, tick=False):
        rooftop = Rooftop.objects.get(name="Alpha Berlin")
        for weekday in range(7):
            OpeningHours.objects.update_or_create(rooftop=rooftop, weekday=weekday,
                                                  defaults={"opens": time(8), "closes": time(12)})
        tyres = ServiceType.objects.get(code="tyres")
        CapacityRule.objects.create(rooftop=rooftop, service_type=tyres, daily_hours=Decimal("4"), online_share=50)
        slots_generate(rooftop, NOW.date() + timedelta(days=2), 1, seats=2)
        person = person_create(by=None, fields={"family_name": "Owner", "given_name": "Olga"})
        car = Vehicle.objects.create(vin="WVWZZZ1KZAW000009", make="Opel", model="Corsa")
        VehicleLink.objects.create(vehicle=car, person=person, kind="owner")
        olga = User.objects.get(email=cast.a_owner)
        CustomerLink.objects.create(user=olga, person=person, proof="email")
        VehicleClaim.objects.create(user=olga, vehicle=car, channel="email", sent_to="x", code_hash="x", holder=person,
                                    expires_at=NOW, confirmed_at=NOW)
        appointment = appointment_book(slot=Slot.objects.order_by("starts_at").first(), service_type=tyres,
                                       vehicle=car, by=None, person=person, channel="online")
    olga = cast.signed_in(cast.a, cast.a_owner)

    with time_machine.travel(NOW, tick=False):
        response = olga.post(f"/my/appointments/{appointment.pk}/move/", {"day": value, "slot": value})

    assert response.status_code in (200, 302, 400), response.status_code
