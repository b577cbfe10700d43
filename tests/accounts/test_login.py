"""Signing in: throttled after repeated failures, per network and per account at a network, so nobody locks
out an account from elsewhere; sign-up makes car owners on a dealer host, never staff."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from tests.accounts.test_client_address import PROXY, PROXY_ADDRESS
from tests.conftest import run_as_the_worker

pytestmark = pytest.mark.django_db

THROTTLED = "Too many failed sign-in attempts"
# Rate-limit windows run on the clock: one fixed instant, so no run is slow enough to leave a window.
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.fixture
def behind_the_proxy(settings):
    settings.CLIENT_IP_HEADER, settings.TRUSTED_PROXY_COUNT = PROXY
    with time_machine.travel(NOW, tick=False):
        yield


def _from(cast, address: str, tenant=None) -> Client:
    """A browser at ``address``, reaching the app through the platform's proxy."""
    return Client(HTTP_HOST=(tenant or cast.a).primary_host, REMOTE_ADDR=PROXY_ADDRESS, HTTP_X_FORWARDED_FOR=address)


def _sign_in(client: Client, login: str, password: str):
    return client.post("/accounts/login/", {"login": login, "password": password})


def test_repeated_failed_logins_are_throttled(cast):
    client = cast.client(cast.b)
    client.cookies["django_language"] = "en"  # B's default is Russian
    failures = [
        client.post("/accounts/login/", {"login": cast.b_admin, "password": "wrong-password"}) for _ in range(6)
    ]
    # Even the right password is refused while the account is throttled.
    right = client.post("/accounts/login/", {"login": cast.b_admin, "password": cast.password})

    assert all(THROTTLED not in response.text for response in failures[:5])
    assert THROTTLED in failures[5].text
    assert right.status_code == 200
    assert THROTTLED in right.text
    assert "_auth_user_id" not in client.session


def test_a_stranger_guessing_at_the_admins_password_does_not_lock_the_admin_out_from_elsewhere(
        cast, behind_the_proxy):
    stranger = _from(cast, "198.51.100.66")
    guesses = [_sign_in(stranger, cast.a_admin, f"guess-{n}") for n in range(6)]

    admin = _sign_in(_from(cast, "203.0.113.10"), cast.a_admin, cast.password)

    assert THROTTLED not in guesses[4].text and THROTTLED in guesses[5].text  # the stranger is stopped
    assert admin.status_code == 302 and admin.url == "/crm/"  # the admin, at the office, is not


def test_failures_for_many_accounts_from_one_network_throttle_that_network_only(cast, behind_the_proxy):
    scanner = _from(cast, "198.51.100.66")
    tries = [_sign_in(scanner, f"someone{n}@alpha.test", "123456") for n in range(10)]

    stopped = _sign_in(scanner, cast.a_owner, cast.password)  # even a right password, from there
    elsewhere = _sign_in(_from(cast, "203.0.113.10"), cast.a_owner, cast.password)

    assert all(THROTTLED not in response.text for response in tries)
    assert THROTTLED in stopped.text and stopped.status_code == 200
    assert elsewhere.status_code == 302


def test_without_a_configured_proxy_a_forged_forwarded_header_does_not_escape_the_limit(cast, settings):
    settings.CLIENT_IP_HEADER, settings.TRUSTED_PROXY_COUNT = "", 0
    with time_machine.travel(NOW, tick=False):
        tries = [_sign_in(Client(HTTP_HOST=cast.a.primary_host, REMOTE_ADDR="198.51.100.66",
                                 HTTP_X_FORWARDED_FOR=f"203.0.113.{n}", HTTP_X_REAL_IP=f"203.0.113.{n}"),
                          f"someone{n}@alpha.test", "123456") for n in range(11)]

    assert THROTTLED not in tries[9].text and THROTTLED in tries[10].text


def test_guesses_from_many_networks_are_capped_per_account_but_never_from_a_network_it_signed_in_from(
        cast, behind_the_proxy):
    office = _from(cast, "203.0.113.10")
    assert _sign_in(office, cast.a_admin, cast.password).status_code == 302
    office.post("/accounts/logout/")

    botnet = [_sign_in(_from(cast, f"198.51.{n}.66"), cast.a_admin, f"guess-{n}") for n in range(21)]
    new_place = _sign_in(_from(cast, "192.0.2.44"), cast.a_admin, cast.password)
    at_the_office = _sign_in(office, cast.a_admin, cast.password)

    assert all(THROTTLED not in response.text for response in botnet[:20])
    assert THROTTLED in botnet[20].text  # 20 an hour from networks the account does not sign in from
    assert THROTTLED in new_place.text and "Send me a sign-in code" in new_place.text
    assert at_the_office.status_code == 302 and at_the_office.url == "/crm/"


def test_an_owner_refused_by_the_cap_away_from_home_signs_in_with_a_code(cast, behind_the_proxy, mailoutbox,
                                                                        django_capture_on_commit_callbacks):
    """Someone keeping the account's cap full cannot lock its owner out: a code by e-mail still works."""
    for n in range(21):
        _sign_in(_from(cast, f"198.51.{n}.66"), cast.a_owner, f"guess-{n}")
    phone = _from(cast, "192.0.2.44")
    assert THROTTLED in _sign_in(phone, cast.a_owner, cast.password).text

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert phone.post("/accounts/login/code/", {"email": cast.a_owner}).status_code == 302
    run_as_the_worker(callbacks)
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mailoutbox[-1].body, re.MULTILINE)[1]
    signed_in = phone.post("/accounts/login/code/confirm/", {"code": code})

    assert signed_in.status_code == 302 and "_auth_user_id" in phone.session


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
