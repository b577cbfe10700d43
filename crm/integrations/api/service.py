"""Service visits (repair orders), appointments and the capacity they are booked from."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, FilterLookup, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from accounts.models import User
from crm.customers.models import Vehicle
from crm.dealerships.models import Rooftop
from crm.integrations import sync
from crm.integrations.models import Module
from crm.service.booking import Full, appointment_book, appointment_move
from crm.service.dms import advisors_match
from crm.service.models import Appointment, JobCategory, ServiceType, ServiceVisit, Slot

from .base import ApiError, Bool, Date, Input, Int, KeyAuth, Listing, answers, referenced, referenced_customer

router = Router(auth=KeyAuth(Module.SERVICE), tags=["service"])
reference = Router(auth=KeyAuth(None), tags=["reference"])


class RooftopOut(Schema):
    id: int
    name: str
    city: str
    address: str
    timezone: str
    phone: str
    is_active: bool


@reference.get("/rooftops", response=answers(200, list[RooftopOut]), summary="The group's rooftops (any key)")
def rooftop_list(request: HttpRequest) -> QuerySet[Rooftop]:
    return Rooftop.objects.order_by("name", "pk")


class ServiceTypeOut(Schema):
    id: int
    code: str
    name: str
    labour_hours: Decimal
    online_bookable: bool

    @staticmethod
    def resolve_name(service_type: ServiceType) -> str:
        return str(service_type)


@reference.get("/service-types", response=answers(200, list[ServiceTypeOut]), summary="Services that can be booked")
def service_type_list(request: HttpRequest) -> QuerySet[ServiceType]:
    return ServiceType.objects.all()


class LineOut(Schema):
    id: int
    ref: str | None = Field(alias="source_key", description="The line's key in the system it came from.")
    kind: str
    category: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    labour_hours: Decimal | None


class DeclinedOut(Schema):
    id: int
    ref: str | None = Field(alias="source_key")
    category: str
    description: str
    estimate: Decimal | None
    follow_up_on: date
    status: str


class VisitOut(Schema):
    id: int
    order_ref: str = Field(alias="source_ref", description="The DMS's reference, if it came from there.")
    order_number: str
    rooftop_id: int | None
    vehicle_id: int
    customer_id: int | None = Field(alias="person_id")
    company_id: int | None
    advisor_id: int | None
    advisor_name: str = Field(description="The advisor as written by the DMS when no member of staff has the name.")
    status: str
    opened_on: date
    closed_on: date | None
    mileage: int | None
    labour_amount: Decimal
    parts_amount: Decimal
    total_amount: Decimal
    repeat_of_id: int | None
    lines: list[LineOut]
    declined: list[DeclinedOut]


Money = Field(default=None, ge=0, le=Decimal("9999999.99"), max_digits=9, decimal_places=2)
SignedMoney = Field(default=None, ge=Decimal("-9999999.99"), le=Decimal("9999999.99"), max_digits=9, decimal_places=2)
Ref = Field(default=None, min_length=1, max_length=60,
            description="The line's number or id in the DMS: the same `ref` updates the same line. Without it, "
                        "lines are matched by position.")
Category = Literal[tuple(JobCategory.values)]  # type: ignore[valid-type]


class LineIn(Input):
    ref: str | None = Ref
    kind: Literal["labour", "part"]
    category: Category | None = Field(default=None, description="Guessed from the description when missing.")
    description: str = Field(..., min_length=1, max_length=300)
    quantity: Decimal = Field(default=Decimal(1), gt=0, le=Decimal("99999999.99"), max_digits=10, decimal_places=2)
    unit_price: Decimal | None = SignedMoney
    amount: Decimal | None = Field(default=None, ge=Decimal("-9999999.99"), le=Decimal("9999999.99"), max_digits=9,
                                   decimal_places=2, description="Default: quantity times unit price (a discount "
                                                                 "may make it less, a credit line negative).")
    labour_hours: Decimal | None = Field(default=None, ge=0, le=Decimal("9999.99"), max_digits=6, decimal_places=2)


class DeclinedIn(Input):
    ref: str | None = Ref
    category: Category | None = Field(default=None, description="Guessed from the description when missing.")
    description: str = Field(..., min_length=1, max_length=300)
    estimate: Decimal | None = Money
    follow_up_on: Date | None = Field(default=None, description="Default: a month after the order opened.")


class VisitIn(Input):
    vin: str = Field(..., min_length=11, max_length=17, pattern=r"^[A-Za-z0-9]+$")
    customer_id: Int | None = None
    rooftop_id: Int | None = None
    order_number: str = Field(default="", max_length=40)
    opened_on: Date
    closed_on: Date | None = Field(default=None, description="Set once the order is closed; the visit closes then.")
    mileage: Int | None = Field(default=None, ge=0, le=3_000_000)
    labour_amount: Decimal | None = Money
    parts_amount: Decimal | None = Money
    total_amount: Decimal | None = Money
    advisor_id: Int | None = Field(default=None, description="A member of staff (not with `advisor_name`).")
    advisor_name: str | None = Field(default=None, min_length=1, max_length=150,
                                     description="The advisor as the DMS writes them: taken to be the member of "
                                                 "staff with that name (any script, either order), else kept as "
                                                 "written.")
    lines: list[LineIn] | None = Field(default=None, max_length=500,
                                       description="The order's job lines as the DMS has them now: they replace the "
                                                   "lines sent before (lines typed in the CRM stay), and the amounts "
                                                   "follow them (so send no amounts with lines).")
    declined: list[DeclinedIn] | None = Field(default=None, max_length=200,
                                              description="Work the customer declined, followed up in the CRM: "
                                                          "added or updated by `ref`, never removed by a later call "
                                                          "(its status and follow-up date belong to the CRM once "
                                                          "set).")


class VisitFilters(Listing):
    status: Literal["open", "closed"] | None = None
    rooftop_id: int | None = None
    customer_id: Annotated[int | None, FilterLookup("person_id")] = None
    vehicle_id: int | None = None
    closed_since: Annotated[Date | None, FilterLookup("closed_on__gte")] = None
    ordering: Literal["id", "-id", "opened_on", "-opened_on", "closed_on", "-closed_on"] = "id"

    def order(self) -> tuple[Any, ...]:
        field = F(self.ordering.lstrip("-"))  # open visits have no closing day: last either way
        return (field.desc(nulls_last=True) if self.ordering.startswith("-") else field.asc(nulls_last=True), "pk")


def _visits() -> QuerySet[ServiceVisit]:
    return ServiceVisit.objects.prefetch_related("lines", "declined")


@router.get("/visits", response=answers(200, list[VisitOut]), summary="List service visits")
@paginate
def visit_list(request: HttpRequest, filters: Query[VisitFilters]) -> QuerySet[ServiceVisit]:
    return filters.apply(_visits())


@router.get("/visits/{int:visit_id}", response=answers(200, VisitOut), summary="A service visit")
def visit_detail(request: HttpRequest, visit_id: int) -> ServiceVisit:
    return get_object_or_404(_visits(), pk=visit_id)


def _keyed(items: list[LineIn] | list[DeclinedIn] | None, field: str) -> list[tuple[str, Any]]:
    """Each line with its key within the order (its ``ref``, else its position), or a 422 naming the line."""
    keyed: dict[str, Any] = {}
    for position, item in enumerate(items or []):
        key = item.ref or f"#{position + 1}"
        if key in keyed:
            raise ApiError(422, "invalid", _("Two lines have this ref."), f"{field}.{position}.ref")
        if not item.description.strip():
            raise ApiError(422, "invalid", _("Describe the work."), f"{field}.{position}.description")
        keyed[key] = item
    return list(keyed.items())


def _advisor(payload: VisitIn) -> tuple[bool, User | None, str]:
    """Whether the advisor was sent, the member of staff and the name kept as written."""
    if payload.advisor_id is not None and payload.advisor_name is not None:
        raise ApiError(422, "invalid", _("Send the advisor's id or name, not both."), "advisor_name")
    if payload.advisor_id is not None:
        advisor = User.objects.exclude(role="").filter(pk=payload.advisor_id).first()
        if advisor is None:
            raise ApiError(422, "invalid", _("No such member of staff."), "advisor_id")
        return True, advisor, ""
    if payload.advisor_name is not None:
        name = " ".join(payload.advisor_name.split())
        found = advisors_match([name]).get(name)
        return True, User.objects.get(pk=found) if found else None, "" if found else name
    return False, None, ""


def _line_values(key: str, line: LineIn, position: int) -> dict[str, Any]:
    amount = line.amount if line.amount is not None else line.quantity * (line.unit_price or Decimal(0))
    if abs(amount) > Decimal("9999999.99"):
        raise ApiError(422, "invalid", _("Quantity times unit price is too large: send the amount."),
                       f"lines.{position}.amount")
    unit_price = line.unit_price if line.unit_price is not None else amount / line.quantity
    return {**line.dict(), "key": key, "description": line.description.strip(), "category": line.category or "",
            "amount": amount.quantize(Decimal("0.01")), "unit_price": unit_price.quantize(Decimal("0.01"))}


@router.put("/visits/by-ref/{order_ref}", response={**answers(200, VisitOut), 201: VisitOut},
            summary="Create or update a repair order by the DMS's reference",
            description="Opened once; amounts, mileage, advisor, job lines and declined work follow the DMS "
                        "(lines keyed by `ref`, else position); closed once, when `closed_on` first comes (the "
                        "customer's timeline, the repeat-repair flag, the survey and the `visit.closed` webhook "
                        "follow).")
def visit_upsert(request: HttpRequest, order_ref: Annotated[str, Path(max_length=120)],
                 payload: VisitIn) -> Status:
    vehicle = Vehicle.objects.filter(vin=payload.vin.upper()).first()
    if vehicle is None:
        raise ApiError(422, "invalid", _("No car with this VIN: send it to /vehicles/by-vin/ first."), "vin")
    person = referenced_customer(payload.customer_id)
    rooftop = referenced(Rooftop, payload.rooftop_id, "rooftop_id", _("No such rooftop."))
    if payload.opened_on > timezone.localdate():
        raise ApiError(422, "invalid", _("A visit cannot be opened in the future."), "opened_on")
    if payload.closed_on is not None and payload.closed_on < payload.opened_on:
        raise ApiError(422, "invalid", _("A visit cannot close before it opened."), "closed_on")
    fields = payload.dict(include={"order_number", "mileage", "labour_amount", "parts_amount", "total_amount"},
                          exclude_unset=True, exclude_none=True)
    if payload.lines is not None and {"labour_amount", "parts_amount", "total_amount"} & fields.keys():
        raise ApiError(422, "invalid", _("The amounts follow the lines: send the lines or the amounts, not both."),
                       "lines")
    lines, declined = _keyed(payload.lines, "lines"), _keyed(payload.declined, "declined")
    advisor_sent, advisor, advisor_name = _advisor(payload)
    if advisor_sent:
        fields |= {"advisor": advisor, "advisor_name": advisor_name}
    visit, created = sync.visit_upsert(
        order_ref=order_ref, vehicle=vehicle, person=person, rooftop=rooftop, opened_on=payload.opened_on,
        closed_on=payload.closed_on, fields=fields,
        lines=None if payload.lines is None else [_line_values(key, line, position)
                                                  for position, (key, line) in enumerate(lines)],
        declined=None if payload.declined is None else [
            {**item.dict(), "key": key, "description": item.description.strip(), "category": item.category or ""}
            for key, item in declined])
    return Status(201 if created else 200, _visits().get(pk=visit.pk))


class SlotOut(Schema):
    id: int
    rooftop_id: int
    starts_at: datetime
    capacity: int
    booked: int
    online_capacity: int
    online_booked: int


class CapacityFilters(Schema):
    rooftop_id: int
    date_from: Date | None = Field(None, description="Default: today.")
    days: int = Field(7, ge=1, le=31)
    online: bool = Field(False, description="Only times with a seat left for online bookings.")


@router.get("/capacity", response=answers(200, list[SlotOut]),
            summary="Reception times with a seat free, from now on")
def capacity(request: HttpRequest, filters: Query[CapacityFilters]) -> QuerySet[Slot]:
    get_object_or_404(Rooftop, pk=filters.rooftop_id)
    start = filters.date_from or timezone.localdate()
    slots = Slot.objects.filter(rooftop_id=filters.rooftop_id, starts_at__date__gte=start,
                                starts_at__date__lt=start + timedelta(days=filters.days),
                                starts_at__gt=timezone.now(), booked__lt=F("capacity"))
    if filters.online:
        slots = slots.filter(online_booked__lt=F("online_capacity"))
    return slots.order_by("starts_at", "pk")


class AppointmentOut(Schema):
    id: int
    rooftop_id: int
    slot_id: int
    starts_at: datetime
    service_type_id: int
    vehicle_id: int
    customer_id: int | None = Field(alias="person_id")
    advisor_id: int | None
    status: str
    channel: str
    labour_hours: Decimal
    comment: str
    created_at: datetime

    @staticmethod
    def resolve_starts_at(appointment: Appointment) -> datetime:
        return appointment.slot.starts_at


class AppointmentIn(Input):
    slot_id: Int
    service_type_id: Int
    vehicle_id: Int
    customer_id: Int | None = None
    comment: str = Field(default="", max_length=1000)
    online: Bool = Field(False, description="Take the seat from the online share, as the owners' site does.")


class AppointmentChange(Input):
    status: Literal[tuple(s for s in Appointment.Status.values if s != "booked")]  # type: ignore[valid-type]


class AppointmentFilters(Listing):
    rooftop_id: int | None = None
    status: Literal[tuple(Appointment.Status.values)] | None = None  # type: ignore[valid-type]
    customer_id: Annotated[int | None, FilterLookup("person_id")] = None
    date_from: Annotated[Date | None, FilterLookup("slot__starts_at__date__gte")] = None
    date_to: Annotated[Date | None, FilterLookup("slot__starts_at__date__lte")] = None
    ordering: Literal["id", "-id", "starts_at", "-starts_at"] = "starts_at"

    def order(self) -> tuple[Any, ...]:
        return (self.ordering.replace("starts_at", "slot__starts_at"), "pk")


def _appointments() -> QuerySet[Appointment]:
    return Appointment.objects.select_related("slot")


@router.get("/appointments", response=answers(200, list[AppointmentOut]), summary="List appointments")
@paginate
def appointment_list(request: HttpRequest, filters: Query[AppointmentFilters]) -> QuerySet[Appointment]:
    return filters.apply(_appointments())


@router.get("/appointments/{int:appointment_id}", response=answers(200, AppointmentOut), summary="An appointment")
def appointment_detail(request: HttpRequest, appointment_id: int) -> Appointment:
    return get_object_or_404(_appointments(), pk=appointment_id)


@router.post("/appointments", response=answers(201, AppointmentOut), summary="Book an appointment",
             description="Takes a seat of the slot and the day's labour hours for the service, as booking at the "
                         "counter does; 409 when the slot or the day is full.")
def appointment_create(request: HttpRequest, payload: AppointmentIn) -> Status:
    slot = referenced(Slot, payload.slot_id, "slot_id")
    service_type = referenced(ServiceType, payload.service_type_id, "service_type_id")
    vehicle = referenced(Vehicle, payload.vehicle_id, "vehicle_id")
    person = referenced_customer(payload.customer_id)
    channel = Appointment.Channel.ONLINE if payload.online else Appointment.Channel.CRM
    try:
        appointment = appointment_book(slot=slot, service_type=service_type, vehicle=vehicle, by=None, person=person,
                                       channel=channel, comment=payload.comment)
    except Full as full:
        raise ApiError(409, "full", full.messages[0], "slot_id") from None
    return Status(201, _appointments().get(pk=appointment.pk))


@router.patch("/appointments/{int:appointment_id}", response=answers(200, AppointmentOut),
              summary="Move an appointment on: confirmed, arrived, in progress, done, no-show or cancelled")
def appointment_change(request: HttpRequest, appointment_id: int, payload: AppointmentChange) -> Appointment:
    appointment = get_object_or_404(Appointment, pk=appointment_id)
    appointment_move(appointment=appointment, status=payload.status, by=None)
    return _appointments().get(pk=appointment.pk)
