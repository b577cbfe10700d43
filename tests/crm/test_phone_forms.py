"""Phones from anywhere: a number is read in the countries the dealer group's customers come from (its own
first), in every form people write it, and never guessed; the dealer admin declares those countries."""

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import get_tenant_model, schema_context

from accounts.models import User
from crm.customers.importing import pipeline
from crm.customers.importing.fields import RowParser
from crm.customers.importing.jobs import job_create
from crm.customers.models import AuditEntry, DataHint, ImportedRow, Person, Phone
from crm.customers.normalize import phone_e164, phone_read
from crm.customers.services import person_create, phones_normalize, tenant_regions

RU_CN = ["RU", "CN"]


@pytest.mark.parametrize(("raw", "e164"), [
    # Russia, the group's own country: international, trunk "8", country code without "+", bare 10 digits.
    ("+7 912 345-67-89", "+79123456789"),
    ("8 (912) 345-67-89", "+79123456789"),
    ("79123456789", "+79123456789"),
    ("9123456789", "+79123456789"),
    ("8 495 123-45-67", "+74951234567"),
    ("8 10 86 138 1234 5678", "+8613812345678"),  # Russia's own exit code, "8~10"
    # China: "+86", exit code "00", country code without "+", a bare 11-digit mobile, a fixed line with its "0".
    ("+86 138 1234 5678", "+8613812345678"),
    ("0086 138 1234 5678", "+8613812345678"),
    ("8613812345678", "+8613812345678"),
    ("13812345678", "+8613812345678"),
    ("010 1234 5678", "+861012345678"),
    # Germany, which the group does not serve: with an exit code or "+" it says where it is.
    ("0049 171 5550001", "+491715550001"),
    ("+49 171 5550001", "+491715550001"),
])
def test_a_russian_group_serving_russia_and_china_reads_each_form_as_its_number(raw, e164):
    assert phone_read(raw, RU_CN).e164 == e164


@pytest.mark.parametrize(("raw", "regions", "e164"), [
    ("0171 5550001", ["DE"], "+491715550001"),  # German national form, trunk "0"
    ("4917155500011", ["DE"], "+4917155500011"),  # a spreadsheet dropped the "+": a German mobile, not a fixed line
    ("8 701 123 4567", ["KZ"], "+77011234567"),  # Kazakhstan: trunk "8", shares +7 with Russia
    ("0151 2345678", ["DE"], "+491512345678"),  # a home number in its own form, a range newer than the metadata
])
def test_german_and_kazakh_national_forms_are_read_in_their_own_group(raw, regions, e164):
    assert phone_read(raw, regions).e164 == e164


def test_a_group_serving_only_russia_does_not_turn_a_bare_chinese_mobile_into_an_american_number():
    reading = phone_read("13812345678", ["RU"])

    assert reading.e164 is None  # before: stored as +1 381 234 5678
    assert "13812345678" in reading.hint and "RU" in reading.hint and "+" in reading.hint
    with pytest.raises(ValidationError) as refused:
        phone_e164("13812345678", "RU")
    assert refused.value.messages == [reading.hint]


def test_a_number_that_fits_two_served_countries_is_not_guessed():
    # Shanghai with its trunk "0" or Solingen with its trunk "0"; a Chinese mobile or a German one without "0".
    for raw, readings in (("021 2816 5774", ("+86 21 2816 5774 (CN)", "+49 212 8165774 (DE)")),
                          ("17267937980", ("+86 172 6793 7980 (CN)", "+49 172 67937980 (DE)"))):
        reading = phone_read(raw, ["RU", "CN", "DE"])

        assert reading.e164 is None
        assert all(choice in reading.hint for choice in readings), reading.hint
        assert phone_read(raw, RU_CN).e164 == "+86" + raw.replace(" ", "").removeprefix("0")  # one country: no doubt


def test_the_home_country_comes_before_a_bare_reading_abroad():
    # Half of the bare Russian mobiles are also valid Chinese fixed lines written without their "0".
    assert phone_read("9404763295", ["RU", "CN"]).e164 == "+79404763295"
    assert phone_read("9404763295", ["RU", "US"]).e164 == "+79404763295"  # not +1 940-476-3295
    assert phone_read("9404763295", ["US", "RU"]).e164 == "+19404763295"


@pytest.mark.parametrize("raw", ["", "call me", "12", "+7 912"])
def test_what_is_no_phone_number_gets_a_hint(raw):
    reading = phone_read(raw, RU_CN)

    assert reading.e164 is None and reading.hint


def _serve(tenant, *countries):
    get_tenant_model().objects.filter(pk=tenant.pk).update(customer_countries=list(countries))


@pytest.mark.django_db
def test_the_importer_reads_phones_in_the_countries_the_group_serves(cast):
    _serve(cast.b, "CN")
    data = ("ФИО;Телефон\n"
            "Иванов Пётр;8 (912) 345-67-89\n"
            "Ван Лэй;13812345678\n"
            "Чжан Вэй;0086 139 1234 5678\n"
            "Ли На;8613712345678\n").encode()
    with schema_context(cast.b.schema_name):
        assert tenant_regions() == ["RU", "CN"]
        job = job_create(by=User.objects.filter(role="dealer_admin").first(), name="clients.csv", data=data,
                         kind="sales")
        pipeline.job_run(job)
        job.refresh_from_db()
        people = Person.objects.filter(pk__in=ImportedRow.objects.filter(job_id=job.pk).values("person_id"))

        assert job.counts["created"] == 4, (job.counts, list(job.problems.values_list("reason", flat=True)))
        assert sorted(Phone.objects.filter(person__in=people).values_list("number", flat=True)) == [
            "+79123456789", "+8613712345678", "+8613812345678", "+8613912345678"]


@pytest.mark.django_db
def test_an_import_keeps_the_customer_of_an_ambiguous_number_and_the_number_as_written_on_a_hint(cast):
    _serve(cast.b, "CN", "DE")
    data = "ФИО;Телефон\nВан Лэй;021 2816 5774\nИванов Пётр;9123456789\n".encode()
    with schema_context(cast.b.schema_name):
        job = job_create(by=User.objects.filter(role="dealer_admin").first(), name="clients.csv", data=data,
                         kind="sales")
        pipeline.job_run(job)
        job.refresh_from_db()

        assert job.counts["created"] == 2 and job.counts["rejected"] == 0, job.counts
        wang = Person.objects.get(family_name="Ван", given_name="Лэй")
        assert not wang.phones.exists()
        hint = DataHint.objects.get(person=wang)
        assert (hint.field, hint.value) == ("phone", "021 2816 5774")
        assert "+86 21 2816 5774 (CN)" in hint.message and "+49 212 8165774 (DE)" in hint.message
        assert Person.objects.get(family_name="Иванов").phones.get().number == "+79123456789"


def test_a_group_serving_only_russia_keeps_no_american_number_for_a_bare_chinese_mobile():
    parser = RowParser(header=["ФИО", "Телефон"], mapping={"full_name": "ФИО", "phone": "Телефон"}, kind="sales",
                       date_format="%d.%m.%Y", regions=["RU"], rooftops={})

    parsed, problems = parser.parse(2, ["Ван Лэй", "13812345678"])

    assert problems == [] and parsed.phones == []  # the customer is kept, without a guessed +1 381… number
    [hint] = parsed.hints
    assert (hint.field, hint.column, hint.value) == ("phone", "Телефон", "13812345678")
    assert "RU" in hint.message and "+" in hint.message
    served = RowParser(header=["ФИО", "Телефон"], mapping={"full_name": "ФИО", "phone": "Телефон"}, kind="sales",
                       date_format="%d.%m.%Y", regions=["RU", "CN"], rooftops={})
    assert served.parse(2, ["Ван Лэй", "13812345678"])[0].phones == ["+8613812345678"]


@pytest.mark.django_db
def test_staff_forms_and_the_api_share_the_rule(cast):
    with schema_context(cast.b.schema_name):
        with pytest.raises(ValidationError):
            phones_normalize(["13812345678"])
        _serve(cast.b, "CN")
        person = person_create(by=None, fields={"family_name": "Ван", "given_name": "Лэй"},
                               phones=["13812345678", "8 912 345-67-89"])

        assert sorted(person.phones.values_list("number", flat=True)) == ["+79123456789", "+8613812345678"]


@pytest.mark.django_db
def test_only_the_dealer_admin_declares_where_customers_come_from(cast):
    admin = cast.signed_in(cast.b, cast.b_admin)

    page = admin.get("/crm/customers/data-access/")
    assert page.status_code == 200 and "RU" in page.context["own_country"]
    saved = admin.post("/crm/customers/data-access/", {"form": "countries", "countries": "cn, kz"})

    assert saved.status_code == 302
    with schema_context(cast.b.schema_name):
        assert tenant_regions() == ["RU", "CN", "KZ"]
        change = AuditEntry.objects.get(action="customer_countries_changed")
        assert change.changes == {"customer_countries": [[], ["CN", "KZ"]]}
    assert admin.get("/crm/customers/data-access/").context["countries"]["countries"].value() == "CN, KZ"
    refused = admin.post("/crm/customers/data-access/", {"form": "countries", "countries": "CN, XX"})
    assert refused.status_code == 400 and "XX" in refused.text
    with schema_context(cast.b.schema_name):
        assert tenant_regions() == ["RU", "CN", "KZ"]  # nothing changed
        assert AuditEntry.objects.filter(action="customer_countries_changed").count() == 1

    # A salesperson may not change it; another dealer group's admin sees and changes only their own.
    salesperson = cast.signed_in(cast.a, cast.a_salesperson)
    assert salesperson.post("/crm/customers/data-access/", {"form": "countries", "countries": "CN"}).status_code == 403
    alpha = cast.signed_in(cast.a, cast.a_admin)
    assert alpha.get("/crm/customers/data-access/").context["countries"]["countries"].value() == ""
    assert alpha.post("/crm/customers/data-access/", {"form": "countries", "countries": "PL"}).status_code == 302
    with schema_context(cast.a.schema_name):
        assert tenant_regions() == ["DE", "PL"]
    with schema_context(cast.b.schema_name):
        assert tenant_regions() == ["RU", "CN", "KZ"]
    assert cast.client(cast.b).post("/accounts/login/", {"login": cast.a_admin, "password": cast.password}
                                    ).status_code != 302  # Alpha's admin cannot sign in at Bravo
