"""Club writes: joining and leaving, points adjustments, exchanging points for vouchers, redeeming them.

Every change of a member's points locks their membership row first, so two exchanges at once cannot
both spend the same points, and a balance never goes below zero.
"""

import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from crm.customers.models import ConsentChannel, ConsentPurpose, MergeRecord, Person
from crm.customers.services import consent_record
from crm.customers.timeline import timeline_event
from crm.dealerships.models import Rooftop

from .models import ClubRules, Membership, PointsEntry, Reward, Voucher

# No 0/O or 1/I: codes are read out over a counter and typed in.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def membership_merge_refusal(person_ids: list[int]) -> str:
    """For ``follows_merges``: two club members cannot become one customer (whose card, whose tier?)."""
    if Membership.objects.filter(person_id__in=person_ids).count() > 1:
        return _("More than one of these customers has a club card (now or in the past); they cannot be merged.")
    return ""


def merge_undo_refusal(record: MergeRecord) -> str:
    """For ``refuses_undo``: points that moved in the merge may have been spent since; handing the rows
    back would leave one record below zero and the other with points already spent."""
    moved = record.snapshot.get("moved", {})
    if not (moved.get(PointsEntry._meta.label) or moved.get(Membership._meta.label)):
        return ""
    changed = (PointsEntry.objects.filter(person_id=record.survivor_id, created_at__gt=record.at).exists()
               or Voucher.objects.filter(person_id=record.survivor_id, issued_at__gt=record.at).exists())
    if changed:
        return _("Club points of these records have changed since the merge (earned, spent or adjusted); the "
                 "merge cannot be undone without splitting them wrongly.")
    return ""


def voucher_code_normalize(raw: str) -> str:
    """What the customer read out or typed, as stored: capitals, no dashes or spaces."""
    return "".join(char for char in raw.upper() if char.isalnum())


def _code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _card_number() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(8))


def balance(person_id: int) -> int:
    return PointsEntry.objects.filter(person_id=person_id).aggregate(total=Sum("points"))["total"] or 0


def _locked_membership(person: Person) -> Membership:
    membership = Membership.objects.select_for_update().filter(person=person).first()
    if membership is None or not membership.is_active:
        raise ValidationError(_("This customer is not a club member."))
    return membership


@transaction.atomic
def club_join(*, person: Person, accepted_terms: bool, marketing_email: bool = False, by: User | None,
              source: str, terms_version: int | None = None) -> Membership:
    """Join (or rejoin) on the current terms; a yes to club news is written to the consent ledger.
    ``terms_version`` is the version the owner was shown: if the terms changed since, they read them again."""
    rules = ClubRules.current()
    if not rules.enabled:
        raise ValidationError(_("The club is not taking new members at the moment."))
    if not accepted_terms:
        raise ValidationError({"accept_terms": _("Please accept the club terms to join.")})
    if terms_version is not None and terms_version != rules.terms_version:
        raise ValidationError(_("The club terms have just changed. Please read them again before you join."))
    now = timezone.now()
    membership = Membership.objects.select_for_update().filter(person=person).first()
    if membership is not None and membership.is_active:
        raise ValidationError(_("Already a club member."))
    if membership is not None:
        membership.left_at, membership.joined_at, membership.terms_version = None, now, rules.terms_version
        membership.save(update_fields=["left_at", "joined_at", "terms_version"])
        if (leftover := balance(person.pk)) > 0:  # credited while away (a late refund): lapsed like the rest
            PointsEntry.objects.create(person=person, points=-leftover, kind=PointsEntry.Kind.LAPSE, created_at=now,
                                       created_by=by)
    else:
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    membership = Membership.objects.create(person=person, number=_card_number(), joined_at=now,
                                                           terms_version=rules.terms_version)
                break
            except IntegrityError:
                continue
        else:  # pragma: no cover - 10^8 numbers
            raise ValidationError(_("Could not issue a card number; please try again."))
    if marketing_email:
        consent_record(person=person, by=by, channel=ConsentChannel.EMAIL, purpose=ConsentPurpose.MARKETING,
                       granted=True, source=source, proof=_("Joined %(club)s") % {"club": rules.name})
    timeline_event("club_joined", {"club": rules.name, "number": membership.number}, person=person,
                   occurred_at=now, author=by).save()
    return membership


@transaction.atomic
def club_leave(*, person: Person, by: User | None) -> Membership:
    """Leave the club: unused points lapse (an entry says so), vouchers already issued stay valid."""
    membership = _locked_membership(person)
    now = timezone.now()
    membership.left_at = now
    membership.save(update_fields=["left_at"])
    if (left := balance(person.pk)) > 0:
        PointsEntry.objects.create(person=person, points=-left, kind=PointsEntry.Kind.LAPSE, created_at=now,
                                   created_by=by)
    timeline_event("club_left", person=person, occurred_at=now, author=by).save()
    return membership


@transaction.atomic
def points_adjust(*, person: Person, points: int, reason: str, by: User) -> PointsEntry:
    """A correction or a goodwill gesture by staff, always with a reason; a balance stays at zero or above."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the points change: the member can see it.")})
    if points == 0:
        raise ValidationError({"points": _("Give a number of points other than zero.")})
    _locked_membership(person)
    current = balance(person.pk)
    if current + points < 0:
        raise ValidationError({"points": ngettext(
            "The balance is %(balance)s point; it cannot go below zero.",
            "The balance is %(balance)s points; it cannot go below zero.", current) % {"balance": current}})
    return PointsEntry.objects.create(person=person, points=points, kind=PointsEntry.Kind.ADJUSTMENT,
                                      note=reason[:300], created_at=timezone.now(), created_by=by)


def _voucher_create(*, person: Person, description: str, source: str, points_cost: int = 0,
                    source_key: str = "") -> Voucher:
    rules = ClubRules.current()
    now = timezone.now()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Voucher.objects.create(
                    code=_code(), person=person, description=description[:200], source=source,
                    source_key=source_key, points_cost=points_cost, issued_at=now,
                    valid_until=timezone.localdate(now) + timedelta(days=rules.voucher_valid_days))
        except IntegrityError:
            if source_key and Voucher.objects.filter(source_key=source_key).exists():
                raise
    raise ValidationError(_("Could not issue a voucher code; please try again."))  # pragma: no cover


@transaction.atomic
def reward_redeem(*, person: Person, reward: Reward, by: User | None, once: str = "") -> Voucher:
    """Exchange points for a reward's voucher: the points go and the voucher comes in one transaction.
    ``once`` is the form's one-time key: a double tap on the button issues one voucher, not two."""
    _locked_membership(person)
    if once and (done := Voucher.objects.filter(source_key=f"redeem:{once}", person=person).first()):
        return done
    if not reward.active:
        raise ValidationError(_("This reward is no longer offered."))
    current = balance(person.pk)
    if current < reward.points_cost:
        raise ValidationError(ngettext("%(reward)s needs %(cost)s points; you have %(balance)s point.",
                                       "%(reward)s needs %(cost)s points; you have %(balance)s points.", current)
                              % {"reward": reward.name, "cost": reward.points_cost, "balance": current})
    voucher = _voucher_create(person=person, description=reward.name, source=Voucher.Source.POINTS,
                              points_cost=reward.points_cost, source_key=f"redeem:{once[:40]}" if once else "")
    PointsEntry.objects.create(person=person, points=-reward.points_cost, kind=PointsEntry.Kind.REDEMPTION,
                               note=reward.name[:300], voucher=voucher, created_at=voucher.issued_at, created_by=by)
    return voucher


def voucher_find(code: str) -> Voucher | None:
    return (Voucher.objects.select_related("person", "redeemed_by", "redeemed_rooftop")
            .filter(code=voucher_code_normalize(code)).first())


def voucher_problem(voucher: Voucher) -> str:
    """Why this voucher cannot be honoured now, in words for the counter; "" when it can."""
    if voucher.cancelled_at is not None:
        return _("This voucher was cancelled.")
    if voucher.redeemed_at is not None:
        return _("This voucher was already used.")
    if voucher.valid_until < timezone.localdate():
        return _("This voucher expired on %(date)s.") % {"date": date_format(voucher.valid_until, "SHORT_DATE_FORMAT")}
    if voucher.person.merged_into_id is not None:
        return _("This voucher's customer was merged into another record; look the voucher up again.")
    return ""


@transaction.atomic
def voucher_redeem(*, voucher: Voucher, by: User, rooftop: Rooftop | None) -> Voucher:
    """Honour a voucher once: a conditional update, so two counters cannot both take it."""
    voucher = Voucher.objects.select_for_update(of=("self",)).select_related("person").get(pk=voucher.pk)
    if problem := voucher_problem(voucher):
        raise ValidationError(problem)
    voucher.redeemed_at, voucher.redeemed_by, voucher.redeemed_rooftop = timezone.now(), by, rooftop
    voucher.save(update_fields=["redeemed_at", "redeemed_by", "redeemed_rooftop"])
    timeline_event("voucher_used", {"what": voucher.description}, person_id=voucher.person_id,
                   occurred_at=voucher.redeemed_at, author=by, rooftop=rooftop).save()
    return voucher


@transaction.atomic
def voucher_cancel(*, voucher: Voucher, by: User) -> Voucher:
    """Withdraw an unused voucher; points paid for it go back to the member (someone who has left the club
    has no points to go back to)."""
    membership = Membership.objects.select_for_update().filter(person_id=voucher.person_id).first()
    voucher = Voucher.objects.select_for_update().get(pk=voucher.pk)
    if voucher.redeemed_at is not None or voucher.cancelled_at is not None:
        raise ValidationError(_("Only an unused voucher can be cancelled."))
    voucher.cancelled_at = timezone.now()
    voucher.save(update_fields=["cancelled_at"])
    if voucher.points_cost and membership is not None and membership.is_active:
        PointsEntry.objects.create(person_id=voucher.person_id, points=voucher.points_cost,
                                   kind=PointsEntry.Kind.REFUND, note=voucher.description[:300], voucher=voucher,
                                   created_at=voucher.cancelled_at, created_by=by)
    return voucher
