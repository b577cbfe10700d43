"""How the sales module's timeline events read (``crm.customers.timeline.event_wording``), in the reader's
language: the data holds codes, ISO moments and names; the words are here."""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.customers.timeline import amount_line, choice_label, event_wording, shown_moment

from .models import CallOutcome, CareStep, ContactKind, Level, Outcome, Source


def _registered(data: dict[str, Any]) -> str:
    return _("Prospect registered (%(level)s, %(source)s): %(interest)s") % {
        "level": choice_label(Level, data["level"]), "source": choice_label(Source, data["source"]),
        "interest": data.get("interest") or "—"}


def _contact(data: dict[str, Any]) -> str:
    summary = ": ".join(part for part in (choice_label(ContactKind, data.get("kind", "")),
                                          choice_label(Outcome, data.get("outcome", ""))) if part)
    if data.get("next"):
        summary += " — " + _("next: %(step)s") % {"step": data["next"]}
    return summary


def _care(data: dict[str, Any]) -> str:
    label = data.get("title") or choice_label(CareStep.Kind, data.get("kind", ""))
    return f"{label}: {data.get('outcome', '')}"


def _call(data: dict[str, Any]) -> str:
    summary = _("Call from the list “%(list)s”: %(outcome)s") % {
        "list": data["list"], "outcome": choice_label(CallOutcome, data["outcome"])}
    if data.get("holder") is not None:
        summary += " — " + _("already a prospect of %(holder)s") % {
            "holder": data["holder"] or _("nobody yet (waiting for assignment)")}
    if data.get("call_back_at"):
        summary += " — " + shown_moment(data["call_back_at"])
    return summary


def _enquiry(data: dict[str, Any]) -> str:
    return _("Web enquiry") + (f": {data['interest']}" if data.get("interest") else "")


def register() -> None:
    event_wording("prospect_registered", _registered)
    event_wording("prospect_level", lambda data: _("Prospect level %(from)s → %(to)s") % {
        "from": choice_label(Level, data["from"]) or "—", "to": choice_label(Level, data["to"])})
    event_wording("prospect_passed", gettext_lazy("Prospect passed from %(from)s to %(to)s"))
    event_wording("test_drive_booked", lambda data: _("Test drive booked: %(car)s, %(when)s") % {
        "car": data["car"], "when": shown_moment(data["at"])})
    event_wording("delivery", gettext_lazy("Took delivery of %(car)s"), amount_line)
    event_wording("contact", _contact)
    event_wording("care_done", _care)
    event_wording("call", _call)
    event_wording("enquiry", _enquiry)
