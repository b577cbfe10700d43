"""Identity resolution: which customer records are one person, how sure we are, and why.

A Fellegi–Sunter model, the one splink implements, fitted to each dealer group's own customers:

1. **Blocking** in SQL over the whole database: only pairs sharing a phone, an e-mail, a VIN (or a
   VIN one typed character away), or a folded name token and the birth date are compared
   (``normalize.name_fold``: every transliteration of one Russian name, and pinyin with or without
   spaces, in either order, give the same tokens).
2. **Comparison levels** per field (``COMPARISONS``): given and family name (exact once folded,
   close, similar, different; either order), phone, e-mail, VIN (same, one typo away), birth date
   (same, one digit or day and month swapped, different), address. A field missing on either side
   says nothing.
3. **Weights from the group's data**: u-probabilities (how often unrelated records agree) from
   random pairs of the group's customers sampled in SQL, with the exact share of pairs sharing a
   phone, e-mail, VIN or birth date counted in SQL; m-probabilities (how often one person's two
   records agree) by expectation-maximisation over the blocked pairs, u held fixed. An exact name
   counts by how rare that name is (term frequency): ``wang wei`` agreeing says less than
   ``zinovi``. A group with too few customers to learn from uses ``PRIOR_M``/``PRIOR_U``.
4. **Clustering** (``clusters``): pairs at or above ``AUTO_MERGE`` join, best first, unless the
   join would put two records with conflicting evidence (different birth dates, different given
   names, a pair a person marked "not the same") into one cluster: one household phone or pool car
   cannot chain two people together.
5. ``resolve`` merges the clusters through ``merging.customers_merge`` (history, undo, audit) and
   queues pairs between ``REVIEW`` and ``AUTO_MERGE`` with their evidence per field.
"""

import logging
import math
import random
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import combinations

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler

from crm.core.bulk import copy_update

from . import normalize
from .models import DuplicateCandidate, Person

logger = logging.getLogger(__name__)

AUTO_MERGE = 0.999  # match probability from which records merge without a person (precision >= 0.999)
REVIEW = 0.5  # from here up to AUTO_MERGE, a person decides
REVIEW_THRESHOLD = REVIEW  # the former name, for callers
MIN_ESTIMATE = 300  # customers needed to estimate weights from the group's own data
U_SAMPLE_PEOPLE = 3000  # customers drawn at random (in SQL) to estimate u-probabilities
U_SAMPLE_PAIRS = 20000
EM_ITERATIONS = 25
EM_SAMPLE_PEOPLE = 20_000  # customers whose blocked pairs EM learns from, drawn at random: bounded work and memory
RESOLVE_BATCH = 50_000  # customers blocked and scored at a time (each batch joins whole tables once)
MIN_EM_PAIRS = 30  # blocked pairs needed for EM; fewer keep the prior m-probabilities

# Levels of each comparison, in order; index 0 is "missing on either side" and carries no weight.
NAME_LEVELS = ("missing", "exact", "close", "similar", "different")
COMPARISONS: dict[str, tuple[str, ...]] = {
    "given_name": NAME_LEVELS,
    "family_name": NAME_LEVELS,
    "phone": ("missing", "same", "different"),
    "email": ("missing", "same", "different"),
    "vin": ("missing", "same", "typo", "different"),
    "birth_date": ("missing", "same", "near", "different"),
    "address": ("missing", "same", "similar", "different"),
}

# Priors: used as such when a group is too small to learn from, and as EM's starting point.
# m: share of one person's record pairs at each level (index 1 onward); u: share of unrelated pairs.
PRIOR_M: dict[str, list[float]] = {
    "given_name": [0.88, 0.07, 0.047, 0.003],  # nicknames aside, one person keeps one given name
    "family_name": [0.80, 0.08, 0.04, 0.08],  # married surnames: one person's names may differ
    "phone": [0.75, 0.25],
    "email": [0.70, 0.30],
    "vin": [0.60, 0.05, 0.35],
    "birth_date": [0.93, 0.05, 0.02],
    "address": [0.60, 0.25, 0.15],
}
PRIOR_U: dict[str, list[float]] = {
    "given_name": [0.01, 0.004, 0.02, 0.966],
    "family_name": [0.003, 0.003, 0.01, 0.984],
    "phone": [1e-5, 1 - 1e-5],  # households share phones: a shared phone alone is no proof
    "email": [5e-6, 1 - 5e-6],
    "vin": [1e-5, 2e-6, 1 - 1.2e-5],  # company pool cars, family cars
    "birth_date": [6e-5, 5e-4, 1 - 5.6e-4],
    "address": [1e-4, 1e-3, 1 - 1.1e-3],
}
PRIOR_PEOPLE = 10_000  # the group size the priors assume, for the prior chance that two records match
PRIOR_DUPLICATES = 0.3  # duplicate records per customer the priors assume
PINYIN_FAMILY_U = 0.05  # a few hundred Chinese surnames cover nearly everyone: Zhang agreeing says little
PINYIN_GIVEN_U = 0.02  # a one-syllable given name (Wei, Gang) is shared by many
PINYIN_FAMILY_DIFFERENT_M = 0.003  # Chinese women keep their surname: two surnames are two people
TF_FLOOR = 1e-4  # the rarest name still counts as one in ten thousand
_BITS_CAP = 30.0


@dataclass
class Record:
    """What the model compares of one customer, folded once."""

    pk: int
    given: str
    family: str
    fold: str
    pinyin: bool
    given_tokens: tuple[str, ...]
    family_tokens: tuple[str, ...]
    phones: frozenset[str]
    emails: frozenset[str]
    vins: frozenset[str]
    birth_date: date | None
    address: str
    han_given: str = ""  # each part's Han characters, when written in them
    han_family: str = ""


@dataclass
class Match:
    a: int
    b: int
    keys: set[str] = field(default_factory=set)
    confidence: float = 0.0
    reasons: list[str] = field(default_factory=list)
    strong: bool = False
    levels: dict[str, str] = field(default_factory=dict)


@dataclass
class Model:
    """m- and u-probabilities per comparison level, the prior match probability and name frequencies."""

    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior: float
    tf: dict[str, float] = field(default_factory=dict)
    people: int = 0
    estimated: bool = False

    def bits(self, comparison: str, level: int, a: Record | None = None, b: Record | None = None) -> float:
        """The match weight (log2 Bayes factor) of one comparison at one level, name-frequency adjusted."""
        if level == 0:
            return 0.0
        m, u = self.m[comparison][level - 1], self.u[comparison][level - 1]
        if comparison in ("given_name", "family_name") and COMPARISONS[comparison][level] == "exact" and a:
            u = self.name_frequency(comparison, a, b)
        if (comparison == "family_name" and COMPARISONS[comparison][level] == "different" and a and b
                and a.pinyin and b.pinyin):
            m = min(m, PINYIN_FAMILY_DIFFERENT_M)  # a Chinese surname is kept for life, marriage included
        return max(-_BITS_CAP, min(_BITS_CAP, math.log2(m / u)))

    def name_frequency(self, comparison: str, a: Record, b: Record | None) -> float:
        """How common the agreeing name is: the share of customers carrying it (term frequency)."""
        tokens = a.given_tokens if comparison == "given_name" else a.family_tokens
        if self.estimated and self.tf and tokens:
            share = math.prod(self.tf.get(token, 1 / max(self.people, 1)) for token in tokens)
            return max(share, TF_FLOOR, 1 / max(self.people, 1))
        if comparison == "family_name" and a.pinyin:
            return PINYIN_FAMILY_U
        if comparison == "given_name" and a.pinyin and len(tokens) == 1:
            return PINYIN_GIVEN_U
        return self.u[comparison][0]


# Comparing two records --------------------------------------------------------------------------


def _name_level(x: str, y: str, pinyin: bool) -> int:
    """1 exact (folded), 2 close (one edit, or Jaro-Winkler >= 0.94), 3 similar (>= 0.85), 4 different.

    Pinyin is one standard spelling of a few hundred syllables: two different ones are two names
    (``gang`` and ``zhang`` are not "similar"), so pinyin has no fuzzy levels; nor do short names."""
    if not x or not y:
        return 0
    if x == y:
        return 1
    if pinyin:
        return 4
    shorter = min(len(x), len(y))
    if shorter >= 4 and OSA.distance(x, y) <= 1:
        return 2
    if shorter >= 5:
        similarity = JaroWinkler.similarity(x, y)
        if similarity >= 0.94:
            return 2
        if similarity >= 0.85:
            return 3
    return 4


_NAME_RANK = {0: 1, 1: 4, 2: 3, 3: 2, 4: 0}


def _names_compare(a: Record, b: Record) -> tuple[int, int, bool]:
    """Levels of the given and family names, in the order (as written, or swapped) that agrees best."""
    pinyin = a.pinyin and b.pinyin
    if a.fold and a.fold == b.fold:  # the same tokens, however split: both parts agree
        crossed = a.given != b.given and a.given == b.family
        given, family = (1 if a.given and b.given else 0), 1
    else:
        direct = (_name_level(a.given, b.given, pinyin), _name_level(a.family, b.family, pinyin))
        swapped = (_name_level(a.given, b.family, pinyin), _name_level(a.family, b.given, pinyin))

        def rank(levels: tuple[int, int]) -> int:
            return sum(_NAME_RANK[level] for level in levels)

        crossed = rank(swapped) > rank(direct)
        given, family = swapped if crossed else direct
    return (_homophone(given, a.han_given, b.han_family if crossed else b.han_given),
            _homophone(family, a.han_family, b.han_given if crossed else b.han_family), crossed)


def _homophone(level: int, x: str, y: str) -> int:
    """A name part that reads the same but is written in other characters (刚 and 钢, both gang; 程 and 成,
    both cheng) is another name: in the benchmark's data and in families, a sibling's or a relative's on the
    same phone. A slip of the input method still reaches the review queue on the pair's other evidence."""
    return 4 if level == 1 and x and y and x != y else level


def vin_fold(vin: str) -> str:
    """A VIN with the letters people type for digits read as those digits (O, Q → 0; I → 1)."""
    return vin.upper().translate(str.maketrans("OQI", "001"))


def _vin_level(a: frozenset[str], b: frozenset[str]) -> int:
    if not a or not b:
        return 0
    if a & b:
        return 1
    folded_b = [vin_fold(y) for y in b]
    for x in a:
        fx = vin_fold(x)
        for fy in folded_b:
            if fx == fy or (len(fx) == len(fy) and sum(p != q for p, q in zip(fx, fy, strict=True)) <= 1):
                return 2
    return 3


def _date_level(a: date | None, b: date | None) -> int:
    if a is None or b is None:
        return 0
    if a == b:
        return 1
    x, y = a.strftime("%Y%m%d"), b.strftime("%Y%m%d")
    if sum(p != q for p, q in zip(x, y, strict=True)) <= 1 or (a.year == b.year and a.month == b.day
                                                                and a.day == b.month):
        return 2
    return 3


def _set_level(a: frozenset[str], b: frozenset[str]) -> int:
    if not a or not b:
        return 0
    return 1 if a & b else 2


def _address_level(a: str, b: str) -> int:
    if not a or not b:
        return 0
    if a == b:
        return 1
    return 2 if JaroWinkler.similarity(a, b) >= 0.9 else 3


def levels_of(a: Record, b: Record) -> tuple[dict[str, int], bool]:
    """The level each comparison reaches for a pair, and whether the names matched swapped."""
    given, family, crossed = _names_compare(a, b)
    return {
        "given_name": given,
        "family_name": family,
        "phone": _set_level(a.phones, b.phones),
        "email": _set_level(a.emails, b.emails),
        "vin": _vin_level(a.vins, b.vins),
        "birth_date": _date_level(a.birth_date, b.birth_date),
        "address": _address_level(a.address, b.address),
    }, crossed


def conflicting(a: Record, b: Record) -> bool:
    """Evidence that two records are two people, whatever else they share: different birth dates,
    or clearly different given names."""
    levels, _crossed = levels_of(a, b)
    return levels["birth_date"] == 3 or levels["given_name"] == 4


def score(model: Model, a: Record, b: Record) -> tuple[float, list[str], dict[str, str]]:
    """The match probability of a pair, its evidence as codes ``field:level:bits``, and the levels."""
    levels, crossed = levels_of(a, b)
    total = math.log2(model.prior / (1 - model.prior))
    reasons = []
    for comparison, level in levels.items():
        if level == 0:
            continue
        # Swapped or not, the level of "given_name" is that of a's given name: its frequency is a's.
        bits = model.bits(comparison, level, a, b)
        total += bits
        reasons.append(f"{comparison}:{COMPARISONS[comparison][level]}:{bits:.1f}")
    if crossed:
        reasons.append("names_swapped")
    probability = 1 / (1 + 2 ** -max(-60.0, min(60.0, total)))
    return probability, reasons, {c: COMPARISONS[c][lv] for c, lv in levels.items()}


# Records and pairs from the database -------------------------------------------------------------

_ACTIVE = "{t}.merged_into_id IS NULL AND {t}.archived_at IS NULL"
_ADDRESS = re.compile(r"[^\w]+")


def _people_sample(size: int) -> list[int]:
    """``size`` active customers drawn at random in SQL, the same ones for the same data."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(f"SELECT p.id FROM customers_person p WHERE {_ACTIVE.format(t='p')}"  # noqa: S608 - constant
                       " ORDER BY random() LIMIT %s", [size])
        return [row[0] for row in cursor.fetchall()]


def records_load(ids: list[int] | None = None, *, sample: int | None = None) -> dict[int, Record]:
    """The comparable form of the given active customers (or of ``sample`` drawn at random, in SQL)."""
    where = _ACTIVE.format(t="p")
    params: dict[str, object] = {}
    if sample is not None:
        ids = _people_sample(sample)
    if ids is not None:
        where += " AND p.id = ANY(%(ids)s)"
        params["ids"] = list(ids)
    query = f"""SELECT p.id, p.family_name, p.given_name, p.birth_date, p.address FROM customers_person p
                WHERE {where}"""  # noqa: S608 - constant SQL, values as parameters
    # Each customer's phones, e-mails and VINs in one hashed join per kind, not a subquery per customer
    # (measured: 9 s instead of 0.5 s for the 20,000 records an import's resolution loads).
    held = {
        "phones": "SELECT person_id, number FROM customers_phone WHERE person_id = ANY(%s)",
        "emails": "SELECT person_id, address FROM customers_email WHERE person_id = ANY(%s)",
        "vins": """SELECT l.person_id, v.vin FROM customers_vehiclelink l
                   JOIN customers_vehicle v ON v.id = l.vehicle_id WHERE l.person_id = ANY(%s) AND v.vin <> ''""",
    }
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        people = cursor.fetchall()
        pks = [row[0] for row in people]
        values: dict[str, dict[int, list[str]]] = {}
        for kind, select in held.items():
            cursor.execute(select, [pks])
            by_person = values[kind] = {}
            for pk, value in cursor.fetchall():
                by_person.setdefault(pk, []).append(value)
    return {pk: record_make(pk, family, given, born, address, values["phones"].get(pk, []),
                            values["emails"].get(pk, []), values["vins"].get(pk, []))
            for pk, family, given, born, address in people}


def record_make(pk: int, family: str, given: str, born: date | None, address: str, phones: list[str],
                emails: list[str], vins: list[str]) -> Record:
    pinyin = normalize.is_pinyin_name(family, given)
    given_tokens = normalize.name_fold_part_tokens(given, pinyin=pinyin)
    family_tokens = normalize.name_fold_part_tokens(family, pinyin=pinyin)
    return Record(
        pk=pk, given="".join(given_tokens), family="".join(family_tokens), fold=normalize.name_fold(family, given),
        pinyin=pinyin, given_tokens=tuple(given_tokens), family_tokens=tuple(family_tokens),
        phones=frozenset(phones), emails=frozenset(e.lower() for e in emails), vins=frozenset(vins),
        birth_date=born, address=_ADDRESS.sub(" ", (address or "").lower()).strip(),
        han_given=normalize.han_written(given), han_family=normalize.han_written(family),
    )


# Each block: the pairs sharing a key, and (for a refresh limited to some customers) the
# restriction to the keys those customers hold, so only their blocks are joined.
_VIN_KEY_PARTS = (
    "substr(translate(v.vin, 'OQI', '001'), 7, 11)",
    "substr(translate(v.vin, 'OQI', '001'), 1, 6) || substr(translate(v.vin, 'OQI', '001'), 12)",
    "substr(translate(v.vin, 'OQI', '001'), 1, 14)",
    "substr(translate(v.vin, 'OQI', '001'), 1, 11) || substr(translate(v.vin, 'OQI', '001'), 15)",
)
# One select per key, joined by UNION ALL (a LATERAL unnest would force nested loops).
_VIN_KEYS = " UNION ALL ".join(
    f"""SELECT l.person_id, l.vehicle_id, '{number}' || {part} AS key FROM customers_vehiclelink l
        JOIN customers_vehicle v ON v.id = l.vehicle_id AND v.vin <> ''"""  # noqa: S608 - constant SQL
    for number, part in enumerate(_VIN_KEY_PARTS))
_BLOCKS = {
    "phone": ("""SELECT a.person_id, b.person_id FROM customers_phone a
                 JOIN customers_phone b ON a.number = b.number AND a.person_id < b.person_id {where}""",
              "a.number IN (SELECT number FROM customers_phone WHERE person_id = ANY(%(ids)s))"),
    "email": ("""SELECT a.person_id, b.person_id FROM customers_email a
                 JOIN customers_email b ON a.address = b.address AND a.person_id < b.person_id {where}""",
              "a.address IN (SELECT address FROM customers_email WHERE person_id = ANY(%(ids)s))"),
    "vin": ("""SELECT a.person_id, b.person_id FROM customers_vehiclelink a
               JOIN customers_vehiclelink b ON a.vehicle_id = b.vehicle_id AND a.person_id < b.person_id
               JOIN customers_vehicle v ON v.id = a.vehicle_id AND v.vin <> '' {where}""",
            "a.vehicle_id IN (SELECT vehicle_id FROM customers_vehiclelink WHERE person_id = ANY(%(ids)s))"),
    # One typed character apart: a VIN cut in four overlapping keys keeps one of them whole.
    "vin_typo": (f"""SELECT a.person_id, b.person_id FROM ({_VIN_KEYS}) a
                     JOIN ({_VIN_KEYS}) b ON a.key = b.key AND a.vehicle_id <> b.vehicle_id
                      AND a.person_id < b.person_id {{where}}""",  # noqa: S608 - constant SQL
                 "a.person_id = ANY(%(ids)s) OR b.person_id = ANY(%(ids)s)"),
    # Any folded name part (a transliteration, either order) and the birth date.
    "name_and_birth_date": ("""SELECT a.id, b.id FROM customers_person a
              JOIN customers_person b ON a.birth_date = b.birth_date AND a.name_tokens && b.name_tokens
               AND a.id < b.id {where}""",
                            "(a.id = ANY(%(ids)s) OR b.id = ANY(%(ids)s))"),
}


def pairs_block(person_ids: list[int] | None = None) -> dict[tuple[int, int], set[str]]:
    """Pairs of active customers sharing a blocking key, with the keys they share."""
    pairs: dict[tuple[int, int], set[str]] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        # The keys are computed (folded VIN parts, name tokens): the planner cannot estimate their
        # joins and, on fresh statistics or none, nests loops over tens of thousands of rows (measured:
        # minutes). Hash joins are right at every size here.
        cursor.execute("SET LOCAL enable_nestloop = off")
        for key, (sql, restriction) in _BLOCKS.items():
            # Only this module's constant SQL is joined in; the ids travel as parameters.
            where = f"WHERE {restriction}" if person_ids is not None else ""
            query = f"""SELECT DISTINCT x.a, x.b FROM ({sql.format(where=where)}) AS x(a, b)
                        JOIN customers_person pa ON pa.id = x.a AND {_ACTIVE.format(t="pa")}
                        JOIN customers_person pb ON pb.id = x.b AND {_ACTIVE.format(t="pb")}"""  # noqa: S608
            params: dict[str, object] = {}
            if person_ids is not None:
                query += " WHERE x.a = ANY(%(ids)s) OR x.b = ANY(%(ids)s)"
                params = {"ids": list(person_ids)}
            cursor.execute(query, params)
            for a, b in cursor.fetchall():
                pairs.setdefault((a, b), set()).add(key)
    return pairs


# Estimating the weights from the group's own customers ------------------------------------------


def _pairs_sharing(cursor: object, sql: str) -> tuple[int, int]:
    """(pairs of records sharing a value, records having one) for a query of (value, person) rows."""
    cursor.execute(f"""SELECT coalesce(sum(n * (n - 1) / 2), 0), (SELECT count(DISTINCT person) FROM ({sql}) s)
                       FROM (SELECT count(DISTINCT person) AS n FROM ({sql}) s GROUP BY value) g""")  # noqa: S608
    sharing, having = cursor.fetchone()
    return int(sharing), int(having)


def _u_exact(cursor: object) -> dict[str, float]:
    """The share of unrelated pairs (of those having the field) that agree exactly, counted in SQL."""
    queries = {
        "phone": """SELECT x.number AS value, x.person_id AS person FROM customers_phone x
                    JOIN customers_person p ON p.id = x.person_id
                     AND p.merged_into_id IS NULL AND p.archived_at IS NULL""",
        "email": """SELECT x.address AS value, x.person_id AS person FROM customers_email x
                    JOIN customers_person p ON p.id = x.person_id
                     AND p.merged_into_id IS NULL AND p.archived_at IS NULL""",
        "vin": """SELECT x.vehicle_id AS value, x.person_id AS person FROM customers_vehiclelink x
                  JOIN customers_person p ON p.id = x.person_id
                   AND p.merged_into_id IS NULL AND p.archived_at IS NULL""",
        "birth_date": """SELECT p.birth_date AS value, p.id AS person FROM customers_person p
                         WHERE p.birth_date IS NOT NULL AND p.merged_into_id IS NULL AND p.archived_at IS NULL""",
    }
    shares = {}
    for comparison, sql in queries.items():
        sharing, having = _pairs_sharing(cursor, sql)
        if having > 1:  # none seen among n pairs says "at most one in n", not "never"
            shares[comparison] = max(sharing, 1) / (having * (having - 1) / 2)
    return shares


def _tf(cursor: object) -> tuple[dict[str, float], int]:
    active = _ACTIVE.format(t="p")
    cursor.execute(f"SELECT count(*) FROM customers_person p WHERE {active}")  # noqa: S608
    people = cursor.fetchone()[0]
    cursor.execute(f"""SELECT t, count(*) FROM customers_person p, unnest(p.name_tokens) AS t
                       WHERE {active} GROUP BY t""")  # noqa: S608
    return {token: count / max(people, 1) for token, count in cursor.fetchall()}, people


def _normalised(counts: list[float]) -> list[float]:
    total = sum(counts)
    return [max(count / total, 1e-9) for count in counts]


def u_estimate(records: dict[int, Record], exact: dict[str, float], rng: random.Random) -> dict[str, list[float]]:
    """u-probabilities from random pairs of customers: how often unrelated records reach each level.

    The "same" level of phone, e-mail, VIN and birth date is the exact share counted in SQL (random
    pairs almost never share a phone, so a sample would say "never")."""
    people = list(records.values())
    counts = {comparison: [0.5] * (len(levels) - 1) for comparison, levels in COMPARISONS.items()}
    if len(people) >= 2:
        for _pair in range(min(U_SAMPLE_PAIRS, len(people) * (len(people) - 1) // 2)):
            a, b = rng.sample(people, 2)
            levels, _crossed = levels_of(a, b)
            for comparison, level in levels.items():
                if level:
                    counts[comparison][level - 1] += 1
    # A field too rarely filled in on both sides (an address) keeps its prior rather than a guess.
    u = {comparison: _normalised(values) if sum(values) >= 100 else list(PRIOR_U[comparison])
         for comparison, values in counts.items()}
    for comparison, share in exact.items():
        rest = _normalised(counts[comparison][1:])
        u[comparison] = [share, *(value * (1 - share) for value in rest)]
    return u


# What one person's two records may not do often, whatever EM says: without these bounds, a group
# with few true duplicates (a first import, one record per customer) lets EM take its households
# (one phone, one family name) for the matches.
M_CAPS = {("given_name", "different"): 0.003, ("birth_date", "different"): 0.04}


def _capped(comparison: str, m: list[float]) -> list[float]:
    levels = COMPARISONS[comparison][1:]
    for index, level in enumerate(levels):
        cap = M_CAPS.get((comparison, level))
        if cap is not None and m[index] > cap:
            rest = sum(m) - m[index]
            m = [cap if i == index else value * (1 - cap) / rest for i, value in enumerate(m)]
    return m


def m_estimate(model: Model, pairs: Iterable[dict[str, int]], share: float = 1.0) -> None:
    """m-probabilities and the prior by expectation-maximisation over the blocked pairs, u fixed.

    Every blocked pair is a match with the probability the current model gives it; m is re-estimated
    as the match-weighted share of pairs at each level (with one pseudo-pair of the prior), and the
    prior as the expected matches among all pairs of the group. Names count without frequencies here,
    as in splink's training."""
    all_pairs = max(model.people * (model.people - 1) / 2 * share, 1)  # of which ``pairs`` are the blocked ones
    # Pairs with the same levels on every field weigh alike: each distinct vector once, times its count (as
    # splink does; tens of thousands of pairs have a few hundred vectors).
    vectors = Counter(tuple(levels.items()) for levels in pairs)
    for _iteration in range(EM_ITERATIONS):
        totals = {comparison: [PRIOR_M[comparison][i] for i in range(len(levels) - 1)]
                  for comparison, levels in COMPARISONS.items()}
        expected = 0.0
        log_prior = math.log2(model.prior / (1 - model.prior))
        for vector, count in vectors.items():
            total = log_prior + sum(model.bits(c, level) for c, level in vector)
            p = count / (1 + 2 ** -max(-60.0, min(60.0, total)))
            expected += p
            for comparison, level in vector:
                if level:
                    totals[comparison][level - 1] += p
        model.m = {comparison: _capped(comparison, _normalised(values)) for comparison, values in totals.items()}
        model.prior = min(max(expected / all_pairs, 1e-9), 0.5)


def model_fit(pairs: dict[tuple[int, int], set[str]] | None = None,
              records: dict[int, Record] | None = None) -> Model:
    """The model of the current schema's customers: estimated from them when there are enough, else the priors.
    EM learns from the blocked pairs given, else from those of ``EM_SAMPLE_PEOPLE`` customers drawn at random."""
    with connection.cursor() as cursor:
        tf, people = _tf(cursor)
        if people < MIN_ESTIMATE:
            return Model(m={k: list(v) for k, v in PRIOR_M.items()}, u={k: list(v) for k, v in PRIOR_U.items()},
                         prior=PRIOR_DUPLICATES / PRIOR_PEOPLE, people=people)
        exact = _u_exact(cursor)
    rng = random.Random(42)  # noqa: S311 - a reproducible sample, not a secret
    sample = records_load(sample=U_SAMPLE_PEOPLE)
    u = u_estimate(sample, exact, rng)
    model = Model(m={k: list(v) for k, v in PRIOR_M.items()}, u=u, prior=PRIOR_DUPLICATES / max(people, 1),
                  tf=tf, people=people, estimated=True)
    share = 1.0  # of all blocked pairs, those EM sees
    if pairs is None and people > EM_SAMPLE_PEOPLE:
        pairs = pairs_block(_people_sample(EM_SAMPLE_PEOPLE))
        share = 1 - (1 - EM_SAMPLE_PEOPLE / people) ** 2  # a pair is seen when either of its two is drawn
    elif pairs is None:
        pairs = pairs_block()
    if len(pairs) >= MIN_EM_PAIRS:
        if records is None:
            records = records_load(list({pk for pair in pairs for pk in pair}))
        m_estimate(model, (levels_of(records[a], records[b])[0] for a, b in pairs if a in records and b in records),
                   share=share)
    return model


# Finding, clustering, merging and queueing -------------------------------------------------------


def folds_refresh(person_ids: list[int] | None = None) -> int:
    """Recompute stale folded name keys (rows written without ``derive``, or by an older version)."""
    people = Person.objects.only("pk", "family_name", "given_name", "name_fold", "name_tokens")
    if person_ids is not None:  # an import may have filled their names in bulk: check each
        people = people.filter(pk__in=person_ids)
    else:  # everyone: only rows never folded (written by SQL); the migration folded the rest
        people = people.filter(name_fold="").exclude(family_name="", given_name="")
    stale = []
    for person in people.iterator(chunk_size=2000):
        tokens = normalize.name_fold_tokens(person.family_name, person.given_name)
        if tokens != list(person.name_tokens or []):
            person.name_tokens, person.name_fold = tokens, " ".join(tokens)
            stale.append(person)
    copy_update(stale, ["name_tokens", "name_fold"])
    return len(stale)


_FITTED: dict[str, tuple[float, int, Model]] = {}
MODEL_MAX_AGE = 3600  # seconds a fitted model serves single-record checks (a web lead, a sync)


def model_current(pairs: dict[tuple[int, int], set[str]] | None = None,
                  records: dict[int, Record] | None = None, *, fresh: bool = False) -> Model:
    """The schema's fitted model: refitted when asked, when an hour old, or when the number of customers
    moved by more than 5%; a web lead does not pay for blocking and EM over the whole database."""
    schema = connection.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM customers_person p WHERE {_ACTIVE.format(t='p')}")  # noqa: S608
        people = cursor.fetchone()[0]
    cached = _FITTED.get(schema)
    if (not fresh and cached and time.monotonic() - cached[0] < MODEL_MAX_AGE
            and abs(cached[1] - people) <= 0.05 * people):
        return cached[2]
    model = model_fit(pairs, records)
    if model.estimated:
        _FITTED[schema] = (time.monotonic(), people, model)
    return model


def duplicates_find(person_ids: list[int] | None = None, model: Model | None = None, *,
                    fresh: bool = False) -> list[Match]:
    """Score every blocked pair (of the given customers, or of everyone); most probable first."""
    return _scored(person_ids, model, fresh=fresh)[0]


def _scored(person_ids: list[int] | None = None, model: Model | None = None, *, fresh: bool = False,
            at_least: float = 0.0) -> tuple[list[Match], dict[int, Record]]:
    """The blocked pairs scoring ``at_least`` (most probable first), and the records they join. The given
    customers are blocked and scored ``RESOLVE_BATCH`` at a time, and only the pairs worth keeping are kept:
    an import's memory does not grow with its hundred thousand pairs."""
    folds_refresh(person_ids)
    whole = person_ids is None
    if model is None and not whole:  # a few records, or an import's, use the group's fitted model
        model = model_current(fresh=fresh)
    ids = sorted(person_ids or ())
    batches: list[list[int] | None] = [None] if whole else [ids[i:i + RESOLVE_BATCH]
                                                            for i in range(0, len(ids), RESOLVE_BATCH)]
    batch_of = {pk: index for index, batch in enumerate(batches) for pk in batch or ()} if len(batches) > 1 else {}
    matches, kept = [], {}
    for index, batch in enumerate(batches):
        pairs = pairs_block(batch)
        if batch_of:  # a pair with a customer of an earlier batch was scored with it
            pairs = {pair: keys for pair, keys in pairs.items() if all(batch_of.get(pk, index) >= index for pk in pair)}
        records = records_load(list({pk for pair in pairs for pk in pair}))
        if model is None:  # a refresh of everyone fits on what it just blocked
            model = model_current(pairs, records, fresh=True)
        for (a, b), keys in pairs.items():
            if a not in records or b not in records:
                continue
            probability, reasons, levels = score(model, records[a], records[b])
            if round(probability, 6) >= at_least:
                matches.append(Match(a, b, keys, round(probability, 6), reasons, probability >= AUTO_MERGE, levels))
                kept[a], kept[b] = records[a], records[b]
    return sorted(matches, key=lambda m: (-m.confidence, m.a, m.b)), kept


def clusters(matches: list[Match], records: dict[int, Record], cannot: set[tuple[int, int]]) -> list[list[int]]:
    """Groups of records to merge: pairs at or above AUTO_MERGE join, best first, unless the join would
    put two records with conflicting evidence (or a pair marked "not the same") in one group."""
    parent: dict[int, int] = {}
    members: dict[int, list[int]] = {}

    def root(pk: int) -> int:
        parent.setdefault(pk, pk)
        members.setdefault(pk, [pk])
        while parent[pk] != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    # A record sure to be each of two records that are two people (Lu Gang, and the brothers 陆刚 and 陆钢
    # on one phone) is neither for sure: it joins no one, and its pairs wait for a person in the queue.
    sure_of: dict[int, list[int]] = {}
    for match in matches:
        if match.strong:
            sure_of.setdefault(match.a, []).append(match.b)
            sure_of.setdefault(match.b, []).append(match.a)
    ambiguous = {pk for pk, others in sure_of.items() if len(others) > 1 and any(
        (min(p, q), max(p, q)) in cannot or conflicting(records[p], records[q]) for p, q in combinations(others, 2))}
    for match in matches:
        if not match.strong or match.a in ambiguous or match.b in ambiguous:
            continue
        x, y = root(match.a), root(match.b)
        if x == y:
            continue
        if any((min(p, q), max(p, q)) in cannot or conflicting(records[p], records[q])
               for p in members[x] for q in members[y]):
            continue
        parent[y] = x
        members[x] += members.pop(y)
    return [sorted(group) for group in members.values() if len(group) > 1]


def _queue(matches: list[Match], person_ids: list[int] | None = None) -> int:
    """Upsert the pairs worth a look; open pairs of these customers (of everyone) that no longer are, go."""
    kept = {(m.a, m.b) for m in matches}
    stale = DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.OPEN)
    if person_ids is not None:
        stale = stale.filter(Q(person_a_id__in=person_ids) | Q(person_b_id__in=person_ids))
    gone = [pk for pk, a, b in stale.values_list("pk", "person_a_id", "person_b_id") if (a, b) not in kept]
    DuplicateCandidate.objects.filter(pk__in=gone).delete()
    DuplicateCandidate.objects.bulk_create(
        [DuplicateCandidate(person_a_id=m.a, person_b_id=m.b, confidence=m.confidence, reasons=m.reasons)
         for m in matches],
        update_conflicts=True, unique_fields=["person_a", "person_b"], update_fields=["confidence", "reasons"],
        batch_size=2000,
    )
    return len(matches)


def resolve(person_ids: list[int] | None = None) -> tuple[int, int]:
    """Merge the records that are one person beyond doubt and queue the likely pairs for a person.

    Returns (records merged into another, pairs queued for review). Merges go through
    ``customers_merge_many`` (``customers_merge``'s rules, all at once), so each one is in the customer's history
    and can be undone."""
    from .merging import Merge, customers_merge_many

    matches, records = _scored(person_ids, fresh=True, at_least=REVIEW)
    decided = DuplicateCandidate.objects.exclude(status=DuplicateCandidate.Status.OPEN).values_list(
        "person_a_id", "person_b_id", "status")
    cannot = {(a, b) for a, b, status in decided if status == DuplicateCandidate.Status.DISMISSED}
    by_pair = {(m.a, m.b): m for m in matches}
    merges = []
    for group in clusters(matches, records, cannot):
        evidence = max((by_pair[(a, b)] for a in group for b in group if (a, b) in by_pair),
                       key=lambda m: m.confidence)
        merges.append(Merge(group[0], group[1:], (_("Found automatically (match probability %(percent)s): %(reasons)s")
                                                  % {"percent": f"{evidence.confidence:.2%}",
                                                     "reasons": ", ".join(reason_label(code)
                                                                          for code in evidence.reasons)})[:300]))
    merged, survivor_of = 0, {}
    for merge, result in zip(merges, customers_merge_many(merges, by=None), strict=True):
        if isinstance(result, ValidationError):  # another module refuses this merge: a person decides
            logger.info("automatic merge of %s refused: %s", [merge.survivor, *merge.others],
                        " ".join(result.messages))
            continue
        merged += len(merge.others)
        survivor_of.update(dict.fromkeys([merge.survivor, *merge.others], merge.survivor))
    # Pairs that ended in one record are decided; the others are asked about their survivors.
    ended = [candidate.pk for candidate in DuplicateCandidate.objects.filter(
        status=DuplicateCandidate.Status.OPEN, person_a_id__in=list(survivor_of)).only("person_a", "person_b")
        if survivor_of.get(candidate.person_a_id) == survivor_of.get(candidate.person_b_id, -1)]
    DuplicateCandidate.objects.filter(pk__in=ended).update(status=DuplicateCandidate.Status.MERGED)
    decided_pairs = {(a, b) for a, b, _status in decided}
    queued: dict[tuple[int, int], Match] = {}
    for match in matches:
        a, b = sorted((survivor_of.get(match.a, match.a), survivor_of.get(match.b, match.b)))
        if a == b or match.confidence < REVIEW or (a, b) in decided_pairs:
            continue
        if (a, b) not in queued or queued[(a, b)].confidence < match.confidence:
            queued[(a, b)] = Match(a, b, match.keys, match.confidence, match.reasons, match.strong, match.levels)
    return merged, _queue(list(queued.values()), person_ids)


@transaction.atomic
def review_queue_refresh(person_ids: list[int] | None = None) -> int:
    """Put every pair worth a look into the review queue, once; decided pairs are left alone."""
    return _queue(_scored(person_ids, at_least=REVIEW)[0], person_ids)


def name_similarity(key_a: str, key_b: str) -> float:
    """How alike two order-free name keys are, judged by their least alike name part.

    ``ivanov petr`` and ``ivanow petr`` are alike (a typo); ``ivanov petr`` and ``ivanova mariya``
    are not, however alike the family names are: that is a household, not one person.
    """
    tokens_a, tokens_b = key_a.split(), key_b.split()
    if not tokens_a or not tokens_b:
        return 0.0
    shorter, longer = sorted((tokens_a, tokens_b), key=len)
    return min(max(fuzz.ratio(token, other) for other in longer) for token in shorter) / 100


# Evidence in words ------------------------------------------------------------------------------


def comparison_label(comparison: str) -> str:
    return {
        "given_name": _("given name"),
        "family_name": _("family name"),
        "phone": _("phone"),
        "email": _("e-mail"),
        "vin": _("car (VIN)"),
        "birth_date": _("birth date"),
        "address": _("address"),
    }.get(comparison, comparison)


def level_label(comparison: str, level: str) -> str:
    """What one comparison level means, in the reader's language."""
    if comparison in ("given_name", "family_name"):
        return {
            "exact": pgettext("name comparison", "the same (in any script or spelling)"),
            "close": pgettext("name comparison", "one letter apart"),
            "similar": pgettext("name comparison", "similar"),
            "different": pgettext("name comparison", "different"),
        }.get(level, level)
    if comparison == "vin":
        return {
            "same": pgettext("vin comparison", "the same car"),
            "typo": pgettext("vin comparison", "one character apart (a typo?)"),
            "different": pgettext("vin comparison", "different cars"),
        }.get(level, level)
    if comparison == "birth_date":
        return {
            "same": pgettext("date comparison", "the same"),
            "near": pgettext("date comparison", "one digit apart, or day and month swapped"),
            "different": pgettext("date comparison", "different"),
        }.get(level, level)
    return {
        "same": pgettext("contact comparison", "the same"),
        "similar": pgettext("contact comparison", "similar"),
        "different": pgettext("contact comparison", "different"),
    }.get(level, level)


def is_evidence(code: str) -> bool:
    """True for a per-field evidence code (``field:level:bits``), shown as a table rather than as a reason."""
    parts = code.split(":")
    return len(parts) == 3 and parts[0] in COMPARISONS


def evidence_rows(codes: list[str]) -> list[dict[str, object]]:
    """The stored evidence of a pair as rows to show: field, level in words, weight in bits."""
    rows = []
    for code in codes:
        parts = code.split(":")
        if len(parts) == 3 and parts[0] in COMPARISONS:
            try:
                bits = float(parts[2])
            except ValueError:
                continue
            rows.append({"field": comparison_label(parts[0]), "level": level_label(parts[0], parts[1]),
                         "bits": bits, "for": bits > 0})
    return rows


def reason_label(code: str) -> str:
    """A stored reason code in the reader's language (remembered per language: an import words a thousand merges
    from a few dozen codes, and each of Django's lookups of a translation costs about 20 µs)."""
    return _reason_label(code, get_language())


@lru_cache(maxsize=4096)
def _reason_label(code: str, language: str | None) -> str:
    parts = code.split(":")
    if len(parts) == 3 and parts[0] in COMPARISONS:
        try:
            bits = float(parts[2])
        except ValueError:
            bits = 0.0
        return _("%(field)s: %(level)s (%(weight)s)") % {
            "field": comparison_label(parts[0]), "level": level_label(parts[0], parts[1]),
            "weight": f"{bits:+.1f}"}
    name, _sep, value = code.partition(":")
    labels = {
        "same_phone": _("same phone"),
        "same_email": _("same e-mail"),
        "same_vin": _("same car (VIN)"),
        "same_name_and_birth_date": _("same name and birth date"),
        "same_name": _("same name (in any script or order)"),
        "similar_name": _("similar name (%(percent)s)"),
        "different_names": _("different names (%(percent)s alike)"),
        "different_birth_dates": _("different birth dates"),
        "names_swapped": _("given and family name written the other way round"),
    }
    label = labels.get(name, name)
    return label % {"percent": f"{float(value):.0%}"} if value else label
