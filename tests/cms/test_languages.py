"""One address per page, its content in the visitor's language: the dealer's main language by default,
a translation when the visitor chose its language, the main page where none exists yet. Each host
serves its own dealer's pages only."""

import pytest
from django_tenants.utils import schema_context
from wagtail.models import Locale, Site

from cms.models import ContentPage, HomePage, PromotionPage

pytestmark = pytest.mark.django_db


def test_a_new_dealers_home_page_is_in_the_dealers_language(cast):
    with schema_context(cast.b.schema_name):
        home = Site.objects.get(is_default_site=True).root_page.specific
        assert home.locale.language_code == "ru"
        assert set(Locale.objects.values_list("language_code", flat=True)) == {"en", "ru", "zh-hans"}


def test_a_visitor_gets_the_page_in_their_language_at_the_same_address(cast, site_b):
    anonymous = cast.client(cast.b)
    russian = anonymous.get("/promotions/winter-tyres/").text  # the dealer's language by default
    assert "Шиномонтаж зимних шин со скидкой 20%" in russian
    assert '<html lang="ru">' in russian

    english = cast.client(cast.b)
    english.cookies["django_language"] = "en"
    text = english.get("/promotions/winter-tyres/").text
    assert "Winter tyres fitted: 20% off" in text and "Шиномонтаж" not in text
    home = english.get("/").text
    assert "Your car in good hands" in home
    assert 'href="/promotions/"' in home  # links in the English tree keep the one address

    chinese = cast.client(cast.b)
    chinese.cookies["django_language"] = "zh-hans"  # not translated into Chinese: the dealer's own
    assert "Ваш автомобиль в надёжных руках" in chinese.get("/").text


def test_a_page_not_translated_yet_is_served_from_the_main_tree(cast, site_b):
    with schema_context(cast.b.schema_name):
        home = HomePage.objects.get(locale__language_code="ru")
        home.add_child(instance=ContentPage(title="Только по-русски", slug="tolko"))
    english = cast.client(cast.b)
    english.cookies["django_language"] = "en"

    response = english.get("/tolko/")
    assert response.status_code == 200 and "Только по-русски" in response.text
    assert '<html lang="ru">' in response.text  # marked as the language it is in, for screen readers
    assert english.get("/no-such-page/").status_code == 404


def test_another_dealers_host_never_serves_this_dealers_pages(cast, site_a):
    with schema_context(cast.a.schema_name):
        paths = [page.url for page in PromotionPage.objects.all()]
    assert paths and all(cast.client(cast.a).get(path).status_code == 200 for path in paths)

    other = cast.client(cast.b)
    assert all(other.get(path).status_code == 404 for path in paths)
    assert "Winter tyres" not in other.get("/").text
    assert "Alpha Motors" not in other.get("/").text


def test_the_staff_who_edit_the_site_may_translate_its_pages(cast):
    from django.contrib.auth.models import Group

    with schema_context(cast.a.schema_name):
        for name in ("Moderators", "Editors"):
            assert Group.objects.get(name=name).permissions.filter(codename="submit_translation").exists(), name


def test_listings_show_what_is_not_translated_yet_from_the_dealers_own_language(cast, site_b):
    from datetime import timedelta

    from django.utils import timezone

    from cms.models import PromotionIndexPage

    with schema_context(cast.b.schema_name):
        index = PromotionIndexPage.objects.get(locale__language_code="ru")
        index.add_child(instance=PromotionPage(title="Только у нас: мойка в подарок", slug="moika",
                                               valid_from=timezone.localdate() - timedelta(days=1)))
    english = cast.client(cast.b)
    english.cookies["django_language"] = "en"
    listed = english.get("/promotions/").text
    assert "Только у нас: мойка в подарок" in listed  # served at its address, so listed too
    assert "Winter tyres fitted: 20% off" in listed and "Шиномонтаж" not in listed  # translated: English only
    assert "Только у нас: мойка в подарок" in english.get("/").text
