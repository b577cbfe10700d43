"""The demo builder: a whole site in the group's language and English, the same after any number of runs."""

import pytest
from django_tenants.utils import schema_context
from wagtail.models import Page

from cms.demo import site_demo_build
from cms.models import BrandingSettings, EventPage, HomePage, PromotionPage

pytestmark = pytest.mark.django_db


def test_the_demo_builds_every_page_type_in_two_languages_and_is_idempotent(cast, site_b):
    with schema_context(cast.b.schema_name):
        pages = Page.objects.count()
        images = site_b.home.hero_image.__class__.objects.count()
        site_demo_build(dealer_name=cast.b.name, language="ru", rooftops=[site_b.rooftop])

        assert Page.objects.count() == pages
        assert site_b.home.hero_image.__class__.objects.count() == images
        assert HomePage.objects.count() == 2
        russian, english = (Page.objects.filter(locale__language_code=code, depth__gt=1).count()
                            for code in ("ru", "en"))
        assert russian == english >= 14
        assert {page.specific_class.__name__ for page in Page.objects.filter(depth__gt=1)} == {
            "HomePage", "PromotionIndexPage", "PromotionPage", "EventIndexPage", "EventPage", "NewsIndexPage",
            "NewsPage", "ClubPage", "FAQPage", "RooftopsPage", "ContentPage"}
        assert EventPage.objects.filter(event=site_b.event).count() == 2  # one per language
        translated = PromotionPage.objects.get(slug="winter-tyres", locale__language_code="en")
        assert list(translated.rooftops.all()) == [site_b.rooftop]
        branding = BrandingSettings.objects.get()
        assert (branding.primary_colour, branding.accent_colour) == ("#14325c", "#b42318")
        assert branding.logo is not None
