"""Refer a friend: the friend's form becomes a referral prospect with the owner as referrer, through the same
duplicate check and routing; the owner follows its progress; referring oneself or an existing customer is
refused; another owner, an unknown code or another dealer's host gets nothing."""

import time

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.services import person_create
from crm.sales.lead_forms import form_token
from crm.sales.models import Level, Prospect
from portal.models import CustomerLink
from portal.referrals import referral_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def referrer(cast):
    with schema_context(cast.a.schema_name):
        person = person_create(by=None, fields={"family_name": "Owner", "given_name": "Olga"},
                               emails=[cast.a_owner], phones=["+49 151 11111111"])
        user = User.objects.get(email=cast.a_owner)
        CustomerLink.objects.create(user=user, person=person, proof="email")
        return {"person": person, "code": referral_code(user).code}


def _friend(cast, code, address="10.0.0.7", **fields):
    with schema_context(cast.a.schema_name):
        token = form_token(time.time() - 10)
    data = {"given_name": "Fritz", "family_name": "Freund", "phone": "+49 151 22222222", "email": "",
            "condition": "new", "model_interest": "Golf", "message": "", "source_detail": "", "website": "",
            "token": token, **fields}
    return Client(HTTP_HOST=cast.a.primary_host, REMOTE_ADDR=address).post(f"/r/{code}/", data)


def test_a_friends_enquiry_is_a_referral_the_owner_can_follow(cast, referrer):
    olga = cast.signed_in(cast.a, cast.a_owner)
    page = olga.get("/my/refer/")
    assert f"/r/{referrer['code']}/" in page.text and "https://wa.me/?text=" in page.text
    assert "Thank you!" in _friend(cast, referrer["code"]).text
    with schema_context(cast.a.schema_name):
        prospect = Prospect.objects.get(person__family_name="Freund")
        assert (prospect.source, prospect.referrer) == ("referral", referrer["person"])
    assert [(r.name, r.status) for r in olga.get("/my/refer/").context["referrals"]] == [("Fritz F.", "submitted")]
    with schema_context(cast.a.schema_name):
        Prospect.objects.filter(pk=prospect.pk).update(first_response_at=timezone.now())
    assert olga.get("/my/refer/").context["referrals"][0].status == "contacted"
    with schema_context(cast.a.schema_name):
        Prospect.objects.filter(pk=prospect.pk).update(level=Level.O)
    assert olga.get("/my/refer/").context["referrals"][0].status_label == "Bought a car"
    with schema_context(cast.a.schema_name):
        User.objects.create_user("neighbour@alpha.test", cast.password)
    assert "Fritz" not in cast.signed_in(cast.a, "neighbour@alpha.test").get("/my/refer/").text


def test_referring_oneself_or_an_existing_customer_is_refused(cast, referrer):
    myself = _friend(cast, referrer["code"], given_name="Olga", family_name="Owner", phone="+49 151 11111111")
    assert myself.status_code == 400 and "You cannot recommend yourself" in myself.text
    with schema_context(cast.a.schema_name):
        person_create(by=None, fields={"family_name": "Kunde", "given_name": "Karl"}, phones=["+49 151 33333333"])
    known = _friend(cast, referrer["code"], address="10.0.0.8", given_name="Karl", family_name="Kunde",
                    phone="+49 151 33333333")
    assert known.status_code == 400 and "You are already our customer" in known.text
    with schema_context(cast.a.schema_name):
        assert not Prospect.objects.filter(source="referral").exists()


def test_an_unknown_code_or_another_dealers_host_gets_nothing(cast, referrer):
    assert Client(HTTP_HOST=cast.a.primary_host).get("/r/NOSUCH22/").status_code == 404
    assert Client(HTTP_HOST=cast.b.primary_host).get(f"/r/{referrer['code']}/").status_code == 404
