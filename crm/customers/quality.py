"""Data quality: control (completeness), actualisation (re-verification) and archiving.

- **Completeness**: the share of the dealer's required fields a customer has, 0 to 100. Computed in
  SQL for lists and reports (one CASE per field, EXISTS for phones, e-mails, cars, consents), and
  in Python from what the customer page has already loaded.
- **Freshness**: phones, e-mails and the address each have a refresh period; contact data not
  confirmed within it is "to verify". A customer with no phone at all is incomplete, not stale.
- **Archiving**: a customer with no visit, purchase, contact, message or note for the rules'
  number of years is archived by a nightly job, set-based, with a timeline entry; staff restore.
"""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from crm.dealerships.models import Rooftop

from .models import (
    AuditEntry,
    Company,
    Consent,
    DataHint,
    Email,
    Person,
    Phone,
    QualityRules,
    TimelineEntry,
    VehicleLink,
)
from .timeline import timeline_event

# What a dealer may require of a customer record, in the order the settings show them.
REQUIRABLE = {
    "phone": gettext_lazy("Phone"),
    "email": gettext_lazy("E-mail"),
    "birth_date": gettext_lazy("Birth date"),
    "gender": gettext_lazy("Gender"),
    "address": gettext_lazy("Address"),
    "residential_area": gettext_lazy("Residential area"),
    "occupation": gettext_lazy("Occupation"),
    "income_band": gettext_lazy("Income band"),
    "preferred_language": gettext_lazy("Preferred language"),
    "rooftop": gettext_lazy("Rooftop"),
    "salesperson": gettext_lazy("Responsible salesperson"),
    "service_advisor": gettext_lazy("Responsible service advisor"),
    "vehicle": gettext_lazy("A current vehicle"),
    "consent": gettext_lazy("An answer on consent"),
}
VERIFIABLE = {"phone": gettext_lazy("phone"), "email": gettext_lazy("e-mail"), "address": gettext_lazy("address")}
# Kinds of timeline entry that count as contact with the customer (not record changes).
CONTACT_KINDS = (TimelineEntry.Kind.CONTACT, TimelineEntry.Kind.VISIT, TimelineEntry.Kind.PURCHASE,
                 TimelineEntry.Kind.MESSAGE, TimelineEntry.Kind.NOTE)


def _months_ago(months: int, now: datetime) -> datetime:
    return now - timedelta(days=round(months * 30.44))


def _filled(name: str) -> Q | Exists:
    """SQL: does the person (the outer row) have this required field?"""
    related = {
        "phone": Phone.objects.filter(person=OuterRef("pk")),
        "email": Email.objects.filter(person=OuterRef("pk")),
        "vehicle": VehicleLink.objects.filter(person=OuterRef("pk"), ended_on__isnull=True),
        "consent": Consent.objects.filter(person=OuterRef("pk")),
    }
    if name in related:
        return Exists(related[name])
    if name in ("birth_date", "rooftop", "salesperson", "service_advisor"):
        return Q(**{f"{name}__isnull": False})
    return ~Q(**{name: ""})


def with_completeness(people: QuerySet[Person], rules: QualityRules) -> QuerySet[Person]:
    """Annotate ``completeness`` (0 to 100) by the rules' required fields; 100 when nothing is required."""
    required = [name for name in rules.required_fields if name in REQUIRABLE]
    if not required:
        return people.annotate(completeness=Value(100, output_field=IntegerField()))
    points = sum((Case(When(_filled(name), then=Value(1)), default=Value(0), output_field=IntegerField())
                  for name in required), start=Value(0))
    return people.annotate(completeness=points * 100 / len(required))


def _stale(kind: str, rules: QualityRules, now: datetime) -> Q:
    """SQL: the person has this contact data and it has not been confirmed within its period."""
    if kind == "address":
        cutoff = _months_ago(rules.address_refresh_months, now)
        return ~Q(address="") & (Q(address_verified_at__isnull=True) | Q(address_verified_at__lt=cutoff))
    model, months = (Phone, rules.phone_refresh_months) if kind == "phone" else (Email, rules.email_refresh_months)
    rows = model.objects.filter(person=OuterRef("pk"))
    return Exists(rows) & ~Exists(rows.filter(verified_at__gte=_months_ago(months, now)))


def with_staleness(people: QuerySet[Person], rules: QualityRules, now: datetime | None = None) -> QuerySet[Person]:
    """Annotate ``stale_phone``, ``stale_email``, ``stale_address`` and ``stale`` (any of them)."""
    now = now or timezone.now()
    flags = {f"stale_{kind}": Case(When(_stale(kind, rules, now), then=Value(1)), default=Value(0),
                                   output_field=IntegerField()) for kind in VERIFIABLE}
    return people.annotate(**flags).annotate(stale=Greatest(*(F(name) for name in flags)))


def to_verify(rules: QualityRules, *, responsible: User | None = None) -> QuerySet[Person]:
    """Active customers with contact data to re-verify, longest-known first; only ``responsible``'s if given."""
    people = Person.objects.active()
    if responsible is not None:
        people = people.filter(Q(salesperson=responsible) | Q(service_advisor=responsible))
    return with_staleness(people, rules).filter(stale=1).order_by("created_at", "pk")


def person_quality(person: Person, *, phones: list[Phone], emails: list[Email], links: list[VehicleLink],
                   has_consent: bool, rules: QualityRules, now: datetime | None = None) -> dict[str, Any]:
    """The customer page's hints from what it already loaded: score, what is missing, what to verify."""
    now = now or timezone.now()
    filled = {
        "phone": bool(phones), "email": bool(emails), "vehicle": any(link.ended_on is None for link in links),
        "consent": has_consent,
        **{name: getattr(person, f"{name}_id" if name in ("rooftop", "salesperson", "service_advisor") else name)
           not in ("", None) for name in REQUIRABLE if name not in ("phone", "email", "vehicle", "consent")},
    }
    required = [name for name in rules.required_fields if name in REQUIRABLE]
    missing = [str(REQUIRABLE[name]) for name in required if not filled[name]]
    score = round(100 * (len(required) - len(missing)) / len(required)) if required else 100
    fresh_phone = _months_ago(rules.phone_refresh_months, now)
    fresh_email = _months_ago(rules.email_refresh_months, now)
    stale = [kind for kind, is_stale in (
        ("phone", bool(phones) and not any(p.verified_at and p.verified_at >= fresh_phone for p in phones)),
        ("email", bool(emails) and not any(e.verified_at and e.verified_at >= fresh_email for e in emails)),
        ("address", bool(person.address) and not (
            person.address_verified_at and person.address_verified_at >= _months_ago(rules.address_refresh_months,
                                                                                      now))),
    ) if is_stale]
    return {"score": score, "missing": missing, "stale": stale, "stale_pairs": [(k, str(VERIFIABLE[k])) for k in stale]}


@transaction.atomic
def hint_resolve(*, hint_id: int, by: User, person: Person | None = None, company: Company | None = None) -> bool:
    """Mark one of the customer's (or the company's) values to check as checked; False when it is not theirs or
    already done."""
    owner = {"person": person} if person is not None else {"company": company}
    hint = DataHint.objects.filter(pk=hint_id, resolved_at__isnull=True, **owner).first()
    if hint is None:
        return False
    hint.resolved_at, hint.resolved_by = timezone.now(), by
    hint.save(update_fields=["resolved_at", "resolved_by"])
    AuditEntry.objects.create(person=person, actor=by, action="hint_checked", changes={
        "field": hint.field, "value": hint.value, **({"company": company.pk} if person is None else {})})
    return True



def contacts_verify(*, person: Person, by: User, kinds: list[str]) -> list[str]:
    """Record that the customer confirmed their phone, e-mail and/or address today."""
    now = timezone.now()
    done = []
    contacts = {"phone": person.phones, "email": person.emails}
    for kind in kinds:
        if kind in contacts:
            primary = contacts[kind].order_by("-is_primary", "pk").first()
            if primary:
                type(primary).objects.filter(pk=primary.pk).update(verified_at=now)
                done.append(kind)
        elif kind == "address" and person.address:
            Person.objects.filter(pk=person.pk).update(address_verified_at=now)
            done.append(kind)
    if done:
        AuditEntry.objects.create(person=person, actor=by, action="verified", changes={"verified": done})
        timeline_event("verified", {"what": done}, person=person, occurred_at=now, author=by).save()
    return done


@transaction.atomic
def customers_archive_stale(*, rules: QualityRules | None = None, now: datetime | None = None) -> int:
    """Archive every active customer without contact for the rules' years. Set-based; idempotent."""
    rules = rules or QualityRules.current()
    now = now or timezone.now()
    cutoff = now - timedelta(days=round(365.25 * rules.archive_after_years))
    contact = TimelineEntry.objects.filter(person=OuterRef("pk"), kind__in=CONTACT_KINDS, occurred_at__gte=cutoff)
    ids = list(Person.objects.active().select_for_update(skip_locked=True)
               .filter(created_at__lt=cutoff).exclude(Exists(contact)).values_list("pk", flat=True))
    if not ids:
        return 0
    Person.objects.filter(pk__in=ids).update(archived_at=now, updated_at=now)
    data = {"years": rules.archive_after_years}
    TimelineEntry.objects.bulk_create(timeline_event("archived_stale", data, person_id=pk, occurred_at=now)
                                      for pk in ids)
    AuditEntry.objects.bulk_create(AuditEntry(person_id=pk, action="archived",
                                              changes={"archived_at": [None, now.isoformat()]}) for pk in ids)
    return len(ids)


@transaction.atomic
def person_archive(*, person: Person, by: User) -> None:
    now = timezone.now()
    Person.objects.filter(pk=person.pk).update(archived_at=now, updated_at=now)
    person.archived_at = now
    AuditEntry.objects.create(person=person, actor=by, action="archived",
                              changes={"archived_at": [None, now.isoformat()]})
    timeline_event("archived", person=person, occurred_at=now, author=by).save()


@transaction.atomic
def person_restore(*, person: Person, by: User) -> None:
    was = person.archived_at
    Person.objects.filter(pk=person.pk).update(archived_at=None, updated_at=timezone.now())
    person.archived_at = None
    AuditEntry.objects.create(person=person, actor=by, action="restored",
                              changes={"archived_at": [was.isoformat() if was else None, None]})
    timeline_event("restored", person=person, author=by).save()


def quality_report(rules: QualityRules) -> dict[str, Any]:
    """Completeness and staleness of active customers, overall and by salesperson, advisor and rooftop."""
    from django.db.models import Count, Sum

    people = with_staleness(with_completeness(Person.objects.active(), rules), rules)
    figures = {"customers": Count("pk"), "points": Sum("completeness"), "stale": Sum("stale")}

    def rows(group: str) -> list[dict[str, Any]]:
        result = list(people.order_by().values(group).annotate(**figures).order_by("-customers"))
        for row in result:
            row["stale_percent"] = round(100 * (row["stale"] or 0) / row["customers"]) if row["customers"] else 0
            row["completeness"] = round((row["points"] or 0) / row["customers"]) if row["customers"] else 0
        return result

    by = {"salesperson": rows("salesperson"), "service_advisor": rows("service_advisor"), "rooftop": rows("rooftop")}
    users = User.objects.in_bulk({row[key] for key in ("salesperson", "service_advisor")
                                  for row in by[key] if row[key]})
    rooftops = Rooftop.objects.in_bulk({row["rooftop"] for row in by["rooftop"] if row["rooftop"]})
    for key, names in (("salesperson", users), ("service_advisor", users), ("rooftop", rooftops)):
        for row in by[key]:
            row["name"] = str(names[row[key]]) if row[key] in names else _("Nobody") if key != "rooftop" \
                else _("No rooftop")
    # Every customer is in exactly one rooftop row (or the "no rooftop" one): the totals add up from them.
    customers = sum(row["customers"] for row in by["rooftop"])
    points = sum(row["points"] or 0 for row in by["rooftop"])
    stale = sum(row["stale"] or 0 for row in by["rooftop"])
    return {
        "customers": customers,
        "completeness": round(points / customers) if customers else 0,
        "stale_percent": round(100 * stale / customers) if customers else 0,
        "archived": Person.objects.filter(archived_at__isnull=False, merged_into__isnull=True).count(),
        **by,
    }
