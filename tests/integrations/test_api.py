"""The integration API: keys with scopes and revocation, nothing across tenants, structured errors,
idempotent POSTs and upserts by another system's numbers that never duplicate."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.models import Company, ExternalRef, Person
from crm.customers.services import person_create
from crm.integrations.keys import SCOPES, key_create, key_revoke
from crm.integrations.models import ApiKey
from tenants.models import DealerGroup

pytestmark = pytest.mark.django_db


def _key(cast, tenant=None, scopes=None, **options):
    tenant = tenant or cast.a
    admin = cast.a_admin if tenant == cast.a else cast.b_admin
    with schema_context(tenant.schema_name):
        key, plain = key_create(name="DMS sync", scopes=SCOPES if scopes is None else scopes,
                                by=User.objects.get(email=admin), system="dms", **options)
    return key, plain


def _api(tenant, plain):
    return Client(HTTP_HOST=tenant.primary_host, HTTP_AUTHORIZATION=f"Bearer {plain}")


def _post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def _put(client, path, body):
    return client.put(path, json.dumps(body), content_type="application/json")


def test_a_key_reads_its_own_tenant_and_another_tenants_key_gets_nothing(cast):
    with schema_context(cast.a.schema_name):
        anna = person_create(by=None, fields={"family_name": "Schulz", "given_name": "Anna"}, phones=["+4915112345678"])
    _key_a, plain_a = _key(cast)
    _key_b, plain_b = _key(cast, cast.b)

    listed = _api(cast.a, plain_a).get("/api/v1/customers")
    assert listed.status_code == 200
    assert [(c["id"], c["phones"]) for c in listed.json()["items"]] == [(anna.pk, ["+4915112345678"])]

    refused = _api(cast.a, plain_b).get("/api/v1/customers")  # B's key on A's host
    assert refused.status_code == 401 and refused.json()["errors"][0]["code"] == "unauthenticated"
    assert _api(cast.b, plain_b).get(f"/api/v1/customers/{anna.pk}").status_code == 404  # B's schema has no Anna
    assert Client(HTTP_HOST=cast.a.primary_host).get("/api/v1/customers").status_code == 401


def test_scopes_limit_what_a_key_reads_and_changes_and_revoking_ends_it(cast):
    key, plain = _key(cast, scopes=["customers:read"])
    api = _api(cast.a, plain)
    assert api.get("/api/v1/customers").status_code == 200
    written = _post(api, "/api/v1/customers", {"family_name": "Neu"})
    assert written.status_code == 403 and written.json()["errors"][0]["code"] == "scope_missing"
    assert api.get("/api/v1/visits").status_code == 403  # no service scope
    assert api.get("/api/v1/rooftops").status_code == 200  # reference data for any key

    with schema_context(cast.a.schema_name):
        key_revoke(key=key, by=User.objects.get(email=cast.a_admin))
        assert not Person.objects.filter(family_name="Neu").exists()
    assert api.get("/api/v1/customers").status_code == 401


def test_the_same_idempotency_key_creates_once_and_answers_the_same(cast):
    _key_a, plain = _key(cast)
    api = _api(cast.a, plain)
    body = {"family_name": "Einmal", "given_name": "Eva", "phones": ["+4915199999999"]}
    first = _post(api, "/api/v1/customers", body, HTTP_IDEMPOTENCY_KEY="order-7781")
    again = _post(api, "/api/v1/customers", body, HTTP_IDEMPOTENCY_KEY="order-7781")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    other = _post(api, "/api/v1/customers", {**body, "given_name": "Ella"}, HTTP_IDEMPOTENCY_KEY="order-7781")
    assert other.status_code == 422 and other.json()["errors"][0]["code"] == "idempotency_key_reused"
    with schema_context(cast.a.schema_name):
        assert Person.objects.filter(family_name="Einmal").count() == 1


def test_upserts_by_the_dms_number_never_duplicate_and_find_an_existing_customer(cast):
    with schema_context(cast.a.schema_name):
        known = person_create(by=None, fields={"family_name": "Wagner", "given_name": "Jonas"},
                              emails=["jonas@example.com"])
    _key_a, plain = _key(cast)
    api = _api(cast.a, plain)
    body = {"family_name": "Wagner", "given_name": "Jonas", "emails": ["Jonas@Example.com"],
            "phones": ["0151 2222 3333"]}

    first = _put(api, "/api/v1/customers/by-ref/dms/K-1001", body)
    assert first.status_code == 200 and first.json()["id"] == known.pk  # same name and e-mail: the same person
    assert first.json()["phones"] == ["+4915122223333"] and first.json()["external_refs"] == [
        {"system": "dms", "key": "K-1001"}]
    second = _put(api, "/api/v1/customers/by-ref/dms/K-1001", {**body, "address": "Hauptstr. 1"})
    assert second.status_code == 200 and second.json()["id"] == known.pk and second.json()["address"] == "Hauptstr. 1"

    new = _put(api, "/api/v1/customers/by-ref/dms/K-1002", {"family_name": "Neumann"})
    assert new.status_code == 201
    assert _put(api, "/api/v1/customers/by-ref/dms/K-1002", {"family_name": "Neumann"}).status_code == 200
    as_company = _put(api, "/api/v1/companies/by-ref/dms/K-1002", {"legal_name": "Neumann GmbH"})
    assert as_company.status_code == 409 and as_company.json()["errors"][0]["field"] == "key"  # a person's number
    website = _put(api, "/api/v1/customers/by-ref/web/K-1002", {"family_name": "Neumann"})
    assert website.status_code == 403 and website.json()["errors"][0]["code"] == "system_not_allowed"
    with schema_context(cast.a.schema_name):
        assert Person.objects.filter(family_name="Wagner").count() == 1
        assert Person.objects.filter(family_name="Neumann").count() == 1
        assert ExternalRef.objects.filter(system="dms").count() == 2
        assert not Company.objects.exists()


def test_bad_input_gets_a_structured_error_with_the_field(cast):
    _key_a, plain = _key(cast)
    api = _api(cast.a, plain)
    empty = _post(api, "/api/v1/customers", {"given_name": ""})
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "family_name"
    typed = _post(api, "/api/v1/customers", {"family_name": "X", "birth_date": "yesterday"})
    assert typed.status_code == 422 and typed.json()["errors"][0]["field"] == "birth_date"
    broken = api.post("/api/v1/customers", "{not json", content_type="application/json")
    assert broken.status_code in (400, 422) and broken.json()["errors"]
    assert api.get("/api/v1/customers/999999").json() == {
        "errors": [{"code": "not_found", "message": "No such record.", "field": None}]}


def test_requests_beyond_the_keys_rate_are_refused_until_the_next_minute(cast):
    _key_a, plain = _key(cast, rate_per_minute=3)
    api = _api(cast.a, plain)
    statuses = [api.get("/api/v1/rooftops").status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429
    with schema_context(cast.a.schema_name):
        assert ApiKey.objects.get(prefix=plain.split("_", 2)[1]).last_used_at > timezone.now() - timedelta(minutes=1)


def test_a_suspended_group_answers_the_api_in_its_error_shape(cast):
    _key_a, plain = _key(cast)
    DealerGroup.objects.filter(pk=cast.a.pk).update(status="suspended", suspended_at=timezone.now())
    refused = _api(cast.a, plain).get("/api/v1/customers")
    assert refused.status_code == 402 and refused.json()["errors"][0]["code"] == "subscription_suspended"
    missing = _api(cast.a, plain).get("/api/v2/customers")  # and any other address under /api/ is JSON too
    assert missing.status_code == 402 and missing["Content-Type"].startswith("application/json")
