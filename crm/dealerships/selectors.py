"""Reads on the dealer group's structure, for the CRM and for the platform (plan limits)."""

from .models import Rooftop


def rooftop_count() -> int:
    """The rooftops of the current schema's dealer group."""
    return Rooftop.objects.count()
