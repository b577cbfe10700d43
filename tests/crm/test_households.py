"""Households: the people who live together, found by name or phone, grouped on every member's page."""

import pytest
from django_tenants.utils import schema_context

from crm.customers.models import AuditEntry, Household, TimelineEntry
from crm.customers.services import person_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(cast):
    with schema_context(cast.a.schema_name):
        return {
            "ivan": person_create(by=None, fields={"family_name": "Петров", "given_name": "Иван"},
                                  phones=["+7 495 123-45-67", "+7 912 000-00-01"]),
            "olga": person_create(by=None, fields={"family_name": "Петрова", "given_name": "Ольга"},
                                  phones=["+7 495 123-45-67"]),
            "son": person_create(by=None, fields={"family_name": "Петров", "given_name": "Максим"},
                                 phones=["+7 912 000-00-02"]),
            "neighbour": person_create(by=None, fields={"family_name": "Сидоров", "given_name": "Пётр"},
                                       phones=["+7 912 000-00-03"]),
        }


def _members(cast, household_name):
    with schema_context(cast.a.schema_name):
        household = Household.objects.get(name=household_name)
        return sorted(member.given_name for member in household.members.all())


def test_adding_someone_starts_the_familys_household_and_shows_it_on_every_members_page(cast, family):
    sales = cast.signed_in(cast.a, cast.a_salesperson)
    ivan, son = family["ivan"], family["son"]

    added = sales.post(f"/crm/customers/{ivan.pk}/household/", {"customer": "+7 912 000-00-02"}, follow=True)
    again = sales.post(f"/crm/customers/{son.pk}/household/", {"customer": "Ольга Петрова"}, follow=True)

    assert "Максим Петров added to the household." in added.text
    assert again.status_code == 200
    assert _members(cast, "Петров household") == ["Иван", "Максим", "Ольга"]
    son_page = sales.get(f"/crm/customers/{son.pk}/")
    assert "Петров household" in son_page.text and f"/crm/customers/{ivan.pk}/" in son_page.text
    with schema_context(cast.a.schema_name):
        assert TimelineEntry.objects.filter(person=family["olga"], summary__contains="Joined the household").exists()
        assert AuditEntry.objects.filter(person=son, action="household_joined").count() == 1


def test_other_customers_on_a_shared_phone_are_suggested_and_added_in_one_click(cast, family):
    sales = cast.signed_in(cast.a, cast.a_salesperson)
    ivan, olga = family["ivan"], family["olga"]

    page = sales.get(f"/crm/customers/{ivan.pk}/")
    assert [p.pk for p in page.context["view"].household_suggestions] == [olga.pk]

    sales.post(f"/crm/customers/{ivan.pk}/household/", {"customer": str(olga), "person": olga.pk})

    assert _members(cast, "Петров household") == ["Иван", "Ольга"]
    assert sales.get(f"/crm/customers/{ivan.pk}/").context["view"].household_suggestions == []


def test_someone_in_another_household_or_nobody_found_is_refused_with_the_reason(cast, family):
    sales = cast.signed_in(cast.a, cast.a_salesperson)
    ivan, son, neighbour = family["ivan"], family["son"], family["neighbour"]
    sales.post(f"/crm/customers/{neighbour.pk}/household/", {"customer": "Максим"})

    taken = sales.post(f"/crm/customers/{ivan.pk}/household/", {"customer": "Максим"})
    nobody = sales.post(f"/crm/customers/{ivan.pk}/household/", {"customer": "Nobody Here"})
    themself = sales.post(f"/crm/customers/{neighbour.pk}/household/", {"customer": "Сидоров"})

    assert taken.status_code == 400
    assert "already lives in the household “Сидоров household”" in taken.text
    assert "No customer matches" in nobody.text
    assert "No customer matches" in themself.text  # the customer is never offered to themself
    with schema_context(cast.a.schema_name):
        assert not ivan.households.exists()
        assert list(son.households.values_list("name", flat=True)) == ["Сидоров household"]


def test_moving_out_keeps_the_household_until_one_member_is_left(cast, family):
    sales = cast.signed_in(cast.a, cast.a_salesperson)
    ivan, olga, son = family["ivan"], family["olga"], family["son"]
    for member in (olga, son):
        sales.post(f"/crm/customers/{ivan.pk}/household/", {"customer": str(member), "person": member.pk})
    with schema_context(cast.a.schema_name):
        household = ivan.households.get()

    sales.post(f"/crm/customers/{ivan.pk}/household/{household.pk}/name/", {"name": "Семья Петровых"})
    sales.post(f"/crm/customers/{olga.pk}/household/{household.pk}/members/{son.pk}/remove/")
    assert _members(cast, "Семья Петровых") == ["Иван", "Ольга"]
    sales.post(f"/crm/customers/{ivan.pk}/household/{household.pk}/members/{olga.pk}/remove/")

    with schema_context(cast.a.schema_name):
        assert not Household.objects.filter(pk=household.pk).exists()
        assert AuditEntry.objects.filter(person=ivan, action="household_left").exists()
        assert AuditEntry.objects.filter(person=son, action="household_renamed").exists()


def test_another_tenant_a_car_owner_and_a_stranger_household_get_nothing(cast, family):
    sales = cast.signed_in(cast.a, cast.a_salesperson)
    ivan, olga, neighbour = family["ivan"], family["olga"], family["neighbour"]
    sales.post(f"/crm/customers/{ivan.pk}/household/", {"customer": str(olga), "person": olga.pk})
    with schema_context(cast.a.schema_name):
        household = ivan.households.get()
    other = cast.signed_in(cast.b, cast.b_admin)
    owner = cast.signed_in(cast.a, cast.a_owner)
    remove = f"/crm/customers/{ivan.pk}/household/{household.pk}/members/{olga.pk}/remove/"

    assert other.post(f"/crm/customers/{ivan.pk}/household/", {"customer": "Петрова"}).status_code == 404
    assert other.post(remove).status_code == 404
    assert owner.post(remove).status_code == 403
    # a household is changed only from one of its members' pages
    assert sales.post(f"/crm/customers/{neighbour.pk}/household/{household.pk}/members/{olga.pk}/remove/"
                      ).status_code == 404
    assert _members(cast, "Петров household") == ["Иван", "Ольга"]
