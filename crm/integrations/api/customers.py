"""Customers, companies with their contacts' roles, vehicles and consent."""

from datetime import date, datetime
from typing import Annotated, Literal

from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, FilterLookup, Path, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StringConstraints

from crm.customers.models import (
    Company,
    CompanyContact,
    Consent,
    ConsentChannel,
    ConsentPurpose,
    Person,
    Vehicle,
    VehicleLink,
)
from crm.customers.normalize import plate_key
from crm.customers.selectors import customer_search
from crm.customers.services import consent_record, person_create, tenant_region
from crm.dealerships.models import Rooftop
from crm.integrations import sync
from crm.integrations.models import Module

from .base import ApiError, Bool, Date, DateTime, Input, Int, KeyAuth, Listing, answers, referenced, referenced_customer

router = Router(auth=KeyAuth(Module.CUSTOMERS), tags=["customers"])

Text = Field(default="", max_length=120)
SystemName = Annotated[str, Path(max_length=40, pattern=r"^[\w.-]+$", description="The other system, e.g. “dms”.")]
RecordNumber = Annotated[str, Path(max_length=80, description="Its number for the record.")]
Vin = Annotated[str, Path(min_length=11, max_length=17, pattern=r"^[A-Za-z0-9]+$")]


class ExternalRefOut(Schema):
    system: str
    key: str


class CustomerOut(Schema):
    id: int
    family_name: str
    given_name: str
    middle_name: str
    gender: str
    birth_date: date | None
    address: str
    preferred_language: str
    rooftop_id: int | None
    phones: list[str]
    emails: list[str]
    external_refs: list[ExternalRefOut]
    archived: bool
    merged_into_id: int | None = Field(description="Set when this record was merged: follow it to the survivor.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_phones(person: Person) -> list[str]:
        return [phone.number for phone in person.phones.all()]

    @staticmethod
    def resolve_emails(person: Person) -> list[str]:
        return [email.address for email in person.emails.all()]

    @staticmethod
    def resolve_external_refs(person: Person) -> list:
        return list(person.external_refs.all())

    @staticmethod
    def resolve_archived(person: Person) -> bool:
        return person.archived_at is not None


class CustomerIn(Input):
    family_name: str = Text
    given_name: str = Text
    middle_name: str = Text
    gender: Literal["", "f", "m", "x"] = ""
    birth_date: Date | None = None
    address: str = Field(default="", max_length=300)
    preferred_language: Literal["", "en", "ru", "zh-hans"] = ""
    rooftop_id: Int | None = None
    phones: list[str] = Field(default=[], max_length=10)
    emails: list[Annotated[str, StringConstraints(max_length=254)]] = Field(default=[], max_length=10)


def _fields(payload: CustomerIn) -> dict:
    values = payload.dict(exclude_unset=True, exclude={"phones", "emails"})
    if "rooftop_id" in values:
        values["rooftop"] = referenced(Rooftop, values.pop("rooftop_id"), "rooftop_id", _("No such rooftop."))
    return values


def _own_system(request: HttpRequest, system: str) -> None:
    """A key writes the numbers of its own system only: the website's key cannot rewrite the DMS's."""
    if system != request.api_key.system:
        raise ApiError(403, "system_not_allowed", _("This key keeps numbers of “%(system)s” only.")
                       % {"system": request.api_key.system}, "system")


def _customers() -> QuerySet[Person]:
    return Person.objects.prefetch_related("phones", "emails", "external_refs")


class CustomerFilters(Listing):
    q: str | None = Field(None, max_length=100, description="Name in any script, phone, VIN or plate, as in the CRM.")
    rooftop_id: int | None = None
    archived: bool = False
    updated_since: Annotated[DateTime | None, FilterLookup("updated_at__gte")] = Field(
        None, description="For incremental syncs: every record changed since, archived and merged ones included.")
    ordering: Literal["id", "-id", "updated_at", "-updated_at", "family_name", "-family_name"] = "id"

    def filter_q(self, value: str | None) -> Q:
        return Q()  # the search chooses the records (customer_search), not a lookup

    def filter_archived(self, value: bool) -> Q:
        return Q()


@router.get("/customers", response=answers(200, list[CustomerOut]), summary="List customers")
@paginate
def customer_list(request: HttpRequest, filters: Query[CustomerFilters]) -> QuerySet[Person]:
    if filters.updated_since is not None and not filters.q:
        # An incremental sync sees every change, archiving and merging included (merged_into_id says where to).
        people = Person.objects.all()
    else:
        people = customer_search(filters.q or "", region=tenant_region(), archived=filters.archived)
    return filters.apply(people.prefetch_related("phones", "emails", "external_refs"))


@router.get("/customers/{int:customer_id}", response=answers(200, CustomerOut), summary="A customer")
def customer_detail(request: HttpRequest, customer_id: int) -> Person:
    return get_object_or_404(_customers(), pk=customer_id)


@router.post("/customers", response=answers(201, CustomerOut), summary="Create a customer")
def customer_create(request: HttpRequest, payload: CustomerIn) -> Status:
    person = person_create(by=None, fields=_fields(payload), phones=payload.phones, emails=payload.emails,
                           source="api", source_name=request.api_key.name)
    return Status(201, _customers().get(pk=person.pk))


@router.put("/customers/by-ref/{system}/{key}", response={**answers(200, CustomerOut), 201: CustomerOut},
            summary="Create or update a customer by another system's number",
            description="The DMS sync's way in: the same number never makes a second customer. Phones and e-mails "
                        "sent are added to the ones the CRM knows.")
def customer_upsert(request: HttpRequest, system: SystemName, key: RecordNumber,
                    payload: CustomerIn) -> Status:
    _own_system(request, system)
    person, created = sync.customer_upsert(api_key=request.api_key, system=system, key=key, fields=_fields(payload),
                                           phones=payload.phones, emails=payload.emails)
    return Status(201 if created else 200, _customers().get(pk=person.pk))


class ConsentOut(Schema):
    id: int
    channel: str
    purpose: str
    granted: bool
    source: str
    recorded_at: datetime
    expires_at: datetime | None


class ConsentIn(Input):
    channel: Literal[tuple(ConsentChannel.values)]  # type: ignore[valid-type]
    purpose: Literal[tuple(ConsentPurpose.values)]  # type: ignore[valid-type]
    granted: Bool
    source: str = Field(..., min_length=1, max_length=120, description="Where it was given, e.g. “DMS contract”.")
    proof: str = Field(default="", max_length=2000)
    expires_at: DateTime | None = None


@router.get("/customers/{int:customer_id}/consents", response=answers(200, list[ConsentOut]),
            summary="A customer's consent ledger, newest first")
def consent_list(request: HttpRequest, customer_id: int) -> QuerySet[Consent]:
    person = get_object_or_404(Person, pk=customer_id)
    return person.consents.order_by("-recorded_at", "-pk")


@router.post("/customers/{int:customer_id}/consents", response=answers(201, ConsentOut),
             summary="Record a consent given or withdrawn")
def consent_create(request: HttpRequest, customer_id: int, payload: ConsentIn) -> Status:
    person = sync.survivor(get_object_or_404(Person, pk=customer_id))
    return Status(201, consent_record(person=person, by=None, **payload.dict()))


class ContactOut(Schema):
    customer_id: int = Field(alias="person_id")
    role: str
    title: str
    started_on: date | None
    ended_on: date | None


class CompanyOut(Schema):
    id: int
    legal_name: str
    tax_id: str
    fleet_size: int | None
    address: str
    phone: str
    email: str
    rooftop_id: int | None
    contacts: list[ContactOut]
    external_refs: list[ExternalRefOut]
    archived: bool
    updated_at: datetime

    @staticmethod
    def resolve_contacts(company: Company) -> list[CompanyContact]:
        return list(company.contacts.all())

    @staticmethod
    def resolve_external_refs(company: Company) -> list:
        return list(company.external_refs.all())

    @staticmethod
    def resolve_archived(company: Company) -> bool:
        return company.archived_at is not None


class CompanyIn(Input):
    legal_name: str = Field(..., min_length=1, max_length=300)
    tax_id: str = Field(default="", max_length=40)
    fleet_size: Int | None = Field(default=None, ge=0, le=1_000_000)
    address: str = Field(default="", max_length=300)
    email: str = Field(default="", max_length=254)


class CompanyFilters(Listing):
    tax_id: str | None = Field(None, max_length=40)
    updated_since: Annotated[DateTime | None, FilterLookup("updated_at__gte")] = None
    ordering: Literal["id", "-id", "legal_name", "-legal_name", "updated_at", "-updated_at"] = "id"

    def filter_tax_id(self, value: str | None) -> Q:
        return Q(tax_id=value) if value else Q()


def _companies() -> QuerySet[Company]:
    return Company.objects.prefetch_related(
        Prefetch("contacts", queryset=CompanyContact.objects.order_by("pk")), "external_refs")


@router.get("/companies", response=answers(200, list[CompanyOut]), summary="List companies")
@paginate
def company_list(request: HttpRequest, filters: Query[CompanyFilters]) -> QuerySet[Company]:
    return filters.apply(_companies().filter(archived_at__isnull=True))


@router.get("/companies/{int:company_id}", response=answers(200, CompanyOut),
            summary="A company with its decision makers, users and drivers")
def company_detail(request: HttpRequest, company_id: int) -> Company:
    return get_object_or_404(_companies(), pk=company_id)


@router.put("/companies/by-ref/{system}/{key}", response={**answers(200, CompanyOut), 201: CompanyOut},
            summary="Create or update a company by another system's number")
def company_upsert(request: HttpRequest, system: SystemName, key: RecordNumber,
                   payload: CompanyIn) -> Status:
    _own_system(request, system)
    company, created = sync.company_upsert(system=system, key=key, fields=payload.dict(exclude_unset=True))
    return Status(201 if created else 200, _companies().get(pk=company.pk))


class HolderOut(Schema):
    kind: str
    customer_id: int | None = Field(alias="person_id")
    company_id: int | None
    started_on: date | None


class VehicleOut(Schema):
    id: int
    vin: str
    make: str
    model: str
    year: int | None
    plate: str
    colour: str
    purchase_date: date | None
    warranty_end: date | None
    holders: list[HolderOut] = Field(description="Current owners, users and drivers.")
    updated_at: datetime

    @staticmethod
    def resolve_holders(vehicle: Vehicle) -> list[VehicleLink]:
        return list(vehicle.current_links)


class VehicleIn(Input):
    make: str = Field(default="", max_length=60)
    model: str = Field(default="", max_length=80)
    year: Int | None = Field(default=None, ge=1900, le=2100)
    plate: str = Field(default="", max_length=20)
    colour: str = Field(default="", max_length=40)
    purchase_date: Date | None = None
    warranty_end: Date | None = None
    owner_customer_id: Int | None = Field(default=None, description="The owner now, if the other system knows.")
    owner_company_id: Int | None = None
    owner_since: Date | None = None


class VehicleFilters(Listing):
    vin: str | None = Field(None, max_length=17)
    plate: str | None = Field(None, max_length=20)
    customer_id: int | None = Field(None, description="Cars the customer holds now.")
    updated_since: Annotated[DateTime | None, FilterLookup("updated_at__gte")] = None
    ordering: Literal["id", "-id", "updated_at", "-updated_at", "year", "-year"] = "id"

    def filter_vin(self, value: str | None) -> Q:
        return Q(vin=value.strip().upper()) if value else Q()

    def filter_plate(self, value: str | None) -> Q:
        return Q(plate_key=plate_key(value)) if value else Q()

    def filter_customer_id(self, value: int | None) -> Q:
        return Q(links__person_id=value, links__ended_on__isnull=True)


def _vehicles() -> QuerySet[Vehicle]:
    return Vehicle.objects.prefetch_related(Prefetch(
        "links", queryset=VehicleLink.objects.filter(ended_on__isnull=True).order_by("pk"), to_attr="current_links"))


@router.get("/vehicles", response=answers(200, list[VehicleOut]), summary="List vehicles")
@paginate
def vehicle_list(request: HttpRequest, filters: Query[VehicleFilters]) -> QuerySet[Vehicle]:
    return filters.apply(_vehicles()).distinct()


@router.get("/vehicles/{int:vehicle_id}", response=answers(200, VehicleOut), summary="A vehicle")
def vehicle_detail(request: HttpRequest, vehicle_id: int) -> Vehicle:
    return get_object_or_404(_vehicles(), pk=vehicle_id)


@router.put("/vehicles/by-vin/{vin}", response={**answers(200, VehicleOut), 201: VehicleOut},
            summary="Create or update a vehicle by its VIN, and its owner")
def vehicle_upsert(request: HttpRequest, vin: Vin, payload: VehicleIn) -> Status:
    values = payload.dict(exclude_unset=True)
    customer_id, company_id = values.pop("owner_customer_id", None), values.pop("owner_company_id", None)
    since = values.pop("owner_since", None)
    if customer_id is not None and company_id is not None:
        raise ApiError(422, "invalid", _("Give the owner as a customer or as a company, not both."), "owner_company_id")
    owner = (referenced_customer(customer_id, "owner_customer_id")
             or referenced(Company, company_id, "owner_company_id", _("No such company.")))
    vehicle, created = sync.vehicle_upsert(vin=vin, fields=values, owner=owner, owner_since=since)
    return Status(201 if created else 200, _vehicles().get(pk=vehicle.pk))

