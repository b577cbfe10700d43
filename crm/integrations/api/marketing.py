"""Campaigns (read), events and the customers' answers to them (RSVPs)."""

from datetime import datetime
from typing import Annotated, Literal

from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, FilterLookup, Query, Router, Schema, Status
from ninja.pagination import paginate

from crm.integrations.models import Module
from crm.marketing.events import member_answer
from crm.marketing.models import Campaign, Event, EventInvitation

from .base import Bool, DateTime, Input, Int, KeyAuth, Listing, answers, referenced_customer

router = Router(auth=KeyAuth(Module.MARKETING), tags=["marketing"])


class CampaignOut(Schema):
    id: int
    name: str
    status: str
    channel: str
    scheduled_at: datetime | None
    finished_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_channel(campaign: Campaign) -> str:
        return campaign.template.channel


class CampaignFilters(Listing):
    status: Literal[tuple(Campaign.Status.values)] | None = None  # type: ignore[valid-type]
    ordering: Literal["id", "-id", "scheduled_at", "-scheduled_at"] = "-id"


@router.get("/campaigns", response=answers(200, list[CampaignOut]), summary="List campaigns")
@paginate
def campaign_list(request: HttpRequest, filters: Query[CampaignFilters]) -> QuerySet[Campaign]:
    return filters.apply(Campaign.objects.select_related("template"))


@router.get("/campaigns/{int:campaign_id}", response=answers(200, CampaignOut), summary="A campaign")
def campaign_detail(request: HttpRequest, campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("template"), pk=campaign_id)


class EventOut(Schema):
    id: int
    name: str
    kind: str
    rooftop_id: int | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    seats_taken: int = Field(description="Guests included.")
    cancelled: bool

    @staticmethod
    def resolve_seats_taken(event: Event) -> int:
        return event.coming + (event.guests or 0)

    @staticmethod
    def resolve_cancelled(event: Event) -> bool:
        return event.cancelled_at is not None


class EventFilters(Listing):
    kind: Literal[tuple(Event.Kind.values)] | None = None  # type: ignore[valid-type]
    starts_after: Annotated[DateTime | None, FilterLookup("starts_at__gte")] = None
    ordering: Literal["id", "-id", "starts_at", "-starts_at"] = "starts_at"


def _events() -> QuerySet[Event]:
    accepted = Q(invitations__status=EventInvitation.Status.ACCEPTED)
    return Event.objects.annotate(coming=Count("invitations", filter=accepted),
                                  guests=Sum("invitations__guests", filter=accepted))


@router.get("/events", response=answers(200, list[EventOut]), summary="List events")
@paginate
def event_list(request: HttpRequest, filters: Query[EventFilters]) -> QuerySet[Event]:
    return filters.apply(_events())


@router.get("/events/{int:event_id}", response=answers(200, EventOut), summary="An event")
def event_detail(request: HttpRequest, event_id: int) -> Event:
    return get_object_or_404(_events(), pk=event_id)


class RsvpOut(Schema):
    id: int
    customer_id: int = Field(alias="person_id")
    status: str
    guests: int
    responded_at: datetime | None
    checked_in_at: datetime | None


class RsvpIn(Input):
    customer_id: Int
    coming: Bool
    guests: Int = Field(0, ge=0, le=4)


@router.get("/events/{int:event_id}/rsvps", response=answers(200, list[RsvpOut]),
            summary="Who is invited to an event, and their answers")
@paginate
def rsvp_list(request: HttpRequest, event_id: int) -> QuerySet[EventInvitation]:
    event = get_object_or_404(Event, pk=event_id)
    return EventInvitation.objects.filter(event=event).order_by("pk")


@router.post("/events/{int:event_id}/rsvps", response=answers(201, RsvpOut),
             summary="A customer's answer to an event",
             description="A seat if there is room for them and their guests, else the waiting list, as by their "
                         "invitation link; \"no\" frees the seat for the waiting list.")
def rsvp_answer(request: HttpRequest, event_id: int, payload: RsvpIn) -> Status:
    event = get_object_or_404(Event, pk=event_id)
    invitation = member_answer(event=event, person=referenced_customer(payload.customer_id), coming=payload.coming,
                               guests=payload.guests)
    return Status(201, invitation)
