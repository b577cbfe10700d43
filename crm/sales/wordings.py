"""How the sales module's timeline events read (``crm.customers.timeline.event_wording``), in the reader's
language: the data holds codes, ISO moments and names; the words are here."""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.customers.timeline import event_wording, shown_moment, shown_money

from .models import CallOutcome, CareStep, ContactKind, Level, Outcome, Source


def _label(choices: type, code: str) -> str:
    return str(dict(choices.choices).get(code, code)) if code else ""


def _registered(data: dict[str, Any]) -> str:
    return _("Prospect registered (%(level)s, %(source)s): %(interest)s") % {
        "level": _label(Level, data["level"]), "source": _label(Source, data["source"]),
        "interest": data.get("interest") or "—"}


def _contact(data: dict[str, Any]) -> str:
    summary = ": ".join(part for part in (_label(ContactKind, data.get("kind", "")),
                                          _label(Outcome, data.get("outcome", ""))) if part)
    if data.get("next"):
        summary += " — " + _("next: %(step)s") % {"step": data["next"]}
    return summary


def _care(data: dict[str, Any]) -> str:
    label = data.get("title") or _label(CareStep.Kind, data.get("kind", ""))
    return f"{label}: {data.get('outcome', '')}"


def _delivery_amount(data: dict[str, Any]) -> str:
    if data.get("amount") in (None, ""):
        return ""
    return _("Amount: %(amount)s") % {"amount": shown_money(data["amount"], data.get("currency", ""))}


def _call(data: dict[str, Any]) -> str:
    summary = _("Call from the list “%(list)s”: %(outcome)s") % {
        "list": data["list"], "outcome": _label(CallOutcome, data["outcome"])}
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
        "from": _label(Level, data["from"]) or "—", "to": _label(Level, data["to"])})
    event_wording("prospect_passed", gettext_lazy("Prospect passed from %(from)s to %(to)s"))
    event_wording("test_drive_booked", lambda data: _("Test drive booked: %(car)s, %(when)s") % {
        "car": data["car"], "when": shown_moment(data["at"])})
    event_wording("delivery", gettext_lazy("Took delivery of %(car)s"), _delivery_amount)
    event_wording("contact", _contact)
    event_wording("care_done", _care)
    event_wording("call", _call)
    event_wording("enquiry", _enquiry)
