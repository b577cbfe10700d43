"""Owners book the workshop from the same capacity the CRM books from, see it as coming, move and cancel it
within the rooftop's notice; staff see it in the CRM at once; nobody books or touches another's car."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.models import Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.dealerships.models import OpeningHours, Rooftop
from crm.service.booking import appointment_book, slots_generate
from crm.service.models import (
    Appointment,
    CapacityRule,
    Closure,
    DayLoad,
    DeclinedRecommendation,
    ServiceType,
    ServiceVisit,
    Slot,
)
from crm.service.services import declined_add
from portal.models import CustomerLink, VehicleClaim
from tests.conftest import confirmed_step

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(cast):
    """Alpha Berlin open 8–12 tomorrow, two seats a slot (one online), 2 h of tyre changes online; Olga (the
    cast's car owner) has proven her Corsa and is the customer Olga Owner."""
    with schema_context(cast.a.schema_name):
        rooftop = Rooftop.objects.get(name="Alpha Berlin")
        for weekday in range(7):
            OpeningHours.objects.update_or_create(rooftop=rooftop, weekday=weekday,
                                                  defaults={"opens": time(8), "closes": time(12)})
        tyres = ServiceType.objects.get(code="tyres")  # 0.5 h
        CapacityRule.objects.create(rooftop=rooftop, service_type=tyres, daily_hours=Decimal("4"), online_share=50)
        day = timezone.localdate() + timedelta(days=2)
        slots_generate(rooftop, day, 1, seats=2)
        person = person_create(by=None, fields={"family_name": "Owner", "given_name": "Olga"})
        car = Vehicle.objects.create(vin="WVWZZZ1KZAW000009", make="Opel", model="Corsa")
        VehicleLink.objects.create(vehicle=car, person=person, kind="owner")
        olga = User.objects.get(email=cast.a_owner)
        CustomerLink.objects.create(user=olga, person=person, proof="email")
        VehicleClaim.objects.create(user=olga, vehicle=car, channel="email", sent_to="x", code_hash="x", holder=person,
                                    expires_at=timezone.now(), confirmed_at=timezone.now())
        slots = list(Slot.objects.filter(rooftop=rooftop).order_by("starts_at"))
        return {"rooftop": rooftop, "tyres": tyres, "day": day, "person": person, "car": car, "slots": slots}


def _book(client, booked, slot, **extra):
    return client.post("/my/book/", {"vehicle": booked["car"].pk, "service_type": booked["tyres"].pk,
                                     "rooftop": booked["rooftop"].pk, "day": booked["day"].isoformat(),
                                     "slot": slot.pk, "action": "book", **extra})


def test_an_owner_books_from_the_shared_capacity_and_staff_see_it_at_once(cast, booked):
    olga = cast.signed_in(cast.a, cast.a_owner)
    times = olga.post("/my/book/", {"vehicle": booked["car"].pk, "service_type": booked["tyres"].pk,
                                    "rooftop": booked["rooftop"].pk, "day": booked["day"].isoformat(),
                                    "action": "times"})
    assert [slot.pk for slot in times.context["form"].fields["slot"].queryset] == [s.pk for s in booked["slots"]]
    assert "08:00" in times.text and "11:30" in times.text
    done = _book(olga, booked, booked["slots"][0], comment="Winter tyres are in the boot")
    with schema_context(cast.a.schema_name):
        appointment = Appointment.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/my/appointments/{appointment.pk}/"
    confirmation = olga.get(done["Location"])  # the second screen: booked, with the calendar file
    assert "You are booked in" in confirmation.text and "Tyre change" in confirmation.text
    calendar = olga.get(f"/my/appointments/{appointment.pk}/appointment.ics")
    assert calendar["Content-Type"].startswith("text/calendar") and b"BEGIN:VEVENT" in calendar.content
    assert "Coming appointments" in olga.get("/my/").text
    with schema_context(cast.a.schema_name):
        assert (appointment.person, appointment.channel, appointment.comment) == (
            booked["person"], "online", "Winter tyres are in the boot")
        slot = Slot.objects.get(pk=booked["slots"][0].pk)
        assert (slot.booked, slot.online_booked) == (1, 1)  # the CRM's own counters
    staff = cast.signed_in(cast.a, cast.a_admin).get(
        f"/crm/service/calendar/?rooftop={booked['rooftop'].pk}&day={booked['day'].isoformat()}")
    assert "Owner" in staff.text and "Corsa" in staff.text
    # the slot's one online seat is taken: the portal no longer offers it (the CRM still may book its other seat)
    again = _book(olga, booked, booked["slots"][0])
    assert again.status_code == 400


def test_the_online_share_of_the_days_hours_runs_out(cast, booked):
    olga = cast.signed_in(cast.a, cast.a_owner)
    with schema_context(cast.a.schema_name):
        for slot in booked["slots"][:4]:  # 4 × 0.5 h = the online 2 h, booked by the CRM as online
            appointment_book(slot=slot, service_type=booked["tyres"], vehicle=booked["car"], by=None,
                             channel="online")
    times = olga.post("/my/book/", {"vehicle": booked["car"].pk, "service_type": booked["tyres"].pk,
                                    "rooftop": booked["rooftop"].pk, "day": booked["day"].isoformat(),
                                    "action": "times"})
    assert "No free times that day" in times.text  # only times a booking would accept are offered
    full = _book(olga, booked, booked["slots"][5])  # and a time sent anyway is refused
    assert full.status_code == 400
    with schema_context(cast.a.schema_name):
        assert Appointment.objects.count() == 4
        assert Slot.objects.get(pk=booked["slots"][5].pk).booked == 0  # nothing half-taken
        assert DayLoad.objects.get().hours_booked_online == Decimal("2.00")


def test_no_times_are_offered_on_a_day_the_workshop_is_closed(cast, booked):
    with schema_context(cast.a.schema_name):
        Closure.objects.create(rooftop=booked["rooftop"], day=booked["day"], reason="Stocktaking")
    times = cast.signed_in(cast.a, cast.a_owner).post("/my/book/", {
        "vehicle": booked["car"].pk, "service_type": booked["tyres"].pk, "rooftop": booked["rooftop"].pk,
        "day": booked["day"].isoformat(), "action": "times"})
    assert "No free times that day" in times.text and "08:00" not in times.text


def test_declined_work_is_booked_from_the_garage(cast, booked):
    with schema_context(cast.a.schema_name):
        visit = ServiceVisit.objects.create(vehicle=booked["car"], person=booked["person"], status="closed",
                                            opened_on=timezone.localdate() - timedelta(days=20))
        item = declined_add(visit=visit, category="tyres", description="Winter tyres", by=None)
    olga = cast.signed_in(cast.a, cast.a_owner)
    form = olga.get(f"/my/book/?car={booked['car'].pk}&declined={item.pk}").context["form"]
    assert form["declined"].value() == str(item.pk)
    _book(olga, booked, booked["slots"][1], declined=item.pk)
    with schema_context(cast.a.schema_name):
        assert DeclinedRecommendation.objects.get(pk=item.pk).status == "booked"
        assert Appointment.objects.get().declined_id == item.pk


def test_move_and_cancel_within_the_rooftops_notice(cast, booked):
    olga = cast.signed_in(cast.a, cast.a_owner)
    _book(olga, booked, booked["slots"][0])
    with schema_context(cast.a.schema_name):
        appointment = Appointment.objects.get()
    moved = olga.post(f"/my/appointments/{appointment.pk}/move/", {"day": booked["day"].isoformat(),
                                                                   "slot": booked["slots"][3].pk}, follow=True)
    assert "Moved to" in moved.text
    with schema_context(cast.a.schema_name):
        assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"
        new = Appointment.objects.get(status="booked")
        assert new.slot_id == booked["slots"][3].pk
        assert Slot.objects.get(pk=booked["slots"][0].pk).online_booked == 0  # the old seat is free again
        Rooftop.objects.filter(pk=booked["rooftop"].pk).update(online_change_hours=24 * 7)
    late = olga.post(f"/my/appointments/{new.pk}/cancel/", follow=True)
    assert "Less than 168 hours before the appointment: please call us" in late.text
    with schema_context(cast.a.schema_name):
        Rooftop.objects.filter(pk=booked["rooftop"].pk).update(online_change_hours=24)
    action, fields = confirmed_step(olga.get("/my/").text, "Cancel")  # asked twice, then posted
    assert action == f"/my/appointments/{new.pk}/cancel/"
    olga.post(action, fields)
    with schema_context(cast.a.schema_name):
        assert Appointment.objects.get(pk=new.pk).status == "cancelled"
        assert Slot.objects.get(pk=booked["slots"][3].pk).booked == 0


def test_nobody_books_or_touches_a_car_they_have_not_proven(cast, booked):
    olga = cast.signed_in(cast.a, cast.a_owner)
    _book(olga, booked, booked["slots"][0])
    with schema_context(cast.a.schema_name):
        appointment = Appointment.objects.get()
        neighbour_user = User.objects.create_user("neighbour@alpha.test", cast.password)
    neighbour = cast.signed_in(cast.a, "neighbour@alpha.test")
    assert _book(neighbour, booked, booked["slots"][1]).status_code == 400  # no car of their own yet
    with schema_context(cast.a.schema_name):
        own = Vehicle.objects.create(vin="WVWZZZ1KZAW000008", make="Fiat", model="Panda")
        nina = person_create(by=None, fields={"family_name": "Nachbarin"})
        VehicleLink.objects.create(vehicle=own, person=nina, kind="owner")
        VehicleClaim.objects.create(user=neighbour_user, vehicle=own, channel="email", sent_to="x", code_hash="x",
                                    holder=nina,
                                    expires_at=timezone.now(), confirmed_at=timezone.now())
    refused = _book(neighbour, booked, booked["slots"][1])  # Olga's Corsa, by its id
    assert refused.status_code == 400 and "Select a valid choice" in refused.text
    assert neighbour.post(f"/my/appointments/{appointment.pk}/cancel/").status_code == 404
    assert neighbour.get(f"/my/appointments/{appointment.pk}/").status_code == 404
    assert neighbour.get(f"/my/appointments/{appointment.pk}/appointment.ics").status_code == 404
    assert neighbour.get(f"/my/appointments/{appointment.pk}/move/").status_code == 404
    assert "Coming appointments" not in neighbour.get("/my/").text
    with schema_context(cast.a.schema_name):
        assert Appointment.objects.count() == 1 and Appointment.objects.get().status == "booked"


def test_declined_work_stays_with_a_moved_appointment_and_reopens_when_it_is_cancelled(cast, booked):
    with schema_context(cast.a.schema_name):
        visit = ServiceVisit.objects.create(vehicle=booked["car"], person=booked["person"], status="closed",
                                            opened_on=timezone.localdate() - timedelta(days=20))
        item = declined_add(visit=visit, category="tyres", description="Winter tyres", by=None)
    olga = cast.signed_in(cast.a, cast.a_owner)
    _book(olga, booked, booked["slots"][0], declined=item.pk)
    with schema_context(cast.a.schema_name):
        first = Appointment.objects.get()
    olga.post(f"/my/appointments/{first.pk}/move/", {"day": booked["day"].isoformat(), "slot": booked["slots"][2].pk})
    with schema_context(cast.a.schema_name):
        moved = Appointment.objects.get(status="booked")
        assert moved.declined_id == item.pk
    olga.post(f"/my/appointments/{moved.pk}/cancel/")
    with schema_context(cast.a.schema_name):
        assert DeclinedRecommendation.objects.get(pk=item.pk).status == "open"


def test_odd_days_give_a_page_not_an_error(cast, booked):
    olga = cast.signed_in(cast.a, cast.a_owner)
    far = olga.post("/my/book/", {"vehicle": booked["car"].pk, "service_type": booked["tyres"].pk,
                                  "rooftop": booked["rooftop"].pk, "day": "9999-12-31", "action": "times"})
    assert far.status_code == 400 and "We book up to six months ahead." in far.text
    _book(olga, booked, booked["slots"][0])
    with schema_context(cast.a.schema_name):
        appointment = Appointment.objects.get()
    assert olga.get(f"/my/appointments/{appointment.pk}/move/?day=9999-12-31").status_code == 200
    assert olga.get(f"/my/appointments/{appointment.pk}/move/?day=nonsense").status_code == 200


def test_times_are_shown_in_the_workshops_own_time_zone(cast, booked):
    olga = cast.signed_in(cast.a, cast.a_owner)
    _book(olga, booked, booked["slots"][0])  # 08:00 in Berlin
    olga.get("/my/")  # the booking's own message is read
    with schema_context(cast.a.schema_name):
        Rooftop.objects.filter(pk=booked["rooftop"].pk).update(timezone="Asia/Shanghai")  # the group stays Berlin's
    garage = olga.get("/my/").text
    assert "3 p.m." in garage and "8 a.m." not in garage  # 08:00 CET is 15:00 in Shanghai
