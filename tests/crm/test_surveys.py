"""Surveys: a token link per occasion, answered once before it expires; signals of made-up answers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from crm.customers.models import Phone, Vehicle, VehicleLink
from crm.customers.services import consent_record, person_create
from crm.service.models import ServiceVisit
from crm.service.services import visit_close
from crm.surveys.models import Answer, Invitation
from crm.surveys.services import invite
from crm.surveys.tasks import survey_invite_send

pytestmark = pytest.mark.django_db
GOOD = {"satisfaction": "5", "recommend": "10", "comment": ""}


@pytest.fixture
def customer(cast):
    with schema_context(cast.a.schema_name):
        person = person_create(by=None, fields={"family_name": "Umfrage", "given_name": "Uwe"},
                               emails=["uwe@example.de"])
        consent_record(person=person, by=None, channel="email", purpose="surveys", granted=True, source="form")
        return person


def _invite(cast, person, ref, employee=None):
    with schema_context(cast.a.schema_name):
        return invite(kind="csi_service", person=person, source_ref=ref, employee_id=employee)


def test_closing_a_visit_invites_a_consenting_customer_once_by_e_mail(cast, customer, mailoutbox,
                                                                     django_capture_on_commit_callbacks):
    with schema_context(cast.a.schema_name):
        car = Vehicle.objects.create(make="VW", model="Up", plate="B-UM 1")
        VehicleLink.objects.create(vehicle=car, person=customer, kind="owner")
        visit = ServiceVisit.objects.create(vehicle=car, person=customer, opened_on=timezone.localdate(),
                                            total_amount=Decimal(0))
        with django_capture_on_commit_callbacks(execute=False) as queued:
            visit_close(visit=visit, by=None)
        assert len(queued) == 1  # the invitation is sent by a task after the visit is closed
        assert survey_invite_send("csi_service", customer.pk, f"service:visit:{visit.pk}") is True
        assert survey_invite_send("csi_service", customer.pk, f"service:visit:{visit.pk}") is False  # once

    assert len(mailoutbox) == 1 and "/survey/" in mailoutbox[0].body
    token = mailoutbox[0].body.split("/survey/")[1].split("/")[0]
    page = cast.client(cast.a).get(f"/survey/{token}/")
    assert page.status_code == 200 and "How did we do?" in page.text


def test_no_consent_no_invitation(cast):
    with schema_context(cast.a.schema_name):
        person = person_create(by=None, fields={"family_name": "Ohne"}, emails=["ohne@example.de"])
        assert invite(kind="csi_service", person=person, source_ref="service:visit:999") is None
        assert not Invitation.objects.filter(person=person).exists()


def test_a_token_answers_once_and_an_altered_or_expired_one_nothing(cast, customer):
    _invitation, token = _invite(cast, customer, "service:visit:1")
    _old, old_token = _invite(cast, customer, "service:visit:2")
    with schema_context(cast.a.schema_name):
        Invitation.objects.filter(pk=_old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    browser = cast.client(cast.a)

    browser.get(f"/survey/{token}/")
    first = browser.post(f"/survey/{token}/", GOOD)
    again = browser.post(f"/survey/{token}/", {**GOOD, "satisfaction": "1"})
    altered = browser.get(f"/survey/{token[:-2]}xy/")
    expired = browser.get(f"/survey/{old_token}/")
    bad = cast.client(cast.a).post(f"/survey/{_invite(cast, customer, 'service:visit:3')[1]}/", {"satisfaction": "9"})

    assert first.status_code == 200 and "Thank you!" in first.text
    assert again.status_code == 410 and "already been answered" in again.text
    assert altered.status_code == 410 and "not valid" in altered.text
    assert expired.status_code == 410 and "has closed" in expired.text
    assert bad.status_code == 400
    with schema_context(cast.a.schema_name):
        assert list(Answer.objects.values_list("satisfaction", flat=True)) == [5]


def test_signals_flag_fast_repeated_phone_changed_and_clustered_answers(cast, customer):
    from accounts.models import User

    with schema_context(cast.a.schema_name):
        advisor = User.objects.create_user("friendly@alpha.test", cast.password, role="service_advisor",
                                           first_name="Frida", last_name="Freundlich")
    network = Client(HTTP_HOST=cast.a.primary_host, REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="same-phone")
    for n in range(5):
        _invitation, token = _invite(cast, customer, f"service:visit:{100 + n}", employee=advisor.pk)
        network.get(f"/survey/{token}/")
        network.post(f"/survey/{token}/", GOOD)  # at once, all maximum, one device, one employee
    with schema_context(cast.a.schema_name):
        Phone.objects.create(person=customer, number="+4917600000001")
    _late, token = _invite(cast, customer, "service:visit:200")
    slow = Client(HTTP_HOST=cast.a.primary_host, REMOTE_ADDR="10.9.9.9")
    slow.get(f"/survey/{token}/")
    with schema_context(cast.a.schema_name):
        Invitation.objects.filter(pk=_late.pk).update(opened_at=timezone.now() - timedelta(minutes=2))
    slow.post(f"/survey/{token}/", {"satisfaction": "3", "recommend": "6", "comment": "ok"})

    with schema_context(cast.a.schema_name):
        last_of_five = Answer.objects.get(invitation__source_ref="service:visit:104")
        assert set(last_of_five.signals) >= {"same_network", "same_device", "too_fast", "all_max_cluster"}
        late = Answer.objects.get(invitation__source_ref="service:visit:200")
        assert late.signals == ["phone_changed"]

    stats = cast.signed_in(cast.a, cast.a_admin).get("/crm/surveys/")
    row = next(r for r in stats.context["by_employee"] if str(r["employee"]) == "Frida Freundlich")
    assert (row["total"], row["nps"], row["flagged"]) == (5, 100, 5)
    assert "<td>Frida Freundlich</td>" in stats.text  # staff by name, not by login


def test_statistics_are_for_managers_of_the_same_group(cast, customer):
    _invitation, token = _invite(cast, customer, "service:visit:300")
    cast.client(cast.a).post(f"/survey/{token}/", GOOD)

    assert cast.signed_in(cast.a, cast.a_salesperson).get("/crm/surveys/").status_code == 403
    other = cast.signed_in(cast.b, cast.b_admin).get("/crm/surveys/")
    assert other.status_code == 200 and other.context["by_rooftop"] == []
    assert cast.client(cast.b).get(f"/survey/{token}/").status_code == 410  # another group's link


def test_an_invitation_whose_e_mail_never_left_is_sent_again_with_a_fresh_token(cast, customer, mailoutbox):
    with schema_context(cast.a.schema_name):
        first = invite(kind="csi_service", person=customer, source_ref="service:visit:777")  # never sent
        assert survey_invite_send("csi_service", customer.pk, "service:visit:777") is True
        assert survey_invite_send("csi_service", customer.pk, "service:visit:777") is False

    token = mailoutbox[0].body.split("/survey/")[1].split("/")[0]
    assert token != first[1]
    assert cast.client(cast.a).get(f"/survey/{token}/").status_code == 200
    assert cast.client(cast.a).get(f"/survey/{first[1]}/").status_code == 410


def test_behind_the_proxy_answers_from_different_customers_are_not_one_network(cast, customer, settings):
    settings.CLIENT_IP_HEADER, settings.TRUSTED_PROXY_COUNT = "X-Forwarded-For", 1
    for n in range(4):  # four customers at home, each on their own line, all through the platform's proxy
        _invitation, token = _invite(cast, customer, f"service:visit:{300 + n}")
        browser = Client(HTTP_HOST=cast.a.primary_host, REMOTE_ADDR="10.0.0.2",
                         HTTP_X_FORWARDED_FOR=f"198.51.100.{n + 1}", HTTP_USER_AGENT="a phone")
        browser.post(f"/survey/{token}/", GOOD)
    _invitation, token = _invite(cast, customer, "service:visit:310")
    Client(HTTP_HOST=cast.a.primary_host, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.9",
           HTTP_USER_AGENT="a phone").post(f"/survey/{token}/", GOOD)  # a left-most entry of the customer's own

    with schema_context(cast.a.schema_name):
        signals = Answer.objects.filter(invitation__source_ref__startswith="service:visit:3").values_list(
            "signals", flat=True)
        assert len(signals) == 5
        assert not any("same_network" in found or "same_device" in found for found in signals)
