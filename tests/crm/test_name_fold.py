"""Folding names: every transliteration of one name meets, and different names stay apart."""

import pytest

from crm.customers.normalize import is_pinyin_name, name_fold, name_key, pinyin_split


@pytest.mark.parametrize("spellings", [
    # Cyrillic, GOST 7.79 (B), BGN/PCGN, ICAO 9303, informal
    (("Петров", "Зиновий"), ("Petrov", "Zinovij"), ("Petrov", "Zinoviy"), ("Petrov", "Zinovii"), ("Petrov", "Zinovy")),
    (("Смирнова", "Наталья"), ("Smirnova", "Natal'ja"), ("Smirnova", "Natal'ya"), ("Smirnova", "Natalia"),
     ("Smirnova", "Natalja")),
    (("Кузнецова", "Майя"), ("Kuznecova", "Majja"), ("Kuznetsova", "Mayya"), ("Kuznetsova", "Maiia")),
    (("Щукина", "Юлия"), ("Shchukina", "Yuliya"), ("Shchukina", "Iuliia"), ("Schukina", "Julija"),
     ("Shukina", "Julia")),
    (("Хрущёв", "Пётр"), ("Khrushchev", "Pyotr"), ("Hruschev", "Pjotr"), ("Khrushchev", "Petr")),
    (("Цой", "Евгений"), ("Tsoy", "Yevgeniy"), ("Coj", "Evgenij"), ("Tsoi", "Evgeny")),
    (("Ильин", "Алексей"), ("Il'in", "Aleksey"), ("Ilyin", "Alexei"), ("Ilin", "Aleksej")),
    # pinyin: Han, with and without spaces, either order
    (("张", "小明"), ("Zhang", "Xiaoming"), ("Zhang", "Xiao Ming"), ("Xiaoming", "Zhang"), ("ZhangXiaoming", ""),
     ("ZHANG", "XIAO-MING")),
    (("欧阳", "娜娜"), ("Ouyang", "Nana"), ("Nana", "Ouyang")),
])
def test_every_spelling_of_one_name_folds_to_one_key(spellings):
    keys = {name_fold(*parts) for parts in spellings}
    assert len(keys) == 1, keys


@pytest.mark.parametrize(("first", "second"), [
    (("Иванов", "Пётр"), ("Иванова", "Пётр")),  # a household, not a spelling
    (("Zhang", "Wei"), ("Gang", "Wei")),  # short pinyin syllables stay apart
    (("Jiang", "Li"), ("Yang", "Li")),  # pinyin j and y are different sounds
    (("Zhou", "Li"), ("Zou", "Li")),
    (("Alexandr", "Ivanov"), ("Alexandra", "Ivanova")),
])
def test_different_names_keep_different_keys(first, second):
    assert name_fold(*first) != name_fold(*second)


def test_pinyin_is_told_from_russian_names():
    assert is_pinyin_name("Zhang", "Xiaoming") and is_pinyin_name("王伟")
    assert not is_pinyin_name("Smirnova", "Natalia") and not is_pinyin_name("Юлия")
    assert pinyin_split("xian") == ["xian"] and pinyin_split("zhangxiaoming") == ["zhang", "xiao", "ming"]
    assert pinyin_split("ivanov") is None


def test_the_name_key_of_existing_callers_is_unchanged():
    assert name_key("Иванов", "Пётр") == name_key("Petr", "Ivanov") == "ivanov petr"
