from django import template

from crm.core.navigation import MODULES, Module

register = template.Library()


@register.simple_tag
def crm_modules() -> tuple[Module, ...]:
    return MODULES


@register.simple_tag(takes_context=True)
def page_url(context: dict, number: int) -> str:
    """The current list's URL (search and filters kept) on another page."""
    query = context["request"].GET.copy()
    query["page"] = number
    return "?" + query.urlencode()
