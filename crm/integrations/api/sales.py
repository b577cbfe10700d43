"""Prospects and deals."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, FilterLookup, Query, Router, Schema, Status
from ninja.pagination import paginate

from crm.dealerships.models import Rooftop
from crm.integrations.models import Module
from crm.sales.models import WORKED_LEVELS, Condition, Level, Opportunity, Prospect, Source, Stage
from crm.sales.services import ProspectHeld, prospect_create

from .base import ApiError, Bool, Date, Input, Int, KeyAuth, Listing, answers, referenced, referenced_customer

router = Router(auth=KeyAuth(Module.SALES), tags=["sales"])


class ProspectOut(Schema):
    id: int
    customer_id: int = Field(alias="person_id")
    rooftop_id: int | None
    salesperson_id: int | None
    source: str
    source_detail: str
    model_interest: str
    condition: str
    level: str
    lost_reason: str
    registered_on: date
    first_response_at: datetime | None
    next_contact_on: date | None
    ordered_on: date | None
    closed_on: date | None
    created_at: datetime


class ProspectIn(Input):
    customer_id: Int
    level: Literal[tuple(str(level) for level in WORKED_LEVELS)] = "C"  # type: ignore[valid-type]
    source: Literal[tuple(Source.values)]  # type: ignore[valid-type]
    source_detail: str = Field(default="", max_length=200)
    model_interest: str = Field(default="", max_length=120)
    condition: Literal[tuple(Condition.values)] = Condition.NEW  # type: ignore[valid-type]
    trade_in: Bool = False
    financing: Bool = False
    notes: str = Field(default="", max_length=4000)
    rooftop_id: Int | None = None


class ProspectFilters(Listing):
    level: Literal[tuple(Level.values)] | None = None  # type: ignore[valid-type]
    source: Literal[tuple(Source.values)] | None = None  # type: ignore[valid-type]
    rooftop_id: int | None = None
    salesperson_id: int | None = None
    customer_id: Annotated[int | None, FilterLookup("person_id")] = None
    registered_since: Annotated[Date | None, FilterLookup("registered_on__gte")] = None
    ordering: Literal["id", "-id", "registered_on", "-registered_on", "next_contact_on", "-next_contact_on"] = "id"


@router.get("/prospects", response=answers(200, list[ProspectOut]), summary="List prospects")
@paginate
def prospect_list(request: HttpRequest, filters: Query[ProspectFilters]) -> QuerySet[Prospect]:
    return filters.apply(Prospect.objects.all())


@router.get("/prospects/{int:prospect_id}", response=answers(200, ProspectOut), summary="A prospect")
def prospect_detail(request: HttpRequest, prospect_id: int) -> Prospect:
    return get_object_or_404(Prospect, pk=prospect_id)


@router.post("/prospects", response=answers(201, ProspectOut),
             summary="Register a prospect (a lead from the website or a third party)",
             description="Routed to the rooftop's next salesperson in turn, with a first contact due within a day. "
                         "A customer with an open prospect gets 409 with the open one's id in the message.")
def prospect_register(request: HttpRequest, payload: ProspectIn) -> Status:
    person = referenced_customer(payload.customer_id)
    rooftop = referenced(Rooftop, payload.rooftop_id, "rooftop_id", _("No such rooftop."))
    values = payload.dict(exclude={"customer_id", "level", "rooftop_id"})
    try:
        prospect = prospect_create(person=person, by=None, level=payload.level, fields=values,
                                   rooftop=rooftop, route=True)
    except ProspectHeld as held:
        raise ApiError(409, "prospect_open", _("This customer already has an open prospect (%(id)s).")
                       % {"id": held.prospect.pk}) from None
    return Status(201, prospect)


class OpportunityOut(Schema):
    id: int
    prospect_id: int
    model: str
    condition: str
    amount: Decimal | None
    trade_in_amount: Decimal | None
    probability: int
    expected_close: date | None
    stage: str
    stage_changed_at: datetime
    lost_reason: str
    vehicle_id: int | None
    delivered_on: date | None
    created_at: datetime


class OpportunityFilters(Listing):
    stage: Literal[tuple(Stage.values)] | None = None  # type: ignore[valid-type]
    prospect_id: int | None = None
    expected_close_before: Annotated[Date | None, FilterLookup("expected_close__lte")] = None
    ordering: Literal["id", "-id", "expected_close", "-expected_close", "stage_changed_at", "-stage_changed_at"] = "id"


@router.get("/opportunities", response=answers(200, list[OpportunityOut]), summary="List deals")
@paginate
def opportunity_list(request: HttpRequest, filters: Query[OpportunityFilters]) -> QuerySet[Opportunity]:
    return filters.apply(Opportunity.objects.all())


@router.get("/opportunities/{int:opportunity_id}", response=answers(200, OpportunityOut), summary="A deal")
def opportunity_detail(request: HttpRequest, opportunity_id: int) -> Opportunity:
    return get_object_or_404(Opportunity, pk=opportunity_id)
