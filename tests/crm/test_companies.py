"""Fleet customers: the company, its cars, and its people in roles tied to cars."""

import pytest
from django_tenants.utils import schema_context

from crm.customers.models import Company, CompanyContact, Vehicle, VehicleLink
from crm.customers.services import person_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(cast):
    with schema_context(cast.a.schema_name):
        company = Company(legal_name="Stadtwerke Nord GmbH", tax_id="DE123456789", fleet_size=40)
        company.derive()
        company.save()
        car = Vehicle.objects.create(vin="WVWZZZ1KZAW000555", make="VW", model="Caddy")
        VehicleLink.objects.create(vehicle=car, company=company, kind="owner")
        person_create(by=None, fields={"family_name": "Fahrer", "given_name": "Felix"}, phones=["0171 5000001"])
        person_create(by=None, fields={"family_name": "Meier", "given_name": "Anna"}, phones=["0171 5000002"])
        person_create(by=None, fields={"family_name": "Meier", "given_name": "Bernd"}, phones=["0171 5000003"])
        return company, car


def test_a_company_is_created_with_field_errors_first_and_found_by_name(cast):
    sales = cast.signed_in(cast.a, cast.a_salesperson)

    empty = sales.post("/crm/customers/companies/new/", {"legal_name": ""})
    bad_phone = sales.post("/crm/customers/companies/new/", {"legal_name": "Бавария Лизинг", "phone": "12"})
    created = sales.post("/crm/customers/companies/new/", {"legal_name": "Бавария Лизинг", "tax_id": "7701 234-567",
                                                           "fleet_size": "12", "phone": "+7 495 111 22 33",
                                                           "email": "Fleet@Bavaria.RU"}, follow=True)

    assert empty.context["form"].errors["legal_name"]
    assert bad_phone.context["form"].errors["phone"]
    assert "Бавария Лизинг" in created.text and "+74951112233" in created.text and "fleet@bavaria.ru" in created.text
    for query in ("bavariya", "7701234567", "7701 234 567"):
        found = sales.get("/crm/customers/companies/", {"q": query})
        assert [c.legal_name for c in found.context["page"].object_list] == ["Бавария Лизинг"], query


def test_a_driver_is_added_by_phone_and_tied_to_a_company_car(cast, company):
    company, car = company
    sales = cast.signed_in(cast.a, cast.a_salesperson)

    response = sales.post(f"/crm/customers/companies/{company.pk}/contacts/", {
        "customer": "0171 5000001", "role": "driver", "title": "Monteur", "vehicles": [car.pk]}, follow=True)

    assert "Felix Fahrer added as Driver." in response.text
    with schema_context(cast.a.schema_name):
        contact = CompanyContact.objects.get(company=company)
        assert (contact.person.family_name, contact.role, list(contact.vehicles.all())) == ("Fahrer", "driver", [car])
    person_page = sales.get(f"/crm/customers/{contact.person_id}/")
    assert "Stadtwerke Nord GmbH" in person_page.text


def test_several_matches_are_offered_to_choose_from_and_nothing_is_added_until_chosen(cast, company):
    company, _car = company
    sales = cast.signed_in(cast.a, cast.a_salesperson)

    ambiguous = sales.post(f"/crm/customers/companies/{company.pk}/contacts/",
                           {"customer": "Meier", "role": "decision_maker"})
    choice = ambiguous.context["contact_form"].matches[0]
    chosen = sales.post(f"/crm/customers/companies/{company.pk}/contacts/",
                        {"customer": "Meier", "person": choice.pk, "role": "decision_maker"})
    nobody = sales.post(f"/crm/customers/companies/{company.pk}/contacts/", {"customer": "Niemand", "role": "user"})

    assert ambiguous.status_code == 400 and "Several customers match" in ambiguous.text
    assert chosen.status_code == 302
    assert "No customer matches" in nobody.text
    with schema_context(cast.a.schema_name):
        assert list(CompanyContact.objects.filter(company=company).values_list("person_id", flat=True)) == [choice.pk]


def test_a_company_car_is_added_to_the_fleet(cast, company):
    company, _car = company
    sales = cast.signed_in(cast.a, cast.a_salesperson)

    sales.post(f"/crm/customers/companies/{company.pk}/vehicles/", {"kind": "owner", "make": "Ford",
                                                                   "model": "Transit", "plate": "HH-SW 12"})

    with schema_context(cast.a.schema_name):
        assert set(VehicleLink.objects.filter(company=company).values_list("vehicle__make", flat=True)) == {
            "VW", "Ford"}


def test_another_tenant_and_car_owners_get_nothing_of_a_company(cast, company):
    company, _car = company
    other = cast.signed_in(cast.b, cast.b_admin)
    owner = cast.signed_in(cast.a, cast.a_owner)

    for path in ("", "edit/"):
        assert other.get(f"/crm/customers/companies/{company.pk}/{path}").status_code == 404
        assert owner.get(f"/crm/customers/companies/{company.pk}/{path}").status_code == 403
    assert other.post(f"/crm/customers/companies/{company.pk}/contacts/",
                      {"customer": "Meier", "role": "user"}).status_code == 404
    assert "Stadtwerke" not in other.get("/crm/customers/companies/").text
    assert owner.get("/crm/customers/companies/").status_code == 403
