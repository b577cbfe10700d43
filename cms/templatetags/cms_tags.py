"""The dealer's look on owner-facing pages, and the site's menu."""

from typing import Any

from django import template
from django.db import connection
from django_tenants.utils import get_public_schema_name
from wagtail.models import Page

register = template.Library()

# Staff pages keep the product's own look, whatever a dealer chose for its customers.
STAFF_PREFIXES = ("/crm/", "/cms/")


@register.simple_tag(takes_context=True)
def site_branding(context: dict[str, Any]) -> Any:
    """The dealer group's BrandingSettings on its owner-facing pages; None on staff pages and the
    public site. Read once per request (Wagtail keeps it on the request)."""
    from cms.models import BrandingSettings

    request = context.get("request")
    if request is None or request.path.startswith(STAFF_PREFIXES):
        return None
    if connection.schema_name == get_public_schema_name() or getattr(request, "tenant", None) is None:
        return None
    try:
        return BrandingSettings.for_request(request)
    except BrandingSettings.DoesNotExist:  # no Wagtail site for this host
        return None


@register.simple_tag(takes_context=True)
def site_menu(context: dict[str, Any]) -> list[Page]:
    """The live in-menu pages under the home page of the current page's language tree, one query."""
    page = context.get("page")
    if not isinstance(page, Page) or page.depth < 2:
        return []
    home_path = page.path[: Page.steplen * 2]
    return list(Page.objects.live().in_menu().filter(depth=3, path__startswith=home_path).order_by("path"))


@register.filter
def event_timezone(event: Any) -> Any:
    """``{% timezone event|event_timezone %}``: the time zone an event's times are shown in."""
    from cms.models import event_timezone as timezone_of

    return timezone_of(event)
