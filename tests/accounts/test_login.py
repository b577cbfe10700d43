"""Signing in: throttled after repeated failures; sign-up makes car owners on a dealer host, never staff."""

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from tests.conftest import run_as_the_worker

pytestmark = pytest.mark.django_db


def test_repeated_failed_logins_are_throttled(cast):
    client = cast.client(cast.b)
    client.cookies["django_language"] = "en"  # B's default is Russian
    failures = [
        client.post("/accounts/login/", {"login": cast.b_admin, "password": "wrong-password"}) for _ in range(6)
    ]
    # Even the right password is refused while the account is throttled.
    right = client.post("/accounts/login/", {"login": cast.b_admin, "password": cast.password})

    throttled = "Too many failed login attempts"
    assert all(throttled not in response.text for response in failures[:5])
    assert throttled in failures[5].text
    assert right.status_code == 200
    assert throttled in right.text
    assert "_auth_user_id" not in client.session


def test_sign_up_on_a_dealer_host_makes_a_car_owner_never_staff(cast, settings):
    client = cast.client(cast.a)
    signed_up = client.post("/accounts/signup/", {"email": "owner2@alpha.test", "password1": "a-long-secret-42",
                                                  "password2": "a-long-secret-42"})
    assert signed_up.url == "/my/"  # the garage says how to add a car
    with schema_context(cast.a.schema_name):
        owner = User.objects.get(email="owner2@alpha.test")
        assert owner.role == "" and not owner.is_dealer_staff
    assert client.get("/crm/").status_code == 403
    assert client.get("/my/").status_code == 200
    with schema_context(cast.b.schema_name):  # an account in one dealer group only
        assert not User.objects.filter(email="owner2@alpha.test").exists()
    public = Client(HTTP_HOST=settings.APP_DOMAIN)
    assert "Sign Up Closed" in public.get("/accounts/signup/").text


def test_account_emails_are_sent_by_a_task_after_the_request(cast, django_capture_on_commit_callbacks, mailoutbox):
    client = cast.client(cast.a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/accounts/password/reset/", {"email": cast.a_admin})

    assert response.status_code == 302
    assert mailoutbox == []  # nothing left during the request
    assert len(callbacks) == 1

    run_as_the_worker(callbacks)  # run the task here, to read what it sends
    assert [message.to for message in mailoutbox] == [[cast.a_admin]]
    assert "Password Reset Code" in mailoutbox[0].subject
    assert "Your password reset code is listed below" in mailoutbox[0].body


def test_account_mails_are_signed_by_the_dealer_group(cast, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        cast.client(cast.a).post("/accounts/password/reset/", {"email": cast.a_owner})
    run_as_the_worker(callbacks)
    assert len(mailoutbox) == 1
    body = mailoutbox[0].body
    assert "Hello from Alpha Motors!" in body and cast.a.primary_host in body
