"""Bad input gets a clear answer, never a 500: a NUL character anywhere a page reads text is a 400 page (the
API's error shape under /api/); pages that once failed on odd input keep working."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from crm.marketing.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(cast):
    with schema_context(cast.a.schema_name):
        starts = timezone.now() + timedelta(days=7)
        return Event.objects.create(name="Club night", kind="club", capacity=10, starts_at=starts,
                                    ends_at=starts + timedelta(hours=2))


@pytest.mark.parametrize("address", [
    "/crm/customers/?q=%00", "/crm/customers/companies/?q=%00", "/crm/sales/prospects/?q=%00", "/crm/club/?q=%00",
    "/crm/marketing/events/{event}/?q=%00", "/crm/customers/?q%00=x"])
def test_a_nul_character_in_the_query_answers_a_400_page(cast, event, address):
    admin = cast.signed_in(cast.a, cast.a_admin)

    response = admin.get(address.format(event=event.pk))

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Bad request" in response.text and "cannot be read" in response.text
    assert cast.a.name in response.text  # the dealer's own page frame, not a bare error


@pytest.mark.parametrize("address", ["/r/AB%00CD/", "/my/welcome/AB%00CD/", "/crm/club/card/AB%00CD/"])
def test_a_nul_character_in_the_path_answers_the_not_found_page(cast, address):
    response = cast.signed_in(cast.a, cast.a_admin).get(address)

    assert response.status_code == 404 and "Page not found" in response.text


def test_the_400_page_speaks_the_dealer_groups_language(cast):
    response = cast.client(cast.b).get("/crm/customers/?q=%00")  # Bravo's default language is Russian

    assert response.status_code == 400 and 'lang="ru"' in response.text and "Неверный запрос" in response.text


def test_in_the_api_a_nul_character_answers_in_the_apis_error_shape(cast):
    in_the_query = cast.client(cast.a).get("/api/v1/customers", {"updated_since": "\x00"})
    in_the_path = cast.client(cast.a).get("/api/v1/customers/%00")

    assert in_the_query.status_code == 400 and in_the_path.status_code == 404
    assert [error["code"] for error in in_the_query.json()["errors"]] == ["bad_request"]
    assert [error["code"] for error in in_the_path.json()["errors"]] == ["not_found"]
    assert in_the_query.json()["errors"][0]["field"] is None


def test_a_nul_character_in_a_cookie_or_a_posted_form_answers_400(cast):
    crafted = cast.client(cast.a)
    crafted.cookies["sessionid"] = "abcdefgh\x00ijklmnop"  # a session key is looked up in the database
    posted = cast.client(cast.a).post("/enquiry/", {"family_name": "Petrov\x00", "phone": "+49 151 23456789"})

    assert crafted.get("/crm/").status_code == 400
    assert posted.status_code == 400


def test_a_nul_character_on_the_platforms_host_answers_400(settings):
    response = Client(HTTP_HOST=settings.APP_DOMAIN).get("/hq/?month=%00")

    assert response.status_code == 400 and "Bad request" in response.text


def test_a_form_too_big_to_read_answers_the_400_page(cast):
    response = cast.client(cast.a).post("/enquiry/", {f"field{n}": "x" for n in range(1200)})

    assert response.status_code == 400 and "Bad request" in response.text
