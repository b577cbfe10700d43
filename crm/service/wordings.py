"""How the service module's timeline events read, in the reader's language (``crm.customers.timeline``)."""

from django.utils.translation import gettext as _

from crm.customers.timeline import choice_label, event_wording, shown_moment

from .models import DeclinedRecommendation


def register() -> None:
    event_wording("declined_status", lambda data: _("Declined work “%(work)s”: %(status)s") % {
        "work": data["work"],
        "status": choice_label(DeclinedRecommendation.Status, data["status"])})
    event_wording("appointment_mail", lambda data: (
        _("Appointment confirmation for %(when)s e-mailed to %(to)s") if data["what"] == "confirmation"
        else _("Appointment reminder for %(when)s e-mailed to %(to)s")) % {
        "to": data["to"], "when": shown_moment(data["at"], data.get("tz", ""))})
    event_wording("appointment_booked", lambda data: _("Appointment booked: %(service)s on %(when)s") % {
        "service": data["service"], "when": shown_moment(data["at"], data.get("tz", ""))})
