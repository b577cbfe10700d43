"""schemathesis against the API's own OpenAPI schema, over HTTP to a real server process: generated requests
(valid and invalid) to every operation get no 5xx, and every answer matches what the schema declares."""

from datetime import timedelta

import pytest
import schemathesis
from django.utils import timezone
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from crm.customers.services import person_create, vehicle_link_add
from crm.dealerships.models import Rooftop
from crm.integrations.api.urls import api
from crm.integrations.keys import SCOPES, key_create
from crm.marketing.models import Event
from crm.service.booking import slots_generate
from crm.service.models import ServiceType
from tenants.services import dealer_group_create
from tests.conftest import PASSWORD

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


@pytest.fixture(scope="module")
def api_tenant(cast, server_url, django_db_blocker):
    """A committed dealer group with a little of everything, and a key with every scope."""
    with django_db_blocker.unblock():
        tenant = dealer_group_create(name="Schema Motors", slug="schemathesis", country="DE", default_language="en",
                                     timezone="Europe/Berlin", currency="EUR", admin_email="admin@schema.test",
                                     admin_password=PASSWORD).dealer_group
        try:
            with schema_context(tenant.schema_name):
                rooftop = Rooftop.objects.create(name="Schema Mitte", city="Berlin", timezone="Europe/Berlin")
                slots_generate(rooftop, timezone.localdate() + timedelta(days=1), 7)
                ServiceType.objects.get_or_create(code="maintenance", defaults={"name": "Maintenance"})
                person = person_create(by=None, fields={"family_name": "Schema", "given_name": "Sam"},
                                       phones=["+4915100000001"])
                vehicle_link_add(party=person, by=None, kind="owner",
                                 vehicle_fields={"vin": "WVWZZZ1KZAW000999", "make": "VW", "model": "Golf"})
                starts = timezone.now() + timedelta(days=10)
                Event.objects.create(name="Club night", kind="club", capacity=10, starts_at=starts,
                                     ends_at=starts + timedelta(hours=2))
                _key, plain = key_create(name="schemathesis", scopes=SCOPES, rate_per_minute=6000,
                                         by=User.objects.get(email="admin@schema.test"))
            yield {"base_url": server_url.format(host="127.0.0.1"),
                   "headers": {"Host": tenant.primary_host, "Authorization": f"Bearer {plain}"}}
        finally:
            from django.db import connection

            connection.set_schema_to_public()
            tenant.delete(force_drop=True)


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_api_keeps_to_its_own_schema(case, api_tenant):
    case.call_and_validate(base_url=api_tenant["base_url"], headers=api_tenant["headers"], checks=CHECKS)
