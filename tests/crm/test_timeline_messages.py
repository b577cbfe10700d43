"""Every message sent to a customer (campaigns, automations) is on their timeline, in time order with the rest,
worded in the reader's language and paged back to the first; messages not sent are not; nothing crosses groups."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from crm.customers.models import Person, TimelineEntry
from crm.marketing.models import Message

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _message(person, n, *, channel="sms", status="sent", subject=""):
    return Message.objects.create(key=f"test:{person.pk}:{n}", person=person, channel=channel, purpose="marketing",
                                  address="+4917100000", subject=subject, body=f"Winter check {n}\nSecond line",
                                  status=status, sent_at=START + timedelta(days=n) if status == "sent" else None)


def test_messages_sent_join_the_timeline_in_order_and_page_back_to_the_first(cast):
    with schema_context(cast.a.schema_name):
        person = Person.objects.create(family_name="Brief", given_name="Bea")
        for n in range(60):
            _message(person, 2 * n)  # even days: messages; odd days: entries of the CRM's own
            TimelineEntry.objects.create(person=person, kind=TimelineEntry.Kind.NOTE, summary=f"note {2 * n + 1}",
                                         occurred_at=START + timedelta(days=2 * n + 1))
        _message(person, 500, status="refused")
        _message(person, 121, channel="email", subject="Your invitation")
    staff = cast.signed_in(cast.a, cast.a_admin)

    with CaptureQueriesContext(connection) as queries:
        detail = staff.get(f"/crm/customers/{person.pk}/")
    first = detail.context["view"].timeline
    assert [entry.summary for entry in first[:3]] == ["E-mail sent: Your invitation", "note 119",
                                                      "SMS sent: Winter check 118"]
    assert "Winter check 118" in detail.text and "Second line" in detail.text
    assert len(queries) < 60  # a fixed number, not one per entry

    pages = [staff.get(f"/crm/customers/{person.pk}/timeline/", {"page": number}) for number in (1, 2, 3)]
    entries = [entry for page in pages for entry in page.context["entries"]]
    assert len(entries) == 121  # 60 messages sent, 60 notes, the e-mail; the refused one is not there
    assert [entry.occurred_at for entry in entries] == sorted((entry.occurred_at for entry in entries), reverse=True)
    assert entries[-1].summary == "SMS sent: Winter check 0"

    staff.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    assert "Отправлено (SMS): Winter check 118" in staff.get(f"/crm/customers/{person.pk}/").text
    assert cast.signed_in(cast.b, cast.b_admin).get(f"/crm/customers/{person.pk}/timeline/").status_code == 404
