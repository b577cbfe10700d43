"""Signing in: throttled after repeated failures, sign-up closed for staff accounts."""

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context

pytestmark = pytest.mark.django_db


def test_repeated_failed_logins_are_throttled(cast):
    client = cast.client(cast.b)
    client.cookies["django_language"] = "en"  # B's default is Russian
    try:
        failures = [
            client.post("/accounts/login/", {"login": cast.b_admin, "password": "wrong-password"})
            for _ in range(6)
        ]
        # Even the right password is refused while the account is throttled.
        right = client.post("/accounts/login/", {"login": cast.b_admin, "password": cast.password})
    finally:
        with schema_context(cast.b.schema_name):
            cache.clear()

    throttled = "Too many failed login attempts"
    assert all(throttled not in response.text for response in failures[:5])
    assert throttled in failures[5].text
    assert right.status_code == 200
    assert throttled in right.text
    assert "_auth_user_id" not in client.session


def test_nobody_signs_up_for_a_staff_account(cast):
    response = cast.client(cast.a).get("/accounts/signup/")

    assert response.status_code == 200
    assert "Sign Up Closed" in response.text or "closed" in response.text.lower()
