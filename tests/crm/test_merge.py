"""Merging duplicates keeps everything; undoing a merge restores the exact prior state."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from crm.customers.households import household_remove
from crm.customers.merging import customers_merge, merge_undo
from crm.customers.models import (
    AuditEntry,
    Company,
    CompanyContact,
    CompanyRole,
    Consent,
    ConsentChannel,
    ConsentPurpose,
    Email,
    Household,
    Person,
    Phone,
    TimelineEntry,
    Vehicle,
    VehicleLink,
)
from crm.customers.services import consent_record, note_add, person_create

pytestmark = pytest.mark.django_db


def state(ids):
    """Everything a customer consists of, by row, comparable before and after."""
    people = {
        p["id"]: p for p in Person.objects.filter(pk__in=ids).values().order_by("pk")
    }
    for person in people.values():
        person.pop("updated_at")
    return {
        "people": people,
        "phones": sorted(Phone.objects.filter(person_id__in=ids)
                         .values_list("pk", "person_id", "number", "is_primary")),
        "emails": sorted(Email.objects.filter(person_id__in=ids)
                         .values_list("pk", "person_id", "address", "is_primary")),
        "links": sorted(VehicleLink.objects.filter(person_id__in=ids).values_list("pk", "person_id", "vehicle_id")),
        "consents": sorted(Consent.objects.filter(person_id__in=ids).values_list("pk", "person_id", "granted")),
        "roles": sorted(CompanyContact.objects.filter(person_id__in=ids).values_list("pk", "person_id", "role")),
        "households": sorted((h.pk, tuple(sorted(h.members.values_list("pk", flat=True))))
                             for h in Household.objects.filter(members__in=ids).distinct()),
        "timeline": sorted(TimelineEntry.objects.filter(person_id__in=ids, summary__startswith="note")
                           .values_list("pk", "person_id")),
    }


@pytest.fixture
def duplicates(cast):
    """The same man entered by sales (Cyrillic) and by service (Latin), with overlapping contacts."""
    with schema_context(cast.a.schema_name):
        sales = person_create(by=None, fields={"family_name": "Иванов", "given_name": "Пётр"},
                              phones=["+7 912 345-67-89"], emails=["petr@example.ru"])
        service = person_create(by=None, fields={"family_name": "Ivanov", "given_name": "Petr",
                                                 "birth_date": date(1980, 4, 2), "occupation": "Engineer"},
                                phones=["+7 912 345-67-89", "+7 495 123-45-67"], emails=["p.ivanov@work.ru"])
        car = Vehicle.objects.create(vin="XTA210990Y2765432", make="Lada", model="2109")
        VehicleLink.objects.create(vehicle=car, person=service, kind=VehicleLink.Kind.OWNER)
        consent_record(person=service, by=None, channel=ConsentChannel.SMS,
                       purpose=ConsentPurpose.SERVICE_REMINDERS, granted=True, source="service desk")
        note_add(person=sales, by=None, summary="note: test drive")
        note_add(person=service, by=None, summary="note: oil change")
        company = Company.objects.create(legal_name="ООО Ромашка")
        CompanyContact.objects.create(company=company, person=service, role=CompanyRole.DRIVER)
        household = Household.objects.create(name="Ivanov family")
        household.members.add(service)
        yield sales, service


def test_a_merge_keeps_every_phone_email_vehicle_consent_and_entry(cast, duplicates):
    sales, service = duplicates
    with schema_context(cast.a.schema_name):
        record = customers_merge(survivor=sales, others=[service], by=None, reason="same phone and name")

        survivor = Person.objects.get(pk=sales.pk)
        assert sorted(survivor.phones.values_list("number", flat=True)) == ["+74951234567", "+79123456789"]
        assert sorted(survivor.emails.values_list("address", flat=True)) == ["p.ivanov@work.ru", "petr@example.ru"]
        assert survivor.vehicle_links.count() == 1
        assert survivor.consents.count() == 1
        assert survivor.company_roles.count() == 1
        assert list(survivor.households.values_list("name", flat=True)) == ["Ivanov family"]
        assert {"note: test drive", "note: oil change"} <= set(survivor.timeline.values_list("summary", flat=True))
        # Survivorship: the survivor's own name stays; its empty fields are filled from the other.
        assert (survivor.family_name, survivor.birth_date, survivor.occupation) == ("Иванов", date(1980, 4, 2),
                                                                                 "Engineer")
        assert Person.objects.get(pk=service.pk).merged_into_id == sales.pk  # kept, not deleted
        assert list(Person.objects.active().filter(pk__in=[sales.pk, service.pk])) == [survivor]
        assert record.snapshot["removed"][0]["fields"]["number"] == "+79123456789"  # the duplicate phone, kept here
        assert AuditEntry.objects.filter(person=survivor, action="merged").exists()


def test_undoing_a_merge_restores_the_exact_prior_state(cast, duplicates):
    sales, service = duplicates
    with schema_context(cast.a.schema_name):
        ids = [sales.pk, service.pk]
        before = state(ids)
        record = customers_merge(survivor=sales, others=[service], by=None)
        assert state(ids) != before

        merge_undo(record=record, by=None)

        assert state(ids) == before
        with pytest.raises(ValidationError, match="already been undone"):
            merge_undo(record=record, by=None)


def test_a_household_of_two_records_of_one_person_ends_with_the_merge_and_comes_back_with_its_undo(cast, duplicates):
    sales, service = duplicates
    with schema_context(cast.a.schema_name):
        household = Household.objects.get(name="Ivanov family")
        household.members.add(sales)
        before = state([sales.pk, service.pk])

        record = customers_merge(survivor=sales, others=[service], by=None)
        assert not Household.objects.filter(pk=household.pk).exists()
        merge_undo(record=record, by=None)

        assert state([sales.pk, service.pk]) == before
        assert Household.objects.get(pk=household.pk).name == "Ivanov family"


def test_a_merge_is_undone_even_after_its_household_ended(cast, duplicates):
    sales, service = duplicates
    with schema_context(cast.a.schema_name):
        household = Household.objects.get(name="Ivanov family")
        neighbour = person_create(by=None, fields={"family_name": "Сосед"})
        household.members.add(neighbour)
        before = state([sales.pk, service.pk, neighbour.pk])
        record = customers_merge(survivor=sales, others=[service], by=None)
        household_remove(household=household, member=neighbour, by=None)  # a household of one ends

        merge_undo(record=record, by=None)

        assert state([sales.pk, service.pk, neighbour.pk]) == before


def test_a_merged_away_customer_cannot_be_merged_again_and_its_page_is_gone(cast, duplicates):
    sales, service = duplicates
    with schema_context(cast.a.schema_name):
        customers_merge(survivor=sales, others=[service], by=None)
        with pytest.raises(ValidationError):
            customers_merge(survivor=service, others=[sales], by=None)

    assert cast.signed_in(cast.a, cast.a_admin).get(f"/crm/customers/{service.pk}/").status_code == 404


def test_two_records_of_one_company_car_user_merge_into_one_role_and_come_back_apart(cast, duplicates):
    """Each record of the man holds the driver's role at the same company (a DMS fleet file names him twice):
    the survivor keeps one current role, and the undo gives the other record its own back."""
    sales, service = duplicates
    with schema_context(cast.a.schema_name):
        company = CompanyContact.objects.get(person=service).company
        CompanyContact.objects.create(company=company, person=sales, role=CompanyRole.DRIVER)
        ids = [sales.pk, service.pk]
        before = state(ids)

        record = customers_merge(survivor=sales, others=[service], by=None)

        assert list(CompanyContact.objects.filter(person_id__in=ids).values_list("person_id", "role")) == [
            (sales.pk, CompanyRole.DRIVER)]
        merge_undo(record=record, by=None)
        assert state(ids) == before
