"""What a DMS or a website does through the API: cars by VIN with their owner, repair orders opened once and
closed once, bookings from the shared capacity with a webhook, and the dealer admin's key screen."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from crm.customers.models import TimelineEntry, Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.dealerships.models import Rooftop
from crm.integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint
from crm.service.models import CapacityRule, ServiceType, ServiceVisit, Slot
from tests.conftest import confirmed_step
from tests.integrations.test_api import _api, _key, _post, _put

pytestmark = pytest.mark.django_db

VIN = "WBA3A5C51CF256985"


def test_a_car_by_vin_changes_owner_and_a_repair_order_closes_once(cast):
    with schema_context(cast.a.schema_name):
        first = person_create(by=None, fields={"family_name": "Erst"})
        second = person_create(by=None, fields={"family_name": "Zweit"})
    _k, plain = _key(cast)
    api = _api(cast.a, plain)

    made = _put(api, f"/api/v1/vehicles/by-vin/{VIN.lower()}", {"make": "BMW", "model": "320d", "year": 2012,
                                                               "owner_customer_id": first.pk})
    assert made.status_code == 201 and made.json()["holders"][0]["customer_id"] == first.pk
    sold = _put(api, f"/api/v1/vehicles/by-vin/{VIN}", {"owner_customer_id": second.pk,
                                                       "owner_since": timezone.localdate().isoformat()})
    assert sold.status_code == 200 and [h["customer_id"] for h in sold.json()["holders"]] == [second.pk]

    order = {"vin": VIN, "customer_id": second.pk, "opened_on": timezone.localdate().isoformat(),
             "labour_amount": "120.00", "parts_amount": "80.50"}
    opened = _put(api, "/api/v1/visits/by-ref/RO-1", order)
    assert opened.status_code == 201 and opened.json()["status"] == "open" and opened.json()["total_amount"] == "200.50"
    closed_on = timezone.localdate().isoformat()
    assert _put(api, "/api/v1/visits/by-ref/RO-1", {**order, "closed_on": closed_on}).json()["status"] == "closed"
    assert _put(api, "/api/v1/visits/by-ref/RO-1", {**order, "closed_on": closed_on}).status_code == 200
    with schema_context(cast.a.schema_name):
        assert Vehicle.objects.filter(vin=VIN).count() == 1
        assert VehicleLink.objects.get(vehicle__vin=VIN, person=first).ended_on is not None
        assert ServiceVisit.objects.filter(source_ref="RO-1").count() == 1
        assert TimelineEntry.objects.filter(person=second, kind="visit").count() == 1  # closed once


def test_booking_takes_the_shared_capacity_and_tells_the_webhook(cast, django_capture_on_commit_callbacks):
    with schema_context(cast.a.schema_name):
        rooftop = Rooftop.objects.get(name="Alpha Berlin")
        slot = Slot.objects.create(rooftop=rooftop, starts_at=timezone.now() + timedelta(days=1), capacity=1,
                                   online_capacity=1)
        service, _created = ServiceType.objects.get_or_create(code="maintenance", defaults={"name": "Maintenance"})
        CapacityRule.objects.update_or_create(rooftop=rooftop, service_type=service, defaults={"daily_hours": 40})
        person = person_create(by=None, fields={"family_name": "Termin"})
        vehicle = Vehicle.objects.create(vin="WVWZZZ1KZAW000555", make="VW", model="Golf")
        WebhookEndpoint.objects.create(url="https://hooks.example.com/crm", events=["appointment.created"],
                                       secret="x")
    _k, plain = _key(cast)
    api = _api(cast.a, plain)

    free = api.get("/api/v1/capacity", {"rooftop_id": rooftop.pk, "days": 2})
    assert slot.pk in [row["id"] for row in free.json()]
    body = {"slot_id": slot.pk, "service_type_id": service.pk, "vehicle_id": vehicle.pk, "customer_id": person.pk}
    with django_capture_on_commit_callbacks(execute=False):
        booked = _post(api, "/api/v1/appointments", body)
    assert booked.status_code == 201 and booked.json()["customer_id"] == person.pk
    full = _post(api, "/api/v1/appointments", body)
    assert full.status_code == 409 and full.json()["errors"][0]["code"] == "full"
    assert slot.pk not in [row["id"] for row in api.get("/api/v1/capacity", {"rooftop_id": rooftop.pk}).json()]
    with schema_context(cast.a.schema_name):
        delivery = WebhookDelivery.objects.get(event="appointment.created")
        assert json.loads(delivery.body)["data"]["id"] == booked.json()["id"]


def test_lists_take_the_same_queries_however_many_records(cast):
    _k, plain = _key(cast)
    api = _api(cast.a, plain)

    def queries(path):
        with CaptureQueriesContext(connection) as captured:
            assert api.get(path).status_code == 200
        return len(captured)

    with schema_context(cast.a.schema_name):
        person = person_create(by=None, fields={"family_name": "Eins"}, phones=["+4915100000011"],
                               emails=["a@example.com"])
        VehicleLink.objects.create(vehicle=Vehicle.objects.create(vin="WVWZZZ1KZAW000799"), person=person,
                                   kind="owner")
    api.get("/api/v1/rooftops")  # the key's last use is written at most once a minute: not in what is counted
    one = {path: queries(path) for path in ("/api/v1/customers", "/api/v1/vehicles", "/api/v1/events")}
    with schema_context(cast.a.schema_name):
        for number in range(5):
            person = person_create(by=None, fields={"family_name": f"Mehr {number}"},
                                   phones=[f"+49151000001{number}0"], emails=[f"m{number}@example.com"])
            Vehicle.objects.create(vin=f"WVWZZZ1KZAW00070{number}")
            VehicleLink.objects.create(vehicle=Vehicle.objects.get(vin=f"WVWZZZ1KZAW00070{number}"), person=person,
                                       kind="owner")
    assert {path: queries(path) for path in one} == one


def test_only_the_dealer_admin_makes_keys_and_sees_each_once(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)
    made = admin.post("/crm/settings/api-keys/", {"name": "Website", "system": "web", "rate_per_minute": 120,
                                                  "scope_customers": "read", "scope_service": "write"})
    assert made.status_code == 200 and "shown only this once" in made.text
    plain = made.context["plain"]
    listed = admin.get("/crm/settings/api-keys/")
    assert plain not in listed.text and f"dk_{plain.split('_', 2)[1]}_" in listed.text
    with schema_context(cast.a.schema_name):
        key = ApiKey.objects.get(name="Website")
        assert key.scopes == ["customers:read", "service:write"] and plain not in key.key_hash
    refused = admin.post("/crm/settings/api-keys/", {"name": "Nothing", "system": "api", "rate_per_minute": 60})
    assert refused.status_code == 422 and "at least one module" in refused.text

    assert cast.signed_in(cast.a, cast.a_salesperson).get("/crm/settings/api-keys/").status_code == 403
    bravo = cast.signed_in(cast.b, cast.b_admin)
    assert bravo.post(f"/crm/settings/api-keys/{key.pk}/revoke/").status_code == 404
    action, fields = confirmed_step(admin.get("/crm/settings/api-keys/").text, "Revoke")
    assert action == f"/crm/settings/api-keys/{key.pk}/revoke/"
    admin.post(action, fields)
    assert _api(cast.a, plain).get("/api/v1/customers").status_code == 401
