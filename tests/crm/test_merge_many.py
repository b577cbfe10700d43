"""Many merges at once (an import's automatic merges): each one what a single merge makes, undone one by one,
in a number of queries that does not grow with the merges."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from crm.customers import merging
from crm.customers.merging import Merge, customers_merge_many, merge_undo
from crm.customers.models import (
    AuditEntry,
    Company,
    CompanyContact,
    CompanyRole,
    ConsentChannel,
    ConsentPurpose,
    Household,
    MergeRecord,
    Person,
    TimelineEntry,
    Vehicle,
    VehicleLink,
)
from crm.customers.services import consent_record, note_add, person_create
from crm.loyalty.models import Membership

from .test_merge import state

pytestmark = pytest.mark.django_db


def pair(number: int) -> tuple[Person, Person]:
    """One man as sales (Cyrillic) and service (Latin) entered him, sharing a phone; the service record has
    the birth date, a second phone, a car, a consent, a role at a company and a note."""
    phone = f"+7 912 345-{number:02d}-89"
    sales = person_create(by=None, fields={"family_name": "Иванов", "given_name": "Пётр"},
                          phones=[phone], emails=[f"petr{number}@example.ru"])
    service = person_create(by=None, fields={"family_name": "Ivanov", "given_name": "Petr",
                                             "birth_date": date(1980, 4, number + 1), "occupation": "Engineer"},
                            phones=[phone, f"+7 495 123-{number:02d}-67"], emails=[f"p.ivanov{number}@work.ru"])
    car = Vehicle.objects.create(vin=f"XTA21099{number:02d}Y276543"[:17], make="Lada", model="2109")
    VehicleLink.objects.create(vehicle=car, person=service, kind=VehicleLink.Kind.OWNER)
    consent_record(person=service, by=None, channel=ConsentChannel.SMS, purpose=ConsentPurpose.SERVICE_REMINDERS,
                   granted=True, source="service desk")
    note_add(person=sales, by=None, summary="note: test drive")
    note_add(person=service, by=None, summary="note: oil change")
    company = Company.objects.create(legal_name=f"ООО Ромашка {number}")
    CompanyContact.objects.create(company=company, person=service, role=CompanyRole.DRIVER)
    return sales, service


def test_each_of_many_merges_is_a_whole_merge_and_is_undone_exactly(cast):
    with schema_context(cast.a.schema_name):
        pairs = [pair(number) for number in range(3)]
        ids = [pk for sales, service in pairs for pk in (sales.pk, service.pk)]
        before = state(ids)

        results = customers_merge_many([Merge(sales.pk, [service.pk], "same phone and name")
                                        for sales, service in pairs], by=None)

        assert all(isinstance(result, MergeRecord) for result in results)
        for number, (sales, service) in enumerate(pairs):
            survivor = Person.objects.get(pk=sales.pk)
            assert Person.objects.get(pk=service.pk).merged_into_id == survivor.pk
            # Empty fields filled from the other record; the shared phone once, the other phone kept.
            assert survivor.birth_date == date(1980, 4, number + 1) and survivor.occupation == "Engineer"
            assert sorted(survivor.phones.values_list("number", flat=True)) == sorted(
                [f"+7912345{number:02d}89", f"+7495123{number:02d}67"])
            assert survivor.phones.filter(is_primary=True).count() == 1
            assert survivor.emails.count() == 2
            assert survivor.vehicle_links.count() == 1 and survivor.consents.count() == 1
            assert CompanyContact.objects.filter(person=survivor, role=CompanyRole.DRIVER).count() == 1
            assert TimelineEntry.objects.filter(person=survivor, summary__startswith="note").count() == 2
            assert TimelineEntry.objects.filter(person=survivor, summary__startswith="Merged with").count() == 1
            audit = AuditEntry.objects.get(person=survivor, action="merged")
            assert audit.changes["merged"] == [service.pk] and audit.changes["merge"] == results[number].pk
            assert set(audit.changes["filled_from"]) >= {"birth_date", "occupation"}
            # The survivor's derived fields are those of its new values: found by the other record's spelling.
            assert "ivanov" in survivor.search_text

        for record in results:
            merge_undo(record=record, by=None)
        assert state(ids) == before


def test_the_queries_of_many_merges_do_not_grow_with_their_number(cast):
    with schema_context(cast.a.schema_name):
        few = [pair(number) for number in range(2)]
        many = [pair(number) for number in range(2, 10)]
        counts = []
        for pairs in (few, many):
            with CaptureQueriesContext(connection) as queries:
                customers_merge_many([Merge(sales.pk, [service.pk]) for sales, service in pairs], by=None)
            counts.append(len(queries))
        assert counts[0] == counts[1]
        assert Person.objects.filter(merged_into__isnull=False).count() == 10


def test_a_refused_merge_is_refused_alone_and_the_others_go_in(cast):
    with schema_context(cast.a.schema_name):
        pairs = [pair(number) for number in range(4)]
        refused_sales, refused_service = pairs[2]
        for number, person in enumerate((refused_sales, refused_service)):  # two club cards: whose points?
            Membership.objects.create(person=person, number=f"C{number}", joined_at=timezone.now(), terms_version=1)
        Membership.objects.create(person=pairs[0][0], number="C9", joined_at=timezone.now(), terms_version=1)

        results = customers_merge_many([Merge(sales.pk, [service.pk]) for sales, service in pairs], by=None)

        assert isinstance(results[2], ValidationError)
        assert "club card" in " ".join(results[2].messages)
        assert Person.objects.get(pk=refused_service.pk).merged_into_id is None
        assert [Person.objects.get(pk=service.pk).merged_into_id for _sales, service in pairs[:2] + pairs[3:]] == [
            sales.pk for sales, _service in pairs[:2] + pairs[3:]]
        # The one card among the others followed its customer.
        assert Membership.objects.get(number="C9").person_id == pairs[0][0].pk


def test_a_household_ends_with_the_merge_of_its_members_among_many(cast):
    with schema_context(cast.a.schema_name):
        pairs = [pair(number) for number in range(2)]
        household = Household.objects.create(name="Ivanov family")
        household.members.add(*pairs[1])

        records = customers_merge_many([Merge(sales.pk, [service.pk]) for sales, service in pairs], by=None)

        assert not Household.objects.filter(pk=household.pk).exists()  # its two members were one person
        merge_undo(record=records[1], by=None)
        assert sorted(Household.objects.get(pk=household.pk).members.values_list("pk", flat=True)) == sorted(
            person.pk for person in pairs[1])


def test_merges_of_merged_records_or_sharing_one_are_refused(cast):
    with schema_context(cast.a.schema_name):
        (sales, service), (other, _other_service) = pair(0), pair(1)
        customers_merge_many([Merge(sales.pk, [service.pk])], by=None)

        again = customers_merge_many([Merge(other.pk, [service.pk])], by=None)

        assert isinstance(again[0], ValidationError)
        assert Person.objects.get(pk=service.pk).merged_into_id == sales.pk
        with pytest.raises(ValueError, match="sharing a record"):
            customers_merge_many([Merge(sales.pk, [other.pk]), Merge(other.pk, [service.pk])], by=None)


def test_merges_beyond_one_batch_are_written_batch_by_batch(cast, monkeypatch):
    monkeypatch.setattr(merging, "MERGE_BATCH", 2)
    with schema_context(cast.a.schema_name):
        pairs = [pair(number) for number in range(5)]

        results = customers_merge_many([Merge(sales.pk, [service.pk]) for sales, service in pairs], by=None)

        assert [record.survivor_id for record in results] == [sales.pk for sales, _service in pairs]
        assert [Person.objects.get(pk=service.pk).merged_into_id for _sales, service in pairs] == [
            sales.pk for sales, _service in pairs]
        assert MergeRecord.objects.count() == 5
