"""Linking an owner account to the CRM customer by a mobile number: only with the code texted to that
number, only when exactly one customer has it on file (and no account yet), with limits on codes and
tries; nobody else's record is reachable by typing their number."""

from pathlib import Path

import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.services import person_create
from portal.models import CustomerLink, PhoneCheck
from tests.conftest import run_as_the_worker, texted_code

pytestmark = pytest.mark.django_db


def _texted_code(tenant, check_pk: int) -> str:
    return texted_code(f"phone:{tenant.schema_name}:{check_pk}")


def _ask(client, number, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/my/phone/", {"number": number})
    run_as_the_worker(callbacks)
    return response


@pytest.fixture
def owner(cast):
    for stale in Path(settings.SMS_FILE_PATH).glob("*.json"):  # check numbers start again in every test database
        if '"key": "phone:' in stale.read_text(encoding="utf-8"):
            stale.unlink()
    with schema_context(cast.a.schema_name):
        User.objects.create_user("phone.owner@alpha.test", cast.password)
    return cast.signed_in(cast.a, "phone.owner@alpha.test")


def test_the_texted_code_links_the_one_customer_with_that_number(cast, owner, django_capture_on_commit_callbacks):
    with schema_context(cast.a.schema_name):
        pia = person_create(by=None, fields={"family_name": "Telefon", "given_name": "Pia"},
                            phones=["+49 151 55501234"])
    response = _ask(owner, "+49 151 555 01234", django_capture_on_commit_callbacks)
    with schema_context(cast.a.schema_name):
        check = PhoneCheck.objects.get(user__email="phone.owner@alpha.test")
    assert response.url == f"/my/phone/{check.pk}/" and check.number == "+4915155501234"
    page = owner.get(response.url)
    assert "•••234" in page.text and "55501234" not in page.text
    wrong = owner.post(response.url, {"code": "000000" if _texted_code(cast.a, check.pk) != "000000" else "111111"})
    assert wrong.status_code == 400 and "Attempts left: 4" in wrong.text
    assert owner.post(response.url, {"code": _texted_code(cast.a, check.pk)}).url == "/my/"
    with schema_context(cast.a.schema_name):
        link = CustomerLink.objects.get(user__email="phone.owner@alpha.test")
        assert (link.person, link.proof) == (pia, "phone")
    assert owner.get("/my/phone/").url == "/my/"  # linked: nothing more to prove


def test_a_shared_number_or_a_customer_with_an_account_links_nobody(cast, owner, django_capture_on_commit_callbacks):
    with schema_context(cast.a.schema_name):
        for given in ("Ann", "Ben"):  # one family phone
            person_create(by=None, fields={"family_name": "Familie", "given_name": given}, phones=["+49 151 55509999"])
    response = _ask(owner, "+4915155509999", django_capture_on_commit_callbacks)
    with schema_context(cast.a.schema_name):
        check = PhoneCheck.objects.get(user__email="phone.owner@alpha.test")
    answer = owner.post(response.url, {"code": _texted_code(cast.a, check.pk)}, follow=True)
    assert "could not tell which customer record is yours" in answer.text
    with schema_context(cast.a.schema_name):
        assert not CustomerLink.objects.filter(user__email="phone.owner@alpha.test").exists()


def test_codes_and_tries_are_limited_and_checks_are_private(cast, owner, django_capture_on_commit_callbacks):
    assert "wrong number of digits" in _ask(owner, "+49 151", django_capture_on_commit_callbacks).text
    for _attempt in range(3):
        assert _ask(owner, "+49 151 55507777", django_capture_on_commit_callbacks).status_code == 302
    limited = _ask(owner, "+49 151 55507777", django_capture_on_commit_callbacks)
    assert limited.status_code == 400 and "Too many codes" in limited.text
    with schema_context(cast.a.schema_name):
        check = PhoneCheck.objects.filter(user__email="phone.owner@alpha.test").first()
        User.objects.create_user("nosy@alpha.test", cast.password)
    for _attempt in range(5):
        owner.post(f"/my/phone/{check.pk}/", {"code": "999999"})
    assert "Too many wrong codes" in owner.post(f"/my/phone/{check.pk}/", {"code": _texted_code(cast.a, check.pk)}).text
    assert cast.signed_in(cast.a, "nosy@alpha.test").get(f"/my/phone/{check.pk}/").status_code == 404
