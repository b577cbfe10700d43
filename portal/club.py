"""The club as the owner sees it: their card, the club's events with their answer, and what joining
means. Reads and writes go through crm.loyalty and crm.marketing.events; this module only picks what
belongs to the signed-in owner."""

from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from crm.loyalty.models import Membership, Tier
from crm.marketing.models import Event, EventInvitation


def club_person_id(user: User) -> int | None:
    link = getattr(user, "customer_link", None)
    return link.person_id if link is not None else None


def is_member(person_id: int) -> bool:
    return Membership.objects.filter(person_id=person_id, left_at__isnull=True).exists()


@dataclass(frozen=True)
class ClubEvent:
    event: Event
    seats_left: int
    my_status: str | None
    my_guests: int


def club_events(person_id: int, limit: int = 10) -> list[ClubEvent]:
    """Coming club events with seats left and the member's own answer: one query."""
    mine = EventInvitation.objects.filter(event=OuterRef("pk"), person_id=person_id)
    accepted = Q(invitations__status=EventInvitation.Status.ACCEPTED)
    events = (Event.objects.filter(kind=Event.Kind.CLUB, cancelled_at__isnull=True, starts_at__gt=timezone.now())
              .select_related("rooftop")
              .annotate(taken=Count("invitations", filter=accepted)
                        + Coalesce(Sum("invitations__guests", filter=accepted), Value(0)),
                        my_status=Subquery(mine.values("status")[:1]),
                        my_guests=Subquery(mine.values("guests")[:1], output_field=IntegerField()))
              .order_by("starts_at")[:limit])
    return [ClubEvent(event=event, seats_left=max(0, event.capacity - event.taken), my_status=event.my_status,
                      my_guests=event.my_guests or 0) for event in events]


def club_event_for(event_pk: int) -> Event | None:
    """A club event an owner may answer: coming and not cancelled; anything else is not theirs to see."""
    return Event.objects.filter(pk=event_pk, kind=Event.Kind.CLUB, cancelled_at__isnull=True,
                                starts_at__gt=timezone.now()).first()


def tiers() -> list[Tier]:
    return list(Tier.objects.all())
