"""Identity resolution: which customer records are probably one person, and how sure we are.

Blocking first, in SQL over the whole database: only pairs sharing a strong key are compared
(an E.164 phone, an e-mail, a VIN of a car they hold, or the same order-free Latin name key with
the same birth date). Then each pair is scored with rapidfuzz on the names. Only exact strong
matches may be merged without a person looking at them; everything else goes to the review queue.
"""

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils.translation import gettext as _
from rapidfuzz import fuzz

from .models import DuplicateCandidate, Person

# How much each shared key says, before the names are compared.
KEY_WEIGHTS = {"phone": 0.6, "email": 0.6, "vin": 0.4, "name_and_birth_date": 0.5}
REVIEW_THRESHOLD = 0.6

# Each block: the pairs sharing a key, and (for a refresh limited to some customers) the
# restriction to the keys those customers hold, so only their blocks are joined.
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
    "name_and_birth_date": ("""SELECT a.id, b.id FROM customers_person a
              JOIN customers_person b ON a.name_key = b.name_key AND a.birth_date = b.birth_date
               AND a.id < b.id AND a.name_key <> '' {where}""",
                            "(a.name_key, a.birth_date) IN (SELECT name_key, birth_date FROM customers_person"
                            " WHERE id = ANY(%(ids)s))"),
}
_ACTIVE = "{t}.merged_into_id IS NULL AND {t}.archived_at IS NULL"


@dataclass
class Match:
    a: int
    b: int
    keys: set[str] = field(default_factory=set)
    confidence: float = 0.0
    reasons: list[str] = field(default_factory=list)
    strong: bool = False


def pairs_block(person_ids: list[int] | None = None) -> dict[tuple[int, int], set[str]]:
    """Pairs of active customers sharing a strong key, with the keys they share."""
    pairs: dict[tuple[int, int], set[str]] = {}
    with connection.cursor() as cursor:
        for key, (sql, restriction) in _BLOCKS.items():
            # Only this module's constant SQL is joined in; the ids travel as parameters.
            where = f"WHERE {restriction}" if person_ids is not None else ""
            query = f"""SELECT x.a, x.b FROM ({sql.format(where=where)}) AS x(a, b)
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


def pair_score(a: Person, b: Person, keys: set[str]) -> Match:
    """Confidence in [0, 1] that two records are one person, with the reasons in words."""
    match = Match(a.pk, b.pk, keys)
    evidence = sum(KEY_WEIGHTS[key] for key in keys)
    names = name_similarity(a.name_key, b.name_key)
    match.reasons = [f"same_{key}" for key in sorted(keys)]
    if names >= 0.99:
        match.reasons.append("same_name")
    elif names >= 0.8:
        match.reasons.append(f"similar_name:{names:.2f}")
    elif names:
        match.reasons.append(f"different_names:{names:.2f}")
    dates_conflict = bool(a.birth_date and b.birth_date and a.birth_date != b.birth_date)
    if dates_conflict:
        match.reasons.append("different_birth_dates")
    score = min(evidence, 0.6) + 0.4 * names - (0.4 if dates_conflict else 0.0)
    if names < 0.6:  # a shared household phone or a company e-mail: not one person by itself
        score = min(score, 0.5)
    match.confidence = round(max(0.0, min(1.0, score)), 3)
    match.strong = bool(keys & {"phone", "email"}) and names >= 0.99 and not dates_conflict
    return match


def reason_label(code: str) -> str:
    """A stored reason code in the reader's language."""
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
    }
    label = labels.get(name, name)
    return label % {"percent": f"{float(value):.0%}"} if value else label


def duplicates_find(person_ids: list[int] | None = None) -> list[Match]:
    """Score every blocked pair (of the given customers, or of everyone); best first."""
    pairs = pairs_block(person_ids)
    ids = {pk for pair in pairs for pk in pair}
    people = Person.objects.in_bulk(ids)
    matches = [pair_score(people[a], people[b], keys) for (a, b), keys in pairs.items()]
    return sorted(matches, key=lambda m: -m.confidence)


@transaction.atomic
def review_queue_refresh(person_ids: list[int] | None = None) -> int:
    """Put every pair worth a look into the review queue, once; decided pairs are left alone."""
    matches = [m for m in duplicates_find(person_ids) if m.confidence >= REVIEW_THRESHOLD]
    DuplicateCandidate.objects.bulk_create(
        [DuplicateCandidate(person_a_id=m.a, person_b_id=m.b, confidence=m.confidence, reasons=m.reasons)
         for m in matches],
        update_conflicts=True, unique_fields=["person_a", "person_b"], update_fields=["confidence", "reasons"],
    )
    return len(matches)
