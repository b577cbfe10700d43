"""Synthetic DMS exports of a Russian dealer group with Russian and Chinese customers, with ground truth.

``files_write`` streams a sales export (one row per car sold) and a service export (one row per
repair order) to CSV files, a block of people at a time, so memory stays flat however many rows
are asked for. Next to them it writes ``truth.csv``: for every data row, its file, its line, the
true person (``-1`` for a junk line that names nobody) and the kinds of noise the row carries.

Every kind of noise that real exports from two DMS of one group show is here, each at a rate of
its own and counted in ``Noise``:

- Russian names in Cyrillic (the sales desk) or in Latin through one of five transliterations
  (GOST 7.79 system B, ICAO 9303 passports, BGN/PCGN, informal ``ij/ja/ju`` and ``iy/ya/yu``),
  family-first or given-first, patronymic dropped, one-edit typos, lost or extra spaces, and a
  married woman's new family name (same phone, given name and birth date);
- Chinese names in Han characters or pinyin, with or without spaces, either order, and
  households of two people with short names (one syllable given names, sometimes homophones) on
  one phone: different people;
- phones as ``+7 …``, ``8 …``, bare ten digits; Chinese mobiles as ``+86 …``, ``0086…``, bare
  eleven digits, ``86…``;
- VINs with O typed for 0, I for 1, a wrong check digit on Chinese (``L…``) VINs, a wrong
  model-year character;
- pool cars: a company's car brought to the workshop by several drivers (distinct people) under
  the company's number; spouses sharing one household phone;
- dates in the file's format (``dd.mm.yyyy``), some of them nonsense (31.02., 00.00.0000, month 13);
- rows with one bad field (phone, VIN, e-mail, mileage, amount): the customer must still be kept;
- junk lines (a totals line, a blank name with nothing else): the only rows that may be rejected.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

SALES_HEADER = ["Код клиента", "ФИО", "Компания", "Телефон", "E-mail", "Дата рождения", "VIN", "Марка", "Модель",
                "Год выпуска", "Госномер", "Дата продажи", "Пробег"]
SERVICE_HEADER = ["Заказ-наряд", "Дата", "Клиент", "Компания", "Код клиента", "Телефон", "VIN", "Марка", "Модель",
                  "Пробег", "Работы", "Сумма"]
MODELS = [("Lada", "Vesta"), ("Kia", "Rio"), ("Hyundai", "Solaris"), ("Skoda", "Octavia"), ("Toyota", "Camry"),
          ("Volkswagen", "Polo")]
CHINESE_MODELS = [("Haval", "Jolion", "LGW"), ("Chery", "Tiggo 7", "LVV"), ("Geely", "Coolray", "L6T"),
                  ("Changan", "CS55", "LS5")]
WORKS = ["ТО-1", "ТО-2", "Замена масла", "Шиномонтаж", "Тормозные колодки", "Диагностика", "Кузовной ремонт"]
PLATE_LETTERS = "АВЕКМНОРСТУХ"
COMPANY_NAMES = ["ООО «Северный ветер»", "АО «Трансресурс»", "ООО «Логистик Плюс»", "ООО «Стройинвест»",
                 "ИП Карпов", "ООО «Фармадис»", "АО «Энергосбыт»", "ООО «Деловые линии Юг»"]

# The model-year character (position 10): 2010 = A … 2030 = Y, without I, O, Q, U, Z, 0.
YEAR_CHARS = "ABCDEFGHJKLMNPRSTVWXY123456789"
VIN_SERIAL_DIGITS = "0123456789"
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_VIN_VALUES = {**{str(d): d for d in range(10)},
               **dict(zip("ABCDEFGH", range(1, 9), strict=True)), **dict(zip("JKLMN", range(1, 6), strict=True)),
               "P": 7, "R": 9, **dict(zip("STUVWXYZ", range(2, 10), strict=True))}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

# Transliterations of Russian (lower case; the writer title-cases). Context rules (GOST's "c" or
# "cz", BGN's "ye" after a vowel or at the start) are applied in ``translit``.
_COMMON = dict(zip("абвгдзиклмнопрстуф", "abvgdziklmnoprstuf", strict=True))
SYSTEMS: dict[str, dict[str, str]] = {
    # GOST 7.79-2000 system B (the Russian standard for transliteration in Latin letters).
    "gost": {**_COMMON, "е": "e", "ё": "yo", "ж": "zh", "й": "j", "х": "x", "ц": "cz", "ч": "ch", "ш": "sh",
             "щ": "shh", "ъ": "``", "ы": "y`", "ь": "`", "э": "e`", "ю": "yu", "я": "ya"},
    # ICAO Doc 9303 (Russian passports since 2013).
    "icao": {**_COMMON, "е": "e", "ё": "e", "ж": "zh", "й": "i", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
             "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia"},
    # BGN/PCGN 1947 (maps, older passports and most English-language press).
    "bgn": {**_COMMON, "е": "e", "ё": "ë", "ж": "zh", "й": "y", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
            "щ": "shch", "ъ": "\"", "ы": "y", "ь": "'", "э": "e", "ю": "yu", "я": "ya"},
    # Informal, German/Scandinavian habit: Zinovij, Natalja, Julija.
    "informal_j": {**_COMMON, "е": "e", "ё": "jo", "ж": "zh", "й": "j", "х": "h", "ц": "c", "ч": "ch", "ш": "sh",
                   "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "ju", "я": "ja"},
    # Informal, English habit: Zinoviy, Natalya, Yuliya.
    "informal_y": {**_COMMON, "е": "e", "ё": "yo", "ж": "zh", "й": "y", "х": "kh", "ц": "ts", "ч": "ch",
                   "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya"},
}
SYSTEM_WEIGHTS = {"gost": 15, "icao": 30, "bgn": 15, "informal_j": 15, "informal_y": 25}
_RU_VOWELS = set("аеёиоуыэюяйъь")


def translit(text: str, system: str) -> str:
    """Russian text in Latin letters by one system, each word capitalised."""
    table = SYSTEMS[system]
    out = []
    for word in text.split(" "):
        letters = []
        lower = word.lower()
        for i, char in enumerate(lower):
            before = lower[i - 1] if i else ""
            after = lower[i + 1] if i + 1 < len(lower) else ""
            if system == "gost" and char == "ц" and after in "еиыйэ":
                letters.append("c")
            elif system == "bgn" and char in "её" and (not before or before in _RU_VOWELS):
                letters.append("ye" if char == "е" else "yë")
            else:
                letters.append(table.get(char, char))
        latin = "".join(letters)
        out.append(latin[:1].upper() + latin[1:])
    return " ".join(out)


def vin_check_digit(vin: str) -> str:
    total = sum(_VIN_VALUES[char] * weight for char, weight in zip(vin, _VIN_WEIGHTS, strict=True))
    return "X" if total % 11 == 10 else str(total % 11)


@dataclass
class Car:
    vin: str
    make: str
    model: str
    year: int
    plate: str
    sold: date
    company: int = -1  # a pool car: the company's index
    drivers: list[int] = field(default_factory=list)


@dataclass
class Person:
    pk: int
    script: str  # ru, zh, en
    female: bool
    family: str
    given: str
    middle: str
    phone: str  # digits without the country code
    country: str  # 7 or 86
    email: str
    born: date | None
    married_family: str = ""  # a new family name after a marriage: the service desk writes this one
    cars: list[Car] = field(default_factory=list)


@dataclass
class Noise:
    """How many rows carry each kind of noise (one row may carry several)."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, tags: list[str], kind: str) -> None:
        self.counts[kind] += 1
        self.counts.update(tags)


class _Fakers:
    def __init__(self, seed: int) -> None:
        from faker import Faker

        self.ru, self.zh, self.en = Faker("ru_RU"), Faker("zh_CN"), Faker("en_GB")
        for offset, faker in enumerate((self.ru, self.zh, self.en)):
            faker.seed_instance(seed + offset)


def _phone_of(pk: int, country: str) -> str:
    """A phone number unique to ``pk`` (a bijection on the last nine digits), no set of used numbers kept."""
    serial = (pk * 387_420_489 + 12_345) % 1_000_000_000
    if country == "86":
        return ("13", "18")[pk % 2] + f"{serial:09d}"  # 11 digits, a 13x or 18x mobile
    return "9" + f"{serial:09d}"


def people_block(start: int, count: int, rng: random.Random, fakers: _Fakers, noise: Noise) -> list[Person]:
    """``count`` people numbered from ``start``: 75% Russian, 15% Chinese, 10% other; spouses and
    Chinese households share one phone; some women marry and change their family name."""
    people: list[Person] = []
    for pk in range(start, start + count):
        script = rng.choices(["ru", "zh", "en"], weights=[75, 15, 10])[0]
        female = rng.random() < 0.45
        if script == "ru":
            faker = fakers.ru
            family = faker.last_name_female() if female else faker.last_name_male()
            given = faker.first_name_female() if female else faker.first_name_male()
            middle = faker.middle_name_female() if female else faker.middle_name_male()
        elif script == "zh":
            family, given, middle = fakers.zh.last_name(), fakers.zh.first_name(), ""
        else:
            family, middle = fakers.en.last_name(), ""
            given = fakers.en.first_name_female() if female else fakers.en.first_name_male()
        country = "86" if script == "zh" and rng.random() < 0.6 else "7"
        email = (f"client{pk}@{rng.choice(['mail.ru', 'yandex.ru', 'gmail.com', 'qq.com', '163.com'])}"
                 if rng.random() < 0.5 else "")
        born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 18000)) if rng.random() < 0.7 else None
        people.append(Person(pk, script, female, family, given, middle, _phone_of(pk, country), country, email,
                             born))
    for person in people:
        if person.script == "ru" and person.female and rng.random() < 0.08:
            other = fakers.ru.last_name_female()
            if other != person.family:
                person.married_family = other
                noise.counts["people_married_new_surname"] += 1
    # Spouses: a second person of the same family on the same household phone (not one person!).
    for person in rng.sample(people, k=max(1, count // 12)):
        spouse = people[rng.randrange(count)]
        if spouse is person or spouse.script != person.script or spouse.script == "zh":
            continue
        spouse.phone, spouse.country = person.phone, person.country
        spouse.family = person.family
        if spouse.script == "ru":
            spouse.family = person.family[:-1] if person.family.endswith("а") else person.family
            if spouse.female:
                spouse.family = person.family if person.family.endswith("а") else person.family + "а"
        noise.counts["people_spouse_shares_phone"] += 1
    # Chinese households: two people with short names (one-syllable given names, often homophones
    # in pinyin: 伟 and 薇 are both "wei") on one phone. Different people.
    chinese = [person for person in people if person.script == "zh"]
    for first, second in zip(chinese[::7], chinese[3::7], strict=False):
        first.given = rng.choice("伟刚军磊勇杰涛明超")
        second.given = rng.choice(["薇", "钢", "君", "蕾", "咏", "洁", "韬", "敏", "巢", first.given])
        if second.given == first.given:
            second.given = rng.choice("芳娜静丽")
        second.family, second.phone, second.country = first.family, first.phone, first.country
        noise.counts["people_chinese_household_short_names"] += 2
    return people


def _plate(rng: random.Random) -> str:
    letters = [rng.choice(PLATE_LETTERS) for _ in range(3)]
    return f"{letters[0]}{rng.randint(100, 999)}{letters[1]}{letters[2]}{rng.choice(['77', '97', '177', '799'])}"


def car_make(rng: random.Random) -> Car:
    """A car with a well-formed VIN: Chinese brands with an ``L`` VIN and its check digit, others
    assembled in Russia or Europe (``X``, ``W``, ``Z``: no check digit by standard)."""
    sold = date(2016, 1, 1) + timedelta(days=rng.randint(0, 3200))
    year = min(sold.year + rng.choice([0, 0, 1]), 2025) if rng.random() < 0.8 else sold.year - 1
    year_char = YEAR_CHARS[(year - 2010) % 30]
    serial = "".join(rng.choice(VIN_SERIAL_DIGITS) for _ in range(6))
    if rng.random() < 0.3:
        make, model, wmi = rng.choice(CHINESE_MODELS)
        body = wmi + "".join(rng.choice(VIN_CHARS) for _ in range(5)) + "0" + year_char + rng.choice(VIN_CHARS) \
            + serial
        vin = body[:8] + vin_check_digit(body) + body[9:]
    else:
        make, model = rng.choice(MODELS)
        vin = (rng.choice("XWZ") + "".join(rng.choice(VIN_CHARS) for _ in range(8)) + year_char
               + rng.choice(VIN_CHARS) + serial)
    return Car(vin, make, model, year, _plate(rng), sold)


def phone_written(person: Person, rng: random.Random) -> tuple[str, str]:
    """The phone as one DMS desk types it, and the form's name."""
    number = person.phone
    if person.country == "86":
        form = rng.choices(["cn_plus", "cn_plus_spaced", "cn_0086", "cn_bare11", "cn_86"],
                           weights=[25, 20, 15, 30, 10])[0]
        return {"cn_plus": f"+86{number}", "cn_plus_spaced": f"+86 {number[:3]} {number[3:7]} {number[7:]}",
                "cn_0086": f"0086{number}", "cn_bare11": number, "cn_86": f"86{number}"}[form], form
    form = rng.choices(["ru_plus7", "ru_plus7_spaced", "ru_8", "ru_8_spaced", "ru_bare10"],
                       weights=[20, 25, 20, 20, 15])[0]
    return {"ru_plus7": f"+7{number}", "ru_plus7_spaced": f"+7 {number[:3]} {number[3:6]}-{number[6:8]}-{number[8:]}",
            "ru_8": f"8{number}", "ru_8_spaced": f"8 ({number[:3]}) {number[3:6]} {number[6:8]} {number[8:]}",
            "ru_bare10": number}[form], form


def one_edit(text: str, rng: random.Random) -> str:
    """One typing error: a letter dropped, doubled, replaced by a neighbour's, or two swapped."""
    if len(text) < 3:
        return text + text[-1:]
    i = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return text[:i] + text[i + 1:]
    if kind == 1:
        return text[:i] + text[i] + text[i:]
    if kind == 2:
        alphabet = "абвгдеиклмнопрстуя" if any("а" <= c <= "я" for c in text.lower()) else "abcdeiklmnoprstuy"
        return text[:i] + rng.choice(alphabet) + text[i + 1:]
    return text[:i] + text[i + 1] + text[i] + text[i + 2:] if i + 2 <= len(text) else text[:-1]


def name_written(person: Person, rng: random.Random, desk: str) -> tuple[str, list[str]]:
    """The customer's name as a desk writes it (``sales``: mostly clean; ``service``: noisier)."""
    tags: list[str] = []
    family = person.family
    if person.married_family and desk == "service" and rng.random() < 0.7:
        family, tags = person.married_family, ["married_surname"]
    noisy = 1.0 if desk == "service" else 0.3
    if person.script == "zh":
        from pypinyin import lazy_pinyin

        roll = rng.random() * noisy
        if roll < 0.55 * noisy or (desk == "sales" and roll < 0.9 * noisy):
            name = family + person.given
            if rng.random() < 0.15:
                name, tags = f"{family} {person.given}", [*tags, "han_spaced"]
            return name, tags or ["han"]
        fam, giv = "".join(lazy_pinyin(family)).title(), "".join(lazy_pinyin(person.given)).title()
        form = rng.choices(["pinyin_family_first", "pinyin_given_first", "pinyin_no_space",
                            "pinyin_no_space_given_first", "pinyin_upper"], weights=[35, 30, 15, 10, 10])[0]
        name = {"pinyin_family_first": f"{fam} {giv}", "pinyin_given_first": f"{giv} {fam}",
                "pinyin_no_space": f"{fam}{giv.lower()}", "pinyin_no_space_given_first": f"{giv}{fam.lower()}",
                "pinyin_upper": f"{fam.upper()} {giv.upper()}"}[form]
        return name, [*tags, form]
    parts_family, parts_given, middle = family, person.given, person.middle
    if person.script == "ru" and rng.random() < 0.3 * noisy:
        system = rng.choices(list(SYSTEM_WEIGHTS), weights=list(SYSTEM_WEIGHTS.values()))[0]
        parts_family, parts_given, middle = (translit(parts_family, system), translit(parts_given, system),
                                             translit(middle, system))
        tags.append(f"translit_{system}")
    elif person.script == "ru":
        tags.append("cyrillic")
    if rng.random() < 0.08 * noisy:
        if rng.random() < 0.6:
            parts_family = one_edit(parts_family, rng)
        else:
            parts_given = one_edit(parts_given, rng)
        tags.append("typo")
    if middle and rng.random() < 0.4 * noisy:
        middle = ""
        tags.append("patronymic_dropped")
    if person.script == "en" or rng.random() < 0.2 * noisy:
        words = [parts_given, parts_family]
        if person.script != "en":
            tags.append("given_first")
    else:
        words = [parts_family, parts_given, middle]
    words = [word for word in words if word]
    name = " ".join(words)
    roll = rng.random()
    if roll < 0.03 * noisy and len(words) > 1:
        name = words[0] + "".join(words[1:2]) + (" " + " ".join(words[2:]) if words[2:] else "")
        tags.append("lost_space")
    elif roll < 0.07 * noisy:
        name = rng.choice([f" {name}", f"{name} ", name.replace(" ", "  ", 1)])
        tags.append("extra_space")
    return name, tags


def vin_written(car: Car, rng: random.Random, rate: float) -> tuple[str, list[str]]:
    """The VIN as typed, with one typing error at ``rate``: O for 0, I for 1, a wrong check digit
    (Chinese VINs), a wrong model-year character."""
    vin = car.vin
    if rng.random() >= rate:
        return vin, []
    kind = rng.choice(["vin_o_for_0", "vin_i_for_1", "vin_wrong_check_digit", "vin_wrong_year_char"])
    if kind == "vin_o_for_0" and "0" in vin[11:]:
        i = vin.index("0", 11)
        return vin[:i] + "O" + vin[i + 1:], [kind]
    if kind == "vin_i_for_1" and "1" in vin[11:]:
        i = vin.index("1", 11)
        return vin[:i] + "I" + vin[i + 1:], [kind]
    if kind == "vin_wrong_check_digit" and vin.startswith("L"):
        wrong = rng.choice([c for c in "0123456789X" if c != vin[8]])
        return vin[:8] + wrong + vin[9:], [kind]
    if kind == "vin_wrong_year_char":
        return vin[:9] + rng.choice("UZ0Q") + vin[10:], [kind]
    return vin, []


def date_written(day: date | None, rng: random.Random, rate: float) -> tuple[str, list[str]]:
    """A date as dd.mm.yyyy; at ``rate``, a nonsense date a DMS let through."""
    if day is None:
        return "", []
    if rng.random() < rate:
        return rng.choice([f"31.02.{day.year}", "00.00.0000", f"{day.day:02d}.13.{day.year}", "01.01.0001",
                           f"{day.day:02d}.{day.month:02d}.{day.year % 100:02d}0"]), ["nonsense_date"]
    return day.strftime("%d.%m.%Y"), []


BAD_FIELDS = ["bad_phone", "bad_vin", "bad_email", "bad_mileage", "bad_amount"]


class _PartWriter:
    """A CSV export split into parts of at most ``part_bytes`` (a dealer splits a file the CRM
    finds too large), each part with the header; remembers each row's part and line."""

    def __init__(self, directory: Path, stem: str, header: list[str], part_bytes: int) -> None:
        self.directory, self.stem, self.header, self.part_bytes = directory, stem, header, part_bytes
        self.parts: list[Path] = []
        self.handle = None
        self.writer = None
        self.line = 0
        self.size = 0
        self.rows = 0

    def _open(self) -> None:
        if self.handle:
            self.handle.close()
        path = self.directory / f"{self.stem}{'' if not self.parts else f'-{len(self.parts) + 1}'}.csv"
        self.parts.append(path)
        self.handle = path.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.handle, delimiter=";", lineterminator="\r\n")
        self.writer.writerow(self.header)
        self.line, self.size = 1, len(";".join(self.header).encode()) + 2

    def write(self, row: list[str]) -> tuple[str, int]:
        size = len(";".join(row).encode()) + 4
        if self.handle is None or self.size + size > self.part_bytes:
            self._open()
        self.writer.writerow(row)
        self.line += 1
        self.size += size
        self.rows += 1
        return self.parts[-1].name, self.line

    def close(self) -> None:
        if self.handle:
            self.handle.close()


def files_write(directory: Path, rows: int, seed: int, *, part_bytes: int = 45_000_000,
                block_people: int = 2000) -> dict[str, object]:
    """Write ``sales*.csv``, ``service*.csv`` and ``truth.csv`` to ``directory`` (about ``rows``
    data rows in the two exports together) and return what was written and the noise counts."""
    rng = random.Random(seed)
    fakers = _Fakers(seed)
    noise = Noise()
    people_total = max(10, int(rows / 2.8))
    sales = _PartWriter(directory, "sales", SALES_HEADER, part_bytes)
    service = _PartWriter(directory, "service", SERVICE_HEADER, part_bytes)
    truth_handle = (directory / "truth.csv").open("w", encoding="utf-8", newline="")
    truth = csv.writer(truth_handle)
    truth.writerow(["file", "line", "person", "noise"])
    order = 100_000
    written = 0
    junk = 0

    def emit(writer: _PartWriter, row: list[str], pk: int, tags: list[str], kind: str) -> None:
        nonlocal written
        name, line = writer.write(row)
        truth.writerow([name, line, pk, " ".join(tags)])
        noise.add(tags, kind)
        written += 1

    def bad_field(row: list[str], columns: dict[str, int], tags: list[str]) -> None:
        """One unusable value in an otherwise good row (3% of rows)."""
        if rng.random() >= 0.03:
            return
        kind = rng.choice(BAD_FIELDS)
        garbage = {"bad_phone": rng.choice(["нет", "12-34", "+7 (000)", "тел. уточнить", "8-800"]),
                   "bad_vin": rng.choice(["НЕТ VIN", "XTA2170", "б/н", "VIN?"]),
                   "bad_email": rng.choice(["ivan@@mail.ru", "нет почты", "client@", "@yandex"]),
                   "bad_mileage": rng.choice(["abc", "-5", "12 345 км?", "∞"]),
                   "bad_amount": rng.choice(["1.234,5,6", "бесплатно", "—"])}[kind]
        if kind in columns:
            row[columns[kind]] = garbage
            tags.append(kind)

    sales_columns = {"bad_phone": 3, "bad_vin": 6, "bad_email": 4, "bad_mileage": 12}
    service_columns = {"bad_phone": 5, "bad_vin": 6, "bad_mileage": 9, "bad_amount": 11}
    companies = COMPANY_NAMES
    for start in range(0, people_total, block_people):
        count = min(block_people, people_total - start)
        people = people_block(start, count, rng, fakers, noise)
        # Sales: one row per car; 15% bought two.
        for person in people:
            for _car in range(1 if rng.random() < 0.85 else 2):
                car = car_make(rng)
                person.cars.append(car)
                name, tags = name_written(person, rng, "sales")
                phone, form = phone_written(person, rng)
                vin, vin_tags = vin_written(car, rng, 0.03)
                born, born_tags = date_written(person.born, rng, 0.02)
                row = [f"S{person.pk:07d}", name, "", phone, person.email, born, vin, car.make, car.model,
                       str(car.year), car.plate, car.sold.strftime("%d.%m.%Y"), str(rng.randint(5, 50))]
                tags = [*tags, f"phone_{form}", *vin_tags, *born_tags]
                bad_field(row, sales_columns, tags)
                emit(sales, row, person.pk, tags, "sales_rows")
        # Pool cars: a company car (one per 150 people), bought by the company, its fleet manager on
        # the sales row; two to five drivers (people who may have cars of their own) take it to service.
        pool: list[tuple[Car, int, list[Person]]] = []
        for index in range(max(1, count // 150)):
            company = (start // block_people * 7 + index) % 10_000
            car = car_make(rng)
            drivers = rng.sample(people, k=min(len(people), rng.randint(2, 5)))
            manager = drivers[0]
            name, tags = name_written(manager, rng, "sales")
            phone, form = phone_written(manager, rng)
            row = [f"K{company:05d}", name, f"{companies[company % len(companies)]} №{company}", phone, "", "",
                   car.vin, car.make, car.model, str(car.year), car.plate, car.sold.strftime("%d.%m.%Y"), "10"]
            emit(sales, row, manager.pk, [*tags, f"phone_{form}", "pool_car"], "sales_rows")
            pool.append((car, company, drivers))
        # Service: repair orders up to the running row target, for the block's cars (5% pool cars).
        cars = [(person, car) for person in people for car in person.cars]
        target = round(rows * (start + count) / people_total)
        visits = []
        while written + len(visits) < target:
            visits.append(rng.random())
        for roll in visits:
            order += 1
            if roll < 0.05 and pool:
                car, company, drivers = rng.choice(pool)
                person = rng.choice(drivers)
                company_name, number = f"{companies[company % len(companies)]} №{company}", f"K{company:05d}"
                extra = ["pool_car"]
            else:
                person, car = rng.choice(cars)
                company_name, number, extra = "", f"W{person.pk * 7 + 3}", []
            visited = min(car.sold + timedelta(days=rng.randint(30, 2500)), date(2026, 11, 30))
            name, tags = name_written(person, rng, "service")
            phone, form = phone_written(person, rng) if rng.random() > 0.1 else ("", "none")
            vin, vin_tags = vin_written(car, rng, 0.05)
            visit_day, day_tags = date_written(visited, rng, 0.01)
            row = [f"ЗН-{order}", visit_day, name, company_name, number, phone, vin, car.make, car.model,
                   str(rng.randint(1000, 200000)), rng.choice(WORKS),
                   f"{rng.randint(1500, 90000)},{rng.randint(0, 99):02d}"]
            tags = [*tags, *extra, f"phone_{form}", *vin_tags, *day_tags]
            bad_field(row, service_columns, tags)
            emit(service, row, person.pk, tags, "service_rows")
        # Junk lines: a totals line now and then, and a line naming nobody: the only rows that may go.
        if True:  # a subtotal line per block of people, as DMS exports print per month
            emit(service, ["Итого:", "", "", "", "", "", "", "", "", "", "", f"{rng.randint(10**6, 10**7)},00"],
                 -1, ["junk_line"], "junk_rows")
            junk += 1
    sales.close()
    service.close()
    truth_handle.close()
    return {"sales_files": [path.name for path in sales.parts], "service_files": [path.name for path in service.parts],
            "sales_rows": sales.rows, "service_rows": service.rows, "junk_rows": junk, "people": people_total,
            "bytes": sum(path.stat().st_size for path in sales.parts + service.parts),
            "noise": dict(sorted(noise.counts.items()))}
