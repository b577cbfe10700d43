"""Benchmark: bookings per second with concurrent clients on one rooftop, and overbookings (must be 0).

    .venv/bin/python bench/booking.py [--clients 8] [--days 10] [--seats 3]

Own database (``dealercrm_bench``, created fresh and dropped at the end). One rooftop open 8-18
with ``--days`` days of half-hour slots of ``--seats`` seats, and enough labour hours that the slots
are the limit. ``--clients`` threads, each with its own database connection, book random slots
(through ``appointment_book``, the path the screens and the portal use) until every slot is full.
Printed: bookings per second, attempts refused as full, and the overbooking check — for every
slot, appointments held vs seats, and for the day, hours booked vs capacity — which must be 0.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))


def run(clients: int, days: int, seats: int) -> dict[str, object]:
    import django
    from django.core.management import call_command

    django.setup()
    from datetime import time as clock
    from datetime import timedelta
    from decimal import Decimal

    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from crm.customers.models import Vehicle
    from crm.dealerships.models import OpeningHours, Rooftop
    from crm.service.booking import Full, appointment_book, slots_generate
    from crm.service.models import Appointment, CapacityRule, ServiceType, Slot
    from tenants.services import dealer_group_create

    call_command("migrate_all", verbosity=0)
    group = dealer_group_create(name="Bench Booking", slug="bench-booking", country="DE",
                                admin_email="admin@bench.example.com", admin_password=None).dealer_group
    schema = group.schema_name
    with schema_context(schema):
        rooftop = Rooftop.objects.create(name="Bench Workshop", timezone="Europe/Berlin")
        for weekday in range(7):
            OpeningHours.objects.create(rooftop=rooftop, weekday=weekday, opens=clock(8), closes=clock(18))
        service = ServiceType.objects.get(code="tyres")
        CapacityRule.objects.create(rooftop=rooftop, service_type=service, daily_hours=Decimal(500), online_share=50)
        slots_generate(rooftop, timezone.localdate() + timedelta(days=1), days, seats=seats)
        slot_ids = list(Slot.objects.filter(rooftop=rooftop).values_list("pk", flat=True))
        total_seats = len(slot_ids) * seats
        cars = Vehicle.objects.bulk_create(Vehicle(make="VW", model="Up", plate=f"BK-{n}") for n in range(total_seats))
    counts = {"booked": 0, "full": 0}
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(number: int) -> None:
        rng = random.Random(number)
        open_slots = list(slot_ids)
        with schema_context(schema):
            rooftop_local = Rooftop.objects.get(pk=rooftop.pk)
            start.wait()
            slots = {slot.pk: slot for slot in Slot.objects.filter(pk__in=slot_ids)}
            for slot in slots.values():
                slot.rooftop = rooftop_local
            while open_slots:
                slot_id = rng.choice(open_slots)
                try:
                    appointment_book(slot=slots[slot_id], service_type=service, vehicle=rng.choice(cars), by=None)
                    with lock:
                        counts["booked"] += 1
                except Full:
                    open_slots.remove(slot_id)
                    with lock:
                        counts["full"] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("""SELECT count(*) FROM service_slot s WHERE s.booked > s.capacity
                          OR (SELECT count(*) FROM service_appointment a WHERE a.slot_id = s.id) > s.capacity""")
        overbooked_slots = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM service_dayload WHERE hours_booked > hours_capacity")
        overbooked_days = cursor.fetchone()[0]
        held = Appointment.objects.count()
    return {"clients": clients, "slots": len(slot_ids), "seats": total_seats, "booked": counts["booked"],
            "refused_full": counts["full"], "seconds": round(seconds, 2),
            "bookings_per_s": round(counts["booked"] / seconds, 1), "appointments": held,
            "overbookings": overbooked_slots + overbooked_days, "cpu_count": os.cpu_count()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seats", type=int, default=3)
    args = parser.parse_args()
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Tasks the run queues (confirmations, e-mails) stay in memory: never in the demo's queue.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    from provisioning import in_bench_database

    return in_bench_database(lambda: run(args.clients, args.days, args.seats))


if __name__ == "__main__":
    sys.exit(main())
