"""Repair orders: opened with the car's mileage, work lines and totals, repeat repairs, declined work."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.models import MileageReading, TimelineEntry, Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.customers.timeline import entry_words
from crm.dealerships.models import Rooftop
from crm.service.models import DeclinedRecommendation, ServiceVisit
from crm.service.services import declined_add, line_add, visit_close, visit_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def car(cast):
    with schema_context(cast.a.schema_name):
        owner = person_create(by=None, fields={"family_name": "Werkstatt", "given_name": "Wanda"})
        golf = Vehicle.objects.create(vin="WVWZZZ1KZAW000321", make="VW", model="Golf", plate="B-WW 321")
        VehicleLink.objects.create(vehicle=golf, person=owner, kind="owner")
        return {"owner": owner, "car": golf, "rooftop": Rooftop.objects.get(name="Alpha Berlin")}


def _visit(car, opened_on, category, *, close=True):
    visit = visit_open(vehicle=car["car"], rooftop=car["rooftop"], opened_on=opened_on, by=None)
    line_add(visit=visit, kind="labour", category=category, description=f"{category} work", quantity=Decimal(2),
             unit_price=Decimal("95.00"), labour_hours=Decimal(2))
    return visit_close(visit=visit, by=None) if close else visit


def test_an_advisor_opens_an_order_by_plate_adds_work_and_closes_it(cast, car):
    with schema_context(cast.a.schema_name):
        User.objects.create_user("advisor@alpha.test", cast.password, role="service_advisor")
    advisor = cast.signed_in(cast.a, "advisor@alpha.test")

    unknown = advisor.post("/crm/service/visits/new/", {"vehicle": "XX-999", "rooftop": car["rooftop"].pk,
                                                        "opened_on": timezone.localdate().isoformat()})
    opened = advisor.post("/crm/service/visits/new/", {
        "vehicle": "b ww 321", "rooftop": car["rooftop"].pk, "opened_on": timezone.localdate().isoformat(),
        "mileage": "48200", "order_number": "RO-1001"})
    visit_url = opened["Location"]
    advisor.post(f"{visit_url}lines/", {"kind": "labour", "category": "maintenance", "description": "Oil service",
                                        "quantity": "1.5", "unit_price": "100", "labour_hours": "1.5"})
    advisor.post(f"{visit_url}lines/", {"kind": "part", "category": "maintenance", "description": "Oil filter",
                                        "quantity": "1", "unit_price": "12.40"})
    bad = advisor.post(f"{visit_url}lines/", {"kind": "part", "category": "maintenance", "description": "",
                                              "quantity": "-1", "unit_price": "1"})
    closed = advisor.post(f"{visit_url}close/", follow=True)

    assert "No car with this VIN or plate" in unknown.text
    assert set(bad.context["line_form"].errors) == {"description", "quantity"}
    assert "Repair order closed." in closed.text
    with schema_context(cast.a.schema_name):
        visit = ServiceVisit.objects.get(order_number="RO-1001")
        assert (visit.person, visit.advisor.email, visit.status) == (car["owner"], "advisor@alpha.test", "closed")
        assert (visit.labour_amount, visit.parts_amount, visit.total_amount) == (
            Decimal("150.00"), Decimal("12.40"), Decimal("162.40"))
        assert MileageReading.objects.get(vehicle=car["car"]).kilometres == 48200
        entry = TimelineEntry.objects.get(person=car["owner"], kind="visit")
        assert "RO-1001" in entry.summary and "Oil service" in entry.summary
        # Stored as an event, as an imported order is: read in each reader's language, the total in the currency.
        assert entry.event == "visit" and "162.40\xa0EUR" in entry.body and "48,200 km" in entry.body
        with translation.override("ru"):
            russian = " ".join(entry_words(entry))
        assert "RO-1001" in russian and "Total" not in russian and "162,40\xa0EUR" in russian


def test_the_same_work_on_the_same_car_within_30_days_is_a_repeat_repair(cast, car):
    today = timezone.localdate()
    with schema_context(cast.a.schema_name):
        first = _visit(car, today - timedelta(days=40), "repair")
        second = _visit(car, today - timedelta(days=20), "repair")  # 20 days after the first: a repeat
        tyres = _visit(car, today - timedelta(days=10), "tyres")  # other work: not a repeat
        third = _visit(car, today, "repair")  # 20 days after the second

        assert first.repeat_of is None
        assert second.repeat_of_id == first.pk and tyres.repeat_of is None and third.repeat_of_id == second.pk
        far = _visit(car, today - timedelta(days=80), "body")
        assert far.repeat_of is None

    sales = cast.signed_in(cast.a, cast.a_salesperson)
    listed = sales.get("/crm/service/", {"repeat": "1"})
    assert {v.pk for v in listed.context["page"].object_list} >= {second.pk, third.pk}
    assert first.pk not in {v.pk for v in listed.context["page"].object_list}


def test_declined_work_is_followed_up_when_due_and_its_outcome_recorded(cast, car):
    today = timezone.localdate()
    with schema_context(cast.a.schema_name):
        visit = _visit(car, today - timedelta(days=35), "maintenance")
        due = declined_add(visit=visit, category="tyres", description="Winter tyres", by=None,
                           estimate=Decimal("640"))
        later = declined_add(visit=visit, category="body", description="Scratch", by=None,
                             follow_up_on=today + timedelta(days=20))
    admin = cast.signed_in(cast.a, cast.a_admin)

    listed = admin.get("/crm/service/declined/")
    admin.post(f"/crm/service/declined/{due.pk}/", {"status": "booked", "note": "Booked for Friday"})

    assert due.follow_up_on == visit.opened_on + timedelta(days=30)
    assert [item.pk for item in listed.context["page"].object_list] == [due.pk]
    with schema_context(cast.a.schema_name):
        assert DeclinedRecommendation.objects.get(pk=due.pk).status == "booked"
        assert TimelineEntry.objects.filter(person=car["owner"], summary__contains="Winter tyres").exists()
    assert later.pk in {i.pk for i in admin.get("/crm/service/declined/", {"all": "1"}).context["page"].object_list}


def test_a_dms_service_file_becomes_repair_orders_once(cast, car):
    from tests.crm.test_import import _run

    data = (b"Name;VIN;Visit date;RO number;Work;Amount;Mileage\n"
            b"Wanda Werkstatt;WVWZZZ1KZAW000321;02.03.2024;RO-77;Brakes;420,50;51000\n")

    _run(cast.a, "service.csv", data, kind="service")
    _run(cast.a, "service-again.csv", data + b"\n", kind="service")

    with schema_context(cast.a.schema_name):
        visit = ServiceVisit.objects.get(source_ref="dms:order:RO-77")
        assert (visit.vehicle, visit.opened_on, visit.total_amount, visit.mileage) == (
            car["car"], date(2024, 3, 2), Decimal("420.50"), 51000)
        assert ServiceVisit.objects.filter(vehicle=car["car"]).count() == 1


def test_the_visit_list_costs_the_same_queries_for_one_or_a_full_page(cast, car):
    sales = cast.signed_in(cast.a, cast.a_salesperson)
    with schema_context(cast.a.schema_name):
        _visit(car, timezone.localdate(), "repair")
    sales.get("/crm/service/")
    with CaptureQueriesContext(connection) as one:
        sales.get("/crm/service/")
    with schema_context(cast.a.schema_name):
        for n in range(30):
            _visit(car, timezone.localdate() - timedelta(days=n + 1), "tyres", close=False)
    with CaptureQueriesContext(connection) as full:
        page = sales.get("/crm/service/")

    assert len(page.context["page"].object_list) == 25
    assert len(full) == len(one), [q["sql"][:100] for q in full]


def test_only_the_workshop_writes_and_another_tenant_or_an_owner_gets_nothing(cast, car):
    with schema_context(cast.a.schema_name):
        visit = _visit(car, timezone.localdate(), "repair", close=False)
    sales = cast.signed_in(cast.a, cast.a_salesperson)
    owner = cast.signed_in(cast.a, cast.a_owner)
    other = cast.signed_in(cast.b, cast.b_admin)

    assert sales.get(f"/crm/service/visits/{visit.pk}/").status_code == 200  # the customer's history
    assert sales.post(f"/crm/service/visits/{visit.pk}/close/").status_code == 403
    assert sales.get("/crm/service/visits/new/").status_code == 403
    assert owner.get("/crm/service/").status_code == 403
    assert other.get(f"/crm/service/visits/{visit.pk}/").status_code == 404
    assert other.post(f"/crm/service/visits/{visit.pk}/close/").status_code == 404
    assert visit.pk not in {v.pk for v in other.get("/crm/service/").context["page"].object_list}
