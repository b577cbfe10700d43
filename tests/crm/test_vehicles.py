"""Cars on the customer page: add one, take one over from its previous owner, let one go; history kept."""

from datetime import date

import pytest
from django_tenants.utils import schema_context

from crm.customers.models import AuditEntry, Vehicle, VehicleLink
from crm.customers.services import person_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(cast):
    with schema_context(cast.a.schema_name):
        return {"buyer": person_create(by=None, fields={"family_name": "Käufer"}),
                "seller": person_create(by=None, fields={"family_name": "Verkäufer"})}


def test_a_new_car_is_recorded_and_linked_with_its_mileage(cast, people):
    sales = cast.signed_in(cast.a, cast.a_salesperson)

    response = sales.post(f"/crm/customers/{people['buyer'].pk}/vehicles/", {
        "kind": "owner", "vin": "wvwzzz1kzaw000777", "make": "Volkswagen", "model": "Golf", "year": "2021",
        "plate": "B-KA 77", "started_on": "2024-05-01", "kilometres": "15000"}, follow=True)

    assert "Volkswagen Golf 2021" in response.text
    with schema_context(cast.a.schema_name):
        car = Vehicle.objects.get(vin="WVWZZZ1KZAW000777")
        link = car.links.get()
        assert (link.person_id, link.kind, link.started_on) == (people["buyer"].pk, "owner", date(2024, 5, 1))
        assert car.mileage_readings.get().kilometres == 15000
        assert AuditEntry.objects.filter(person=people["buyer"], action="vehicle_linked").exists()


def test_a_known_vin_changes_hands_and_the_previous_owner_keeps_the_history(cast, people):
    with schema_context(cast.a.schema_name):
        car = Vehicle.objects.create(vin="WVWZZZ1KZAW000888", make="Skoda")
        VehicleLink.objects.create(vehicle=car, person=people["seller"], kind="owner", started_on=date(2019, 1, 1))
    sales = cast.signed_in(cast.a, cast.a_salesperson)

    sales.post(f"/crm/customers/{people['buyer'].pk}/vehicles/", {
        "kind": "owner", "vin": "WVWZZZ1KZAW000888", "started_on": "2025-03-01"})

    with schema_context(cast.a.schema_name):
        history = list(car.links.order_by("started_on").values_list("person__family_name", "started_on", "ended_on"))
        assert history == [("Verkäufer", date(2019, 1, 1), date(2025, 3, 1)), ("Käufer", date(2025, 3, 1), None)]
        assert Vehicle.objects.filter(vin="WVWZZZ1KZAW000888").count() == 1


def test_bad_vehicle_input_is_shown_on_the_page_and_nothing_is_saved(cast, people):
    sales = cast.signed_in(cast.a, cast.a_salesperson)

    bad_vin = sales.post(f"/crm/customers/{people['buyer'].pk}/vehicles/", {"kind": "owner", "vin": "12345"})
    nothing = sales.post(f"/crm/customers/{people['buyer'].pk}/vehicles/", {"kind": "owner"})

    assert bad_vin.status_code == 400 and "A VIN has 17 characters" in bad_vin.text
    assert "Enter the VIN, the plate, or the make and model." in nothing.text
    with schema_context(cast.a.schema_name):
        assert not VehicleLink.objects.filter(person=people["buyer"]).exists()


def test_a_car_that_is_no_longer_theirs_moves_to_the_history(cast, people):
    with schema_context(cast.a.schema_name):
        link = VehicleLink.objects.create(vehicle=Vehicle.objects.create(make="Opel", model="Astra"),
                                          person=people["seller"], kind="driver")
    sales = cast.signed_in(cast.a, cast.a_salesperson)

    sales.post(f"/crm/customers/{people['seller'].pk}/vehicles/{link.pk}/end/")

    with schema_context(cast.a.schema_name):
        link.refresh_from_db()
        assert link.ended_on is not None


def test_another_tenant_and_car_owners_cannot_touch_a_customers_cars(cast, people):
    with schema_context(cast.a.schema_name):
        link = VehicleLink.objects.create(vehicle=Vehicle.objects.create(make="Opel"), person=people["seller"],
                                          kind="owner")
    other = cast.signed_in(cast.b, cast.b_admin)
    owner = cast.signed_in(cast.a, cast.a_owner)
    sales = cast.signed_in(cast.a, cast.a_salesperson)
    data = {"kind": "owner", "make": "Lada", "model": "Vesta"}

    assert other.post(f"/crm/customers/{people['buyer'].pk}/vehicles/", data).status_code == 404
    assert other.post(f"/crm/customers/{people['seller'].pk}/vehicles/{link.pk}/end/").status_code == 404
    assert owner.post(f"/crm/customers/{people['buyer'].pk}/vehicles/", data).status_code == 403
    # A link is ended only through its own customer's page.
    assert sales.post(f"/crm/customers/{people['buyer'].pk}/vehicles/{link.pk}/end/").status_code == 404
    with schema_context(cast.a.schema_name):
        link.refresh_from_db()
        assert link.ended_on is None
        assert not VehicleLink.objects.filter(person=people["buyer"]).exists()


@pytest.fixture
def owned_car(cast, people):
    with schema_context(cast.a.schema_name):
        car = Vehicle.objects.create(vin="WVWZZZ1KZAW000999", make="Volkswagen", model="Polo", plate="B-PO 99")
        VehicleLink.objects.create(vehicle=car, person=people["seller"], kind="owner", started_on=date(2019, 1, 1),
                                   ended_on=date(2023, 6, 1))
        VehicleLink.objects.create(vehicle=car, person=people["buyer"], kind="owner", started_on=date(2023, 6, 1))
        car.mileage_readings.create(kilometres=40000, read_on=date(2023, 6, 1))
        return car


def test_the_cars_page_shows_its_owners_over_time_and_its_mileage(cast, people, owned_car):
    sales = cast.signed_in(cast.a, cast.a_salesperson)

    page = sales.get(f"/crm/customers/vehicles/{owned_car.pk}/")

    assert page.status_code == 200
    assert [link.person_id for link in page.context["view"].links] == [people["buyer"].pk, people["seller"].pk]
    assert "40,000" in page.text
    assert f"/crm/customers/vehicles/{owned_car.pk}/" in sales.get(f"/crm/customers/{people['buyer'].pk}/").text


def test_the_cars_details_are_edited_with_field_errors_and_audited_for_its_owner(cast, people, owned_car):
    sales = cast.signed_in(cast.a, cast.a_salesperson)
    with schema_context(cast.a.schema_name):
        Vehicle.objects.create(vin="WVWZZZ1KZAW000111", make="Seat")
    form = {"vin": "WVWZZZ1KZAW000999", "make": "Volkswagen", "model": "Polo", "plate": "B-PO 100",
            "warranty_end": "2027-06-01", "insurance_expiry": "2025-01-31", "inspection_due": "2026-06-30"}

    taken = sales.post(f"/crm/customers/vehicles/{owned_car.pk}/edit/", {**form, "vin": "wvwzzz1kzaw000111"})
    bad = sales.post(f"/crm/customers/vehicles/{owned_car.pk}/edit/", {**form, "vin": "WVWZZZ1KZ", "year": "1800"})
    saved = sales.post(f"/crm/customers/vehicles/{owned_car.pk}/edit/", form)

    assert "Another car in the CRM already has this VIN." in taken.text
    assert set(bad.context["form"].errors) == {"vin", "year"}
    assert saved.status_code == 302
    with schema_context(cast.a.schema_name):
        owned_car.refresh_from_db()
        assert (owned_car.plate_key, owned_car.warranty_end) == ("BPO100", date(2027, 6, 1))
        audit = AuditEntry.objects.get(person=people["buyer"], action="vehicle_updated")
        assert audit.changes["plate"] == ["B-PO 99", "B-PO 100"]
        assert not AuditEntry.objects.filter(person=people["seller"], action="vehicle_updated").exists()


def test_a_mileage_below_an_earlier_reading_is_refused_and_a_good_one_recorded(cast, people, owned_car):
    sales = cast.signed_in(cast.a, cast.a_salesperson)
    url = f"/crm/customers/vehicles/{owned_car.pk}/mileage/"

    lower = sales.post(url, {"kilometres": "4000", "read_on": "2024-06-01"})
    future = sales.post(url, {"kilometres": "90000", "read_on": "2099-01-01"})
    good = sales.post(url, {"kilometres": "52000", "read_on": "2024-06-01"})
    again = sales.post(url, {"kilometres": "52000", "read_on": "2024-06-01"})
    same_day = sales.post(url, {"kilometres": "52050", "read_on": "2024-06-01"})  # a test drive after the visit

    assert lower.status_code == 400 and "4,000 km is less than the 40,000 km read on 2023-06-01." in lower.text
    assert "in the future" in future.text
    assert good.status_code == 302
    assert "already recorded" in again.text
    with schema_context(cast.a.schema_name):
        assert sorted(owned_car.mileage_readings.values_list("kilometres", flat=True)) == [40000, 52000, 52050]
    assert same_day.status_code == 302


def test_another_tenant_and_a_car_owner_get_nothing_of_a_car(cast, owned_car):
    other = cast.signed_in(cast.b, cast.b_admin)
    owner = cast.signed_in(cast.a, cast.a_owner)

    for path in ("", "edit/"):
        assert other.get(f"/crm/customers/vehicles/{owned_car.pk}/{path}").status_code == 404
        assert owner.get(f"/crm/customers/vehicles/{owned_car.pk}/{path}").status_code == 403
    assert other.post(f"/crm/customers/vehicles/{owned_car.pk}/mileage/",
                      {"kilometres": "1", "read_on": "2024-01-01"}).status_code == 404


def test_the_cars_page_costs_the_same_queries_whatever_its_history(cast, people, owned_car):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sales = cast.signed_in(cast.a, cast.a_salesperson)
    url = f"/crm/customers/vehicles/{owned_car.pk}/"
    sales.get(url)
    with CaptureQueriesContext(connection) as small:
        sales.get(url)
    with schema_context(cast.a.schema_name):
        for n in range(30):
            owned_car.mileage_readings.create(kilometres=41000 + n * 1000, read_on=date(2024, 1, 1 + n))
            driver = person_create(by=None, fields={"family_name": f"Fahrer {n}"})
            VehicleLink.objects.create(vehicle=owned_car, person=driver, kind="driver")
    with CaptureQueriesContext(connection) as large:
        page = sales.get(url)

    assert len(large) == len(small), [q["sql"][:100] for q in large]
    assert "Older readings are not shown." in page.text
