"""Merging duplicate customers, and undoing a merge: nothing is ever lost.

Survivorship rules, written down:
1. The survivor keeps every field it has. An empty field of the survivor takes the value of the
   most recently updated merged record that has one.
2. Every phone, e-mail, vehicle link, consent, timeline entry, company role, household membership,
   number in another system (DMS) and audit entry of a merged record moves to the survivor. A
   phone or e-mail the survivor already has is not duplicated: the merged copy is kept in the merge record instead.
3. Merged records are not deleted: they stay, marked ``merged_into`` the survivor, so links to
   them can be followed and the merge undone.
4. The responsible salesperson and service advisor are the survivor's, or taken as in rule 1.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core import serializers
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg import sql as psycopg_sql

from accounts.models import User
from crm.core.bulk import copy_update
from crm.integrations.models import WebhookEvent
from crm.integrations.webhooks import webhook_emit, webhook_listened

from .models import (
    AuditEntry,
    CompanyContact,
    Consent,
    Email,
    ExternalRef,
    Household,
    MergeRecord,
    Person,
    Phone,
    TimelineEntry,
    VehicleLink,
)
from .services import PERSON_FIELDS
from .timeline import timeline_event

# Child rows that simply move to the survivor, by the field that points at the person.
MOVED = (VehicleLink, Consent, TimelineEntry, CompanyContact, AuditEntry, ExternalRef)

# Rows of other modules (prospects, repair orders) that follow their customer into a merge and back
# out on undo. Each module registers them in its AppConfig.ready(), with a check that may refuse the
# merge (given every person id involved, it returns the reason or ""), and, for rows a customer has once
# per something (a place on a marketing list), the fields that say what: the survivor keeps one row of
# each, the merged records' duplicates are removed, and the undo brings them back.
_FOLLOWERS: dict[type, Callable[[list[int]], str]] = {}
# A person holds a role at a company once at a time (one_current_role_per_person): two records of one
# company-car user each hold it, so the survivor keeps one and the undo brings the other back.
_ONCE_PER: dict[type, tuple[str, ...]] = {CompanyContact: ("company_id", "role", "ended_on")}
# Modules whose rows cannot simply be handed back after what happened since the merge (a points ledger
# spent on the merged record) say why not; the undo is then refused in those words.
_UNDO_REFUSALS: list[Callable[["MergeRecord"], str]] = []


def refuses_undo(check: Callable[["MergeRecord"], str]) -> None:
    _UNDO_REFUSALS.append(check)


def follows_merges(model: type, refuse: Callable[[list[int]], str] = lambda ids: "",
                   once_per: tuple[str, ...] = ()) -> None:
    _FOLLOWERS[model] = refuse
    if once_per:
        _ONCE_PER[model] = tuple(model._meta.get_field(name).attname for name in once_per)


def _moved_models() -> tuple[type, ...]:
    return (*MOVED, *_FOLLOWERS)


def _field_value(person: Person, name: str) -> Any:
    field = Person._meta.get_field(name)
    return getattr(person, field.attname)


@transaction.atomic
def customers_merge(*, survivor: Person, others: list[Person], by: User | None, reason: str = "") -> MergeRecord:
    """Merge ``others`` into ``survivor`` following the survivorship rules above; audited; undoable."""
    others = [other for other in others if other.pk != survivor.pk]
    if not others:
        raise ValidationError(_("Choose at least one other customer to merge."))
    locked = {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=[survivor.pk, *[o.pk for o in others]])}
    if any(locked[o.pk].merged_into_id for o in others) or locked[survivor.pk].merged_into_id:
        raise ValidationError(_("One of these customers has already been merged into another."))
    survivor = locked[survivor.pk]
    for refuse in _FOLLOWERS.values():
        if reason_not := refuse(list(locked)):
            raise ValidationError(reason_not)
    others = sorted((locked[o.pk] for o in others), key=lambda p: p.updated_at, reverse=True)

    snapshot = _snapshot_start(survivor)
    filled = _fields_fill(survivor, others)
    other_ids = [o.pk for o in others]

    _rows_move(dict.fromkeys(other_ids, survivor.pk), {survivor.pk: snapshot})

    for household in Household.objects.select_for_update().filter(
            pk__in=Household.members.through.objects.filter(person_id__in=other_ids).values("household_id")):
        member_ids = list(household.members.values_list("pk", flat=True))
        snapshot["households"][household.pk] = {"name": household.name, "members": member_ids}
        household.members.remove(*[pk for pk in member_ids if pk in other_ids])
        household.members.add(survivor)
        if len(member_ids) > 1 and household.members.count() <= 1:  # its members were one person: it ends
            household.delete()

    survivor.derive()
    survivor.save()
    Person.objects.filter(pk__in=other_ids).update(merged_into=survivor, updated_at=timezone.now())
    record = MergeRecord.objects.create(survivor=survivor, merged=other_ids, snapshot=snapshot, reason=reason, by=by)
    _history_entry(survivor, others, by).save()
    AuditEntry.objects.create(**_audit_entry(survivor, other_ids, filled, record, by))
    webhook_emit(WebhookEvent.CUSTOMER_MERGED, Person.objects.prefetch_related("phones", "emails", "external_refs")
                 .get(pk=survivor.pk), merged_ids=other_ids)
    return record



MERGE_BATCH = 1000  # merges written together: a fixed number of queries each, memory bounded however many


@dataclass
class Merge:
    """One merge of ``customers_merge_many``: the survivor's id, the others' ids, why."""

    survivor: int
    others: list[int]
    reason: str = ""


def customers_merge_many(merges: list[Merge], *, by: User | None) -> list[MergeRecord | ValidationError]:
    """Many merges at once, each exactly as ``customers_merge`` makes it (the same survivorship, snapshot,
    history entry, audit entry and webhook, undone by ``merge_undo`` one by one), in a number of queries that
    does not grow with the number of merges: what an import's thousands of automatic merges need (one
    ``customers_merge`` costs ~80 ms; 6,480 of them were most of a 100,000-row import).

    The merges must not share a record. A merge that a module refuses, or whose records are in a household,
    goes through ``customers_merge`` on its own; one of already merged records is refused. Returns, per
    merge, its record or why it was refused."""
    involved = [pk for merge in merges for pk in (merge.survivor, *merge.others)]
    if len(involved) != len(set(involved)):
        raise ValueError("merges sharing a record cannot run at once")
    results: list[MergeRecord | ValidationError | None] = [None] * len(merges)
    with transaction.atomic():
        merged_into = dict(Person.objects.select_for_update().filter(pk__in=involved).values_list("pk", "merged_into"))
        in_household = set(Household.members.through.objects.filter(person_id__in=involved)
                           .values_list("person_id", flat=True))
        together, alone = [], []
        for index, merge in enumerate(merges):
            ids = [merge.survivor, *merge.others]
            if not merge.others:
                results[index] = ValidationError(_("Choose at least one other customer to merge."))
            elif any(pk not in merged_into or merged_into[pk] for pk in ids):
                results[index] = ValidationError(_("One of these customers has already been merged into another."))
            elif in_household.intersection(ids):
                alone.append(index)
            else:
                together.append(index)
        together, refused = _unrefused(merges, together)
        alone += refused
        for index in alone:
            merge = merges[index]
            people = Person.objects.in_bulk([merge.survivor, *merge.others])
            try:
                with transaction.atomic():
                    results[index] = customers_merge(survivor=people[merge.survivor],
                                                     others=[people[pk] for pk in merge.others],
                                                     by=by, reason=merge.reason)
            except ValidationError as refusal:
                results[index] = refusal
        for start in range(0, len(together), MERGE_BATCH):
            batch = together[start:start + MERGE_BATCH]
            people = Person.objects.in_bulk([pk for i in batch for pk in (merges[i].survivor, *merges[i].others)])
            for index, record in zip(batch, _merge_together([merges[i] for i in batch], people, by), strict=True):
                results[index] = record
    return results  # type: ignore[return-value] - every index was given its result above


def _unrefused(merges: list[Merge], indexes: list[int]) -> tuple[list[int], list[int]]:
    """(merges no module refuses taken together, the others): the modules' checks are asked about halves
    until each refusal is narrowed to one merge, a few queries however many merges there are."""
    if not indexes:
        return [], []
    ids = [pk for index in indexes for pk in (merges[index].survivor, *merges[index].others)]
    if not any(refuse(ids) for refuse in _FOLLOWERS.values()):
        return indexes, []
    if len(indexes) == 1:
        return [], indexes
    half = len(indexes) // 2
    ok_a, no_a = _unrefused(merges, indexes[:half])
    ok_b, no_b = _unrefused(merges, indexes[half:])
    return ok_a + ok_b, no_a + no_b


def _reassign(model: type, survivor_of: dict[int, int], extra: str = "") -> None:
    """Every row of ``model`` held by a merged record goes to its survivor, in one statement."""
    column = model._meta.get_field("person").column
    query = psycopg_sql.SQL("UPDATE {table} SET {column} = m.survivor{extra} FROM unnest(%s::bigint[], %s::bigint[])"
                            " AS m(other, survivor) WHERE {table}.{column} = m.other").format(
        table=psycopg_sql.Identifier(model._meta.db_table), column=psycopg_sql.Identifier(column),
        extra=psycopg_sql.SQL(extra))
    with connection.cursor() as cursor:
        cursor.execute(query, [list(survivor_of), list(survivor_of.values())])


def _merge_together(merges: list[Merge], people: dict[int, Person], by: User | None) -> list[MergeRecord]:
    survivor_of = {other: merge.survivor for merge in merges for other in merge.others}
    snapshots, filled, others_of = {}, {}, {}
    for merge in merges:
        survivor = people[merge.survivor]
        others_of[survivor.pk] = sorted((people[pk] for pk in merge.others), key=lambda p: p.updated_at,
                                        reverse=True)
        snapshots[survivor.pk] = _snapshot_start(survivor)
        filled[survivor.pk] = _fields_fill(survivor, others_of[survivor.pk])
    survivors, other_ids = list(snapshots), list(survivor_of)

    _rows_move(survivor_of, snapshots)

    now = timezone.now()
    for survivor in survivors:
        people[survivor].derive()
        people[survivor].updated_at = now
    copy_update([people[pk] for pk in survivors], _PERSON_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE customers_person SET merged_into_id = m.survivor, updated_at = %s"
                       " FROM unnest(%s::bigint[], %s::bigint[]) AS m(other, survivor)"
                       " WHERE customers_person.id = m.other", [now, other_ids, list(survivor_of.values())])
    records = MergeRecord.objects.bulk_create([
        MergeRecord(survivor_id=merge.survivor, merged=merge.others, snapshot=snapshots[merge.survivor],
                    reason=merge.reason, by=by) for merge in merges])
    TimelineEntry.objects.bulk_create([_history_entry(people[merge.survivor], others_of[merge.survivor], by)
                                       for merge in merges])
    AuditEntry.objects.bulk_create([
        AuditEntry(**_audit_entry(people[merge.survivor], merge.others, filled[merge.survivor], record, by))
        for merge, record in zip(merges, records, strict=True)])
    if webhook_listened(WebhookEvent.CUSTOMER_MERGED):
        for person in Person.objects.prefetch_related("phones", "emails", "external_refs").filter(pk__in=survivors):
            webhook_emit(WebhookEvent.CUSTOMER_MERGED, person, merged_ids=[
                other for other, survivor in survivor_of.items() if survivor == person.pk])
    return records


def _rows_move(survivor_of: dict[int, int], snapshots: dict[int, dict[str, Any]]) -> None:
    """Rule 2 for merges taken together (``survivor_of``: merged record -> its survivor): every row of the merged
    records moves to its survivor, a fixed number of statements however many merges; a row the survivor holds
    already (a phone, an e-mail, a once-per row) is removed instead. Each survivor's snapshot records what moved
    and what was removed, for the undo."""
    survivors, other_ids = list(snapshots), list(survivor_of)

    for model in _moved_models():
        if once_per := _ONCE_PER.get(model):
            held = set(model.objects.filter(person_id__in=survivors).values_list("person_id", *once_per))
            duplicates: dict[int, list[Any]] = {}
            for row in model.objects.filter(person_id__in=other_ids).order_by("pk"):
                key = (survivor_of[row.person_id], *(getattr(row, name) for name in once_per))
                if key in held:
                    duplicates.setdefault(key[0], []).append(row)
                held.add(key)
            for survivor, rows in duplicates.items():
                snapshots[survivor]["removed"] += serializers.serialize("python", rows)
            model.objects.filter(pk__in=[row.pk for rows in duplicates.values() for row in rows]).delete()
        moved: dict[int, list[tuple[int, int]]] = {}
        for pk, person_id in model.objects.filter(person_id__in=other_ids).values_list("pk", "person_id"):
            moved.setdefault(survivor_of[person_id], []).append((pk, person_id))
        for survivor in survivors:
            snapshots[survivor]["moved"][model._meta.label] = moved.get(survivor, [])
        if moved:
            _reassign(model, survivor_of)

    for model, key in ((Phone, "number"), (Email, "address")):
        have = {(person_id, value) for person_id, value in
                model.objects.filter(person_id__in=survivors).values_list("person_id", key)}
        kept: dict[int, list[tuple[int, int, bool]]] = {}
        removed = []
        for row in model.objects.filter(person_id__in=other_ids).order_by("pk"):
            survivor = survivor_of[row.person_id]
            if (survivor, getattr(row, key)) in have:
                removed.append(row)
                snapshots[survivor]["removed"] += serializers.serialize("python", [row])
            else:
                have.add((survivor, getattr(row, key)))
                kept.setdefault(survivor, []).append((row.pk, row.person_id, row.is_primary))
        model.objects.filter(pk__in=[row.pk for row in removed]).delete()
        for survivor in survivors:
            snapshots[survivor]["moved"][model._meta.label] = kept.get(survivor, [])
        if kept:
            _reassign(model, survivor_of, extra=", is_primary = false")


# Every column a merge may change on the survivor (its fields filled, derived again), ids and creation aside.
_PERSON_COLUMNS = [field.name for field in Person._meta.concrete_fields
                   if not field.primary_key and field.name not in ("created_at", "merged_into")]

def _snapshot_start(survivor: Person) -> dict[str, Any]:
    return {
        "survivor_fields": {name: _field_value(survivor, name) for name in (*PERSON_FIELDS, "family_name_latin",
                                                                            "given_name_latin", "name_order")},
        "moved": {},
        "removed": [],
        "households": {},
    }


def _fields_fill(survivor: Person, others: list[Person]) -> dict[str, int]:
    """Rule 1: each empty field of the survivor from the first of ``others`` (latest updated first) having it;
    which record each value came from."""
    filled: dict[str, int] = {}
    for name in PERSON_FIELDS:
        if _field_value(survivor, name) in ("", None):
            donor = next((o for o in others if _field_value(o, name) not in ("", None)), None)
            if donor is not None:
                setattr(survivor, Person._meta.get_field(name).attname, _field_value(donor, name))
                filled[name] = donor.pk
    return filled


def _history_entry(survivor: Person, others: list[Person], by: User | None) -> TimelineEntry:
    return timeline_event("merged", {"names": ", ".join(str(o) for o in others)}, person=survivor, author=by)


def _audit_entry(survivor: Person, other_ids: list[int], filled: dict[str, int], record: MergeRecord,
                 by: User | None) -> dict[str, Any]:
    return {"person": survivor, "actor": by, "action": "merged",
            "changes": {"merged": other_ids, "filled_from": filled, "merge": record.pk}}


@transaction.atomic
def merge_undo(*, record: MergeRecord, by: User | None) -> None:
    """Put everything back as it was before the merge: records, fields, rows, memberships."""
    record = MergeRecord.objects.select_for_update().get(pk=record.pk)
    if record.undone_at:
        raise ValidationError(_("This merge has already been undone."))
    if MergeRecord.objects.filter(survivor_id__in=record.merged, undone_at__isnull=True, at__gt=record.at).exists():
        raise ValidationError(_("Undo the later merges of these customers first."))
    for check in _UNDO_REFUSALS:
        if reason_not := check(record):
            raise ValidationError(reason_not)
    snapshot = record.snapshot
    survivor = Person.objects.select_for_update().get(pk=record.survivor_id)

    for label, rows in snapshot["moved"].items():
        model = next(m for m in (*_moved_models(), Phone, Email) if m._meta.label == label)
        for pk, person_id, *primary in rows:
            # Phones and e-mails also get their primary flag back.
            changes = {"person_id": person_id, **({"is_primary": primary[0]} if primary else {})}
            model.objects.filter(pk=pk).update(**changes)
    for row in serializers.deserialize("python", snapshot["removed"]):
        row.save()
    for household_id, saved in snapshot["households"].items():
        name, member_ids = (saved["name"], saved["members"]) if isinstance(saved, dict) else ("", saved)
        household = Household.objects.filter(pk=household_id).first()
        if household is None:  # ended since (its last members moved out, or by this merge): back as it was
            household = Household.objects.create(pk=household_id, name=name or _("Household"))
        household.members.set(Person.objects.filter(pk__in=member_ids))

    for name, value in snapshot["survivor_fields"].items():
        setattr(survivor, Person._meta.get_field(name).attname, value)
    survivor.derive()
    survivor.save()
    Person.objects.filter(pk__in=record.merged).update(merged_into=None)
    record.undone_at, record.undone_by = timezone.now(), by
    record.save(update_fields=["undone_at", "undone_by"])
    AuditEntry.objects.create(person=survivor, actor=by, action="merge_undone", changes={"merge": record.pk})
