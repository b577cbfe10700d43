"""Importing DMS sales and service files: good rows in, bad rows reported, nothing twice."""

import io
from datetime import date

import pytest
from django_tenants.utils import schema_context
from openpyxl import Workbook

from accounts.models import User
from crm.customers.importing import pipeline
from crm.customers.importing.jobs import job_create, mapping_problems
from crm.customers.models import (
    DataHint,
    DuplicateCandidate,
    ExternalRef,
    ImportedRow,
    ImportJob,
    MergeRecord,
    MileageReading,
    Person,
    Phone,
    TimelineEntry,
    Vehicle,
    VehicleLink,
)
from crm.customers.services import person_create

pytestmark = pytest.mark.django_db

SALES = """Customer No;Name;Phone;E-mail;Birth date;VIN;Make;Model;Year;Plate;Sale date;Mileage
C-1;Anna Schmidt;0171 2345678;anna@example.de;12.05.1984;WVWZZZ1KZAW000001;Volkswagen;Golf;2021;B-AS 101;15.03.2021;10
C-2;Jonas Weber;+49 172 3456789;;01.02.1990;WVWZZZ1KZAW000002;Volkswagen;Passat;2022;B-JW 202;20.06.2022;5
C-3;Weber, Jonas;0172/3456789;jonas@example.de;;WVWZZZ1KZAW000003;Volkswagen;Tiguan;2023;B-JW 303;01.07.2023;3
"""


def _run(tenant, name, data, *, kind="sales", dry_run=False, mapping=None, encoding="auto"):
    with schema_context(tenant.schema_name):
        admin = User.objects.filter(role="dealer_admin").first()
        job = job_create(by=admin, name=name, data=data, kind=kind, encoding=encoding)
        if mapping is not None:
            job.mapping = mapping
        job.dry_run = dry_run
        job.save()
        pipeline.job_run(job)
        job.refresh_from_db()
        job.problem_list = list(job.problems.values_list("line", "reason", "values"))
        return job


def _people_of(job):
    """The customers a job's rows went to (other tests' committed data may share the schema)."""
    return Person.objects.filter(pk__in=ImportedRow.objects.filter(job_id=job.pk).values("person_id"))


def test_a_sales_file_creates_customers_cars_ownership_and_purchases(cast):
    job = _run(cast.a, "sales.csv", SALES.encode())

    assert job.status == ImportJob.Status.DONE, job.message
    assert job.counts == {"created": 2, "updated": 0, "merged": 1, "unchanged": 0,
        "review": 0, "warnings": 0, "rejected": 0}
    with schema_context(cast.a.schema_name):
        anna = Person.objects.get(family_name="Schmidt")
        assert (anna.given_name, anna.birth_date) == ("Anna", date(1984, 5, 12))
        assert list(anna.phones.values_list("number", flat=True)) == ["+491712345678"]
        jonas = Person.objects.get(family_name="Weber")  # "Weber, Jonas" with the same phone is him
        assert set(jonas.emails.values_list("address", flat=True)) == {"jonas@example.de"}
        assert set(ExternalRef.objects.filter(person=jonas).values_list("key", flat=True)) == {"C-2", "C-3"}
        assert VehicleLink.objects.filter(person=jonas, kind="owner", ended_on__isnull=True).count() == 2
        golf = Vehicle.objects.get(vin="WVWZZZ1KZAW000001")
        assert (golf.model, golf.year, golf.purchase_date, golf.plate_key) == ("Golf", 2021, date(2021, 3, 15),
                                                                               "BAS101")
        assert golf.mileage_readings.get().kilometres == 10
        assert TimelineEntry.objects.filter(person=anna, kind="purchase").count() == 1
        assert not job.file


def test_a_bad_value_costs_only_itself_and_only_rows_naming_nobody_are_rejected(cast):
    data = (
        "Name;Phone;Birth date;VIN;Sale date\n"
        "Jürgen Groß;0171 1111111;01.01.1980;;\n"                 # line 2: fine
        "Bad Date;0171 2222222;31.02.1980;;\n"                    # line 3: no 31 February: kept, without the date
        "Bad Phone;12;01.01.1980;;\n"                             # line 4: not a phone: kept, without it
        ";0171 3333333;01.01.1980;;\n"                            # line 5: no name, but a phone: an unnamed customer
        "Too Many;0171 4444444;01.01.1980;;;extra\n"              # line 6: shifted columns: cannot be read
        "Jürgen Groß;0171 1111111;01.01.1980;;\n"                 # line 7: the same as line 2: in once
        "Bad Vin;0171 5555555;;1HGCM82633A00435X;\n"              # line 8: wrong check digit: kept as written
        ";12;31.02.1980;;\n"                                      # line 9: nothing left that says who
    ).encode() + "Broken Bytes;0171 6666666;01.01.1980;;\n".encode("cp1252").replace(b"Broken", b"Br\xf6ken") + (
        b"Good Two;0171 7777777;;;\n"                              # line 11: fine
    )

    job = _run(cast.a, "messy.csv", data)

    assert job.status == ImportJob.Status.DONE
    assert (job.counts["created"], job.counts["warnings"], job.counts["unchanged"], job.counts["rejected"]) == (
        6, 3, 1, 3), [p[:2] for p in job.problem_list]
    with schema_context(cast.a.schema_name):
        problems = {(problem.line, problem.severity): problem for problem in job.problems.all()}
        assert sorted(problems) == [(3, "warning"), (4, "warning"), (6, "rejected"), (8, "warning"), (9, "rejected"),
                                    (10, "rejected")]
        assert problems[3, "warning"].column == "Birth date" and "31.02.1980" in problems[3, "warning"].reason
        assert problems[4, "warning"].column == "Phone"
        assert "header has 5 columns" in problems[6, "rejected"].reason
        assert "check digit" in problems[8, "warning"].reason
        assert "Nothing left to say who the customer is" in problems[9, "rejected"].reason
        assert "not UTF-8 text" in problems[10, "rejected"].reason
        assert problems[4, "warning"].values == ["Bad Phone", "12", "01.01.1980", "", ""]

        people = {person.family_name: person for person in _people_of(job)}
        assert set(people) == {"Groß", "Date", "Phone", "", "Vin", "Two"}
        assert people["Date"].birth_date is None and people["Date"].phones.get().number == "+491712222222"
        assert not people["Phone"].phones.exists() and people["Phone"].birth_date == date(1980, 1, 1)
        assert people[""].phones.get().number == "+491713333333"
        car = Vehicle.objects.get(vin="1HGCM82633A00435X")  # kept as written, beside the hint
        assert car.links.get().person == people["Vin"]
        hints = {hint.field: hint for hint in DataHint.objects.filter(job=job)}
        assert (hints["birth_date"].person, hints["birth_date"].value, hints["birth_date"].line) == (
            people["Date"], "31.02.1980", 3)
        assert (hints["phone"].person, hints["phone"].value) == (people["Phone"], "12")
        assert (hints["vin"].person, hints["vin"].vehicle, hints["vin"].value) == (people["Vin"], car,
                                                                                   "1HGCM82633A00435X")


def test_importing_the_same_file_again_changes_nothing(cast):
    _run(cast.a, "sales.csv", SALES.encode())
    with schema_context(cast.a.schema_name):
        before = [model.objects.count() for model in (Person, Phone, Vehicle, VehicleLink, MileageReading,
                                                       TimelineEntry, ExternalRef)]

    again = _run(cast.a, "sales again.csv", SALES.encode())

    assert again.counts == {"created": 0, "updated": 0, "merged": 0, "unchanged": 3,
        "review": 0, "warnings": 0, "rejected": 0}
    with schema_context(cast.a.schema_name):
        after = [model.objects.count() for model in (Person, Phone, Vehicle, VehicleLink, MileageReading,
                                                      TimelineEntry, ExternalRef)]
    assert after == before


def test_the_same_customers_in_a_reformatted_file_are_found_not_duplicated(cast):
    _run(cast.a, "sales.csv", SALES.encode())
    reformatted = SALES.replace(";", ",").replace("Weber, Jonas", '"Weber, Jonas"').replace(
        "0171 2345678", "+49 (171) 234-56-78").replace(
        "Anna Schmidt", "Schmidt Anna").replace(",10\n", ",12000\n")

    job = _run(cast.a, "sales.csv", reformatted.encode())

    # Only Anna's row says something new; the others read the same once cleaned: unchanged.
    assert (job.counts["created"], job.counts["updated"], job.counts["unchanged"]) == (0, 1, 2)
    with schema_context(cast.a.schema_name):
        assert Person.objects.filter(family_name__in=["Schmidt", "Weber"]).count() == 2
        golf = Vehicle.objects.get(vin="WVWZZZ1KZAW000001")
        assert sorted(golf.mileage_readings.values_list("kilometres", flat=True)) == [10, 12000]


def test_only_exact_strong_matches_fold_into_existing_customers_the_rest_go_to_review(cast):
    with schema_context(cast.a.schema_name):
        petrov = person_create(by=None, fields={"family_name": "Петров", "given_name": "Иван"},
                               phones=["+49 171 9999999"])
    data = (b"Family name;Given name;Phone\n"
            b"Petrov;Ivan;0171 9999999\n"          # the same man, in Latin: folded into him
            b"Petrova;Maria;0171 9999999\n")  # his wife on the household phone: a new customer

    job = _run(cast.a, "family.csv", data)

    assert (job.counts["merged"], job.counts["created"], job.counts["review"]) == (1, 1, 0)
    with schema_context(cast.a.schema_name):
        assert Person.objects.filter(family_name__in=["Петров", "Petrov"]).count() == 1
        maria = Person.objects.get(given_name="Maria")
        assert maria.phones.get().number == "+491719999999"
        # A shared phone with another name is not one person, and not even worth a review.
        assert not DuplicateCandidate.objects.filter(person_a__in=[petrov, maria]).exists()


def test_a_typo_in_the_name_on_the_same_phone_is_merged_after_the_file_and_can_be_undone(cast):
    with schema_context(cast.a.schema_name):
        klaus = person_create(by=None, fields={"family_name": "Schneider", "given_name": "Klaus"},
                              phones=["0171 8888888"])

    job = _run(cast.a, "typo.csv", b"Family name;Given name;Phone\nSchnieder;Klaus;0171 8888888\n")

    # Not folded in while reading (the names differ), but found by identity resolution after the file.
    assert (job.counts["created"], job.counts["merged"], job.counts["duplicates_merged"],
            job.counts["review"]) == (1, 0, 1, 0)
    with schema_context(cast.a.schema_name):
        typo = Person.objects.get(family_name="Schnieder")
        assert typo.merged_into_id == klaus.pk
        assert "one letter apart" in MergeRecord.objects.get(survivor=klaus).reason


BROKEN = b"C-9;Broken Date;0171 1234567;;31.31.2020;;;;;;;\n"


def test_a_dry_run_counts_exactly_what_the_import_would_do_and_writes_nothing(cast):
    with schema_context(cast.a.schema_name):
        before = Person.objects.count(), Vehicle.objects.count()

    dry = _run(cast.a, "sales.csv", SALES.encode() + BROKEN, dry_run=True)

    assert dry.status == ImportJob.Status.DONE
    assert dry.counts == {"created": 3, "updated": 0, "merged": 1, "unchanged": 0, "review": 0, "warnings": 1,
                          "rejected": 0}
    assert [line for line, _reason, _values in dry.problem_list] == [5]
    assert dry.file  # kept for the real run
    with schema_context(cast.a.schema_name):
        assert (Person.objects.count(), Vehicle.objects.count()) == before
    real = _run(cast.a, "sales.csv", SALES.encode() + BROKEN)
    assert real.counts == dry.counts


SERVICE = """RO;Date;Customer;Phone;VIN;Make;Model;Mileage;Work;Amount
R-100;2024-04-02;Anna Schmidt;0171 2345678;WVWZZZ1KZAW000001;Volkswagen;Golf;15200;Oil service;189,90
R-180;2024-10-15;Anna Schmidt;0171 2345678;WVWZZZ1KZAW000001;Volkswagen;Golf;24100;Winter tyres;60
R-200;2024-11-03;Lukas Schmidt;0171 5550000;WVWZZZ1KZAW000001;Volkswagen;Golf;25000;Brakes;420
"""


def test_a_service_file_adds_visits_and_mileage_and_whoever_brings_the_car_in(cast):
    _run(cast.a, "sales.csv", SALES.encode())

    job = _run(cast.a, "service.csv", SERVICE.encode(), kind="service")

    assert (job.counts["merged"], job.counts["created"]) == (2, 1), job.counts
    with schema_context(cast.a.schema_name):
        anna = Person.objects.get(given_name="Anna")
        visits = TimelineEntry.objects.filter(person=anna, kind="visit").order_by("occurred_at")
        assert [visit.summary for visit in visits] == ["Service visit, order R-100: Oil service",
                                                        "Service visit, order R-180: Winter tyres"]
        assert "Total: 189.90\xa0EUR" in visits[0].body  # the group's currency
        golf = Vehicle.objects.get(vin="WVWZZZ1KZAW000001")
        assert sorted(golf.mileage_readings.values_list("kilometres", flat=True)) == [10, 15200, 24100, 25000]
        lukas = Person.objects.get(given_name="Lukas")
        assert golf.links.get(person=lukas).kind == "user"
        assert golf.links.get(person=anna, ended_on__isnull=True).kind == "owner"


def test_a_later_sale_of_a_car_moves_ownership_and_keeps_the_history(cast):
    _run(cast.a, "sales.csv", SALES.encode())
    resale = (b"Name;Phone;VIN;Sale date\n"
              b"Paul Becker;0160 1234567;WVWZZZ1KZAW000001;01.09.2025\n")

    _run(cast.a, "resale.csv", resale)

    with schema_context(cast.a.schema_name):
        golf = Vehicle.objects.get(vin="WVWZZZ1KZAW000001")
        history = list(golf.links.order_by("started_on").values_list("person__given_name", "started_on", "ended_on"))
        assert history == [("Anna", date(2021, 3, 15), date(2025, 9, 1)), ("Paul", date(2025, 9, 1), None)]


def test_an_xlsx_export_with_real_dates_and_numbers_imports(cast):
    book = Workbook()
    sheet = book.active
    sheet.append(["Kundennummer", "Name", "Mobile", "VIN", "Purchase date", "Year"])
    sheet.append(["K-9", "Eva Klein", 4917155500011.0, "WVWZZZ1KZAW000009", date(2022, 5, 4), 2022])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["K-10", "Max Klein", "0171 5550012", "", "not a date", 2020])
    buffer = io.BytesIO()
    book.save(buffer)

    job = _run(cast.a, "export.xlsx", buffer.getvalue(),
               mapping={"customer_number": "Kundennummer", "full_name": "Name", "phone": "Mobile", "vin": "VIN",
                        "purchase_date": "Purchase date", "year": "Year"})

    assert (job.counts["created"], job.counts["warnings"], job.counts["rejected"]) == (2, 1, 0)
    assert [line for line, _reason, _values in job.problem_list] == [4]  # Max came in without his purchase date
    with schema_context(cast.a.schema_name):
        eva = Person.objects.get(given_name="Eva")
        assert eva.phones.get().number == "+4917155500011"
        assert Vehicle.objects.get(vin="WVWZZZ1KZAW000009").purchase_date == date(2022, 5, 4)


def test_a_russian_dms_file_in_windows_1251_is_read_with_its_headers(cast):
    data = ("Код клиента;ФИО;Телефон;Дата продажи;Госномер\n"
            "77;Иванов Пётр Сергеевич;8 (912) 345-67-89;05.04.2023;а123вс77\n").encode("cp1251")

    job = _run(cast.b, "выгрузка.csv", data)

    assert job.counts["created"] == 1, (job.counts, job.mapping, job.problem_list)
    with schema_context(cast.b.schema_name):
        person = _people_of(job).get()
        assert (person.family_name, person.given_name, person.middle_name) == ("Иванов", "Пётр", "Сергеевич")
        assert person.phones.get().number == "+79123456789"
        assert ExternalRef.objects.get(key="77").person == person


def test_a_mapping_without_a_name_or_with_a_missing_column_is_refused(cast):
    with schema_context(cast.a.schema_name):
        admin = User.objects.get(email=cast.a_admin)
        job = job_create(by=admin, name="sales.csv", data=SALES.encode(), kind="sales")

        problems = mapping_problems(job, {"phone": "Phone", "vin": "Fahrgestellnummer"})

    assert problems == ["The file has no column “Fahrgestellnummer” (mapped to VIN).",
                        "Map the customer's name: a full-name column, or family and given names."]


def test_a_run_that_stops_half_way_resumes_without_duplicates(cast, monkeypatch):
    rows = "".join(f"Kunde {n};Person;0171 {1000000 + n}\n" for n in range(7))
    data = ("Family name;Given name;Phone\n" + rows).encode()
    monkeypatch.setattr(pipeline, "CHUNK", 3)
    calls = {"n": 0}
    real_chunk = pipeline.Importer.chunk

    def chunk_then_die(self, parsed):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        return real_chunk(self, parsed)

    monkeypatch.setattr(pipeline.Importer, "chunk", chunk_then_die)
    with pytest.raises(RuntimeError):
        _run(cast.a, "big.csv", data)
    with schema_context(cast.a.schema_name):
        job = ImportJob.objects.latest("pk")
        assert (job.status, job.processed_rows) == (ImportJob.Status.FAILED, 3)
        assert _people_of(job).count() == 3

        pipeline.job_run(job, resume=True)

        job.refresh_from_db()
        assert job.status == ImportJob.Status.DONE
        assert job.counts["created"] == 7
        assert _people_of(job).count() == 7
        assert Person.objects.filter(family_name__startswith="Kunde ").count() == 7


FLEET = """Customer No;Company;INN;Name;Phone;VIN;Make;Model;Sale date;Mileage
K-10;ООО «Северный Лизинг»;7701 234 567;;+7 495 111-22-33;XTA21700080000001;Lada;Vesta;15.03.2024;12
K-10;ООО «Северный Лизинг»;7701234567;Сидоров Павел;+7 912 555-00-01;XTA21700080000002;Lada;Largus;01.04.2024;8
K-10;ооо «северный лизинг»;;Кузнецов Олег;+7 912 555-00-02;XTA21700080000003;Lada;Niva;02.04.2024;4
K-11;Taxi Nord GmbH;DE 123 456 789;;;XTA21700080000004;Lada;Granta;03.04.2024;
"""


def test_company_buyers_own_their_cars_and_the_person_on_their_row_is_the_company_car_user(cast):
    from django.utils import timezone

    from crm.customers.models import Company, CompanyContact

    job = _run(cast.a, "fleet.csv", FLEET.encode())

    assert job.status == ImportJob.Status.DONE, job.message
    assert job.counts == {"created": 4, "updated": 0, "merged": 0, "unchanged": 0,
        "review": 0, "warnings": 0, "rejected": 0}
    with schema_context(cast.a.schema_name):
        leasing = Company.objects.get(tax_id="7701234567")  # one company: same tax id, then same name
        assert (leasing.legal_name, leasing.phone) == ("ООО «Северный Лизинг»", "+74951112233")
        assert set(VehicleLink.objects.filter(company=leasing, kind="owner").values_list("vehicle__model", flat=True)
                   ) == {"Vesta", "Largus", "Niva"}
        pavel = Person.objects.get(family_name="Сидоров")
        assert VehicleLink.objects.get(person=pavel).kind == "user"
        role = CompanyContact.objects.get(person=pavel)
        assert (role.company, role.role, [v.model for v in role.vehicles.all()]) == (leasing, "user", ["Largus"])
        assert ExternalRef.objects.get(key="K-10").company == leasing  # the company's number, not Pavel's
        assert Company.objects.get(tax_id="DE123456789").legal_name == "Taxi Nord GmbH"
        assert TimelineEntry.objects.filter(person=pavel, kind="purchase").exists()

    one_more = "K-10;ООО «Северный Лизинг»;7701234567;;;XTA21700080000005;Lada;Vesta;01.05.2024;1\n"
    again = _run(cast.a, "fleet-again.csv", (FLEET + one_more).encode())

    assert (again.counts["unchanged"], again.counts["updated"], again.counts["created"]) == (4, 1, 0)
    with schema_context(cast.a.schema_name):
        assert Company.objects.filter(legal_name__icontains="Северный").count() == 1
        assert VehicleLink.objects.filter(company__tax_id="7701234567").count() == 4
        assert MileageReading.objects.get(vehicle__vin="XTA21700080000001").kilometres == 12  # a company row's too
        Company.objects.filter(pk=leasing.pk).update(archived_at=timezone.now())

    # A later export: the driver now without a phone, the company by its number only, renamed.
    later = ("Customer No;Company;Name;Plate;Make;Model\n"
             "K-10;Северный Лизинг АО;Сидоров Павел;А123ВС77;Lada;Largus\n")
    update = _run(cast.a, "fleet-update.csv", later.encode())

    assert update.counts["merged"] == 1, update.problem_list
    with schema_context(cast.a.schema_name):
        assert Person.objects.filter(family_name="Сидоров").count() == 1  # the same man at the same company
        assert Company.objects.get(pk=leasing.pk).archived_at is None  # back in the DMS file: back in contact
        assert CompanyContact.objects.filter(company__tax_id="7701234567").count() == 2


def test_a_tax_id_without_a_company_name_is_reported_and_the_row_kept_by_its_phone(cast):
    job = _run(cast.a, "fleet-bad.csv", b"Company;INN;Name;Phone\n;7701234567;;+7 495 111-22-33\n"
                                        b";7701234568;;\n")

    assert (job.counts["created"], job.counts["warnings"], job.counts["rejected"]) == (1, 1, 1)
    assert [problem[:2] for problem in job.problem_list] == [
        (2, "A company tax id without the company's name."),
        (3, "Nothing left to say who the customer is: Company tax id: A company tax id without the company's name.")]
