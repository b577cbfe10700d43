"""Segments on crafted histories: RFM quintiles, value × churn risk and its action, car age, lost."""

import zoneinfo
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from crm.analytics.models import CustomerSegment
from crm.analytics.segments import segments_recompute
from crm.customers.models import Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.service.models import ServiceVisit

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _today(time_machine):
    """The screens recompute for the day it is: make that TODAY, the day the histories are counted back from."""
    time_machine.move_to(datetime(2026, 11, 22, 11, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")))


def _customer(name, *, year, visits):
    """A customer with one car of the given model year and visits as (days ago, amount)."""
    person = person_create(by=None, fields={"family_name": name})
    car = Vehicle.objects.create(make="VW", model="Golf", year=year, plate=f"SEG-{name[:6]}")
    VehicleLink.objects.create(vehicle=car, person=person, kind="owner")
    for days_ago, amount in visits:
        ServiceVisit.objects.create(vehicle=car, person=person, opened_on=TODAY - timedelta(days=days_ago),
                                    status="closed", total_amount=Decimal(amount))
    return person


@pytest.fixture
def histories(cast):
    with schema_context(cast.a.schema_name):
        return {
            # big spender, regular every ~180 days, last seen 30 days ago: high value, low risk
            "loyal": _customer("Loyal", year=2024, visits=[(30, 900), (210, 800), (390, 700)]),
            # big spender whose 180-day rhythm broke 400 days ago: high value, high risk
            "slipping": _customer("Slipping", year=2020, visits=[(400, 1500), (580, 1200)]),
            # small spender, seen recently: lower value, low risk
            "small": _customer("Small", year=2019, visits=[(60, 80)]),
            # small spender, last seen 600 days ago: lower value, high risk, lost
            "gone": _customer("Gone", year=2010, visits=[(600, 60)]),
            # no visit at all: no RFM, no action
            "new": _customer("New", year=2026, visits=[]),
        }


def _segments(cast, histories):
    with schema_context(cast.a.schema_name):
        segments_recompute(TODAY)
        return {key: CustomerSegment.objects.get(person=person) for key, person in histories.items()}


def test_value_and_churn_risk_decide_the_action(cast, histories):
    seg = _segments(cast, histories)

    assert {key: (s.high_value, s.high_risk, s.action) for key, s in seg.items()} == {
        "loyal": (True, False, "prevention"),
        "slipping": (True, True, "retention"),
        "small": (False, False, "maintenance"),
        "gone": (False, True, "win_back"),
        "new": (False, False, ""),
    }


def test_rfm_quintiles_car_age_and_lost_customers(cast, histories):
    seg = _segments(cast, histories)

    assert seg["loyal"].recency > seg["small"].recency > seg["slipping"].recency > seg["gone"].recency
    assert seg["loyal"].frequency == max(s.frequency for s in seg.values() if s.frequency)
    # four customers with visits fill four of the five quintiles: the biggest spender is on top
    assert seg["slipping"].monetary == max(s.monetary for s in seg.values() if s.monetary) and seg["gone"].monetary == 1
    assert seg["new"].rfm == "" and seg["loyal"].visits_3y == 3 and seg["loyal"].spend_3y == Decimal("2400.00")
    assert {key: s.car_age for key, s in seg.items()} == {"loyal": "A", "slipping": "B", "small": "B",
                                                            "gone": "C", "new": "A"}
    assert [key for key, s in seg.items() if s.lost] == ["gone"]


def test_a_second_run_updates_in_place_and_merged_customers_leave(cast, histories):
    seg = _segments(cast, histories)
    with schema_context(cast.a.schema_name):
        ServiceVisit.objects.create(vehicle=histories["gone"].vehicle_links.get().vehicle, person=histories["gone"],
                                    opened_on=TODAY - timedelta(days=3), status="closed", total_amount=Decimal(50))
        histories["small"].archived_at = "2026-11-01T00:00:00Z"
        histories["small"].save(update_fields=["archived_at"])
        segments_recompute(TODAY)

        gone = CustomerSegment.objects.get(person=histories["gone"])
        assert (gone.lost, gone.high_risk) == (False, False) and seg["gone"].lost
        assert not CustomerSegment.objects.filter(person=histories["small"]).exists()


def test_managers_see_the_grid_and_each_cell_lists_its_customers(cast, histories):
    admin = cast.signed_in(cast.a, cast.a_admin)

    admin.post("/crm/analytics/segments/recompute/")
    grid = admin.get("/crm/analytics/segments/")
    retention = admin.get("/crm/analytics/segments/customers/", {"action": "retention"})
    lost = admin.get("/crm/analytics/segments/customers/", {"lost": "1"})

    assert grid.context["counts"]["retention"] >= 1 and grid.context["counts"]["lost"] >= 1
    assert histories["slipping"].pk in {s.person_id for s in retention.context["page"].object_list}
    assert [s.person_id for s in lost.context["page"].object_list] == [histories["gone"].pk]


def test_salespeople_owners_and_another_tenant_see_no_segments(cast, histories):
    with schema_context(cast.a.schema_name):
        segments_recompute(TODAY)
    sales = cast.signed_in(cast.a, cast.a_salesperson)
    owner = cast.signed_in(cast.a, cast.a_owner)
    other = cast.signed_in(cast.b, cast.b_admin)

    assert sales.get("/crm/analytics/segments/").status_code == 403
    assert owner.get("/crm/analytics/segments/customers/").status_code == 403
    assert list(other.get("/crm/analytics/segments/customers/").context["page"].object_list) == []


def test_a_run_rewrites_only_the_customers_whose_segment_changed(cast, histories, time_machine):
    from crm.analytics.models import SegmentsRun

    first = _segments(cast, histories)
    with schema_context(cast.a.schema_name):
        time_machine.shift(timedelta(hours=1))
        assert segments_recompute(TODAY) == 5
        run = SegmentsRun.objects.get()
        assert (run.customers, run.changed) == (5, 0)  # the same values: nothing rewritten
        assert {s.person_id: s.computed_at for s in CustomerSegment.objects.all()} == {
            s.person_id: s.computed_at for s in first.values()}

        ServiceVisit.objects.create(vehicle=histories["gone"].vehicle_links.get().vehicle, person=histories["gone"],
                                    opened_on=TODAY - timedelta(days=3), status="closed", total_amount=Decimal(50))
        time_machine.shift(timedelta(hours=1))
        segments_recompute(TODAY)
        run = SegmentsRun.objects.get()
        rewritten = set(CustomerSegment.objects.filter(computed_at=run.computed_at).values_list("person_id", flat=True))
    assert histories["gone"].pk in rewritten and run.changed == len(rewritten) < 5
    assert histories["new"].pk not in rewritten  # no visit before or after: untouched

    grid = cast.signed_in(cast.a, cast.a_admin).get("/crm/analytics/segments/")
    assert grid.context["counts"]["computed"] == run.computed_at  # the screen says when segments were computed


def test_the_rhythm_is_the_customers_own_across_their_cars_not_the_previous_owners(cast):
    with schema_context(cast.a.schema_name):
        # Two cars: every 100 days with one, 300 days apart with the other: 166.7 days on average; 220 days since
        # the last visit is more than a quarter over it.
        two_cars = _customer("Zweiwagen", year=2022, visits=[(220, 300), (320, 300), (420, 300)])
        second = Vehicle.objects.create(make="VW", model="Polo", year=2021, plate="SEG-POLO")
        VehicleLink.objects.create(vehicle=second, person=two_cars, kind="owner")
        for days_ago in (250, 550):
            ServiceVisit.objects.create(vehicle=second, person=two_cars, opened_on=TODAY - timedelta(days=days_ago),
                                        status="closed", total_amount=Decimal(300))
        # A car bought used: its first owner's visits 900 and 1000 days ago are not the new owner's rhythm (120
        # days, broken 170 days ago); counted from the old owner's last visit it would be 365 days and no risk.
        first_owner = _customer("Erstbesitzer", year=2018, visits=[(1000, 200), (900, 200)])
        used = first_owner.vehicle_links.get().vehicle
        VehicleLink.objects.filter(vehicle=used).update(ended_on=TODAY - timedelta(days=800))
        buyer = person_create(by=None, fields={"family_name": "Gebraucht"})
        VehicleLink.objects.create(vehicle=used, person=buyer, kind="owner")
        for days_ago in (290, 170):
            ServiceVisit.objects.create(vehicle=used, person=buyer, opened_on=TODAY - timedelta(days=days_ago),
                                        status="closed", total_amount=Decimal(150))
        segments_recompute(TODAY)
        risk = dict(CustomerSegment.objects.filter(person__in=[two_cars, buyer]).values_list("person_id", "high_risk"))
    assert risk == {two_cars.pk: True, buyer.pk: True}
