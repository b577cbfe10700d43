# ruff: noqa: RUF001 - category words of Russian and Chinese exports, meant.
"""Repair orders as the DMS has them: from its export files (through the customer import) and its API.

An order from outside carries job lines, declined work and its advisor. Lines and declined items are
keyed within their order (``source_key``): in a file by line number or by type, description and
repetition (``crm/customers/importing/lines.py``), in the API by the caller's ``ref`` or position. Receiving
an order again therefore updates its lines instead of adding them; writes are bulk upserts on the key.
Totals follow the job lines, as for an order typed in the CRM; an imported order whose lines carry no amounts
(or that has none) keeps the file's total. Orders whose work changed are checked again for repeat repairs,
with the car's later ones.
"""

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection

from accounts.models import User
from crm.core.bulk import copy_create, copy_update
from crm.customers import normalize
from crm.customers.importing.fields import name_split
from crm.customers.models import TimelineEntry
from crm.customers.services import tenant_currency
from crm.customers.timeline import timeline_event

from .models import DeclinedRecommendation, JobCategory, JobLine, ServiceVisit
from .services import declined_follow_up, repeats_reflag, totals_recompute

# A category column's words (folded: lower case, single spaces), in en, ru and zh.
CATEGORY_WORDS = {
    JobCategory.MAINTENANCE: ("maintenance", "service", "servicing", "scheduled service", "inspection", "то",
                              "техобслуживание", "техническое обслуживание", "обслуживание", "保养", "定期保养",
                              "维护"),
    JobCategory.REPAIR: ("repair", "repairs", "mechanical", "diagnosis", "ремонт", "слесарный ремонт", "диагностика",
                         "维修", "机修", "一般维修"),
    JobCategory.WARRANTY: ("warranty", "гарантия", "гарантийный", "гарантийный ремонт", "保修", "索赔", "三包"),
    JobCategory.BODY: ("body", "body and paint", "bodywork", "paint", "кузов", "кузовной ремонт", "покраска",
                       "малярные работы", "钣金", "喷漆", "钣喷"),
    JobCategory.TYRES: ("tyres", "tyre", "tires", "tire", "шины", "шиномонтаж", "轮胎"),
    JobCategory.ACCESSORIES: ("accessories", "accessory", "аксессуары", "дополнительное оборудование",
                              "доп. оборудование", "精品", "加装", "附件"),
}
_CATEGORY_OF = {word: category for category, words in CATEGORY_WORDS.items() for word in words}
# Without a category column, words in the description decide, in this order; anything else is a repair.
CATEGORY_HINTS = (
    (JobCategory.TYRES, re.compile(r"tyre|tire|wheel balanc|шин|колёс|колес|轮胎|换胎|动平衡")),
    (JobCategory.BODY, re.compile(r"paint|body|dent|bumper|кузов|покрас|окрас|бампер|钣金|喷漆")),
    (JobCategory.WARRANTY, re.compile(r"warranty|гарант|保修|索赔")),
    (JobCategory.ACCESSORIES, re.compile(r"accessor|floor mat|аксессуар|коврик|精品|脚垫|加装")),
    (JobCategory.MAINTENANCE, re.compile(r"maintenance|oil|service|inspection|filter|(?<![а-яё])то(?![а-яё])|"
                                         r"техобслуж|масл|фильтр|保养|机油|滤清器|滤芯")),
)


def category_of(text: str, description: str) -> str:
    """The category a DMS writes (its code or a word in en, ru, zh), else one guessed from the description."""
    folded = " ".join(str(text or "").lower().split())
    if folded in JobCategory.values:
        return folded
    if folded in _CATEGORY_OF:
        return _CATEGORY_OF[folded]
    lowered = f"{folded} {description}".lower()
    return next((category for category, hint in CATEGORY_HINTS if hint.search(lowered)), JobCategory.REPAIR)


def advisors_match(names: Iterable[str]) -> dict[str, int]:
    """The member of staff each advisor's name stands for: the same name in any script and either order,
    with or without a patronymic or middle name, the family name with the given name's initial
    (``Петров И.``), or the e-mail address. A name nobody or more than one person has is left out: it
    is kept as written on the order."""
    names = {name for name in names if name}
    if not names:
        return {}
    by_key: dict[str, set[int]] = {}
    by_initial: dict[tuple[str, str], set[int]] = {}
    by_email: dict[str, int] = {}
    for pk, first, last, email in User.objects.exclude(role="").values_list("pk", "first_name", "last_name", "email"):
        family, given = normalize.name_key(last), normalize.name_key(first)
        if family and given:
            by_key.setdefault(normalize.name_key(last, first), set()).add(pk)
            by_initial.setdefault((family, given[0]), set()).add(pk)
        by_email[email.lower()] = pk
    found: dict[str, int] = {}
    for name in names:
        if name.strip().lower() in by_email:
            found[name] = by_email[name.strip().lower()]
            continue
        family, given, _middle = name_split(name)
        tokens = normalize.name_key(name).split()
        initials = [token for token in tokens if len(token) == 1]
        words = [token for token in tokens if len(token) > 1]
        # The strongest reading that names anyone decides; two people with that name leave it as written.
        candidates = [by_key.get(normalize.name_key(name), set()), by_key.get(normalize.name_key(family, given), set()),
                      by_initial.get((words[0], initials[0]), set()) if len(words) == 1 and initials else set()]
        match = next((pks for pks in candidates if pks), set())
        if len(match) == 1:
            found[name] = next(iter(match))
    return found


def _line(visit_id: int, key: str, line: dict[str, Any]) -> JobLine:
    return JobLine(visit_id=visit_id, source_key=key, kind=line["kind"],
                   category=category_of(line.get("category", ""), line["description"]),
                   description=line["description"], quantity=line["quantity"], unit_price=line["unit_price"],
                   amount=line["amount"], labour_hours=line.get("labour_hours"))


def _declined(visit: ServiceVisit, key: str, item: dict[str, Any]) -> DeclinedRecommendation:
    return DeclinedRecommendation(
        visit_id=visit.pk, vehicle_id=visit.vehicle_id, person_id=visit.person_id, source_key=key,
        category=category_of(item.get("category", ""), item["description"]), description=item["description"],
        estimate=item.get("estimate"), follow_up_on=item.get("follow_up_on") or declined_follow_up(visit.opened_on))


def lines_write(lines: Iterable[JobLine]) -> None:
    """Upsert keyed lines: a key its order has already is updated in place (its id stays)."""
    JobLine.objects.bulk_create(list(lines), update_conflicts=True, unique_fields=["visit", "source_key"],
                                update_fields=["kind", "category", "description", "quantity", "unit_price", "amount",
                                               "labour_hours"])


def declined_write(items: Iterable[DeclinedRecommendation], *, follow_up: bool = False) -> None:
    """Upsert keyed declined work. Its status, note and (unless ``follow_up``) follow-up date are the CRM's:
    someone may be calling the customer about it already."""
    fields = ["category", "description", "estimate", *(["follow_up_on"] if follow_up else [])]
    DeclinedRecommendation.objects.bulk_create(list(items), update_conflicts=True,
                                               unique_fields=["visit", "source_key"], update_fields=fields)


def visits_from_import(rows: list[dict[str, Any]]) -> int:
    """Repair orders from a DMS service file, a chunk of the customer import at a time: one per DMS reference
    however many rows (job lines) it spans, in this chunk, later chunks or other files. The first row of an
    order opens it (closed on its day); rows fill in what it lacks (advisor, mileage), add or update its
    lines and declined work by key, and a new version of a cell of lines replaces the lines that cell gave.
    Returns the number of orders the rows name."""
    rows = [row for row in rows if row.get("vehicle_id")]
    first: dict[str, dict[str, Any]] = {}
    for row in rows:
        first.setdefault(row["source_ref"], row)
    if not first:
        return 0
    copy_create([ServiceVisit(
        source_ref=ref, vehicle_id=row["vehicle_id"], person_id=row.get("person_id"), rooftop_id=row.get("rooftop_id"),
        opened_on=row["visited"], closed_on=row["visited"], status=ServiceVisit.Status.CLOSED,
        order_number=row.get("order_number", "")[:60], mileage=row.get("mileage"),
        total_amount=row.get("amount") or Decimal(0)) for ref, row in first.items()], ignore_conflicts=True)
    visits = {visit.source_ref: visit for visit in ServiceVisit.objects.filter(source_ref__in=first)}
    advisors = advisors_match(row.get("advisor", "") for row in rows)
    lines: dict[tuple[int, str], JobLine] = {}
    declined: dict[tuple[int, str], DeclinedRecommendation] = {}
    dirty: dict[int, ServiceVisit] = {}
    for row in rows:
        visit = visits.get(row["source_ref"])
        if visit is None:
            continue
        name = row.get("advisor", "")
        if name and visit.advisor_id is None and (advisors.get(name) or not visit.advisor_name):
            visit.advisor_id, visit.advisor_name = advisors.get(name), "" if advisors.get(name) else name[:150]
            dirty[visit.pk] = visit
        if row.get("mileage") is not None and visit.mileage is None:
            visit.mileage = row["mileage"]
            dirty[visit.pk] = visit
        for line in row.get("lines", ()):
            lines[visit.pk, line["key"]] = _line(visit.pk, line["key"], line)
        for item in row.get("declined", ()):
            declined[visit.pk, item["key"]] = _declined(visit, item["key"], item)
    lines_write(lines.values())
    _cell_lines_replace(lines)
    declined_write(declined.values())
    ids = [visit.pk for visit in visits.values()]
    lined = JobLine.objects.filter(visit_id__in=ids)
    with_lines = set(lined.values_list("visit_id", flat=True).distinct())
    priced = set(lined.exclude(amount=0).values_list("visit_id", flat=True).distinct())
    for row in rows:  # an order without prices on its lines follows the file's latest total
        visit = visits.get(row["source_ref"])
        if (visit is not None and visit.pk not in priced and row.get("amount") is not None
                and visit.total_amount != row["amount"]):
            visit.total_amount = row["amount"]
            dirty[visit.pk] = visit
    copy_update(dirty.values(), ["advisor", "advisor_name", "mileage", "total_amount"])
    totals_recompute(sorted(priced))
    repeats_reflag(ids)
    _timeline_refresh(sorted(with_lines))
    return len(first)


def _cell_lines_replace(lines: dict[tuple[int, str], JobLine]) -> None:
    """An order whose cell of lines came again keeps only the lines this version lists (keys ``c:…``)."""
    kept = [(visit_id, key) for visit_id, key in lines if key.startswith("c:")]
    if not kept:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"""
            DELETE FROM {JobLine._meta.db_table} AS l
            WHERE l.visit_id = ANY(%s) AND l.source_key LIKE 'c:%%'
              AND NOT EXISTS (SELECT 1 FROM unnest(%s::int[], %s::text[]) AS k(visit_id, key)
                              WHERE k.visit_id = l.visit_id AND k.key = l.source_key)
        """, [sorted({visit_id for visit_id, _key in kept}), [visit_id for visit_id, _key in kept],  # noqa: S608
              [key for _visit_id, key in kept]])


def _timeline_refresh(visit_ids: list[int]) -> None:
    """The customer's timeline entry of each imported order names its work and its total, as for an order
    closed in the CRM (the import wrote it from the order's first row)."""
    if not visit_ids:
        return
    visits = {visit.source_ref: visit for visit in ServiceVisit.objects.filter(pk__in=visit_ids).exclude(source_ref="")
              .select_related("vehicle")}
    work: dict[int, list[str]] = {}
    for visit_id, description in JobLine.objects.filter(visit_id__in=visit_ids).order_by("pk").values_list(
            "visit_id", "description"):
        work.setdefault(visit_id, []).append(description)
    currency = tenant_currency()
    records = []
    for pk, source_ref in TimelineEntry.objects.filter(source_ref__in=visits).values_list("pk", "source_ref"):
        visit = visits[source_ref]
        entry = timeline_event("visit", {
            "order": visit.order_number, "work": list(dict.fromkeys(work.get(visit.pk, []))),
            "amount": str(visit.total_amount), "currency": currency, "km": visit.mileage, "vehicle": str(visit.vehicle),
        }, kind=TimelineEntry.Kind.VISIT)
        entry.pk = pk
        records.append(entry)
    copy_update(records, ["summary", "body", "data"])


def order_lines_replace(*, visit: ServiceVisit, lines: list[dict[str, Any]]) -> None:
    """The API's lines of an order, as the DMS has them now (each with its ``key``, unique in the list): they
    replace every line received from outside before; lines typed in the CRM stay. Totals follow."""
    JobLine.objects.filter(visit=visit, source_key__isnull=False).exclude(
        source_key__in=[line["key"] for line in lines]).delete()
    lines_write(_line(visit.pk, line["key"], line) for line in lines)
    totals_recompute([visit.pk])


def order_declined_upsert(*, visit: ServiceVisit, items: list[dict[str, Any]]) -> None:
    """The API's declined work of an order (each with its ``key``, unique in the list): added or updated, never
    removed by a later call."""
    for follow_up in (True, False):
        declined_write([_declined(visit, item["key"], item) for item in items
                        if bool(item.get("follow_up_on")) == follow_up], follow_up=follow_up)
