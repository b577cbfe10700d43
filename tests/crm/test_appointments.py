"""Appointments on one capacity model: planning, booking, full slots and days, steps, isolation."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.models import TimelineEntry, Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.customers.timeline import entry_words
from crm.dealerships.models import OpeningHours, Rooftop
from crm.service.booking import Full, appointment_book, appointment_move, slots_generate
from crm.service.models import Appointment, CapacityRule, Closure, DayLoad, ServiceType, Slot

pytestmark = pytest.mark.django_db


@pytest.fixture
def workshop(cast):
    """Alpha Berlin open 8–12 every day, two seats per slot, 3 h of tyre changes a day (half online)."""
    with schema_context(cast.a.schema_name):
        rooftop = Rooftop.objects.get(name="Alpha Berlin")
        for weekday in range(7):
            OpeningHours.objects.update_or_create(rooftop=rooftop, weekday=weekday,
                                                  defaults={"opens": time(8), "closes": time(12)})
        tyres = ServiceType.objects.get(code="tyres")  # 0.5 h, seeded for every group
        CapacityRule.objects.create(rooftop=rooftop, service_type=tyres, daily_hours=Decimal("3"), online_share=50)
        owner = person_create(by=None, fields={"family_name": "Termin", "given_name": "Tina"})
        car = Vehicle.objects.create(make="Opel", model="Corsa", plate="B-TT 100")
        VehicleLink.objects.create(vehicle=car, person=owner, kind="owner")
        tomorrow = timezone.localdate() + timedelta(days=1)
        return {"rooftop": rooftop, "tyres": tyres, "owner": owner, "car": car, "day": tomorrow}


def test_a_manager_plans_capacity_and_closures_and_offers_slots(cast, workshop):
    admin = cast.signed_in(cast.a, cast.a_admin)
    rooftop, day = workshop["rooftop"], workshop["day"]
    url = f"/crm/service/capacity/?rooftop={rooftop.pk}"

    bad = admin.post(url, {"action": "rule", "service_type": workshop["tyres"].pk, "daily_hours": "6",
                           "online_share": "150"})
    admin.post(url, {"action": "rule", "service_type": workshop["tyres"].pk, "daily_hours": "6", "online_share": "50"})
    admin.post(url, {"action": "closure", "day": (day + timedelta(days=1)).isoformat(), "reason": "Holiday"})
    offered = admin.post(url, {"action": "slots", "start": day.isoformat(), "days": "2", "seats": "3"}, follow=True)

    assert bad.status_code == 400 and bad.context["rule_form"].errors["online_share"]
    assert "8 slots offered." in offered.text  # 8:00–12:00 in half hours, the second day closed
    with schema_context(cast.a.schema_name):
        assert CapacityRule.objects.get(rooftop=rooftop, service_type=workshop["tyres"]).online_share == 50
        assert Closure.objects.filter(rooftop=rooftop).count() == 1
        # half of three seats, rounded down: the portal never gets more than its share
        assert set(Slot.objects.filter(rooftop=rooftop).values_list("capacity", "online_capacity")) == {(3, 1)}


def test_staff_book_from_the_calendar_until_the_slot_is_full(cast, workshop):
    with schema_context(cast.a.schema_name):
        slots_generate(workshop["rooftop"], workshop["day"], 1, seats=1)
        slot = Slot.objects.filter(rooftop=workshop["rooftop"]).order_by("starts_at").first()
        other = Vehicle.objects.create(make="Fiat", model="500", plate="B-FF 1")
    admin = cast.signed_in(cast.a, cast.a_admin)

    booked = admin.post(f"/crm/service/calendar/slots/{slot.pk}/book/", {
        "vehicle": "B-TT 100", "service_type": workshop["tyres"].pk, "comment": "Winter tyres in the boot"})
    full = admin.post(f"/crm/service/calendar/slots/{slot.pk}/book/", {
        "vehicle": "B-FF 1", "service_type": workshop["tyres"].pk})
    calendar = admin.get("/crm/service/calendar/", {"rooftop": workshop["rooftop"].pk,
                                                    "day": workshop["day"].isoformat()})

    assert booked.status_code == 302
    assert full.status_code == 400 and "This time is fully booked" in full.text
    assert "B-TT 100" in calendar.text and "Tina Termin" in calendar.text
    with schema_context(cast.a.schema_name):
        appointment = Appointment.objects.get(vehicle=workshop["car"])
        assert (appointment.person, appointment.labour_hours) == (workshop["owner"], Decimal("0.50"))
        assert not Appointment.objects.filter(vehicle=other).exists()
        assert TimelineEntry.objects.filter(person=workshop["owner"], summary__startswith="Appointment booked").exists()


def test_the_days_labour_hours_and_the_online_share_limit_bookings(cast, workshop):
    with schema_context(cast.a.schema_name):
        slots_generate(workshop["rooftop"], workshop["day"], 1, seats=4)  # 2 online seats per slot
        slots = list(Slot.objects.filter(rooftop=workshop["rooftop"]).order_by("starts_at"))
        cars = [Vehicle.objects.create(make="Kia", model="Rio", plate=f"B-K {n}") for n in range(8)]
        online = [appointment_book(slot=slots[n], service_type=workshop["tyres"], vehicle=cars[n], by=None,
                                   channel="online") for n in range(3)]  # 1.5 h: the online half of 3 h
        with pytest.raises(Full, match="fully booked for"):
            appointment_book(slot=slots[3], service_type=workshop["tyres"], vehicle=cars[3], by=None, channel="online")
        staff = [appointment_book(slot=slots[n], service_type=workshop["tyres"], vehicle=cars[n], by=None)
                 for n in range(3, 6)]  # staff fill the other 1.5 h
        with pytest.raises(Full):
            appointment_book(slot=slots[6], service_type=workshop["tyres"], vehicle=cars[6], by=None)

        appointment_move(appointment=staff[0], status="cancelled", by=None)  # gives its half hour back
        appointment_book(slot=slots[6], service_type=workshop["tyres"], vehicle=cars[6], by=None)

        load = DayLoad.objects.get(rooftop=workshop["rooftop"], day=workshop["day"], service_type=workshop["tyres"])
        assert (load.hours_booked, load.hours_booked_online) == (Decimal("3.00"), Decimal("1.50"))
        assert len(online) == 3


def test_appointments_move_through_their_steps_only_forwards(cast, workshop):
    with schema_context(cast.a.schema_name):
        slots_generate(workshop["rooftop"], workshop["day"], 1)
        slot = Slot.objects.filter(rooftop=workshop["rooftop"]).first()
        appointment = appointment_book(slot=slot, service_type=workshop["tyres"], vehicle=workshop["car"], by=None)
    admin = cast.signed_in(cast.a, cast.a_admin)
    url = f"/crm/service/appointments/{appointment.pk}/status/"

    for status in ("confirmed", "arrived", "in_progress", "done"):
        admin.post(url, {"status": status})
    backwards = admin.post(url, {"status": "booked"}, follow=True)

    assert "cannot become" in backwards.text
    with schema_context(cast.a.schema_name):
        assert Appointment.objects.get(pk=appointment.pk).status == "done"


def test_a_past_time_or_a_closed_day_offers_nothing(cast, workshop):
    with schema_context(cast.a.schema_name):
        Closure.objects.create(rooftop=workshop["rooftop"], day=workshop["day"])
        assert slots_generate(workshop["rooftop"], workshop["day"], 1) == 0
        slots_generate(workshop["rooftop"], timezone.localdate() - timedelta(days=1), 1)
        past = Slot.objects.filter(rooftop=workshop["rooftop"]).first()
        with pytest.raises(Exception, match="has passed"):
            appointment_book(slot=past, service_type=workshop["tyres"], vehicle=workshop["car"], by=None)


def test_the_calendar_costs_the_same_queries_whatever_the_bookings(cast, workshop):
    admin = cast.signed_in(cast.a, cast.a_admin)
    with schema_context(cast.a.schema_name):
        slots_generate(workshop["rooftop"], workshop["day"], 1, seats=6)
        slots = list(Slot.objects.filter(rooftop=workshop["rooftop"]).order_by("starts_at"))
    query = {"rooftop": workshop["rooftop"].pk, "day": workshop["day"].isoformat()}
    admin.get("/crm/service/calendar/", query)
    with CaptureQueriesContext(connection) as empty:
        admin.get("/crm/service/calendar/", query)
    with schema_context(cast.a.schema_name):
        CapacityRule.objects.filter(service_type=workshop["tyres"]).update(daily_hours=Decimal(40))
        for n in range(6):
            car = Vehicle.objects.create(make="Seat", model="Ibiza", plate=f"B-S {n}")
            appointment_book(slot=slots[n % 3], service_type=workshop["tyres"], vehicle=car, by=None)
    with CaptureQueriesContext(connection) as busy:
        admin.get("/crm/service/calendar/", query)

    assert len(busy) == len(empty), [q["sql"][:100] for q in busy]


def test_another_tenant_an_owner_and_a_salesperson_cannot_book_or_plan(cast, workshop):
    with schema_context(cast.a.schema_name):
        slots_generate(workshop["rooftop"], workshop["day"], 1)
        slot = Slot.objects.filter(rooftop=workshop["rooftop"]).first()
        User.objects.create_user("callcentre@alpha.test", cast.password, role="marketing")
    other = cast.signed_in(cast.b, cast.b_admin)
    owner = cast.signed_in(cast.a, cast.a_owner)
    sales = cast.signed_in(cast.a, cast.a_salesperson)
    callcentre = cast.signed_in(cast.a, "callcentre@alpha.test")
    book = f"/crm/service/calendar/slots/{slot.pk}/book/"

    assert other.get(book).status_code == 404
    assert owner.get("/crm/service/calendar/").status_code == 403
    assert sales.get(book).status_code == 403 and sales.get("/crm/service/capacity/").status_code == 403
    assert callcentre.get(book).status_code == 200  # the call centre books for the workshop
    assert callcentre.get("/crm/service/capacity/").status_code == 403


def test_the_booking_is_confirmed_once_by_e_mail_with_the_appointment_as_ics(cast, workshop, mailoutbox,
                                                                             django_capture_on_commit_callbacks):
    from crm.service.notify import confirmation_send

    with schema_context(cast.a.schema_name):
        workshop["owner"].emails.create(address="tina@example.de", is_primary=True)
        slots_generate(workshop["rooftop"], workshop["day"], 1)
        slot = Slot.objects.filter(rooftop=workshop["rooftop"]).order_by("starts_at").first()
        with django_capture_on_commit_callbacks(execute=False) as queued:
            appointment = appointment_book(slot=slot, service_type=workshop["tyres"], vehicle=workshop["car"],
                                           person=workshop["owner"], by=None)
        assert len(queued) == 1
        assert confirmation_send(appointment.pk) is True
        assert confirmation_send(appointment.pk) is False  # a retried task sends nothing more
        # The message is on the customer's timeline, read in each reader's language.
        sent = TimelineEntry.objects.get(person=workshop["owner"], event="appointment_mail")
        assert sent.kind == "message" and "tina@example.de" in sent.summary and "confirmation" in sent.summary
        with translation.override("ru"):
            assert "Подтверждение записи" in entry_words(sent)[0]

    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["tina@example.de"]
    name, ics, mimetype = mailoutbox[0].attachments[0]
    assert (name, mimetype) == ("appointment.ics", "text/calendar; method=PUBLISH")
    text = ics.decode() if isinstance(ics, bytes) else ics
    assert "BEGIN:VEVENT" in text and "Tyre change" in text and "Alpha Berlin" in text and "DTSTART" in text


def test_reminders_go_the_day_before_in_daytime_only_with_consent_and_once(cast, workshop, mailoutbox):
    import zoneinfo
    from datetime import datetime

    from crm.customers.services import consent_record
    from crm.service.notify import reminders_send

    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    with schema_context(cast.a.schema_name):
        workshop["owner"].emails.create(address="tina@example.de", is_primary=True)
        slots_generate(workshop["rooftop"], workshop["day"], 1)
        slot = Slot.objects.filter(rooftop=workshop["rooftop"]).order_by("starts_at").first()
        appointment_book(slot=slot, service_type=workshop["tyres"], vehicle=workshop["car"], person=workshop["owner"],
                         by=None)
        today = workshop["day"] - timedelta(days=1)
        morning = datetime.combine(today, time(10), tzinfo=berlin)
        night = datetime.combine(today, time(22), tzinfo=berlin)

        assert reminders_send(morning) == 0  # no consent on the ledger
        consent_record(person=workshop["owner"], by=None, channel="email", purpose="service_reminders",
                       granted=True, source="service desk")
        assert reminders_send(night) == 0  # quiet hours at the rooftop
        assert reminders_send(morning + timedelta(minutes=1)) == 1
        assert reminders_send(morning + timedelta(hours=1)) == 0  # never twice
        assert TimelineEntry.objects.filter(person=workshop["owner"], event="appointment_mail",
                                            data__what="reminder").count() == 1

    assert [m.subject for m in mailoutbox] == [mailoutbox[0].subject] and "tomorrow" in mailoutbox[0].subject


def test_an_advisor_takes_no_more_appointments_a_day_than_set_and_a_cancellation_frees_one(cast, workshop):
    admin = cast.signed_in(cast.a, cast.a_admin)
    with schema_context(cast.a.schema_name):
        advisor = User.objects.create_user("busy@alpha.test", cast.password, role="service_advisor")
    admin.post(f"/crm/service/capacity/?rooftop={workshop['rooftop'].pk}", {"action": "advisor",
                                                                           "advisor": advisor.pk,
                                                                           "appointments_per_day": "2"})
    with schema_context(cast.a.schema_name):
        slots_generate(workshop["rooftop"], workshop["day"], 1, seats=3)
        slots = list(Slot.objects.filter(rooftop=workshop["rooftop"]).order_by("starts_at"))
        cars = [Vehicle.objects.create(make="Mini", model="One", plate=f"B-MI {n}") for n in range(3)]
        first, _second = (appointment_book(slot=slots[n], service_type=workshop["tyres"], vehicle=cars[n], by=None,
                                           advisor=advisor) for n in range(2))
        with pytest.raises(Full, match="fully booked that day"):
            appointment_book(slot=slots[2], service_type=workshop["tyres"], vehicle=cars[2], by=None, advisor=advisor)
        appointment_book(slot=slots[2], service_type=workshop["tyres"], vehicle=cars[2], by=None)  # anyone else
        appointment_move(appointment=first, status="cancelled", by=None)
        appointment_book(slot=slots[3], service_type=workshop["tyres"], vehicle=cars[0], by=None, advisor=advisor)
        assert Appointment.objects.filter(advisor=advisor).exclude(status="cancelled").count() == 2


def test_closing_a_day_keeps_booked_slots_and_refuses_new_bookings_and_e_mails_show_local_time(cast, workshop,
                                                                                             mailoutbox):
    from crm.service.notify import confirmation_send

    admin = cast.signed_in(cast.a, cast.a_admin)
    with schema_context(cast.a.schema_name):
        workshop["owner"].emails.create(address="tina@example.de", is_primary=True)
        slots_generate(workshop["rooftop"], workshop["day"], 1)
        slots = list(Slot.objects.filter(rooftop=workshop["rooftop"]).order_by("starts_at"))
        booked = appointment_book(slot=slots[0], service_type=workshop["tyres"], vehicle=workshop["car"],
                                  person=workshop["owner"], by=None)
        appointment_move(appointment=booked, status="cancelled", by=None)
        confirmation_send(booked.pk)

    response = admin.post(f"/crm/service/capacity/?rooftop={workshop['rooftop'].pk}",
                          {"action": "closure", "day": workshop["day"].isoformat(), "reason": "Inventur"})

    assert response.status_code == 302
    with schema_context(cast.a.schema_name):
        assert list(Slot.objects.filter(rooftop=workshop["rooftop"]).values_list("pk", flat=True)) == [slots[0].pk]
        with pytest.raises(Full, match="closed that day"):
            appointment_book(slot=slots[0], service_type=workshop["tyres"], vehicle=workshop["car"], by=None)
    assert "8 a.m." in mailoutbox[0].body  # 8:00 in Berlin (07:00 UTC)


def test_slots_are_kept_a_horizon_ahead_as_the_manager_laid_them_out(cast, workshop, settings):
    """Online booking never quietly empties: a nightly job fills the days after the last slot, with the manager's
    slot length and seats, skipping closures; another group's calendar is its own."""
    import zoneinfo

    import time_machine

    from crm.service.tasks import slots_extend

    settings.SLOT_HORIZON_DAYS = 10
    rooftop = workshop["rooftop"]
    tz = zoneinfo.ZoneInfo(rooftop.timezone)
    with time_machine.travel("2026-03-02 06:00 +00:00", tick=False), schema_context(cast.a.schema_name):
        slots_generate(rooftop, timezone.localdate(), 3, minutes=60, seats=3)  # a manager's three days of hours
        Closure.objects.create(rooftop=rooftop, day=timezone.localdate() + timedelta(days=5), reason="Holiday")

        assert slots_extend()["slots"] == (10 - 3 - 1) * 4  # days 3–9 but the closed one, 8:00–12:00 hourly
        assert slots_extend()["slots"] == 0  # nothing new the same day

        days = {slot.starts_at.astimezone(tz).date() for slot in Slot.objects.filter(rooftop=rooftop)}
        assert len(days) == 9 and timezone.localdate() + timedelta(days=5) not in days
        assert set(Slot.objects.filter(rooftop=rooftop).values_list("capacity", flat=True)) == {3}
        minutes = {slot.starts_at.astimezone(tz).minute for slot in Slot.objects.filter(rooftop=rooftop)}
        assert minutes == {0}
    with time_machine.travel("2026-03-03 06:00 +00:00", tick=False), schema_context(cast.a.schema_name):
        assert slots_extend()["slots"] == 4  # the next night: one more day
    with schema_context(cast.b.schema_name):
        assert not Slot.objects.exists()
