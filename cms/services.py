from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Site

from .models import BrandingSettings, HomePage


def site_configure(*, hostname: str, site_name: str) -> Site:
    """Point the schema's one Wagtail site at the dealer group's host and name its home page.

    A cloned schema carries the template's site (``localhost``); this makes it the tenant's own.
    The home page takes the active language (the dealer group's) as its locale: the dealer's main page
    tree, which visitors in a language the dealer has not translated into see. Runs inside the
    tenant's schema.
    """
    site = Site.objects.select_related("root_page").get(is_default_site=True)
    site.hostname = hostname
    site.port = settings.WAGTAIL_SITE_PORT
    site.site_name = site_name
    site.save()
    home = site.root_page.specific
    if isinstance(home, HomePage):
        home.title = site_name
        language = get_supported_content_language_variant(translation.get_language())
        home.locale = Locale.objects.get_or_create(language_code=language)[0]
        home.intro = _(
            "Welcome to %(name)s. Book a service visit, see your car's history and join our owners' club."
        ) % {"name": site_name}
        home.draft_title = home.title
        home.save_revision().publish()
    BrandingSettings.for_site(site)  # made now, so no owner's page view writes it
    return site
