"""Provisioning a dealer group: a usable tenant by cloning, clear refusals, nothing half-made."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, schema_exists
from wagtail.models import Site

from accounts.models import StaffRole, User
from tenants.models import DealerGroup, Domain
from tenants.services import dealer_group_create

pytestmark = pytest.mark.django_db


def provision(**overrides):
    values = {
        "name": "Delta Cars",
        "slug": "delta",
        "country": "fr",
        "default_language": "en",
        "timezone": "Europe/Paris",
        "currency": "eur",
        "admin_email": "Boss@Delta.test",
        "admin_password": "a-long-secret-42",
    }
    return dealer_group_create(**{**values, **overrides})


def test_provisioning_creates_a_usable_tenant(cast):
    result = provision()

    group = result.dealer_group
    assert group.schema_name == "t_delta"
    assert (group.country, group.currency, group.status) == ("FR", "EUR", "trial")
    assert schema_exists("t_delta")
    assert Domain.objects.get(tenant=group).domain == "delta.localhost"
    assert connection.schema_name == "public"
    with schema_context("t_delta"):
        assert Site.objects.get(is_default_site=True).hostname == "delta.localhost"
        admin = User.objects.get()
        assert (admin.email, admin.role) == ("boss@delta.test", StaffRole.DEALER_ADMIN)

    client = Client(HTTP_HOST="delta.localhost")
    assert client.get("/").status_code == 200
    signed_in = client.post("/accounts/login/", {"login": "boss@delta.test", "password": "a-long-secret-42"})
    assert signed_in["Location"] == "/crm/"
    dashboard = client.get("/crm/")
    assert dashboard.status_code == 200
    assert "Delta Cars" in dashboard.text
    assert client.get("/cms/").status_code == 200


def test_a_second_tenant_with_the_same_slug_is_refused_clearly(cast):
    with pytest.raises(ValidationError) as refused:
        provision(slug=cast.a.slug, admin_email="someone@else.test")

    assert refused.value.messages == ["The subdomain “alpha” is already taken."]
    assert DealerGroup.objects.filter(slug=cast.a.slug).count() == 1


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("www", "“www” is reserved. Please choose another subdomain."),
        ("Bad_Slug!", "Use 3 to 40 lowercase letters, digits or hyphens, starting and ending with a letter or digit."),
        ("-edge", "Use 3 to 40 lowercase letters, digits or hyphens, starting and ending with a letter or digit."),
        ("ab", "Use 3 to 40 lowercase letters, digits or hyphens, starting and ending with a letter or digit."),
    ],
)
def test_bad_or_reserved_subdomains_are_refused(cast, slug, message):
    with pytest.raises(ValidationError) as refused:
        provision(slug=slug)

    assert message in refused.value.messages
    assert not DealerGroup.objects.filter(name="Delta Cars").exists()


def test_a_failed_provisioning_leaves_no_schema_row_or_domain_behind(cast):
    # The admin's password fails validation after the schema has been cloned: everything goes.
    with pytest.raises(ValidationError):
        provision(slug="echo", admin_password="123")

    assert not schema_exists("t_echo")
    assert not DealerGroup.objects.filter(slug="echo").exists()
    assert not Domain.objects.filter(domain="echo.localhost").exists()
    assert connection.schema_name == "public"


def test_slugs_with_hyphens_map_to_valid_schema_names(cast):
    result = provision(slug="north-star", admin_email="admin@north-star.test")

    assert result.dealer_group.schema_name == "t_north_star"
    assert Client(HTTP_HOST="north-star.localhost").get("/").status_code == 200
