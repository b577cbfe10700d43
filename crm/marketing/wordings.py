"""How marketing shows on the customer's timeline, in the reader's language (``crm.customers.timeline``): its
events, and every message sent to the customer (campaigns, automations, reminders), read from the messages
themselves rather than copied onto the timeline."""

from django.db.models import QuerySet, Value
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.customers.models import TimelineEntry
from crm.customers.timeline import choice_label, event_wording, timeline_source

from .models import Message, MessageChannel


def _message_rows(person_id: int) -> QuerySet:
    return (Message.objects.filter(person_id=person_id, status=Message.Status.SENT, sent_at__isnull=False)
            .values_list(Value("message"), "pk", "sent_at"))


def _message_entries(ids: list[int]) -> dict[int, TimelineEntry]:
    entries = {}
    for message in Message.objects.filter(pk__in=ids):
        channel = choice_label(MessageChannel, message.channel)
        first_line = next((line.strip() for line in message.body.splitlines() if line.strip()), "")
        summary = _("%(channel)s sent: %(what)s") % {"channel": channel, "what": message.subject or first_line}
        entries[message.pk] = TimelineEntry(person_id=message.person_id, kind=TimelineEntry.Kind.MESSAGE,
                                            occurred_at=message.sent_at, summary=summary[:300],
                                            body=message.body[:500] if message.channel == MessageChannel.SMS else "")
    return entries


def register() -> None:
    event_wording("event_invited", gettext_lazy("Invited to %(event)s"))
    event_wording("event_attended", gettext_lazy("Attended %(event)s"))
    timeline_source("message", _message_rows, _message_entries)
