"""Households: the people who live together and share cars, a phone, an address and a buying decision.

A customer belongs to at most one household. Adding someone to a customer who has none starts
one named after the family; when only one member is left, the household ends. Every change is
on the audit trail of the people it concerns, so a household can always be reconstructed.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from accounts.models import User

from .models import AuditEntry, Household, Person, Phone
from .timeline import timeline_event


def households_of(person: Person) -> list[Household]:
    """The person's households with their members (usually one; two only after a merge of two people)."""
    members = Prefetch("members", queryset=Person.objects.active().order_by("family_name_latin", "given_name_latin"))
    return list(person.households.prefetch_related(members).order_by("pk"))


def household_suggestions(person: Person, households: list[Household]) -> list[Person]:
    """Other customers on one of the person's phone numbers who are not in the household yet:
    a shared landline or a family mobile usually means people who live together."""
    in_household = {member.pk for household in households for member in household.members.all()}
    shared = Phone.objects.filter(number__in=person.phones.values("number")).exclude(person=person).values("person_id")
    return list(Person.objects.active().filter(pk__in=shared).exclude(pk__in=in_household).order_by("pk")[:5])


@transaction.atomic
def household_add(*, person: Person, member: Person, by: User | None) -> Household:
    """Put `member` in the person's household, starting one if the person has none."""
    if member.pk == person.pk:
        raise ValidationError(_("A customer is always in their own household."))
    # Both people first, in one order: two simultaneous additions then queue instead of starting
    # two households or putting one person in two.
    list(Person.objects.select_for_update().filter(pk__in=[person.pk, member.pk]).order_by("pk"))
    household = person.households.order_by("pk").first()
    elsewhere = member.households.exclude(pk=household.pk if household else None).first()
    if elsewhere is not None:
        raise ValidationError(_("%(member)s already lives in the household “%(household)s”: remove them from it "
                                "first.") % {"member": member, "household": elsewhere})
    if household is None:
        household = Household.objects.create(name=_("%(family)s household") % {
            "family": person.family_name or person.family_name_latin or str(person)})
        household.members.add(person)
        _record(person, household, by, "household_joined")
    elif household.members.filter(pk=member.pk).exists():
        raise ValidationError(_("%(member)s is already in this household.") % {"member": member})
    household.members.add(member)
    _record(member, household, by, "household_joined")
    return household


@transaction.atomic
def household_remove(*, household: Household, member: Person, by: User | None) -> None:
    """`member` no longer lives there; a household left with one member ends."""
    household = Household.objects.select_for_update().get(pk=household.pk)  # two moving out at once: one by one
    household.members.remove(member)
    _record(member, household, by, "household_left")
    remaining = list(household.members.all())
    if len(remaining) <= 1:
        for person in remaining:
            _record(person, household, by, "household_left")
        household.delete()


@transaction.atomic
def household_rename(*, household: Household, name: str, by: User | None) -> None:
    old = household.name
    household.name = name
    household.save(update_fields=["name"])
    AuditEntry.objects.bulk_create([
        AuditEntry(person=member, actor=by, action="household_renamed", changes={"name": [old, name]})
        for member in household.members.all()
    ])


def _record(person: Person, household: Household, by: User | None, action: str) -> None:
    AuditEntry.objects.create(person=person, actor=by, action=action,
                              changes={"household": household.pk, "name": household.name})
    timeline_event(action, {"household": household.name}, person=person, author=by).save()
