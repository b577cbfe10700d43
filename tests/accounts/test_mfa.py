"""Staff second factor: optional by default, required before the CRM or CMS once switched on."""

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_staff_can_enrol_a_second_factor_after_confirming_their_password(cast):
    client = cast.signed_in(cast.a, cast.a_admin)

    asked = client.get("/accounts/2fa/totp/activate/")
    assert asked.status_code == 302
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    client.post(asked["Location"], {"password": cast.password})
    response = client.get("/accounts/2fa/totp/activate/")

    assert response.status_code == 200
    assert response.context["form"].secret


def test_with_mfa_required_staff_without_an_authenticator_are_sent_to_enrol(cast, settings):
    settings.STAFF_MFA_REQUIRED = True
    client = cast.signed_in(cast.a, cast.a_salesperson)

    for path in ("/crm/", "/cms/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == "/accounts/2fa/totp/activate/"


def test_with_mfa_required_staff_sign_in_with_their_code_and_get_in(cast, settings):
    settings.STAFF_MFA_REQUIRED = True
    secret = generate_totp_secret()
    with schema_context(cast.a.schema_name):
        TOTP.activate(User.objects.get(email=cast.a_admin), secret)
    client = cast.client(cast.a)

    first_step = client.post("/accounts/login/", {"login": cast.a_admin, "password": cast.password})
    assert first_step["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/crm/").status_code == 302  # not signed in until the code is given

    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    second_step = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert second_step["Location"] == "/crm/"
    assert client.get("/crm/").status_code == 200


def test_with_mfa_required_a_session_signed_in_by_password_alone_is_asked_for_the_code(cast, settings):
    settings.STAFF_MFA_REQUIRED = True
    client = cast.signed_in(cast.a, cast.a_salesperson)  # before enrolling: password only
    with schema_context(cast.a.schema_name):
        TOTP.activate(User.objects.get(email=cast.a_salesperson), generate_totp_secret())

    response = client.get("/crm/?tab=today")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/reauthenticate/?next=%2Fcrm%2F%3Ftab%3Dtoday"


def test_with_mfa_required_superusers_without_a_role_need_it_too(cast, settings):
    settings.STAFF_MFA_REQUIRED = True
    with schema_context(cast.a.schema_name):
        User.objects.create_superuser("root@alpha.test", cast.password)
    client = cast.signed_in(cast.a, "root@alpha.test")

    assert client.get("/cms/")["Location"] == "/accounts/2fa/totp/activate/"


def test_with_mfa_required_the_platforms_operator_console_asks_for_a_second_factor_too(cast, settings):
    settings.STAFF_MFA_REQUIRED = True
    User.objects.create_user("operator@platform.test", cast.password, is_staff=True)  # the platform's schema
    operator = Client(HTTP_HOST=settings.APP_DOMAIN)
    assert operator.post("/accounts/login/", {"login": "operator@platform.test", "password": cast.password}
                         ).status_code == 302

    assert operator.get("/operator/")["Location"] == "/accounts/2fa/totp/activate/"


def test_mfa_requirement_does_not_touch_car_owners_or_the_public_site(cast, settings):
    settings.STAFF_MFA_REQUIRED = True
    owner = cast.signed_in(cast.a, cast.a_owner)

    assert owner.get("/crm/").status_code == 403
    assert owner.get("/").status_code == 200
    assert owner.get("/", HTTP_HOST="localhost").status_code == 200
