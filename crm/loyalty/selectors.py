"""Club reads: a member's card (tier, balance, ledger, vouchers) and the CRM's member list."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import DecimalField, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from crm.service.models import ServiceVisit

from .models import ClubRules, Membership, PointsEntry, Reward, Tier, Voucher

EARNED = (PointsEntry.Kind.SERVICE, PointsEntry.Kind.REFERRAL, PointsEntry.Kind.EVENT, PointsEntry.Kind.ADJUSTMENT)
TIER_WINDOW = timedelta(days=365)


def _sum(queryset: QuerySet, field: str, output: type) -> Coalesce:
    total = queryset.order_by().values(queryset.model._meta.get_field("person").attname).annotate(
        total=Sum(field)).values("total")
    return Coalesce(Subquery(total, output_field=output()), Value(0), output_field=output())


def with_standing(memberships: QuerySet[Membership], rules: ClubRules) -> QuerySet[Membership]:
    """Annotate ``balance`` and ``tier_value`` (points earned or spend in the last 12 months): one query."""
    since = timezone.now() - TIER_WINDOW
    balance = _sum(PointsEntry.objects.filter(person_id=OuterRef("person_id")), "points", IntegerField)
    if rules.tier_basis == ClubRules.TierBasis.SPEND:
        tier_value = _sum(ServiceVisit.objects.filter(
            person_id=OuterRef("person_id"), status=ServiceVisit.Status.CLOSED,
            closed_on__gte=timezone.localdate(since)), "total_amount", DecimalField)
    else:
        # Corrections count (a mistaken +5000 taken back is no tier), and only since this membership began.
        earned = PointsEntry.objects.filter(person_id=OuterRef("person_id"), kind__in=EARNED,
                                            created_at__gte=Greatest(Value(since), OuterRef("joined_at")))
        tier_value = Greatest(_sum(earned, "points", DecimalField), Value(0), output_field=DecimalField())
    return memberships.annotate(balance=balance, tier_value=tier_value)


def tier_for(value: Decimal, tiers: list[Tier]) -> tuple[Tier | None, Tier | None]:
    """The tier reached with ``value`` and the next one (None at the top)."""
    reached, following = None, None
    for tier in tiers:
        if value >= tier.threshold:
            reached = tier
        elif following is None:
            following = tier
    return reached, following


@dataclass(frozen=True)
class Card:
    membership: Membership
    rules: ClubRules
    balance: int
    tier: Tier | None
    next_tier: Tier | None
    tier_value: Decimal
    entries: list[PointsEntry]
    vouchers: list[Voucher]
    rewards: list[Reward]

    @property
    def to_next_tier(self) -> Decimal | None:
        return None if self.next_tier is None else self.next_tier.threshold - self.tier_value

    @property
    def progress_percent(self) -> int:
        if self.next_tier is None:
            return 100
        start = self.tier.threshold if self.tier else Decimal(0)
        span = self.next_tier.threshold - start
        return max(0, min(100, int((self.tier_value - start) * 100 / span))) if span else 100


def card(person_id: int, rules: ClubRules | None = None, entries: int = 50) -> Card | None:
    """The member's card as the portal and the CRM show it; None for someone not (or no longer) a member."""
    rules = rules or ClubRules.current()
    membership = with_standing(Membership.objects.filter(person_id=person_id, left_at__isnull=True)
                               .select_related("person"), rules).first()
    if membership is None:
        return None
    tiers = list(Tier.objects.all())
    tier, next_tier = tier_for(membership.tier_value, tiers)
    today = timezone.localdate()
    return Card(
        membership=membership, rules=rules, balance=membership.balance, tier=tier, next_tier=next_tier,
        tier_value=membership.tier_value,
        entries=list(PointsEntry.objects.filter(person_id=person_id).select_related("visit__rooftop")[:entries]),
        vouchers=list(Voucher.objects.filter(person_id=person_id).filter(
            Q(redeemed_at__isnull=True, cancelled_at__isnull=True, valid_until__gte=today)
            | Q(issued_at__gte=timezone.now() - TIER_WINDOW)).select_related("redeemed_rooftop")),
        rewards=list(Reward.objects.filter(active=True)),
    )


def members(rules: ClubRules, tiers: list[Tier], query: str = "", tier: Tier | None = None,
            ) -> QuerySet[Membership]:
    """Active members with balance and tier value; ``query`` finds a card number or a name, ``tier``
    keeps those whose value falls in it (filtered in SQL, so the list pages)."""
    rows = with_standing(Membership.objects.filter(left_at__isnull=True).select_related("person"), rules)
    if query := query.strip():
        digits = "".join(char for char in query if char.isdigit())
        rows = rows.filter(Q(number=digits) if len(digits) == 8 else Q(person__search_text__icontains=query.lower()))
    if tier is not None:
        rows = rows.filter(tier_value__gte=tier.threshold)
        if (following := tier_for(tier.threshold, tiers)[1]) is not None:
            rows = rows.filter(tier_value__lt=following.threshold)
    return rows.order_by("-joined_at", "-pk")
