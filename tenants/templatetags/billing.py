from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "RUB": "₽", "CNY": "¥"}


@register.filter
def money(cents: int | None, currency: str = "EUR") -> str:
    """An amount in cents as people read it in the current language: "€1,490" or "€12.50"."""
    if cents is None:
        return ""
    amount = Decimal(cents) / 100
    places = 0 if amount == amount.to_integral_value() else 2
    text = number_format(amount, decimal_pos=places, use_l10n=True, force_grouping=True)
    symbol = SYMBOLS.get(currency.upper())
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


@register.simple_tag(takes_context=True)
def plan_text(context: template.Context, plan: object, field: str) -> object:
    from django.utils.translation import get_language

    return plan.text(field, get_language() or "en")
