"""Merge fields in the dealer's own texts: ``{{ given_name }}`` and friends, nothing else.

Dealer staff write these texts, so they are not Django templates (which could reach any attribute):
only the names below are replaced, and a text naming another field is refused when it is saved.
"""

import re
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

FIELD = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")

MERGE_FIELDS = {
    "given_name": _("the customer's given name"),
    "family_name": _("the customer's family name"),
    "name": _("the customer's name as they write it"),
    "dealer": _("the dealer group's name"),
    "rooftop": _("the customer's dealership"),
    "car": _("the customer's car"),
    "unsubscribe_url": _("the link that stops these messages"),
    "event": _("the event's name (event invitations)"),
    "event_when": _("the event's date and time (event invitations)"),
    "rsvp_url": _("the link to answer the invitation (event invitations)"),
}

# Fields whose values customers type themselves (a name on a web form): whatever they hold is never made
# into a link in an e-mail, so nobody can have the dealer send their link to someone else.
CUSTOMER_FIELDS = frozenset({"given_name", "family_name", "name", "car"})

# What a preview shows in place of each field.
SAMPLE = {"given_name": "Anna", "family_name": "Schmidt", "name": "Anna Schmidt", "dealer": "Alpha Motors",
          "rooftop": "Alpha Berlin", "car": "VW Golf", "unsubscribe_url": "https://example.com/unsubscribe/…",
          "event": "Second delivery evening", "event_when": "2026-12-03 18:30", "rsvp_url": "https://example.com/event/…"}


def fields_check(text: str) -> None:
    """Refuse a text that names a field we do not fill."""
    unknown = sorted({name for name in FIELD.findall(text) if name not in MERGE_FIELDS})
    if unknown:
        raise ValidationError(_("Unknown merge fields: %(fields)s. Use %(known)s.") % {
            "fields": ", ".join(unknown), "known": ", ".join(f"{{{{ {name} }}}}" for name in MERGE_FIELDS)})


def merge(text: str, values: Mapping[str, str]) -> str:
    """The text with each known field replaced by its value ("" when the customer has none)."""
    return FIELD.sub(lambda match: str(values.get(match.group(1), "")) if match.group(1) in MERGE_FIELDS
                     else match.group(0), text)
