"""Phone numbers written one way on every screen: ``{{ number|phone }}`` and ``tel:{{ number|phone_tel }}``."""

from django import template

from crm.customers import normalize
from crm.customers.services import tenant_region

register = template.Library()


@register.filter
def phone(value: object) -> str:
    """The international format (+7 916 123-45-67, +86 138 0013 8000), whether the number is stored in E.164
    or as someone typed it (a rooftop's, a company's): read in the group's country when it has no country code;
    what is not a phone number stays as written."""
    return normalize.phone_display(str(value or ""), tenant_region())


@register.filter
def phone_tel(value: object) -> str:
    """The number for a ``tel:`` link (E.164), or the typed digits when it cannot be read."""
    return normalize.phone_tel(str(value or ""), tenant_region())
