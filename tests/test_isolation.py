"""Tenant isolation: nothing of tenant A is reachable from tenant B's host or schema."""

import json
import re
import time

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.test import Client
from django_tenants.utils import schema_context
from wagtail.models import Site

from cms.models import ContentPage
from config.celery import enqueue_on_commit
from crm.customers.services import person_create
from portal.models import CustomerLink
from tests.celery_tasks import probe
from tests.conftest import run_as_the_worker

pytestmark = pytest.mark.django_db


def test_a_user_of_a_cannot_sign_in_on_b(cast):
    response = cast.client(cast.b).post("/accounts/login/", {"login": cast.a_admin, "password": cast.password})

    assert response.status_code == 200
    assert "_auth_user_id" not in response.client.session
    assert response.context["form"].errors


def test_the_same_user_signs_in_on_a(cast):
    response = cast.client(cast.a).post("/accounts/login/", {"login": cast.a_admin, "password": cast.password})

    assert response.status_code == 302
    assert response["Location"] == "/crm/"


def test_a_session_cookie_of_a_gets_nothing_on_b(cast):
    client = cast.signed_in(cast.a, cast.a_admin)
    assert client.get("/crm/").status_code == 200

    # The test client sends every cookie to every host, like an attacker replaying A's cookie on B.
    client.defaults["HTTP_HOST"] = cast.b.primary_host
    response = client.get("/crm/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_session_cookies_are_host_only(cast):
    response = cast.client(cast.a).post("/accounts/login/", {"login": cast.a_admin, "password": cast.password})

    cookie = response.cookies["sessionid"]
    assert cookie["domain"] == ""
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_wagtail_pages_of_a_are_not_served_on_b(cast):
    with schema_context(cast.a.schema_name):
        home = Site.objects.get(is_default_site=True).root_page
        home.add_child(instance=ContentPage(title="Alpha winter offer", slug="winter-offer"))

    assert cast.client(cast.a).get("/winter-offer/").status_code == 200
    assert cast.client(cast.b).get("/winter-offer/").status_code == 404


def test_each_host_serves_its_own_home_page(cast):
    a_page = cast.client(cast.a).get("/")
    b_page = cast.client(cast.b).get("/")

    assert "Alpha Motors" in a_page.text and "Браво Авто" not in a_page.text
    assert "Браво Авто" in b_page.text and "Alpha Motors" not in b_page.text


def test_an_unknown_host_is_not_found(cast):
    assert cast.client(cast.a).get("/", HTTP_HOST="charlie.localhost").status_code == 404


def test_the_same_cache_key_written_in_a_is_not_read_in_b(cast):
    with schema_context(cast.a.schema_name):
        cache.set("dashboard:figures", "alpha's figures", 60)
    try:
        with schema_context(cast.b.schema_name):
            assert cache.get("dashboard:figures") is None
        with schema_context(cast.a.schema_name):
            assert cache.get("dashboard:figures") == "alpha's figures"
    finally:
        with schema_context(cast.a.schema_name):
            cache.delete("dashboard:figures")


def test_a_file_saved_in_a_is_not_reachable_under_b(cast):
    with schema_context(cast.a.schema_name):
        name = default_storage.save("images/alpha-showroom.png", ContentFile(b"alpha only"))
        url = default_storage.url(name)
    try:
        assert url == f"/media/{cast.a.schema_name}/{name}"

        a_response = cast.client(cast.a).get(url)
        assert a_response.status_code == 200
        assert b"".join(a_response.streaming_content) == b"alpha only"
        assert "sandbox" in a_response["Content-Security-Policy"]
        # A's URL on B's host, and the same path under B's own folder, are both not found.
        assert cast.client(cast.b).get(url).status_code == 404
        assert cast.client(cast.b).get(f"/media/{cast.b.schema_name}/{name}").status_code == 404
        climbing = Client(HTTP_HOST=cast.b.primary_host, raise_request_exception=False)
        assert climbing.get(f"/media/{cast.b.schema_name}/images/../../{cast.a.schema_name}/{name}").status_code == 400
    finally:
        with schema_context(cast.a.schema_name):
            default_storage.delete(name)


def test_only_the_sites_images_are_served_from_media(cast):
    with schema_context(cast.a.schema_name):
        private = default_storage.save("contracts/alpha-contract.html", ContentFile(b"<script>alert(1)</script>"))
    try:
        assert cast.client(cast.a).get(f"/media/{cast.a.schema_name}/{private}").status_code == 404
    finally:
        with schema_context(cast.a.schema_name):
            default_storage.delete(private)


@pytest.mark.parametrize("path", ["/crm/", "/cms/", "/media/public/images/x.png", "/winter-offer/"])
def test_the_public_host_serves_no_tenant_pages(cast, path):
    assert cast.client(cast.a).get(path, HTTP_HOST="localhost").status_code == 404


@pytest.mark.parametrize("path", ["/cms/login/", "/_util/login/"])
def test_wagtails_own_login_views_lead_to_the_one_login(cast, path):
    client = cast.client(cast.a)

    response = client.post(f"{path}?next=/cms/", {"username": cast.a_admin, "password": cast.password})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/cms/"
    assert "_auth_user_id" not in client.session


def test_after_login_next_cannot_lead_to_another_dealers_host(cast):
    response = cast.client(cast.a).post(
        f"/accounts/login/?next=http://{cast.b.primary_host}/crm/",
        {"login": cast.a_admin, "password": cast.password},
    )

    assert response.status_code == 302
    assert response["Location"] == "/crm/"


@pytest.mark.worker
def test_a_task_sent_from_a_runs_in_a(cast, celery_worker):
    with schema_context(cast.a.schema_name):
        result = probe.delay()

    assert result.get(timeout=30) == {"schema": cast.a.schema_name, "site": cast.a.primary_host}


@pytest.mark.worker
def test_a_task_sent_from_b_runs_in_b(cast, celery_worker):
    with schema_context(cast.b.schema_name):
        result = probe.delay()

    assert result.get(timeout=30) == {"schema": cast.b.schema_name, "site": cast.b.primary_host}


@pytest.mark.worker
def test_enqueue_on_commit_sends_in_the_schema_current_when_enqueued(cast, celery_worker, tmp_path,
                                                                    django_capture_on_commit_callbacks):
    report = tmp_path / "report.json"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic(), schema_context(cast.a.schema_name):
            enqueue_on_commit(probe, str(report))
        assert not report.exists()  # nothing is sent before the commit
    assert len(callbacks) == 1

    deadline = time.monotonic() + 30
    while not report.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert json.loads(report.read_text()) == {"schema": cast.a.schema_name, "site": cast.a.primary_host}


@pytest.mark.worker
def test_enqueue_on_commit_sends_nothing_when_the_transaction_rolls_back(cast, celery_worker, tmp_path,
                                                                        django_capture_on_commit_callbacks):
    rolled_back, committed = tmp_path / "rolled-back.json", tmp_path / "committed.json"
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic(), schema_context(cast.a.schema_name):
                enqueue_on_commit(probe, str(rolled_back))
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        with transaction.atomic(), schema_context(cast.a.schema_name):
            enqueue_on_commit(probe, str(committed))

    # The worker takes tasks in order: once the later one has run, the earlier one never will.
    deadline = time.monotonic() + 30
    while not committed.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert committed.exists()
    assert not rolled_back.exists()


# --- Signed and hashed values: minted in B, refused on A's host -----------------------------------------------
# SECRET_KEY is the same for every schema and ids repeat in every schema: a value signed over an id in B names
# a row of A too, unless what is signed (or where it is looked up) carries the schema.

def _same_next_id(cast, model) -> None:
    """Make the next row of ``model`` get the same id in A and in B, as ids line up for anyone who creates a
    few rows on the side that is behind. Sequences only move forward: nothing already made is touched."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        sequences = []
        for schema in (cast.a.schema_name, cast.b.schema_name):
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [f'"{schema}".{table}'])
            sequence = cursor.fetchone()[0]
            cursor.execute(f"SELECT last_value FROM {sequence}")  # noqa: S608 - a name PostgreSQL gave
            sequences.append((sequence, cursor.fetchone()[0]))
        last = max(value for _sequence, value in sequences)
        for sequence, _value in sequences:
            cursor.execute("SELECT setval(%s, %s)", [sequence, last])


def _mails_sent(callbacks, mailoutbox) -> str:
    """Run the e-mail tasks a request queued, as the worker would; the last message's body."""
    run_as_the_worker(callbacks)
    return mailoutbox[-1].body


def test_an_email_confirmation_key_from_b_confirms_nothing_on_a(cast, mailoutbox,
                                                                django_capture_on_commit_callbacks):
    """The attack reproduced twice: someone opens an owner account on A's host with the address of A's customer
    Vera, and on B's host an account with their own address whose row has the same id; the key B mails them
    is opened on A's host. It must confirm nothing there, so the account never becomes Vera's."""
    with schema_context(cast.a.schema_name):
        vera = person_create(by=None, fields={"family_name": "Opfer", "given_name": "Vera"},
                             emails=["vera@example.de"], phones=["+49 30 7654321"])
    _same_next_id(cast, EmailAddress)
    on_a, on_b = cast.client(cast.a), cast.client(cast.b)
    password = "a-long-secret-42"
    assert on_a.post("/accounts/signup/", {"email": "vera@example.de", "password1": password,
                                           "password2": password}).status_code == 302
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert on_b.post("/accounts/signup/", {"email": "mallory@example.net", "password1": password,
                                               "password2": password}).status_code == 302
    key = re.search(r"/accounts/confirm-email/([^/\s]+)/", _mails_sent(callbacks, mailoutbox))[1]
    with schema_context(cast.a.schema_name):
        address = EmailAddress.objects.get(email="vera@example.de")
    with schema_context(cast.b.schema_name):
        assert EmailAddress.objects.get(email="mallory@example.net").pk == address.pk  # the ids line up

    with django_capture_on_commit_callbacks(execute=True):
        on_a.post(f"/accounts/confirm-email/{key}/")

    with schema_context(cast.a.schema_name):
        assert not EmailAddress.objects.get(pk=address.pk).verified
        assert not CustomerLink.objects.filter(person=vera).exists()
    assert "Opfer" not in on_a.get("/my/profile/export/").text
    # B's own key still confirms B's address on B's host.
    on_b.post(f"/accounts/confirm-email/{key}/")
    with schema_context(cast.b.schema_name):
        assert EmailAddress.objects.get(email="mallory@example.net").verified
