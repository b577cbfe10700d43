"""Events: invitations once per customer with their own link, seats with guests and a waiting list,
"second delivery" invitations to recent buyers, check-in on the timeline, nothing across tenants."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from crm.customers.models import Person, TimelineEntry, Vehicle, VehicleLink
from crm.customers.services import consent_record, person_create
from crm.dealerships.models import Rooftop
from crm.marketing import events
from crm.marketing.models import Event, EventInvitation, MessageTemplate, SendingRules

pytestmark = pytest.mark.django_db


def _event(capacity: int = 3, kind: str = "club", *, in_days: float = 10) -> Event:
    starts = timezone.now() + timedelta(days=in_days)
    return Event.objects.create(name="Winter driving class", kind=kind, capacity=capacity, starts_at=starts,
                                ends_at=starts + timedelta(hours=2), rooftop=Rooftop.objects.get(name="Alpha Berlin"))


def _tokens(cast, event: Event, count: int) -> list[str]:
    """Invite ``count`` new customers; the tokens are read from the invitation e-mails."""
    people = [person_create(by=None, fields={"family_name": f"Gast{n}", "given_name": "Gina"},
                            emails=[f"gast{n}@example.de"]) for n in range(count)]
    for person in people:
        consent_record(person=person, by=None, channel="email", purpose="marketing", granted=True, source="form")
    template = MessageTemplate.objects.create(name="Invitation", channel="email")
    template.texts.create(language="en", subject="{{ event }}", body="Join us on {{ event_when }}: {{ rsvp_url }}")
    SendingRules.objects.create(quiet_from="00:00", quiet_until="00:00", weekly_cap=10)
    events.invite(event=event, people=Person.objects.filter(pk__in=[p.pk for p in people]), template=template)
    return people


def _token_of(mailoutbox, address: str) -> str:
    body = next(message.body for message in mailoutbox if message.to == [address])
    return body.split("/event/")[1].split("/")[0]


def test_seats_with_guests_the_waiting_list_and_a_freed_seat(cast, mailoutbox, django_capture_on_commit_callbacks,
                                                             monkeypatch):
    from accounts.tasks import email_send

    # The e-mail task runs here, at commit, into the test outbox.
    monkeypatch.setattr(email_send, "apply_async",
                        lambda args=(), kwargs=None, **options: email_send.run(*args, **(kwargs or {})))
    with schema_context(cast.a.schema_name):
        event = _event(capacity=3)
        _tokens(cast, event, 4)
        again = events.invite(event=event, people=Person.objects.filter(family_name__startswith="Gast"))
        assert again["invited"] == 0  # invited once each
    assert len(mailoutbox) == 4 and "Winter driving class" in mailoutbox[0].subject
    client = cast.client(cast.a)
    first, second, third, fourth = (_token_of(mailoutbox, f"gast{n}@example.de") for n in range(4))

    assert "You are coming with 1 guest" in client.post(f"/event/{first}/", {"coming": "yes", "guests": "1"}).text
    assert "You are coming." in client.post(f"/event/{second}/", {"coming": "yes", "guests": "0"}).text
    full = client.post(f"/event/{third}/", {"coming": "yes", "guests": "0"})
    assert "waiting list" in full.text
    client.post(f"/event/{fourth}/", {"coming": "yes", "guests": "0"})
    too_many = client.post(f"/event/{second}/", {"coming": "yes", "guests": "2"})
    assert too_many.status_code == 400 and "Only 1 seat is left" in too_many.text

    sent_before = len(mailoutbox)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/event/{first}/", {"coming": "no"})  # two seats free: the first two on the list get them
    with schema_context(cast.a.schema_name):
        statuses = dict(EventInvitation.objects.filter(event=event).values_list("person__family_name", "status"))
        figures = events.event_figures(event)
    assert statuses == {"Gast0": "declined", "Gast1": "accepted", "Gast2": "accepted", "Gast3": "accepted"}
    assert (figures["coming"], figures["seats"], figures["waiting"]) == (3, 3, 0)
    told = [message.to[0] for message in mailoutbox[sent_before:]]
    assert sorted(told) == ["gast2@example.de", "gast3@example.de"]  # the promoted are told
    assert client.get("/event/not-a-token/").status_code == 404
    assert cast.client(cast.b).get(f"/event/{second}/").status_code == 404  # another group's host


def test_a_second_delivery_evening_invites_who_got_a_car_in_the_four_weeks_before(cast):
    with schema_context(cast.a.schema_name):
        event = _event(kind="second_delivery")
        day = timezone.localdate(event.starts_at)
        for name, bought in (("Frisch", day - timedelta(days=20)), ("Alt", day - timedelta(days=40))):
            person = person_create(by=None, fields={"family_name": name})
            car = Vehicle.objects.create(make="VW", model="ID.3")
            VehicleLink.objects.create(vehicle=car, person=person, kind="owner", started_on=bought)
        assert list(events.second_delivery_audience(event).values_list("family_name", flat=True)) == ["Frisch"]


def test_check_in_at_the_door_goes_on_the_timeline_once(cast, mailoutbox):
    with schema_context(cast.a.schema_name):
        event = _event(in_days=1 / 24)  # in an hour
        later = _event(in_days=10)
        (guest,) = _tokens(cast, event, 1)
        invitation = EventInvitation.objects.get(event=event, person=guest)
        early = EventInvitation.objects.create(event=later, person=guest, token_hash="x" * 64)
    staff = cast.signed_in(cast.a, cast.a_salesperson)
    assert staff.get(f"/crm/marketing/events/{event.pk}/?q=gast0").status_code == 403  # not their list
    assert staff.post(f"/crm/marketing/events/invitations/{invitation.pk}/check-in/").status_code == 403
    admin = cast.signed_in(cast.a, cast.a_admin)
    assert "Gina Gast0" in admin.get(f"/crm/marketing/events/{event.pk}/?q=gast").text
    admin.post(f"/crm/marketing/events/invitations/{invitation.pk}/check-in/")
    again = admin.post(f"/crm/marketing/events/invitations/{invitation.pk}/check-in/", follow=True)
    assert "Already checked in" in again.text
    too_soon = admin.post(f"/crm/marketing/events/invitations/{early.pk}/check-in/", follow=True)
    assert "Check-in opens on the day of the event." in too_soon.text
    with schema_context(cast.a.schema_name):
        assert TimelineEntry.objects.filter(person=guest, summary="Attended Winter driving class").count() == 1
        assert EventInvitation.objects.get(pk=invitation.pk).status == "accepted"  # came: has a seat
    bravo = cast.signed_in(cast.b, cast.b_admin)
    assert bravo.post(f"/crm/marketing/events/invitations/{invitation.pk}/check-in/").status_code == 404
    with CaptureQueriesContext(connection) as queries:
        admin.get(f"/crm/marketing/events/{event.pk}/")
    assert len(queries) < 30
