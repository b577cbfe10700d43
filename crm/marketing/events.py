"""Events: invitations from a segment (or, for a "second delivery" evening, everyone who got a car in
the four weeks before it), answers by a token link with seats and a waiting list, check-in at the door.

Seats are counted under a lock on the event, so two last-minute answers cannot both take the last
seat; a "no" or a cancelled seat goes to the first on the waiting list it fits.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from crm.customers.models import Person, TimelineEntry, VehicleLink
from crm.customers.timeline import timeline_event

from .channels import Deferred, message_send
from .models import Event, EventInvitation, Message, MessageTemplate

# A "second delivery" evening is for everyone who took delivery of a car in the weeks before it.
SECOND_DELIVERY_WEEKS = 4


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def second_delivery_audience(event: Event):
    """Owners whose car became theirs in the four weeks before the evening."""
    since = timezone.localdate(event.starts_at) - timedelta(weeks=SECOND_DELIVERY_WEEKS)
    return Person.objects.active().filter(pk__in=VehicleLink.objects.filter(
        kind=VehicleLink.Kind.OWNER, ended_on__isnull=True, started_on__gte=since,
        started_on__lte=timezone.localdate(event.starts_at)).values("person_id"))


@dataclass(frozen=True)
class Invited:
    invitation: EventInvitation
    token: str  # shown once, in the message; only its hash is stored


def invite(*, event: Event, people, template: MessageTemplate | None = None) -> dict[str, int]:
    """Invite each person once (a second call skips those already invited) and, with a template, send
    each an invitation with their own answer link through the sending gate (consent, cap, quiet hours)."""
    if event.cancelled_at is not None:
        raise ValidationError(_("This event is cancelled."))
    invited = set(EventInvitation.objects.filter(event=event).values_list("person_id", flat=True))
    counts = {"invited": 0, "sent": 0, "not_sent": 0}
    host = getattr(connection.tenant, "primary_host", "")
    when = formats.date_format(timezone.localtime(event.starts_at), "SHORT_DATETIME_FORMAT")
    for person in people.exclude(pk__in=invited):
        token = secrets.token_urlsafe(24)
        try:
            with transaction.atomic():
                invitation = EventInvitation.objects.create(event=event, person=person, token_hash=_digest(token))
        except IntegrityError:  # invited a moment ago (a double click)
            continue
        counts["invited"] += 1
        if template is None:
            continue
        result = message_send(person=person, template=template, key=f"event:{event.pk}:{person.pk}", extra={
            "event": event.name, "event_when": when,
            "rsvp_url": f"https://{host}{reverse('event_answer', args=[token])}"})
        sent = not isinstance(result, Deferred) and result.status == Message.Status.SENT
        counts["sent" if sent else "not_sent"] += 1
        if isinstance(result, Deferred) or result.status == Message.Status.FAILED:
            # Not refused, just not sent now: the link is gone with this attempt, so the invitation goes
            # too and the next "Invite" tries again.
            invitation.delete()
            Message.objects.filter(pk=getattr(result, "pk", None)).delete()
            counts["invited"] -= 1
            continue
        if not sent:
            continue
        timeline_event("event_invited", {"event": event.name}, kind=TimelineEntry.Kind.MESSAGE, person=person,
                       rooftop_id=event.rooftop_id, source_ref=f"event:{event.pk}:invited:{person.pk}").save()
    return counts


def invitation_for(token: str) -> EventInvitation:
    invitation = (EventInvitation.objects.select_related("event", "person").filter(token_hash=_digest(token))
                  .first())
    if invitation is None:
        raise EventInvitation.DoesNotExist
    return invitation


def seats_taken(event: Event) -> int:
    taken = EventInvitation.objects.filter(event=event, status=EventInvitation.Status.ACCEPTED).aggregate(
        people=Count("pk"), guests=Sum("guests"))
    return taken["people"] + (taken["guests"] or 0)


def _promote(event: Event) -> list[EventInvitation]:
    """Give free seats to the waiting list in the order people answered, as long as they fit."""
    free = event.capacity - seats_taken(event)
    promoted = []
    for waiting in EventInvitation.objects.filter(event=event, status=EventInvitation.Status.WAITLISTED).order_by(
            "responded_at", "pk"):
        if waiting.seats <= free:
            waiting.status = EventInvitation.Status.ACCEPTED
            waiting.save(update_fields=["status"])
            free -= waiting.seats
            promoted.append(waiting)
            _tell_promoted(event, waiting)
    return promoted


def _tell_promoted(event: Event, invitation: EventInvitation) -> None:
    """The customer asked for a seat and now has one: they are told by e-mail, in their language (an
    answer to their own request, not marketing), once the seat is committed."""
    from django.core.mail import EmailMessage
    from django.utils import translation

    from accounts.mail import email_message_to_dict
    from accounts.tasks import email_send
    from config.celery import enqueue_on_commit
    from crm.customers.services import tenant_language

    person = invitation.person
    address = person.email_address()
    if not address:
        return
    with translation.override(person.preferred_language or tenant_language()):
        when = formats.date_format(timezone.localtime(event.starts_at), "DATETIME_FORMAT")
        message = EmailMessage(
            _("A seat is free for you: %(event)s") % {"event": event.name},
            _("Good news: a seat has become free at %(event)s on %(when)s, and it is yours. If you can no "
              "longer come, please answer with the link in your invitation.") % {"event": event.name, "when": when},
            to=[address])
    enqueue_on_commit(email_send, email_message_to_dict(message))


@transaction.atomic
def answer(*, token: str, coming: bool, guests: int = 0) -> EventInvitation:
    """The customer's answer by their link: a seat if there is room for them and their guests, else the
    waiting list; "no" frees their seat for the waiting list. Answers can change until the event starts."""
    return _answer(invitation_for(token), coming=coming, guests=guests)


@transaction.atomic
def member_answer(*, event: Event, person: Person, coming: bool, guests: int = 0) -> EventInvitation:
    """A signed-in club member's answer from the portal: their invitation is made if they had none,
    then it is the same answer as by the link (seats, waiting list, changes until the start)."""
    Event.objects.select_for_update().get(pk=event.pk)
    invitation = EventInvitation.objects.filter(event=event, person=person).first()
    if invitation is None:
        if event.cancelled_at is not None:
            raise ValidationError(_("This event is cancelled."))
        try:
            with transaction.atomic():
                invitation = EventInvitation.objects.create(event=event, person=person,
                                                            token_hash=_digest(secrets.token_urlsafe(24)))
        except IntegrityError:  # staff invited them at this moment
            invitation = EventInvitation.objects.get(event=event, person=person)
    return _answer(invitation, coming=coming, guests=guests)


def _answer(invitation: EventInvitation, *, coming: bool, guests: int) -> EventInvitation:
    event = Event.objects.select_for_update().get(pk=invitation.event_id)  # one answer at a time per event
    invitation.refresh_from_db()
    if event.cancelled_at is not None:
        raise ValidationError(_("This event is cancelled."))
    if event.starts_at <= timezone.now():
        raise ValidationError(_("This event has started: answers are closed."))
    if not 0 <= guests <= 4:
        raise ValidationError({"guests": _("Up to four guests.")})
    was_accepted = invitation.status == EventInvitation.Status.ACCEPTED
    if not coming:
        invitation.status, invitation.guests, invitation.responded_at = (EventInvitation.Status.DECLINED, 0,
                                                                         timezone.now())
    else:
        free = event.capacity - seats_taken(event) + (invitation.seats if was_accepted else 0)
        if was_accepted and 1 + guests > free:
            raise ValidationError({"guests": ngettext("Only %(free)s seat is left for you and your guests.",
                                                      "Only %(free)s seats are left for you and your guests.",
                                                      free) % {"free": free}})
        if invitation.status not in (EventInvitation.Status.ACCEPTED, EventInvitation.Status.WAITLISTED):
            invitation.responded_at = timezone.now()  # the waiting list is in the order people said yes
        invitation.guests = guests
        invitation.status = (EventInvitation.Status.ACCEPTED if invitation.seats <= free
                             else EventInvitation.Status.WAITLISTED)
    invitation.save(update_fields=["status", "guests", "responded_at"])
    if was_accepted or not coming:
        _promote(event)
    return invitation


@transaction.atomic
def check_in(*, invitation: EventInvitation, by: User | None) -> EventInvitation:
    """At the door: attendance is on the customer's timeline (someone not on the list is invited first)."""
    invitation = EventInvitation.objects.select_for_update().select_related("event").get(pk=invitation.pk)
    event, now = invitation.event, timezone.now()
    if event.cancelled_at is not None:
        raise ValidationError(_("This event is cancelled."))
    if not event.starts_at - timedelta(hours=6) <= now <= event.ends_at + timedelta(hours=6):
        raise ValidationError(_("Check-in opens on the day of the event."))
    if invitation.checked_in_at is not None:
        raise ValidationError(_("Already checked in at %(time)s.") % {
            "time": formats.time_format(timezone.localtime(invitation.checked_in_at), "TIME_FORMAT")})
    invitation.checked_in_at = now
    if invitation.status != EventInvitation.Status.ACCEPTED:  # came anyway: they are here, so they have a seat
        invitation.status = EventInvitation.Status.ACCEPTED
    invitation.save(update_fields=["checked_in_at", "status"])
    timeline_event("event_attended", {"event": invitation.event.name}, kind=TimelineEntry.Kind.CONTACT,
                   person_id=invitation.person_id, occurred_at=invitation.checked_in_at, author=by,
                   rooftop_id=invitation.event.rooftop_id,
                   source_ref=f"event:{invitation.event_id}:attended:{invitation.person_id}").save()
    return invitation


def event_figures(event: Event) -> dict[str, int]:
    """Invited, coming (and seats with guests), waiting, not coming, checked in: one query."""
    status = EventInvitation.Status
    figures = EventInvitation.objects.filter(event=event).aggregate(
        invited=Count("pk"), coming=Count("pk", filter=Q(status=status.ACCEPTED)),
        waiting=Count("pk", filter=Q(status=status.WAITLISTED)),
        declined=Count("pk", filter=Q(status=status.DECLINED)),
        attended=Count("pk", filter=Q(checked_in_at__isnull=False)),
        guests=Sum("guests", filter=Q(status=status.ACCEPTED)))
    figures["seats"] = figures["coming"] + (figures.pop("guests") or 0)
    return figures
