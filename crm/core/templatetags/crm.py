from django import template

from crm.core.navigation import MODULES, Module

register = template.Library()


@register.simple_tag
def crm_modules() -> tuple[Module, ...]:
    return MODULES
