"""The CRM shell: staff only, the tenant's own figures, the navigation for the modules to come."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_sign_in(cast):
    response = cast.client(cast.a).get("/crm/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/crm/"


def test_a_car_owner_cannot_enter_the_crm(cast):
    client = cast.signed_in(cast.a, cast.a_owner)

    assert client.get("/crm/").status_code == 403


def test_the_dashboard_shows_the_tenant_its_rooftops_and_the_signed_in_user(cast):
    client = cast.signed_in(cast.a, cast.a_salesperson)

    response = client.get("/crm/")

    assert response.status_code == 200
    assert response.context["dealer_group"].schema_name == cast.a.schema_name
    assert [r.name for r in response.context["rooftops"]] == ["Alpha Berlin", "Alpha Hamburg"]
    assert "Alpha Motors" in response.text
    assert cast.a_salesperson in response.text
    assert "Salesperson" in response.text
    for module in ("Customers", "Sales", "Service", "Marketing", "Analytics"):
        assert module in response.text
    assert 'href="/crm/customers/"' in response.text


def test_b_sees_only_its_own_rooftops(cast):
    client = cast.signed_in(cast.b, cast.b_admin)

    response = client.get("/crm/")

    assert [r.name for r in response.context["rooftops"]] == ["Браво Москва"]
    assert "Alpha" not in response.text


def test_the_dashboard_runs_a_fixed_number_of_queries(cast):
    client = cast.signed_in(cast.a, cast.a_admin)
    client.get("/crm/")  # warm-up: content types and permissions caches

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/crm/").status_code == 200

    # tenant by host, session, user, rooftops, the CMS permission (user perms, group perms), and
    # search_path set twice (public for the host lookup, then the tenant); then the admin's first steps, one
    # query each (opening hours two: a rooftop at all, one without hours; owners two: invited, or linked)
    assert len(queries) == 8 + 7, [q["sql"] for q in queries]


def test_only_site_editors_get_into_the_cms(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)
    salesperson = cast.signed_in(cast.a, cast.a_salesperson)

    assert admin.get("/cms/").status_code == 200
    refused = salesperson.get("/cms/")
    assert refused.status_code == 302
    assert refused["Location"].startswith("/accounts/login/")


def test_the_dashboard_links_to_the_cms_only_for_site_editors(cast):
    assert 'href="/cms/"' in cast.signed_in(cast.a, cast.a_admin).get("/crm/").text
    assert 'href="/cms/"' not in cast.signed_in(cast.a, cast.a_salesperson).get("/crm/").text
