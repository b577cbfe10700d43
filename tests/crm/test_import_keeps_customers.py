"""A DMS import keeps every customer: one bad value costs only itself, is kept on a data-quality hint the
customer page shows, and every line can be traced to the record it went to (and back)."""

from datetime import date

import pytest
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.importing import pipeline
from crm.customers.importing.jobs import job_create
from crm.customers.models import AuditEntry, Company, DataHint, DuplicateCandidate, ImportedRow, Person, Vehicle
from crm.customers.normalize import vin_read

pytestmark = pytest.mark.django_db


def _run(tenant, name, text, *, kind="sales"):
    with schema_context(tenant.schema_name):
        admin = User.objects.filter(role="dealer_admin").first()
        job = job_create(by=admin, name=name, data=text.encode(), kind=kind, encoding="auto")
        pipeline.job_run(job)
        job.refresh_from_db()
        return job


def test_a_vin_is_read_as_the_standard_allows_and_a_slip_is_named_not_guessed():
    # I, O and Q never occur in a VIN (ISO 3779): reading them as 1 and 0 is not a guess.
    assert vin_read("lsgpc52u0af1o2345").vin == "LSGPC52U0AF102345"
    assert "I, O or Q" in vin_read("LSGPC52U0AF1O2345").problem
    assert vin_read("1HGCM82633A0O4352") == vin_read("1HGCM82633A0O4352")  # pure
    assert vin_read("1HGCM82633A0O4352").vin == "1HGCM82633A004352"
    # A right North American VIN has nothing to say; European ones carry no check digit by standard.
    assert vin_read("1HGCM82633A004352").problem == ""
    assert vin_read("WVWZZZ1KZAW000000").problem == ""
    # One misread character (B for 8) that makes the check digit right is offered, the VIN kept as written.
    slipped = "1HGCMB2633A004352"
    reading = vin_read(slipped)
    assert (reading.vin, reading.suggestion) == (slipped, "1HGCM82633A004352")
    assert "did you mean 1HGCM82633A004352?" in reading.problem
    # A wrong check digit with no single misreading to blame: said, nothing suggested.
    assert (vin_read("1HGCM82633A004353").suggestion, "check digit" in vin_read("1HGCM82633A004353").problem) == (
        "", True)
    # Model year 0 does not exist; a VIN of 16 characters cannot be one (the car keeps none).
    assert "model-year" in vin_read("1HGCM82630U004352").problem
    assert vin_read("XTA21OOOO1234567").vin == ""


SALES = """Customer No;Name;Phone;Birth date;VIN;Make;Model;Year;Sale date
C-1;Anna Schmidt;0171 2345678;12.05.1984;WVWZZZ1KZAW00O001;Volkswagen;Golf;2021;15.03.2021
C-2;Jonas Weber;0172 3456789;1990-13-45;1HGCMB2633A004352;Honda;Accord;20222;20.06.2022
C-3;Eva Klein;not a phone;;WVWZZZ1KZAW0000;Volkswagen;Polo;2020;31.02.2020
"""


def test_every_customer_and_car_of_a_file_with_bad_values_goes_in_with_hints_on_the_record(cast):
    job = _run(cast.a, "dms.csv", SALES)

    assert (job.counts["created"], job.counts["warnings"], job.counts["rejected"]) == (3, 3, 0), job.counts
    with schema_context(cast.a.schema_name):
        people = {person.given_name: person for person in Person.objects.filter(
            pk__in=ImportedRow.objects.filter(job=job).values("person_id"))}
        assert set(people) == {"Anna", "Jonas", "Eva"}
        # Anna's VIN with an O for a 0: her car under its right VIN, and a hint saying how it was written.
        golf = Vehicle.objects.get(vin="WVWZZZ1KZAW000001")
        assert golf.links.get().person == people["Anna"]
        assert DataHint.objects.get(person=people["Anna"]).value == "WVWZZZ1KZAW00O001"
        # Jonas: the car under its VIN as written, the suggestion beside it; bad birth date and year left out.
        accord = Vehicle.objects.get(vin="1HGCMB2633A004352")
        assert (accord.year, people["Jonas"].birth_date, accord.purchase_date) == (None, None, date(2022, 6, 20))
        hints = {hint.field: hint for hint in DataHint.objects.filter(person=people["Jonas"])}
        assert set(hints) == {"vin", "birth_date", "year"}
        assert (hints["vin"].vehicle, hints["vin"].suggestion, hints["vin"].line) == (accord, "1HGCM82633A004352", 3)
        assert hints["year"].value == "20222"
        # Eva: no phone, a VIN too short to be one and an impossible date: the customer and her car still in.
        polo = Vehicle.objects.get(links__person=people["Eva"])
        assert (polo.model, polo.vin, polo.purchase_date) == ("Polo", "", None)
        assert {hint.field for hint in DataHint.objects.filter(person=people["Eva"])} == {
            "phone", "vin", "purchase_date"}

        # Each row's lineage: the file, the line, the customer and the car.
        lineage = list(ImportedRow.objects.filter(job=job).order_by("line").values_list(
            "line", "person__given_name", "vehicle__model", "outcome"))
        assert lineage == [(2, "Anna", "Golf", "created"), (3, "Jonas", "Accord", "created"),
                           (4, "Eva", "Polo", "created")]

    # Importing the same file again adds no hint and no customer.
    again = _run(cast.a, "dms again.csv", SALES)
    assert (again.counts["unchanged"], again.counts["created"]) == (3, 0)
    with schema_context(cast.a.schema_name):
        assert DataHint.objects.count() == 7


def test_the_customer_page_shows_the_values_to_check_and_where_the_record_came_from(cast):
    job = _run(cast.a, "dms.csv", SALES)
    with schema_context(cast.a.schema_name):
        jonas = Person.objects.get(given_name="Jonas")
        hint = DataHint.objects.get(person=jonas, field="vin")
    admin = cast.signed_in(cast.a, cast.a_admin)
    salesperson = cast.signed_in(cast.a, cast.a_salesperson)
    url = f"/crm/customers/{jonas.pk}/"

    page = admin.get(url).text
    assert "1HGCMB2633A004352" in page and "did you mean 1HGCM82633A004352?" in page
    assert f"Came from import {job.pk} (dms.csv), line 3" in page
    assert f"/crm/customers/imports/{job.pk}/rows/?line=3" in page  # importers may open the line
    assert f"/crm/customers/imports/{job.pk}/rows/" not in salesperson.get(url).text  # a salesperson may not

    rows = admin.get(f"/crm/customers/imports/{job.pk}/rows/?line=3").text
    assert f"/crm/customers/{jonas.pk}/" in rows and "Accord" in rows and "Anna" not in rows

    # Checked: gone from the page, recorded; another group and a customer who is not this one get nothing.
    checked = f"{url}hints/{hint.pk}/checked/"
    assert cast.signed_in(cast.b, cast.b_admin).post(checked).status_code == 404
    assert cast.signed_in(cast.a, cast.a_owner).post(checked).status_code == 403
    with schema_context(cast.a.schema_name):
        anna = Person.objects.get(given_name="Anna")
    assert salesperson.post(f"/crm/customers/{anna.pk}/hints/{hint.pk}/checked/").status_code == 302
    with schema_context(cast.a.schema_name):
        assert DataHint.objects.get(pk=hint.pk).resolved_at is None  # not Anna's hint
    assert salesperson.post(checked).status_code == 302
    assert "did you mean 1HGCM82633A004352?" not in admin.get(url).text
    with schema_context(cast.a.schema_name):
        assert DataHint.objects.get(pk=hint.pk).resolved_by.email == cast.a_salesperson
        assert AuditEntry.objects.filter(person=jonas, action="hint_checked").exists()


def test_the_import_page_lists_values_to_check_apart_from_rejected_rows(cast):
    job = _run(cast.a, "dms.csv", SALES + ";;;;;;;;\n;;12;;;;;;\n")
    admin = cast.signed_in(cast.a, cast.a_admin)

    page = admin.get(f"/crm/customers/imports/{job.pk}/")

    assert page.status_code == 200
    assert [problem.line for problem in page.context["problems"]] == [6]
    assert [(problem.line, problem.column) for problem in page.context["warnings"]][:3] == [
        (2, "VIN"), (3, "Birth date"), (3, "VIN")]
    assert "Values to check" in page.text and "Where each line went" in page.text


def test_a_dms_number_shared_by_different_people_does_not_make_them_one(cast):
    """Service desks file a fleet's or a family's cars under one account number: a driver with no name in
    common with the account's customer is someone else; a married name or a spelling is the same person."""
    service = ("RO;Date;Customer No;Customer;VIN;Make;Model\n"
               "R-1;2024-03-01;F-7;Сидоров Павел;XTA21700080000001;Lada;Largus\n"
               "R-2;2024-03-02;F-7;Кузнецова Анна;XTA21700080000002;Lada;Largus\n"
               "R-3;2024-03-03;F-7;Sidorov Pavel;XTA21700080000003;Lada;Largus\n")

    job = _run(cast.a, "service.csv", service, kind="service")

    with schema_context(cast.a.schema_name):
        people = sorted(Person.objects.filter(pk__in=ImportedRow.objects.filter(job=job).values("person_id"))
                        .values_list("family_name", flat=True))
        assert people == ["Кузнецова", "Сидоров"], job.counts


def test_names_that_read_alike_but_are_written_in_other_characters_stay_two_customers(cast):
    """李勇 and 李咏 (both li yong), 陆刚 and 陆钢 (both lu gang): a family on one phone, two people; the same
    characters with a space, or the name in pinyin, are the same person."""
    sales = ("Customer No;Name;Phone;Sale date\n"
             "S-1;李勇;+8618236194204;2022-08-03\n"
             "S-2;陆刚;+79109687849;2018-02-03\n"
             "S-3;陆钢;+79109687849;2023-03-21\n")
    service = ("RO;Date;Customer No;Customer;Phone\n"
               "R-1;2023-12-14;W-1;李咏;+8618236194204\n"
               "R-2;2024-01-22;W-2;李 勇;+8618236194204\n"
               "R-3;2024-01-23;W-3;Lu Gang;+79109687849\n")

    _run(cast.a, "sales.csv", sales)
    _run(cast.a, "service.csv", service, kind="service")

    with schema_context(cast.a.schema_name):
        def record(family, given):
            person = Person.objects.get(family_name=family, given_name=given)
            return person.merged_into_id or person.pk

        assert record("李", "勇") != record("李", "咏")
        assert record("陆", "刚") != record("陆", "钢")
        assert ImportedRow.objects.filter(line=3, job__original_name="service.csv").get().person_id in (
            record("李", "勇"), Person.objects.get(family_name="李", given_name="勇").pk)


def test_a_latin_name_that_reads_as_two_relatives_joins_neither_and_waits_for_a_person(cast):
    sales = ("Customer No;Name;Phone;Sale date\n"
             "S-2;陆刚;+79109687849;2018-02-03\n"
             "S-3;陆钢;+79109687849;2023-03-21\n")
    service = "RO;Date;Customer No;Customer;Phone\nR-3;2024-01-23;W-3;Lu Gang;+7 910 968-78-49\n"

    _run(cast.a, "sales.csv", sales)
    job = _run(cast.a, "service.csv", service, kind="service")

    with schema_context(cast.a.schema_name):
        latin = ImportedRow.objects.get(job=job).person
        latin.refresh_from_db()
        brothers = set(Person.objects.filter(family_name="陆").values_list("pk", flat=True))
        assert latin.merged_into_id is None and latin.pk not in brothers
        queued = {frozenset(pair) for pair in DuplicateCandidate.objects.values_list("person_a", "person_b")}
        assert {frozenset((latin.pk, brother)) for brother in brothers} <= queued


def test_a_company_only_rows_values_to_check_are_on_the_company_page(cast):
    fleet = ("Customer No;Company;Tax id;Phone;VIN;Make;Model;Sale date\n"
             "F-1;Logistik Nord GmbH;DE123456789;not a phone;1HGCMB2633A004352;Honda;Accord;2022-06-20\n"
             "F-2;Bäckerei Süd GmbH;DE987654321;0171 2345678;WVWZZZ1KZAW000001;Volkswagen;Caddy;2022-07-01\n")
    _run(cast.a, "fleet.csv", fleet)
    with schema_context(cast.a.schema_name):
        nord, sud = Company.objects.get(legal_name__startswith="Logistik"), Company.objects.get(
            legal_name__startswith="Bäckerei")
        hint = DataHint.objects.get(company=nord, field="vin")
    admin = cast.signed_in(cast.a, cast.a_admin)
    url = f"/crm/customers/companies/{nord.pk}/"

    page = admin.get(url).text
    assert "Values to check" in page and "did you mean 1HGCM82633A004352?" in page and "not a phone" in page
    assert "Values to check" not in admin.get(f"/crm/customers/companies/{sud.pk}/").text

    checked = f"{url}hints/{hint.pk}/checked/"
    assert cast.signed_in(cast.b, cast.b_admin).post(checked).status_code == 404
    assert cast.signed_in(cast.a, cast.a_owner).post(checked).status_code == 403
    assert admin.post(f"/crm/customers/companies/{sud.pk}/hints/{hint.pk}/checked/").status_code == 302
    with schema_context(cast.a.schema_name):
        assert DataHint.objects.get(pk=hint.pk).resolved_at is None  # not that company's value
    assert admin.post(checked).status_code == 302
    assert "did you mean 1HGCM82633A004352?" not in admin.get(url).text
    with schema_context(cast.a.schema_name):
        assert DataHint.objects.get(pk=hint.pk).resolved_by.email == cast.a_admin
        assert AuditEntry.objects.filter(action="hint_checked", changes__company=nord.pk).exists()
