"""Which column holds what: DMS header names in English, Russian and Chinese are recognised, and a saved
mapping is offered by itself when next month's file has its columns."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from crm.customers.importing.fields import mapping_guess
from crm.customers.models import ImportJob, ImportProfile


@pytest.mark.parametrize(("column", "target"), [
    # CDK/Reynolds-style and other English exports
    ("Buyer", "full_name"), ("Purchaser", "full_name"), ("Owner", "full_name"), ("Owner Name", "full_name"),
    ("Customer Full Name", "full_name"), ("Chassis No", "vin"), ("Chassis Number", "vin"), ("Frame No.", "vin"),
    ("Reg Plate", "plate"), ("Registration No", "plate"), ("Rego", "plate"), ("Delivered", "purchase_date"),
    ("Delivery Date", "purchase_date"), ("Handover date", "purchase_date"), ("Mobile No", "phone"),
    ("Contact No", "phone"),
    # 1C and Autodealer
    ("Телефон мобильный", "phone"), ("Покупатель", "full_name"), ("Собственник", "full_name"),
    ("Владелец", "full_name"), ("Номер кузова", "vin"), ("VIN-код", "vin"),
    ("Дата выдачи автомобиля", "purchase_date"), ("Гос. рег. знак", "plate"), ("Пробег, км", "mileage"),
    ("Дата заказ-наряда", "visit_date"), ("Номер з/н", "order_number"),
    # Chinese dealer systems
    ("VIN码", "vin"), ("车架号", "vin"), ("车主", "full_name"), ("车主姓名", "full_name"), ("车牌", "plate"),
    ("车牌号码", "plate"),
    # Case, punctuation, units and remarks in brackets
    ("MILEAGE (KM)", "mileage"), ("e_mail:", "email"), ("Odometer, km", "mileage"), ("Сумма, руб.", "amount"),
    ("金额(元)", "amount"), ("Phone (2)", "phone_2"),
])
def test_common_dms_column_names_are_recognised(column, target):
    assert mapping_guess(["Line", column], "service") == {target: column}


def test_a_name_that_contains_a_known_one_comes_after_the_exact_names():
    header = ["Owner Mobile", "Customer E-mail", "Advisor Name", "车主手机号码", "Vehicle Registration Number",
              "Dealer Name", "Mobile"]

    guess = mapping_guess(header, "sales")

    assert guess["phone"] == "Mobile"  # named exactly so, it wins over "Owner Mobile"
    assert guess["email"] == "Customer E-mail"  # the party a column belongs to does not make it the name
    assert guess["plate"] == "Vehicle Registration Number"
    assert "full_name" not in guess  # "Advisor Name" and "Dealer Name" are somebody else's
    assert "rooftop" not in guess
    assert mapping_guess(["车主", "车主手机号码"], "sales") == {"full_name": "车主", "phone": "车主手机号码"}
    assert mapping_guess(["Дата продажи автомобиля", "Дата"], "service") == {
        "purchase_date": "Дата продажи автомобиля", "visit_date": "Дата"}


SALES = ("Kundennr;Nachname;Vorname;Telefon;VIN;Verkaufsdatum\n"
         "K-1;Schmidt;Anna;0171 2345678;WVWZZZ1KZAW000001;15.03.2021\n")
MAPPING = {"map_customer_number": "Kundennr", "map_family_name": "Nachname", "map_given_name": "Vorname",
           "map_phone": "Telefon", "map_vin": "VIN", "map_purchase_date": "Verkaufsdatum", "date_format": "%d.%m.%Y"}


def _upload(client, data, name="verkauf.csv", **extra):
    return client.post("/crm/customers/imports/", {
        "file": SimpleUploadedFile(name, data.encode(), content_type="text/csv"), "kind": "sales",
        "encoding": "auto", **extra})


@pytest.mark.django_db
def test_a_saved_mapping_is_offered_when_the_next_file_has_its_columns(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)
    job_url = _upload(admin, SALES)["Location"]
    admin.post(job_url, {**MAPPING, "profile_name": "Autodealer sales", "save_profile": "1", "action": "preview"})
    with schema_context(cast.a.schema_name):
        ImportProfile.objects.create(name="Other DMS", kind="sales", mapping={"full_name": "Kunde"})
        ImportProfile.objects.create(name="Names only", kind="sales", mapping={"full_name": "Name"})

    # Next month: the same columns, another order, other case and spacing, one more column; no profile chosen.
    november = ("verkaufsdatum;VIN;KundenNr.;NACHNAME;Vorname;Telefon;Farbe\n"
                "01.11.2021;WVWZZZ1KZAW000002;K-2;Weber;Jonas;0172 3456789;rot\n")
    page = admin.get(_upload(admin, november, name="verkauf-november.csv")["Location"])

    assert "The columns match the saved mapping “Autodealer sales”" in page.text
    form = page.context["form"]
    assert form["map_family_name"].initial == "NACHNAME" and form["map_customer_number"].initial == "KundenNr."
    assert form["map_purchase_date"].initial == "verkaufsdatum" and form["date_format"].initial == "%d.%m.%Y"
    assert form["profile_name"].initial == "Autodealer sales"
    with schema_context(cast.a.schema_name):
        assert ImportJob.objects.latest("pk").profile.name == "Autodealer sales"

    # A file without the profile's columns is recognised by its names, and nothing is said about profiles:
    # nor is a profile of its one "Name" column offered, when the names alone say more.
    other = _upload(admin, "Name;Phone\nAnna Schmidt;0171 2345678\n", name="other.csv")
    other_page = admin.get(other["Location"])
    assert "saved mapping" not in other_page.text
    assert other_page.context["job"].profile is None
    assert other_page.context["form"]["map_full_name"].initial == "Name"

    # Another dealer group's profiles are not theirs to be offered.
    bravo = cast.signed_in(cast.b, cast.b_admin)
    bravo_page = bravo.get(_upload(bravo, november, name="verkauf-november.csv")["Location"])
    assert "Autodealer sales" not in bravo_page.text and bravo_page.context["job"].profile is None
