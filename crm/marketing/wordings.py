"""How marketing's timeline events read, in the reader's language (``crm.customers.timeline``)."""

from django.utils.translation import gettext_lazy

from crm.customers.timeline import event_wording


def register() -> None:
    event_wording("event_invited", gettext_lazy("Invited to %(event)s"))
    event_wording("event_attended", gettext_lazy("Attended %(event)s"))
