"""How the customer database's own timeline events read (``timeline.event_wording``), in the reader's language.

Each event's data holds codes, ISO dates, numbers and the names of things; the words are here.
"""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import CompanyRole, ConsentChannel, ConsentPurpose, VehicleLink
from .quality import VERIFIABLE
from .timeline import amount_line, choice_label, event_wording, shown_day, shown_money, shown_number

# Where a record came from (``person_create(source=…)``).
SOURCES = {
    "web_form": gettext_lazy("web enquiry form"),
    "sales": gettext_lazy("sales"),
    "by_hand": gettext_lazy("entered by hand"),
    "api": gettext_lazy("API: %(key)s"),
    "import": gettext_lazy("import of %(file)s"),
}


def _created(data: dict[str, Any]) -> str:
    source = SOURCES.get(data.get("source", ""))
    if source is None:
        return _("Customer record created")
    name = data.get("name", "")
    return _("Customer record created (%(source)s)") % {"source": str(source) % {"key": name, "file": name}}


def _consent(data: dict[str, Any]) -> str:
    verb = _("gave consent") if data["granted"] else _("withdrew consent")
    channel, purpose = choice_label(ConsentChannel, data["channel"]), choice_label(ConsentPurpose, data["purpose"])
    return f"{verb}: {channel} / {purpose}"


def _visit(data: dict[str, Any]) -> str:
    summary = (_("Service visit, order %(order)s") % {"order": data["order"]} if data.get("order")
               else _("Service visit"))
    work = ", ".join(data.get("work") or [])
    return f"{summary}: {work}" if work else summary


def _visit_details(data: dict[str, Any]) -> str:
    lines = [_("Total: %(amount)s") % {"amount": shown_money(data["amount"], data.get("currency", ""))}
             if data.get("amount") not in (None, "") else ""]
    if data.get("km") is not None:
        lines.append(_("Mileage: %(km)s km") % {"km": shown_number(data["km"])})
    lines.append(data.get("vehicle", ""))
    return "\n".join(line for line in lines if line)


def register() -> None:
    event_wording("record_created", _created)
    event_wording("consent", _consent)
    event_wording("handover", gettext_lazy("Handed over from %(from)s to %(to)s"))
    event_wording("vehicle_passed", gettext_lazy("%(vehicle)s passed to another owner"))
    event_wording("vehicle_linked", lambda data: _("%(vehicle)s linked: %(relation)s") % {
        "vehicle": data["vehicle"], "relation": choice_label(VehicleLink.Kind, data["relation"])})
    event_wording("vehicle_unlinked", lambda data: _("%(vehicle)s: %(relation)s until %(date)s") % {
        "vehicle": data["vehicle"], "relation": choice_label(VehicleLink.Kind, data["relation"]),
        "date": shown_day(data["until"])})
    event_wording("mileage", lambda data: _("%(vehicle)s: %(km)s km") % {
        "vehicle": data["vehicle"], "km": shown_number(data["km"])})
    event_wording("household_joined", gettext_lazy("Joined the household “%(household)s”"))
    event_wording("household_left", gettext_lazy("Left the household “%(household)s”"))
    event_wording("verified", lambda data: _("Confirmed by the customer: %(what)s") % {
        "what": ", ".join(str(VERIFIABLE.get(kind, kind)) for kind in data["what"])})
    event_wording("archived_stale", lambda data: _("Archived: no contact for %(years)d years") % data)
    event_wording("archived", gettext_lazy("Archived by hand"))
    event_wording("restored", gettext_lazy("Restored from the archive"))
    event_wording("merged", gettext_lazy("Merged with %(names)s"))
    event_wording("company_role", lambda data: _("%(role)s at %(company)s") % {
        "role": choice_label(CompanyRole, data["role"]), "company": data["company"]})
    event_wording("deletion_asked", gettext_lazy("Asked in the owner portal for their data to be deleted"))
    event_wording("bought", gettext_lazy("Bought %(vehicle)s"), amount_line)
    event_wording("visit", _visit, _visit_details)
