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
