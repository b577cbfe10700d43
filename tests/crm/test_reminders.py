"""Reminder rules at their boundaries: km vs months, consent, quiet hours, never twice, tasks."""

import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from crm.customers.models import MileageReading, Vehicle, VehicleLink
from crm.customers.services import consent_record, person_create
from crm.service.models import MaintenanceInterval, Reminder, ServiceVisit
from crm.service.reminders import maintenance_due, reminders_create, reminders_send

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 22)
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def test_maintenance_is_due_by_km_or_by_months_whichever_comes_first():
    interval = MaintenanceInterval(every_km=15000, every_months=12)
    slow = ((date(2025, 1, 1), 10000), (date(2026, 1, 1), 15000))  # 5,000 km a year
    fast = ((date(2025, 1, 1), 10000), (date(2025, 7, 1), 25000))  # 30,000 km a year

    assert maintenance_due(date(2025, 1, 1), 10000, slow, interval) == date(2026, 1, 1)  # months first
    assert maintenance_due(date(2025, 1, 1), 10000, fast, interval) == date(2025, 7, 1)  # km first (15,000 km)
    assert maintenance_due(date(2025, 1, 1), None, None, interval) == date(2026, 1, 1)  # no readings: months


@pytest.fixture
def customer(cast):
    with schema_context(cast.a.schema_name):
        person = person_create(by=None, fields={"family_name": "Erinnerung", "given_name": "Eva",
                                                "birth_date": date(1980, 12, 6)}, emails=["eva@example.de"])
        car = Vehicle.objects.create(make="Skoda", model="Octavia", plate="B-ER 1", inspection_due=TODAY + timedelta(
            days=10), warranty_end=TODAY + timedelta(days=200))
        VehicleLink.objects.create(vehicle=car, person=person, kind="owner")
        visit = ServiceVisit.objects.create(vehicle=car, person=person, opened_on=date(2025, 12, 1), mileage=40000,
                                            status="closed", total_amount=Decimal(300))
        MileageReading.objects.create(vehicle=car, read_on=date(2025, 12, 1), kilometres=40000)
        MileageReading.objects.create(vehicle=car, read_on=date(2026, 6, 1), kilometres=47000)
        return {"person": person, "car": car, "visit": visit}


def test_due_reminders_are_created_once_per_reason_and_period(cast, customer):
    with schema_context(cast.a.schema_name):
        created = reminders_create(TODAY)
        again = reminders_create(TODAY)
        kinds = set(Reminder.objects.filter(person=customer["person"]).values_list("kind", flat=True))

    # maintenance: 12 months after 2025-12-01 is 2026-12-01 (within 14 days); the km pace is slower
    # inspection in 10 days (within 21); warranty in 200 days: not yet (birthdays are automations now)
    assert kinds == {"maintenance", "inspection"}
    assert created == 2 and again == 0


def test_messages_need_consent_and_daytime_and_go_once(cast, customer, mailoutbox):
    with schema_context(cast.a.schema_name):
        reminders_create(TODAY)
        night = datetime.combine(TODAY, time(23), tzinfo=BERLIN)
        morning = datetime.combine(TODAY, time(10), tzinfo=BERLIN)

        assert reminders_send(night)["sent"] == 0  # quiet hours: still pending
        assert Reminder.objects.filter(status="pending").count() == 2
        assert reminders_send(morning) == {"sent": 0, "no_consent": 2, "task": 0}  # nothing on the ledger
        consent_record(person=customer["person"], by=None, channel="email", purpose="service_reminders",
                       granted=True, source="service desk")
        Reminder.objects.all().delete()
        reminders_create(TODAY)
        assert reminders_send(morning)["sent"] == 2
        assert reminders_send(morning)["sent"] == 0  # never twice

    assert sorted(m.subject for m in mailoutbox) == ["State inspection due for your Skoda Octavia · B-ER 1",
                                                     "Your Skoda Octavia · B-ER 1 is due for its service"]
    assert mailoutbox[0].to == ["eva@example.de"]


def test_the_service_manager_edits_rules_and_intervals_and_a_salesperson_cannot(cast):
    from accounts.models import User
    from crm.service.models import AUTOMATED_KINDS, ReminderRule

    with schema_context(cast.a.schema_name):
        User.objects.create_user("svcmgr@alpha.test", cast.password, role="service_manager")
        rules = list(ReminderRule.objects.exclude(kind__in=AUTOMATED_KINDS).order_by("kind"))
    manager = cast.signed_in(cast.a, "svcmgr@alpha.test")
    form = {"action": "rules", "rules-TOTAL_FORMS": len(rules), "rules-INITIAL_FORMS": len(rules)}
    for n, rule in enumerate(rules):
        days = 30 if rule.kind == "maintenance" else rule.days_ahead
        form |= {f"rules-{n}-id": rule.pk, f"rules-{n}-days_ahead": days, f"rules-{n}-message": "on",
                 **({f"rules-{n}-enabled": "on"} if rule.kind != "holiday" else {})}

    manager.post("/crm/service/reminders/rules/", form)
    bad = manager.post("/crm/service/reminders/rules/", {"action": "interval", "model": "Octavia", "every_km": "0",
                                                          "every_months": "12"})
    manager.post("/crm/service/reminders/rules/", {"action": "interval", "make": "Skoda", "model": "Octavia",
                                                   "every_km": "30000", "every_months": "24"})

    assert bad.status_code == 400
    with schema_context(cast.a.schema_name):
        assert ReminderRule.objects.get(kind="maintenance").days_ahead == 30
        assert not ReminderRule.objects.get(kind="holiday").enabled
        assert MaintenanceInterval.objects.get(make="Skoda", model="Octavia").every_km == 30000
    assert cast.signed_in(cast.a, cast.a_salesperson).get("/crm/service/reminders/rules/").status_code == 403


def test_a_forged_form_count_on_the_rules_page_makes_no_rule(cast):
    from crm.service.models import ReminderRule

    with schema_context(cast.a.schema_name):
        before = ReminderRule.objects.count()
    admin = cast.signed_in(cast.a, cast.a_admin)

    response = admin.post("/crm/service/reminders/rules/", {
        "action": "rules", "rules-TOTAL_FORMS": "2", "rules-INITIAL_FORMS": "-5",
        "rules-0-days_ahead": "7", "rules-1-days_ahead": "7"})

    assert response.status_code == 302  # saved: the rules there are, none more
    with schema_context(cast.a.schema_name):
        assert ReminderRule.objects.count() == before


def test_tyre_windows_follow_the_customers_rooftop_region_and_holidays_greet_with_consent(cast, customer, mailoutbox):
    from crm.dealerships.models import Rooftop
    from crm.service.models import Holiday, ReminderRule, TyreSeason

    with schema_context(cast.a.schema_name):
        north = Rooftop.objects.get(name="Alpha Hamburg")
        customer["person"].rooftop = north
        customer["person"].save(update_fields=["rooftop"])
        TyreSeason.objects.create(rooftop=north, autumn=date(2000, 12, 1), spring=date(2000, 4, 20))
        Holiday.objects.create(name="Nikolaus", day=date(2000, 12, 6))
        ReminderRule.objects.filter(kind__in=["holiday", "tyres"]).update(days_ahead=14)
        reminders_create(date(2026, 10, 10))  # the default window (15 Oct) would be due: not for Hamburg
        assert not Reminder.objects.filter(kind="tyres").exists()
        reminders_create(date(2026, 11, 22))  # Hamburg's 1 December is 9 days ahead; Nikolaus 14 days ahead
        assert Reminder.objects.get(kind="tyres").period == "2026-autumn"
        holiday = Reminder.objects.get(kind="holiday")
        assert holiday.due_on == date(2026, 12, 6)

        morning = datetime.combine(date(2026, 11, 22), time(10), tzinfo=BERLIN)
        reminders_send(morning)
        assert Reminder.objects.get(kind="holiday").status == "no_consent"  # greetings need marketing consent


def test_the_rules_page_saves_a_regional_tyre_season_and_a_holiday(cast):
    from crm.dealerships.models import Rooftop
    from crm.service.models import Holiday, TyreSeason

    admin = cast.signed_in(cast.a, cast.a_admin)
    with schema_context(cast.a.schema_name):
        rooftop = Rooftop.objects.get(name="Alpha Berlin")
    admin.post("/crm/service/reminders/rules/", {"action": "season", "rooftop": rooftop.pk, "autumn": "2026-10-20",
                                                 "spring": "2026-04-10"})
    admin.post("/crm/service/reminders/rules/", {"action": "holiday", "name": "Neujahr", "day": "2027-01-01"})
    bad = admin.post("/crm/service/reminders/rules/", {"action": "holiday", "name": "", "day": "no date"})

    assert bad.status_code == 400 and set(bad.context["holiday_form"].errors) == {"name", "day"}
    with schema_context(cast.a.schema_name):
        assert TyreSeason.objects.get(rooftop=rooftop).autumn == date(2026, 10, 20)
        assert Holiday.objects.filter(name="Neujahr").exists()


def test_a_car_that_barely_moves_is_due_by_months_without_overflowing():
    interval = MaintenanceInterval(every_km=15000, every_months=12)
    crawling = ((date(2020, 1, 1), 45000), (date(2024, 1, 1), 45001))
    odd = ((date(2024, 1, 1), 45000), (date(2024, 6, 1), 100))  # a mistyped later reading

    assert maintenance_due(date(2023, 6, 1), 45000, crawling, interval) == date(2024, 6, 1)
    assert maintenance_due(date(2024, 1, 1), 45000, odd, interval) == date(2025, 1, 1)
