"""The DMS sends repair orders with their job lines, declined work and advisor through the API: upserted by
reference and line ref, bad lines refused by name, repeat repairs flagged whatever order they arrive in."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django_tenants.utils import schema_context

from accounts.models import StaffRole, User
from crm.core.services import staff_user_create
from crm.customers.models import TimelineEntry, Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.service.models import DeclinedRecommendation, JobLine, ServiceVisit
from tests.integrations.test_api import _api, _key, _put

pytestmark = pytest.mark.django_db

VIN = "WVWZZZ1KZAW000777"
NOW = datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.fixture
def car(cast):
    with time_machine.travel(NOW, tick=False), schema_context(cast.a.schema_name):
        owner = person_create(by=None, fields={"family_name": "Lang", "given_name": "Lea"})
        vehicle = Vehicle.objects.create(vin=VIN, make="VW", model="Golf")
        VehicleLink.objects.create(vehicle=vehicle, person=owner, kind="owner")
        advisor = staff_user_create(email="li.wei@alpha.test", password=None, role=StaffRole.SERVICE_ADVISOR,
                                    first_name="伟", last_name="李")
    _k, plain = _key(cast)
    return {"owner": owner, "vehicle": vehicle, "advisor": advisor, "api": _api(cast.a, plain)}


def _order(car, **fields):
    return {"vin": VIN, "customer_id": car["owner"].pk, "opened_on": "2026-11-02", **fields}


LINES = [
    {"ref": "10", "kind": "labour", "category": "maintenance", "description": "Oil change", "unit_price": "2500"},
    {"ref": "20", "kind": "part", "description": "Oil filter", "quantity": 2, "unit_price": "400.00"},
    {"kind": "part", "description": "Loyalty discount", "amount": "-100"},
]


@time_machine.travel(NOW, tick=False)
def test_an_order_with_lines_declined_work_and_advisor_is_upserted_by_its_refs(cast, car):
    opened = _put(car["api"], "/api/v1/visits/by-ref/RO-77", _order(
        car, advisor_name="Wei Li", lines=LINES, declined=[{"ref": "D1", "description": "Brake pads",
                                                            "estimate": "6000"}]))
    again = _put(car["api"], "/api/v1/visits/by-ref/RO-77", _order(
        car, closed_on="2026-11-03", lines=[LINES[0], {**LINES[1], "unit_price": "450"}],
        declined=[{"ref": "D1", "description": "Brake pads and discs", "estimate": "9000"}]))

    assert opened.status_code == 201, opened.json()
    body = opened.json()
    assert (body["advisor_id"], body["advisor_name"]) == (car["advisor"].pk, "")  # 李伟 in the CRM
    assert [(line["ref"], line["kind"], line["category"], line["quantity"], line["unit_price"], line["amount"])
            for line in body["lines"]] == [
        ("10", "labour", "maintenance", "1.00", "2500.00", "2500.00"),
        ("20", "part", "maintenance", "2.00", "400.00", "800.00"),
        ("#3", "part", "repair", "1.00", "-100.00", "-100.00"),
    ]
    assert (body["labour_amount"], body["parts_amount"], body["total_amount"]) == ("2500.00", "700.00", "3200.00")
    assert [(item["ref"], item["estimate"], item["follow_up_on"], item["status"]) for item in body["declined"]] == [
        ("D1", "6000.00", "2026-12-02", "open")]
    assert again.status_code == 200, again.json()
    closed = again.json()
    assert closed["status"] == "closed" and closed["advisor_id"] == car["advisor"].pk  # no advisor sent: kept
    assert [(line["id"], line["unit_price"]) for line in closed["lines"]] == [
        (body["lines"][0]["id"], "2500.00"), (body["lines"][1]["id"], "450.00")]  # the same lines, updated
    assert closed["total_amount"] == "3400.00"
    assert [(item["id"], item["description"], item["estimate"]) for item in closed["declined"]] == [
        (body["declined"][0]["id"], "Brake pads and discs", "9000.00")]
    with schema_context(cast.a.schema_name):
        assert JobLine.objects.filter(visit__source_ref="RO-77").count() == 2
        assert DeclinedRecommendation.objects.filter(visit__source_ref="RO-77").count() == 1
        entry = TimelineEntry.objects.get(person=car["owner"], kind="visit")
        assert entry.summary == "Service visit: Oil change, Oil filter"


@time_machine.travel(NOW, tick=False)
def test_an_earlier_order_arriving_late_makes_the_later_one_a_repeat_repair(cast, car):
    oil = [{"ref": "1", "kind": "labour", "category": "maintenance", "description": "Oil change", "unit_price": "90"}]
    tyres = [{"ref": "1", "kind": "labour", "category": "tyres", "description": "Tyre change", "unit_price": "40"}]

    later = _put(car["api"], "/api/v1/visits/by-ref/RO-2", _order(car, opened_on="2026-11-15",
                                                                  closed_on="2026-11-15", lines=oil)).json()
    _put(car["api"], "/api/v1/visits/by-ref/RO-1", _order(car, opened_on="2026-11-02", closed_on="2026-11-02",
                                                          lines=oil))
    _put(car["api"], "/api/v1/visits/by-ref/RO-3", _order(car, opened_on="2026-11-10", closed_on="2026-11-10",
                                                          lines=tyres))

    with schema_context(cast.a.schema_name):
        first, tyre_change, second = ServiceVisit.objects.filter(vehicle=car["vehicle"]).order_by("opened_on")
        assert (second.pk, second.repeat_of) == (later["id"], first)
        assert (first.repeat_of, tyre_change.repeat_of) == (None, None)


@time_machine.travel(NOW, tick=False)
def test_bad_lines_are_refused_by_name_and_write_nothing(cast, car):
    def put(**fields):
        response = _put(car["api"], "/api/v1/visits/by-ref/RO-9", _order(car, **fields))
        return response.status_code, sorted({error["field"] for error in response.json()["errors"]})

    with schema_context(cast.a.schema_name):
        owner_account = User.objects.get(email=cast.a_owner)

    assert put(lines=[{"kind": "misc", "description": "Car wash"},
                      {"kind": "part", "description": "Bolt", "quantity": "-1"}]) == (
        422, ["lines.0.kind", "lines.1.quantity"])
    assert put(lines=[{"ref": "1", "kind": "part", "description": "Bolt"},
                      {"ref": "1", "kind": "part", "description": "Nut"}]) == (422, ["lines.1.ref"])
    assert put(lines=[{"ref": "#2", "kind": "part", "description": "Bolt"},
                      {"kind": "part", "description": "Nut"}]) == (422, ["lines.1.ref"])  # position 2 is "#2"
    assert put(lines=[{"kind": "part", "description": "   "}]) == (422, ["lines.0.description"])
    assert put(lines=LINES, total_amount="10.00") == (422, ["lines"])
    assert put(lines=[{"kind": "part", "description": "Gold", "quantity": "99999", "unit_price": "9999999"}]) == (
        422, ["lines.0.amount"])
    assert put(declined=[{"description": "Brakes", "estimate": "-5"}]) == (422, ["declined.0.estimate"])
    assert put(advisor_id=owner_account.pk) == (422, ["advisor_id"])  # a car owner is no advisor
    assert put(advisor_id=car["advisor"].pk, advisor_name="Wei Li") == (422, ["advisor_name"])
    with schema_context(cast.a.schema_name):
        assert not ServiceVisit.objects.filter(source_ref="RO-9").exists()


@time_machine.travel(NOW, tick=False)
def test_another_groups_key_gets_nothing_of_an_order_and_its_lines(cast, car):
    made = _put(car["api"], "/api/v1/visits/by-ref/RO-77", _order(car, lines=LINES)).json()
    _k, plain_b = _key(cast, cast.b)

    on_a = _put(_api(cast.a, plain_b), "/api/v1/visits/by-ref/RO-77", _order(car, lines=LINES[:1]))
    read = _api(cast.b, plain_b).get(f"/api/v1/visits/{made['id']}")
    on_b = _put(_api(cast.b, plain_b), "/api/v1/visits/by-ref/RO-77", _order(car, lines=LINES[:1]))

    assert on_a.status_code == 401 and read.status_code == 404
    assert on_b.status_code == 422 and on_b.json()["errors"][0]["field"] == "vin"  # B has no such car
    with schema_context(cast.a.schema_name):
        assert JobLine.objects.filter(visit_id=made["id"]).count() == 3
        assert ServiceVisit.objects.get(pk=made["id"]).total_amount == Decimal("3200.00")
    with schema_context(cast.b.schema_name):
        assert not JobLine.objects.exists()
    assert date.fromisoformat(made["opened_on"]) == date(2026, 11, 2)
