"""No overbooking under concurrency: real PostgreSQL, real threads, committed data."""

import threading
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from crm.customers.models import Vehicle
from crm.dealerships.models import OpeningHours, Rooftop
from crm.service.booking import Full, appointment_book, slots_generate
from crm.service.models import Appointment, CapacityRule, DayLoad, ServiceType, Slot

ATTEMPTS = 50


@pytest.mark.worker
def test_fifty_simultaneous_bookings_of_a_slot_with_three_seats_give_exactly_three(scratch):
    schema = scratch.tenant.schema_name
    with schema_context(schema):
        rooftop = Rooftop.objects.create(name="Race Rooftop", timezone="Europe/Berlin")
        for weekday in range(7):
            OpeningHours.objects.create(rooftop=rooftop, weekday=weekday, opens=time(8), closes=time(18))
        service = ServiceType.objects.create(name="Oil change", code="oil", labour_hours=Decimal("1.0"))
        CapacityRule.objects.create(rooftop=rooftop, service_type=service, daily_hours=Decimal(40), online_share=50)
        slots_generate(rooftop, timezone.localdate() + timedelta(days=1), 1, seats=3)
        slot = Slot.objects.filter(rooftop=rooftop).order_by("starts_at").first()
        cars = [Vehicle.objects.create(make="VW", model="Polo", plate=f"RC-{n}") for n in range(ATTEMPTS)]
    start = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []

    def attempt(car: Vehicle) -> None:
        try:
            with schema_context(schema):
                start.wait()
                appointment_book(slot=slot, service_type=service, vehicle=car, by=None)
            outcomes.append("booked")
        except Full:
            outcomes.append("full")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(car,)) for car in cars]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes).count("booked") == 3 and outcomes.count("full") == ATTEMPTS - 3
    with schema_context(schema):
        assert Appointment.objects.filter(slot=slot).count() == 3
        assert Slot.objects.get(pk=slot.pk).booked == 3
        assert DayLoad.objects.get(rooftop=rooftop, service_type=service).hours_booked == Decimal("3.00")
