"""Tenant isolation: nothing of tenant A is reachable from tenant B's host or schema."""

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context
from wagtail.models import Site

from accounts.models import User
from cms.models import ContentPage
from config.celery import enqueue_on_commit
from crm.customers.models import Person, Vehicle, VehicleLink
from crm.customers.selectors import consent_allows
from crm.customers.services import consent_record, person_create, tenant_language
from crm.dealerships.models import Rooftop
from crm.integrations.keys import key_create
from crm.integrations.models import WebhookEndpoint
from crm.integrations.webhooks import sign
from crm.marketing import events, tracking
from crm.marketing.channels import unsubscribe_url
from crm.marketing.models import Event, EventInvitation, Message, MessageTemplate, SendingRules
from crm.sales import services as sales_services
from crm.sales import views as sales_views
from crm.sales.lead_forms import form_token
from crm.sales.models import TransferRequest
from crm.sales.services import FirstContact
from crm.surveys import services as surveys
from portal.invitations import invitation_send
from portal.models import CustomerLink, PhoneCheck, VehicleClaim
from portal.referrals import referral_code
from tenants.billing.signup import login_token_issue
from tenants.models import Plan, Signup
from tests.celery_tasks import probe
from tests.conftest import PASSWORD, run_as_the_worker, texted_code

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
    """The issue's attack: someone opens an owner account on A's host with the address of A's customer
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


def _twins(cast, model, make_a, make_b):
    """A row made in A and one made in B with the same id."""
    _same_next_id(cast, model)
    with tenant_context(cast.a):
        a = make_a()
    with tenant_context(cast.b):
        b = make_b()
    assert a.pk == b.pk
    return a, b


def _customer(family_name: str, **fields):
    person = person_create(by=None, fields={"family_name": family_name, "given_name": "Test"},
                           emails=[f"{family_name.lower()}@example.de"], **fields)
    for channel, purpose in (("email", "marketing"), ("email", "surveys"), ("sms", "marketing")):
        consent_record(person=person, by=None, channel=channel, purpose=purpose, granted=True, source="form")
    return person


def _owner(email: str) -> User:
    return User.objects.create_user(email, PASSWORD)


def test_a_message_cookie_signed_on_b_shows_nothing_on_a(cast):
    """Django signs its message cookie with one salt for every host; a sibling subdomain can set a cookie for
    the parent domain. A's pages show only messages A stored."""
    client = cast.client(cast.b)
    client.cookies["django_language"] = "en"
    assert client.get("/signup/welcome/not-a-token/").status_code == 302  # B says so in a message cookie
    planted = client.cookies["messages"].value
    assert planted

    on_a = cast.client(cast.a)
    on_a.cookies["messages"] = planted
    shown = on_a.get("/accounts/login/")

    assert [str(message) for message in shown.context["messages"]] == []
    assert "This sign-in link has expired" not in shown.text
    # B's own cookie is still read on B's host.
    assert "This sign-in link has expired" in client.get("/accounts/login/").text


def _allauth_code(body: str) -> str:
    """allauth's code in a mail: a line of its own, like ``K7PM-X2QD``."""
    return re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", body, re.MULTILINE)[1]


def test_a_login_code_from_b_signs_nobody_in_on_a(cast, mailoutbox, django_capture_on_commit_callbacks):
    """Sign-in codes live in the session of the host that sent them (a table per schema)."""
    on_b = cast.client(cast.b)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert on_b.post("/accounts/login/code/", {"email": cast.b_admin}).status_code == 302
    code_from_b = _allauth_code(_mails_sent(callbacks, mailoutbox))
    on_a = cast.client(cast.a)
    with django_capture_on_commit_callbacks(execute=True):
        assert on_a.post("/accounts/login/code/", {"email": cast.a_admin}).status_code == 302

    typed = on_a.post("/accounts/login/code/confirm/", {"code": code_from_b})

    assert typed.status_code == 200 and typed.context["form"].errors
    assert "_auth_user_id" not in on_a.session
    assert on_b.post("/accounts/login/code/confirm/", {"code": code_from_b}).status_code == 302  # B's, on B


def test_a_password_reset_code_from_b_resets_nothing_on_a(cast, mailoutbox, django_capture_on_commit_callbacks):
    """Reset codes live in the session of the host that sent them; the link forms (allauth's by key,
    Wagtail's own) are not served, so no token over a user id is ever issued."""
    on_b = cast.client(cast.b)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert on_b.post("/accounts/password/reset/", {"email": cast.b_admin}).status_code == 302
    code_from_b = _allauth_code(_mails_sent(callbacks, mailoutbox))
    on_a = cast.client(cast.a)
    with django_capture_on_commit_callbacks(execute=True):
        assert on_a.post("/accounts/password/reset/", {"email": cast.a_admin}).status_code == 302

    typed = on_a.post("/accounts/password/reset/confirm/", {"code": code_from_b})

    assert typed.status_code == 200 and typed.context["form"].errors
    assert on_a.get("/accounts/password/reset/complete/").status_code != 200
    with schema_context(cast.a.schema_name):
        assert User.objects.get(email=cast.a_admin).check_password(PASSWORD)
    for path in ("/accounts/password/reset/key/1-set-password/", "/cms/password_reset/",
                 "/cms/password_reset/confirm/MQ/set-password/"):
        assert on_a.get(path).status_code == 404, path


def test_a_sales_transfer_token_from_b_asks_for_nothing_on_a(cast):
    with tenant_context(cast.a):
        anna = User.objects.get(email=cast.a_salesperson)
        boris = User.objects.create_user("boris@alpha.test", PASSWORD, role="salesperson")
        person = person_create(by=None, fields={"family_name": "Gehalten", "given_name": "Test"})
        held = sales_services.prospect_create(person=person, by=boris, level="B",
                                              rooftop=Rooftop.objects.get(name="Alpha Berlin"),
                                              fields={"source": "walk_in", "model_interest": "Golf"},
                                              first_contact=FirstContact("visit", "reached"))
        own_token = sales_views._transfer_token(held, anna)
    with tenant_context(cast.b):  # B's collision refusal for a prospect and a salesperson with these ids
        token_from_b = sales_views._transfer_token(held, anna)
    anna_client = cast.signed_in(cast.a, cast.a_salesperson)
    path = f"/crm/sales/prospects/{held.pk}/transfer/"

    assert anna_client.post(path, {"reason": "Mine", "token": token_from_b}).status_code == 404
    with schema_context(cast.a.schema_name):
        assert not TransferRequest.objects.filter(prospect=held).exists()
    assert anna_client.post(path, {"reason": "Mine", "token": own_token}).status_code == 302


def test_an_enquiry_form_token_from_b_is_a_bots_on_a(cast):
    fields = {"given_name": "Ivan", "family_name": "Formular", "phone": "+49 151 23450000", "email": "",
              "condition": "new", "model_interest": "ID.4", "message": "", "source_detail": "", "website": ""}
    with time_machine.travel(datetime(2026, 5, 4, 10, 0, tzinfo=UTC), tick=False):
        with tenant_context(cast.b):
            token_from_b = form_token(time.time() - 60)
        with tenant_context(cast.a):
            own_token = form_token(time.time() - 60)
        visitor = Client(HTTP_HOST=cast.a.primary_host, REMOTE_ADDR="10.9.0.1")

        visitor.post("/enquiry/", {**fields, "token": token_from_b})
        with schema_context(cast.a.schema_name):
            assert not Person.objects.filter(family_name="Formular").exists()  # thanked, and nothing kept
        visitor.post("/enquiry/", {**fields, "token": own_token})
        with schema_context(cast.a.schema_name):
            assert Person.objects.filter(family_name="Formular").exists()


def test_an_unsubscribe_link_from_b_withdraws_nothing_on_a(cast):
    vera, boris = _twins(cast, Person, lambda: _customer("Abmeldung"), lambda: _customer("Otpiska"))
    with tenant_context(cast.b):
        path = urlsplit(unsubscribe_url(boris, "email", "marketing")).path

    assert cast.client(cast.a).get(path).status_code == 404
    assert cast.client(cast.a).post(path).status_code == 404
    with tenant_context(cast.a):
        assert consent_allows(vera, channel="email", purpose="marketing")
    assert cast.client(cast.b).post(path).status_code == 200
    with tenant_context(cast.b):
        assert not consent_allows(boris, channel="email", purpose="marketing")


def test_tracking_links_from_b_record_nothing_on_a(cast):
    def message(family_name):
        return Message.objects.create(key=f"sweep:{family_name}", person=_customer(family_name), channel="email",
                                      purpose="marketing", status="sent", links=["https://b.example/"])

    ours, theirs = _twins(cast, Message, lambda: message("Pixel"), lambda: message("Piksel"))
    with tenant_context(cast.b):
        paths = [urlsplit(tracking.open_url(theirs)).path,
                 urlsplit(tracking.click_url(theirs, "https://b.example/")).path]

    assert [cast.client(cast.a).get(path).status_code for path in paths] == [404, 404]
    with schema_context(cast.a.schema_name):
        assert Message.objects.filter(pk=ours.pk, opened_at=None, clicked_at=None).exists()
    assert [cast.client(cast.b).get(path).status_code for path in paths] == [200, 302]


def test_a_survey_link_from_b_opens_nothing_on_a(cast):
    ours, theirs = _twins(cast, Person, lambda: _customer("Umfrage"), lambda: _customer("Opros"))
    with tenant_context(cast.a):
        surveys.invite(kind="csi_service", person=ours, source_ref="sweep:1")
    with tenant_context(cast.b):
        _invitation, token = surveys.invite(kind="csi_service", person=theirs, source_ref="sweep:1")

    refused = cast.client(cast.a).get(f"/survey/{token}/")

    assert refused.status_code == 410 and "Umfrage" not in refused.text
    assert cast.client(cast.b).get(f"/survey/{token}/").status_code == 200


def test_an_event_answer_link_from_b_answers_nothing_on_a(cast, mailoutbox):
    def invited(family_name, rooftop):
        starts = timezone.now() + timedelta(days=10)
        event = Event.objects.create(name=f"Evening {family_name}", kind="club", capacity=5, starts_at=starts,
                                     ends_at=starts + timedelta(hours=2), rooftop=Rooftop.objects.get(name=rooftop))
        template = MessageTemplate.objects.create(name="Invitation", channel="email")
        template.texts.create(language=tenant_language(), subject="{{ event }}", body="Answer: {{ rsvp_url }}")
        SendingRules.objects.create(quiet_from="00:00", quiet_until="00:00", weekly_cap=10)
        person = _customer(family_name)
        events.invite(event=event, people=Person.objects.filter(pk=person.pk), template=template)
        return event

    ours, _theirs = _twins(cast, Event, lambda: invited("Abend", "Alpha Berlin"),
                           lambda: invited("Vecher", "Браво Москва"))
    token_from_b = next(m.body for m in mailoutbox if m.to == ["vecher@example.de"]).split("/event/")[1].split("/")[0]

    assert cast.client(cast.a).post(f"/event/{token_from_b}/", {"coming": "yes", "guests": "0"}).status_code == 404
    with schema_context(cast.a.schema_name):
        assert EventInvitation.objects.get(event=ours).status == EventInvitation.Status.INVITED
    assert cast.client(cast.b).get(f"/event/{token_from_b}/").status_code == 200


def test_a_portal_invitation_from_b_opens_no_account_on_a(cast, mailoutbox, django_capture_on_commit_callbacks):
    with tenant_context(cast.b), django_capture_on_commit_callbacks(execute=False) as callbacks:
        invitation_send(person=_customer("Priglashenie"), by=User.objects.get(email=cast.b_admin))
    path = re.search(r"https?://[^/\s]+(/my/welcome/[^\s]+/)", _mails_sent(callbacks, mailoutbox))[1]

    visitor = cast.client(cast.a)
    assert visitor.get(path).status_code == 404
    assert visitor.post(path, {"password1": "a-long-secret-42", "password2": "a-long-secret-42"}).status_code == 404
    with schema_context(cast.a.schema_name):
        assert not User.objects.filter(email="priglashenie@example.de").exists()
    assert cast.client(cast.b).get(path).status_code == 200


def test_a_referral_link_from_b_refers_nobody_on_a(cast):
    with tenant_context(cast.b):
        owner = _owner("referrer@bravo.test")
        CustomerLink.objects.create(user=owner, person=_customer("Rekomendatel"), proof="email")
        code = referral_code(owner).code

    assert cast.client(cast.a).get(f"/r/{code}/").status_code == 404
    assert cast.client(cast.b).get(f"/r/{code}/").status_code == 200


def test_a_sign_up_welcome_link_for_b_signs_nobody_in_on_a(cast):
    """B's first sign-in link, even for an address that is A's admin's, is redeemed only on B's host."""
    signup = Signup.objects.create(state=Signup.State.DONE, name=cast.b.name, country="RU", language="ru",
                                   rooftops=1, slug=cast.b.slug, admin_email=cast.a_admin, admin_password="",
                                   plan=Plan.objects.get(code="group"), dealer_group=cast.b)
    token = login_token_issue(signup)

    on_a = cast.client(cast.a)
    assert on_a.get(f"/signup/welcome/{token}/")["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in on_a.session
    assert Signup.objects.get(pk=signup.pk).login_token_used_at is None


def test_an_api_key_from_b_reads_nothing_on_a(cast):
    with tenant_context(cast.b):
        _key, plain = key_create(name="DMS", scopes=["customers:read"], by=User.objects.get(email=cast.b_admin))

    refused = Client(HTTP_HOST=cast.a.primary_host).get("/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {plain}")

    assert refused.status_code == 401
    assert Client(HTTP_HOST=cast.b.primary_host).get(
        "/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 200


def test_a_webhook_signed_for_b_does_not_verify_for_a(cast):
    """Each endpoint has its own random secret, whatever its id: a receiver serving both groups at one URL
    tells their deliveries apart, and one group's delivery replayed as the other's fails its check."""
    endpoints = {}
    _same_next_id(cast, WebhookEndpoint)
    for tenant, admin in ((cast.a, cast.a_admin), (cast.b, cast.b_admin)):
        cast.signed_in(tenant, admin).post("/crm/settings/webhooks/", {
            "url": "https://hooks.example.com/dms", "events": ["prospect.created"], "is_active": "on"})
        with schema_context(tenant.schema_name):
            endpoints[tenant.slug] = WebhookEndpoint.objects.get(url="https://hooks.example.com/dms")
    a, b = endpoints["alpha"], endpoints["bravo"]
    assert a.pk == b.pk

    header = sign(b.secret, 1_777_777_777, '{"type": "prospect.created"}')

    assert a.secret != b.secret
    assert header != sign(a.secret, 1_777_777_777, '{"type": "prospect.created"}')


def test_a_phone_check_code_from_b_proves_nothing_on_a(cast, django_capture_on_commit_callbacks):
    number = "+49 151 55577777"

    def owner_with_a_check(tenant, email):
        with tenant_context(tenant):
            _owner(email)
        client = cast.signed_in(tenant, email)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            asked = client.post("/my/phone/", {"number": number})
        run_as_the_worker(callbacks)
        return client, asked["Location"]

    for stale in Path(settings.SMS_FILE_PATH).glob("*.json"):  # check ids start again in every test database
        if '"key": "phone:' in stale.read_text(encoding="utf-8"):
            stale.unlink()
    with tenant_context(cast.a):
        ours = person_create(by=None, fields={"family_name": "Nummer", "given_name": "Nina"}, phones=[number])
    _same_next_id(cast, User)
    _same_next_id(cast, PhoneCheck)
    on_a, page_a = owner_with_a_check(cast.a, "twin@alpha.test")
    on_b, page_b = owner_with_a_check(cast.b, "twin@bravo.test")
    assert page_a == page_b  # the same user id, number and check id in both groups
    with schema_context(cast.b.schema_name):
        check = PhoneCheck.objects.get(user__email="twin@bravo.test")
    code_from_b = texted_code(f"phone:{cast.b.schema_name}:{check.pk}")

    assert on_a.post(page_a, {"code": code_from_b}).status_code == 400
    with schema_context(cast.a.schema_name):
        assert not CustomerLink.objects.filter(person=ours).exists()
    assert on_b.post(page_b, {"code": code_from_b}).status_code == 302


def test_a_car_claim_code_from_b_adds_no_car_on_a(cast, mailoutbox, django_capture_on_commit_callbacks):
    vin = "WVWZZZ1KZAW077777"

    def car(family_name):
        holder = _customer(family_name)
        vehicle = Vehicle.objects.create(vin=vin, make="VW", model="Golf")
        VehicleLink.objects.create(vehicle=vehicle, person=holder, kind="owner")
        return vehicle

    def owner_with_a_claim(tenant, email):
        with tenant_context(tenant):
            _owner(email)
        client = cast.signed_in(tenant, email)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            asked = client.post("/my/cars/add/", {"vin": vin})
        return client, asked["Location"], re.search(r"\b(\d{6})\b", _mails_sent(callbacks, mailoutbox))[1]

    ours, _theirs = _twins(cast, Vehicle, lambda: car("Halter"), lambda: car("Vladelets"))
    _same_next_id(cast, User)
    _same_next_id(cast, VehicleClaim)
    on_a, page_a, _code_for_a = owner_with_a_claim(cast.a, "twin@alpha.test")
    on_b, page_b, code_from_b = owner_with_a_claim(cast.b, "twin@bravo.test")
    assert page_a == page_b  # the same user, car and claim ids in both groups

    assert on_a.post(page_a, {"code": code_from_b}).status_code == 400
    with schema_context(cast.a.schema_name):
        assert not VehicleClaim.objects.filter(vehicle=ours, confirmed_at__isnull=False).exists()
    assert on_b.post(page_b, {"code": code_from_b}).status_code == 302


def test_an_sms_reply_signed_for_bs_host_changes_nothing_on_a(cast, settings):
    """Twilio signs the full URL, host included: a STOP it delivered to B cannot be replayed to A."""
    settings.TWILIO_AUTH_TOKEN = "twilio-test-token"
    with tenant_context(cast.a):
        ours = _customer("Stopp", phones=["+49 151 55566666"])
    form = {"From": "+4915155566666", "Body": "STOP"}

    def signature(host):
        payload = f"http://{host}/sms/inbound/" + "".join(f"{key}{value}" for key, value in sorted(form.items()))
        return base64.b64encode(hmac.new(b"twilio-test-token", payload.encode(), hashlib.sha1).digest()).decode()

    replayed = cast.client(cast.a).post("/sms/inbound/", form, HTTP_X_TWILIO_SIGNATURE=signature(cast.b.primary_host))

    assert replayed.status_code == 403
    with tenant_context(cast.a):
        assert consent_allows(ours, channel="sms", purpose="marketing")
    assert cast.client(cast.a).post("/sms/inbound/", form,
                                    HTTP_X_TWILIO_SIGNATURE=signature(cast.a.primary_host)).status_code == 200


# Signed with the schema in the payload, and each reader compares it with the current schema (tested above);
# their links sit in e-mails already sent and must keep working, so their format stays.
SCHEMA_IN_PAYLOAD = {"crm/marketing/channels.py", "crm/marketing/tracking.py", "crm/marketing/views.py"}


def test_the_product_signs_only_through_the_tenant_bound_helper():
    """The next signed value cannot forget the schema: signing and keyed hashing happen in
    accounts/tenant_signing.py, whose salt carries it."""
    signing_call = re.compile(r"\bsigning\.(dumps|loads|Signer|TimestampSigner|get_cookie_signer)\b"
                              r"|\bsalted_hmac\(|(?<![.\w])(Timestamp)?Signer\(")
    root = Path(__file__).resolve().parent.parent
    found = sorted(
        str(path.relative_to(root)) for package in ("accounts", "cms", "config", "crm", "portal", "tenants")
        for path in (root / package).rglob("*.py") if signing_call.search(path.read_text(encoding="utf-8")))

    assert set(found) - SCHEMA_IN_PAYLOAD == {"accounts/tenant_signing.py"}
