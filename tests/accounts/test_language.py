"""Languages: en, ru and zh-hans; a dealer's own language until the visitor picks another."""

import pytest
from django_tenants.utils import schema_context

from accounts.models import StaffRole
from crm.core.services import staff_user_create

pytestmark = pytest.mark.django_db


def test_a_dealer_site_speaks_the_dealer_groups_language_by_default(cast):
    response = cast.client(cast.b).get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert '<html lang="ru">' in response.text
    assert "Войти" in response.text


def test_the_visitors_choice_beats_the_dealers_default(cast):
    client = cast.client(cast.b)

    switched = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    page = client.get(switched["Location"])

    assert switched.status_code == 302
    assert '<html lang="zh-hans">' in page.text
    assert "登录" in page.text


def test_the_public_site_follows_the_browser(cast):
    client = cast.client(cast.a)
    client.defaults["HTTP_HOST"] = "localhost"

    russian = client.get("/", HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9")
    chinese = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")

    assert '<html lang="ru">' in russian.text
    assert '<html lang="zh-hans">' in chinese.text


def test_an_unsupported_language_cookie_falls_back_to_the_dealers_default(cast):
    client = cast.client(cast.b)
    client.cookies["django_language"] = "klingon"

    assert '<html lang="ru">' in client.get("/").text


def test_every_page_offers_the_language_switcher(cast):
    page = cast.client(cast.a).get("/")

    for code in ("en", "ru", "zh-hans"):
        assert f'value="{code}"' in page.text
    assert 'action="/i18n/setlang/"' in page.text


def test_a_signed_in_persons_preferred_language_beats_the_dealers_default(cast):
    with schema_context(cast.b.schema_name):
        staff_user_create(email="advisor@bravo.test", password=cast.password, role=StaffRole.SERVICE_ADVISOR,
                          preferred_language="zh-hans")
    client = cast.signed_in(cast.b, "advisor@bravo.test")

    dashboard = client.get("/crm/")

    assert '<html lang="zh-hans">' in dashboard.text
    assert "服务顾问" in dashboard.text  # the role, in Chinese
    client.cookies["django_language"] = "en"  # and the switcher still wins
    assert '<html lang="en">' in client.get("/crm/").text


def test_staff_and_owners_names_read_in_their_scripts_order():
    from accounts.models import User

    assert User(first_name="健", last_name="曹").get_full_name() == "曹健"  # not «健 曹»
    assert str(User(first_name="健", last_name="曹", email="cao@example.cn")) == "曹健"
    assert User(first_name="Иван", last_name="Петров").get_full_name() == "Иван Петров"
    assert User(first_name="Anna", last_name="").get_full_name() == "Anna"
    assert str(User(email="nobody@example.com")) == "nobody@example.com"
    # A greeting uses the given name, but never the given part of a Han name alone («欢迎，健» is for family).
    assert User(first_name="健", last_name="曹").get_short_name() == "曹健"
    assert User(first_name="Иван", last_name="Петров").get_short_name() == "Иван"
