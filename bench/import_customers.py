"""Benchmark: importing DMS sales and service exports, against raw COPY, with duplicate detection scored.

    .venv/bin/python bench/import_customers.py [--rows 100000] [--seed 7]

Generates a synthetic sales export (one row per car sold) and service export (one row per
workshop visit) of a Russian dealer group, ``--rows`` rows in total, from a known set of people.
The service DMS writes the same people differently: other customer numbers, phones in other
formats, Latin spellings in another transliteration, swapped name order, typos, rows without a
phone; spouses share a household phone. Each row's true person is kept aside (the ground truth).

Both files go through the real import path (``job_create`` then ``job_run``, the body of the
Celery task) in a fresh tenant of its own database (``dealercrm_bench``, dropped at the end). In
the same run the same files are loaded with PostgreSQL ``COPY`` into bare text tables: the floor
for moving those bytes into the database at all.

Duplicate detection is scored pairwise over rows: two rows are "found to be one person" when they
went to the same customer record (automatic, exact strong matches only) or to two records the
review queue pairs up. Precision and recall are against the ground truth; ``_auto`` figures count
the automatic matches only.

The last line is one JSON object: ``rows``, ``rows_per_s``, ``copy_rows_per_s``, ``ratio`` (how
many times COPY is faster), ``precision``, ``recall``, and details.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from provisioning import database_recreate, database_urls  # noqa: E402 - the shared bench database helpers

# A second way to spell Russian names in Latin letters (old passports, French-style): the service
# DMS uses it, so these spellings differ from the CRM's and can only meet in the review queue.
OTHER_TRANSLIT = str.maketrans({
    "ё": "e", "й": "i", "х": "h", "ц": "c", "я": "ia", "ю": "iu", "щ": "sch", "ж": "j", "ъ": "", "ь": "",
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "з": "z", "и": "i", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "ч": "ch",
    "ш": "sh", "ы": "y", "э": "e",
})
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
PLATE_LETTERS = "АВЕКМНОРСТУХ"
SALES_HEADER = ["Код клиента", "ФИО", "Телефон", "E-mail", "Дата рождения", "VIN", "Марка", "Модель",
                "Год выпуска", "Госномер", "Дата продажи", "Пробег"]
SERVICE_HEADER = ["Заказ-наряд", "Дата", "Клиент", "Код клиента", "Телефон", "VIN", "Марка", "Модель",
                  "Пробег", "Работы", "Сумма"]
MODELS = [("Lada", "Vesta"), ("Kia", "Rio"), ("Hyundai", "Solaris"), ("Skoda", "Octavia"), ("Toyota", "Camry"),
          ("Haval", "Jolion"), ("Chery", "Tiggo 7"), ("Geely", "Coolray"), ("Volkswagen", "Polo")]
WORKS = ["ТО-1", "ТО-2", "Замена масла", "Шиномонтаж", "Тормозные колодки", "Диагностика", "Кузовной ремонт"]


@dataclass
class Person:
    pk: int
    script: str  # ru, zh, en
    family: str
    given: str
    middle: str
    phone: str  # national significant number, 10 digits
    email: str
    born: date | None
    cars: list[dict[str, object]] = field(default_factory=list)


def people_make(count: int, rng: random.Random) -> list[Person]:
    from faker import Faker

    fakers = {"ru": Faker("ru_RU"), "zh": Faker("zh_CN"), "en": Faker("en_US")}
    for seed, faker in enumerate(fakers.values()):
        faker.seed_instance(rng.randint(0, 10**6) + seed)
    people: list[Person] = []
    used_phones: set[str] = set()
    for pk in range(count):
        script = rng.choices(["ru", "zh", "en"], weights=[75, 15, 10])[0]
        faker = fakers[script]
        female = rng.random() < 0.45
        if script == "ru":
            family = faker.last_name_female() if female else faker.last_name_male()
            given = faker.first_name_female() if female else faker.first_name_male()
            middle = faker.middle_name_female() if female else faker.middle_name_male()
        else:
            family, given, middle = faker.last_name(), faker.first_name(), ""
        phone = ""
        while not phone or phone in used_phones:
            phone = "9" + "".join(rng.choice("0123456789") for _ in range(9))
        used_phones.add(phone)
        email = f"client{pk}@{rng.choice(['mail.ru', 'yandex.ru', 'gmail.com', 'qq.com'])}" if rng.random() < 0.5 \
            else ""
        born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 18000)) if rng.random() < 0.7 else None
        people.append(Person(pk, script, family, given, middle, phone, email, born))
    # Spouses: a second person of the same family on the same household phone (not one person!).
    for person in rng.sample(people, k=count // 12):
        spouse = people[rng.randrange(count)]
        if spouse is not person and spouse.script == person.script:
            spouse.phone = person.phone
            if person.script == "ru":
                spouse.family = person.family + ("а" if not person.family.endswith("а") else "")
            else:
                spouse.family = person.family
    return people


def vin_make(rng: random.Random) -> str:
    # Russian (X) and European (W, Z) assembly: no check digit by standard, so any ninth character.
    return rng.choice("XWZ") + "".join(rng.choice(VIN_CHARS) for _ in range(16))


def plate_make(rng: random.Random) -> str:
    letters = [rng.choice(PLATE_LETTERS) for _ in range(3)]
    return f"{letters[0]}{rng.randint(100, 999)}{letters[1]}{letters[2]}{rng.choice(['77', '97', '177', '799'])}"


def phone_format(phone: str, rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"+7 {phone[:3]} {phone[3:6]}-{phone[6:8]}-{phone[8:]}"
    if style == 1:
        return "8" + phone
    if style == 2:
        return f"8 ({phone[:3]}) {phone[3:6]} {phone[6:8]} {phone[8:]}"
    return f"+7{phone}"


def native_name(person: Person) -> str:
    if person.script == "zh":
        return person.family + person.given
    if person.script == "ru":
        return " ".join(part for part in (person.family, person.given, person.middle) if part)
    return f"{person.given} {person.family}"


def typo(text: str, rng: random.Random) -> str:
    if len(text) < 4:
        return text + text[-1]
    i = rng.randrange(1, len(text) - 2)
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def service_name(person: Person, rng: random.Random) -> tuple[str, str]:
    """How the service DMS writes this person, and which variation it is."""
    roll = rng.random()
    if roll < 0.55:
        return native_name(person), "same"
    if roll < 0.70:
        if person.script == "ru":
            return (f"{person.family.lower().translate(OTHER_TRANSLIT).title()} "
                    f"{person.given.lower().translate(OTHER_TRANSLIT).title()}"), "other_transliteration"
        if person.script == "zh":
            from pypinyin import lazy_pinyin

            return (f"{''.join(lazy_pinyin(person.given)).title()} "
                    f"{''.join(lazy_pinyin(person.family)).title()}"), "latin_swapped"
        return native_name(person), "same"
    if roll < 0.85:
        if person.script == "zh":
            return f"{person.family} {person.given}", "spaced"
        return f"{person.given} {person.family}", "swapped_order"
    return native_name(person).replace(person.family, typo(person.family, rng), 1), "typo"


def files_make(people: list[Person], rows: int, rng: random.Random) -> tuple[bytes, bytes, list[int], list[int],
                                                                              Counter[str]]:
    """The two exports as UTF-8 CSV bytes (Chinese names do not fit Windows-1251), and the
    true person of each data row."""
    variations: Counter[str] = Counter()
    sales_rows, sales_truth = [], []
    for person in people:
        for _car in range(1 if rng.random() < 0.85 else 2):
            make, model = rng.choice(MODELS)
            sold = date(2016, 1, 1) + timedelta(days=rng.randint(0, 3200))
            car = {"vin": vin_make(rng), "make": make, "model": model, "year": sold.year, "plate": plate_make(rng),
                   "sold": sold}
            person.cars.append(car)
            sales_rows.append([f"S{person.pk:06d}", native_name(person), phone_format(person.phone, rng),
                               person.email, person.born.strftime("%d.%m.%Y") if person.born else "", car["vin"],
                               make, model, str(car["year"]), car["plate"], sold.strftime("%d.%m.%Y"),
                               str(rng.randint(5, 50))])
            sales_truth.append(person.pk)
    service_rows, service_truth = [], []
    cars = [(person, car) for person in people for car in person.cars]
    order = 100000
    while len(sales_rows) + len(service_rows) < rows:
        person, car = rng.choice(cars)
        order += 1
        visited = car["sold"] + timedelta(days=rng.randint(30, 2500))
        name, variation = service_name(person, rng)
        variations[variation] += 1
        phone = phone_format(person.phone, rng) if rng.random() > 0.1 else ""
        if not phone:
            variations["no_phone"] += 1
        service_rows.append([f"ЗН-{order}", visited.strftime("%d.%m.%Y"), name, f"W{person.pk * 7 + 3}", phone,
                             car["vin"], car["make"], car["model"], str(rng.randint(1000, 200000)),
                             rng.choice(WORKS), f"{rng.randint(1500, 90000)},{rng.randint(0, 99):02d}"])
        service_truth.append(person.pk)

    def to_csv(header: list[str], data: list[list[str]], encoding: str) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";")
        writer.writerow(header)
        writer.writerows(data)
        return buffer.getvalue().encode(encoding)

    return (to_csv(SALES_HEADER, sales_rows, "utf-8"), to_csv(SERVICE_HEADER, service_rows, "utf-8"),
            sales_truth, service_truth, variations)


def copy_baseline(sales: bytes, service: bytes) -> float:
    """Seconds to COPY both files into bare text tables: the floor for loading these bytes."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for name, data, header, encoding in (("sales", sales, SALES_HEADER, "UTF8"),
                                             ("service", service, SERVICE_HEADER, "UTF8")):
            columns = ", ".join(f"c{i} text" for i in range(len(header)))
            cursor.execute(f"CREATE UNLOGGED TABLE bench_copy_{name} ({columns})")
            with cursor.copy(f"COPY bench_copy_{name} FROM STDIN (FORMAT csv, DELIMITER ';', HEADER true, "
                             f"ENCODING '{encoding}')") as copy:
                copy.write(data)
    return time.perf_counter() - started


def pairs(groups: Counter[object]) -> int:
    return sum(n * (n - 1) // 2 for n in groups.values())


def score(rows_person: list[int | None], truth: list[int], review: set[tuple[int, int]]) -> dict[str, float]:
    """Pairwise precision and recall over rows that went in."""
    kept = [(record, true) for record, true in zip(rows_person, truth, strict=True) if record is not None]
    true_pairs = pairs(Counter(true for _record, true in kept))
    auto_pairs = pairs(Counter(record for record, _true in kept))
    auto_hits = pairs(Counter(kept))
    # Review-queue links between records: rows of record a and rows of record b.
    per_record = Counter(record for record, _true in kept)
    per_record_true = Counter(kept)
    by_record: dict[int, Counter[int]] = {}
    for (record, true), n in per_record_true.items():
        by_record.setdefault(record, Counter())[true] = n
    review_pairs = review_hits = 0
    for a, b in review:
        review_pairs += per_record.get(a, 0) * per_record.get(b, 0)
        left, right = by_record.get(a, Counter()), by_record.get(b, Counter())
        review_hits += sum(n * right.get(true, 0) for true, n in left.items())
    found, hits = auto_pairs + review_pairs, auto_hits + review_hits
    return {
        "precision": round(hits / found, 4) if found else 1.0,
        "recall": round(hits / true_pairs, 4) if true_pairs else 1.0,
        "precision_auto": round(auto_hits / auto_pairs, 4) if auto_pairs else 1.0,
        "recall_auto": round(auto_hits / true_pairs, 4) if true_pairs else 1.0,
        "true_pairs": true_pairs, "found_pairs": found,
    }


def rows_to_records(job: object, data: bytes) -> list[int | None]:
    """Which customer record each data row of a file went to (None: rejected)."""
    from crm.customers.importing.files import table_open
    from crm.customers.importing.pipeline import job_parser
    from crm.customers.models import ImportedRow, Person

    table = table_open(job.original_name, data, encoding=job.encoding, language="ru")
    parser = job_parser(job, table.header)
    fingerprints = []
    for row in table.rows:
        parsed, _problems = parser.parse(row.line, row.values)
        fingerprints.append(parsed.fingerprint if parsed else None)
    records = dict(ImportedRow.objects.values_list("fingerprint", "person_id"))
    survivors = dict(Person.objects.filter(merged_into__isnull=False).values_list("pk", "merged_into_id"))
    return [survivors.get(records.get(f), records.get(f)) if f else None for f in fingerprints]


def run(total_rows: int, seed: int, profile: bool = False) -> dict[str, object]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from accounts.models import User
    from crm.customers.importing.jobs import job_create
    from crm.customers.importing.pipeline import job_run
    from crm.customers.models import DuplicateCandidate, Person
    from tenants.services import dealer_group_create

    rng = random.Random(seed)
    started = time.perf_counter()
    people = people_make(int(total_rows / 2.8), rng)
    sales, service, sales_truth, service_truth, variations = files_make(people, total_rows, rng)
    rows = len(sales_truth) + len(service_truth)
    print(f"generated {len(people)} people, {len(sales_truth)} sales + {len(service_truth)} service rows "
          f"({(len(sales) + len(service)) / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s", flush=True)

    call_command("migrate_all", verbosity=0)
    group = dealer_group_create(name="Bench Avto", slug="bench-import", country="RU", default_language="ru",
                                timezone="Europe/Moscow", currency="RUB", admin_email="admin@bench.example",
                                admin_password="Bench-not-a-secret-" + str(seed)).dealer_group
    with schema_context(group.schema_name):
        copy_s = copy_baseline(sales, service)
        print(f"COPY of both files into text tables   {copy_s:7.2f} s", flush=True)
        admin = User.objects.get()
        results = {}
        import_s = 0.0
        for kind, name, data in (("sales", "sales.csv", sales), ("service", "service.csv", service)):
            started = time.perf_counter()
            job = job_create(by=admin, name=name, data=data, kind=kind)
            if profile:
                import cProfile
                import pstats

                with cProfile.Profile() as profiler:
                    job_run(job)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            else:
                job_run(job)
            seconds = time.perf_counter() - started
            import_s += seconds
            job.refresh_from_db()
            if job.status != "done":
                raise RuntimeError(f"{name}: {job.status} {job.message}")
            results[kind] = {"seconds": round(seconds, 2), "counts": job.counts, "job": job}
            print(f"import {name:<12} {seconds:7.2f} s  {job.counts}", flush=True)
        records = (rows_to_records(results["sales"]["job"], sales)
                   + rows_to_records(results["service"]["job"], service))
        review = set(DuplicateCandidate.objects.filter(status="open").values_list("person_a_id", "person_b_id"))
        quality = score(records, sales_truth + service_truth, review)
        customers = Person.objects.filter(merged_into__isnull=True).count()
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server_version = cursor.fetchone()[0]
    rows_per_s = rows / import_s
    copy_rows_per_s = rows / copy_s
    return {
        "rows": rows,
        "rows_per_s": round(rows_per_s),
        "copy_rows_per_s": round(copy_rows_per_s),
        "ratio": round(copy_rows_per_s / rows_per_s, 1),
        **{key: quality[key] for key in ("precision", "recall", "precision_auto", "recall_auto")},
        "true_people": len(people),
        "customers_after_import": customers,
        "review_pairs": len(review),
        "pairs": {"true": quality["true_pairs"], "found": quality["found_pairs"]},
        "service_name_variations": dict(variations),
        "sales": {k: v for k, v in results["sales"].items() if k != "job"},
        "service": {k: v for k, v in results["service"].items() if k != "job"},
        "cpu_count": os.cpu_count(),
        "postgres": server_version,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in both files together (default 100000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="print where the import spends its time")
    args = parser.parse_args()
    sys.path.insert(0, str(BASE_DIR))
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("MEDIA_ROOT", str(BASE_DIR / ".data" / "media-bench"))

    server_url, bench_url, handle = database_urls()
    database_recreate(server_url, create=True)
    os.environ["DATABASE_URL"] = bench_url
    try:
        result = run(args.rows, args.seed, args.profile)
    finally:
        from django.db import connections

        connections.close_all()
        database_recreate(server_url, create=False)
        del handle
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
