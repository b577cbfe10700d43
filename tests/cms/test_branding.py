"""A dealer's colours, logo and contacts dress its owner-facing pages, never its staff's; colours white text
cannot be read on are refused."""

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context
from wagtail.models import Site

from cms.colours import contrast_ratio
from cms.models import BrandingSettings

pytestmark = pytest.mark.django_db


def _branding(tenant):
    return BrandingSettings.for_site(Site.objects.get(is_default_site=True))


def test_the_dealers_colours_logo_and_contacts_appear_on_owner_pages(cast):
    with schema_context(cast.a.schema_name):
        branding = _branding(cast.a)
        branding.primary_colour, branding.accent_colour = "#0b4f3c", "#8a1538"
        branding.phone, branding.email = "+49 30 1234567", "service@alpha.example"
        branding.full_clean()
        branding.save()

    for path in ("/", "/accounts/login/"):
        text = cast.client(cast.a).get(path).text
        assert "--brand: #0b4f3c; --accent: #8a1538;" in text, path
        assert 'href="tel:+49301234567"' in text and "service@alpha.example" in text, path


def test_staff_pages_and_other_dealers_keep_their_own_look(cast):
    with schema_context(cast.a.schema_name):
        branding = _branding(cast.a)
        branding.accent_colour = "#8a1538"
        branding.save()

    crm = cast.signed_in(cast.a, cast.a_admin).get("/crm/")
    assert crm.status_code == 200 and "#8a1538" not in crm.text and "site-footer" not in crm.text
    assert "#8a1538" not in cast.client(cast.b).get("/").text


def test_the_demo_logo_is_shown_in_the_header(cast, site_a):
    text = cast.client(cast.a).get("/").text

    assert 'class="brand__logo"' in text and "/media/" in text


@pytest.mark.parametrize(("field", "colour"), [("primary_colour", "#ffcc00"), ("accent_colour", "#77aaff")])
def test_a_colour_white_text_cannot_be_read_on_is_refused_in_words(cast, field, colour):
    with schema_context(cast.a.schema_name):
        branding = _branding(cast.a)
        setattr(branding, field, colour)
        with pytest.raises(ValidationError) as refused:
            branding.full_clean()

    message = refused.value.message_dict[field][0]
    assert f"White text on {colour} has a contrast of" in message and "4.5:1" in message
    assert "Choose a darker colour." in message


def test_a_colour_must_be_six_hex_digits(cast):
    with schema_context(cast.a.schema_name):
        branding = _branding(cast.a)
        branding.primary_colour = "red;}"
        with pytest.raises(ValidationError) as refused:
            branding.full_clean()

    assert "six hexadecimal digits" in refused.value.message_dict["primary_colour"][0]


def test_contrast_ratios_match_wcag():
    assert round(contrast_ratio("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast_ratio("#777777", "#ffffff"), 2) == 4.48  # the classic just-fails grey
    assert contrast_ratio("#767676", "#ffffff") >= 4.5


def test_the_dealer_admin_changes_branding_in_the_wagtail_admin(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)
    with schema_context(cast.a.schema_name):
        site = Site.objects.get(is_default_site=True)
    page = admin.get(f"/cms/settings/cms/brandingsettings/{site.pk}/")
    assert page.status_code == 200 and "accent_colour" in page.text
