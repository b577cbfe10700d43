"""Normalised keys: the same person or car written differently must meet."""

import pytest
from django.core.exceptions import ValidationError

from crm.customers.normalize import name_key, phone_e164, transliterate, vin_normalize


@pytest.mark.parametrize(
    ("text", "surname", "latin"),
    [
        ("Пётр", False, "Petr"),
        ("Щукин", True, "Shchukin"),
        ("Ёлкина", True, "Elkina"),
        ("张", True, "Zhang"),
        ("伟", False, "Wei"),
        ("欧阳", True, "Ouyang"),  # compound surname, one word
        ("单", True, "Shan"),  # a surname read otherwise than the everyday character
        ("娜娜", False, "Nana"),
        ("Smith", True, "Smith"),
        ("", False, ""),
    ],
)
def test_names_are_transliterated_as_passports_spell_them(text, surname, latin):
    assert transliterate(text, surname=surname) == latin


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("Иванов", "Пётр"), ("Petr Ivanov",)),  # script and order
        (("张", "伟"), ("Wei", "ZHANG")),  # family-name-first Chinese against Latin, swapped
        (("Smith", "John"), ("JOHN", "smith")),
        (("O'Brien", "Seán"), ("Sean", "OBrien")),
    ],
)
def test_name_keys_meet_across_scripts_case_and_order(first, second):
    assert name_key(*first) == name_key(*second)


def test_different_people_keep_different_keys():
    assert name_key("Иванов", "Пётр") != name_key("Иванова", "Пётр")


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("8 (912) 345-67-89", "RU", "+79123456789"),
        ("+7 912 345 67 89", "CN", "+79123456789"),
        ("138 0013 8000", "CN", "+8613800138000"),
        ("+86 138-0013-8000", None, "+8613800138000"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("030 901820", "DE", "+4930901820"),
    ],
)
def test_phones_are_stored_in_e164_read_in_the_tenants_region(raw, region, e164):
    assert phone_e164(raw, region) == e164


@pytest.mark.parametrize("raw", ["12", "call me", "+7 912"])
def test_unreadable_phones_are_refused_with_a_message(raw):
    with pytest.raises(ValidationError) as refused:
        phone_e164(raw, "RU")

    assert refused.value.messages[0]


def test_vins_are_cleaned_and_check_digits_enforced_only_where_the_standard_applies():
    assert vin_normalize(" 1hgcm82633a004352 ") == "1HGCM82633A004352"  # North America, digit right
    assert vin_normalize("WVWZZZ1KZAW000000") == "WVWZZZ1KZAW000000"  # Europe: no check digit
    with pytest.raises(ValidationError, match="check digit"):
        vin_normalize("1HGCM82633A004353")
    with pytest.raises(ValidationError, match="17 characters"):
        vin_normalize("WVWZZZ1KZ")
    with pytest.raises(ValidationError, match="except I, O and Q"):
        vin_normalize("WVWZZZ1KZAW00000O")
