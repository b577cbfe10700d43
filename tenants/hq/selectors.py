"""What an HQ sees: the KPI snapshot rows of the dealer groups that share with it, and nothing else.

Pages read only ``KpiSnapshot`` rows (numbers and rooftop ids) and the groups' names, countries and
plans; never a tenant schema.
"""

import statistics
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import SNAPSHOT_KPIS, DealerGroup, HqOrganisation, HqShare, KpiSnapshot, SnapshotPeriod

# Fewer rows than this and quartiles would describe single dealers.
QUARTILE_MINIMUM = 4


def visible_snapshots(organisation: HqOrganisation):
    """Snapshot rows the organisation may see: of groups sharing now, and of groups that stopped, the
    periods that ended before they stopped. One semi-join on the shares, however many groups share."""
    shares = HqShare.objects.filter(organisation=organisation, dealer_group_id=OuterRef("dealer_group_id"))
    return KpiSnapshot.objects.filter(Exists(shares.filter(
        Q(withdrawn_at__isnull=True) | Q(withdrawn_at__date__gt=OuterRef("period_end")))))


# Size of a dealer group by its customers that month: (label, at least, fewer than).
SIZE_BANDS = {
    "s": (_("Under 5,000 customers"), None, 5_000),
    "m": (_("5,000 to 20,000 customers"), 5_000, 20_000),
    "l": (_("20,000 to 50,000 customers"), 20_000, 50_000),
    "xl": (_("50,000 customers or more"), 50_000, None),
}


@dataclass(frozen=True)
class Quartiles:
    q1: Decimal
    median: Decimal
    q3: Decimal

    def outlier(self, value: Decimal | None) -> bool:
        """Beyond 1.5 interquartile ranges from the middle half (Tukey's fences)."""
        if value is None:
            return False
        spread = (self.q3 - self.q1) * Decimal("1.5")
        return value < self.q1 - spread or value > self.q3 + spread


def too_good_to_be_true(snapshot: KpiSnapshot) -> bool:
    """Near-perfect satisfaction with signs of fabricated answers: worth a question to the dealer."""
    return (snapshot.csi is not None and snapshot.csi >= Decimal("4.8") and snapshot.survey_integrity is not None
            and snapshot.survey_integrity < 80)


def quartiles(values: list[Decimal]) -> Quartiles | None:
    if len(values) < QUARTILE_MINIMUM:
        return None
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return Quartiles(*(Decimal(str(round(x, 2))) for x in (q1, median, q3)))


@dataclass(frozen=True)
class GroupRow:
    dealer_group: DealerGroup
    snapshot: KpiSnapshot

    def value(self, kpi: str) -> Decimal | None:
        return getattr(self.snapshot, kpi)


def months(organisation: HqOrganisation) -> list[date]:
    return list(visible_snapshots(organisation).filter(period=SnapshotPeriod.MONTH, rooftop_id__isnull=True)
                .order_by("-period_start").values_list("period_start", flat=True).distinct()[:36])


def month_default(available: list[date], today: date) -> date | None:
    """Of the months with figures (newest first), the latest complete one before ``today``'s month; the current
    month only when it is all there is."""
    return next((month for month in available if month < today.replace(day=1)), available[0] if available else None)


def month_rows(organisation: HqOrganisation, *, month: date, country: str = "", plan: str = "", size: str = "",
               sort: str = "", descending: bool = False) -> list[GroupRow]:
    """One row per sharing group for ``month`` (the group's own figures, not its rooftops'), filtered and
    sorted in SQL; one query."""
    rows = (visible_snapshots(organisation).filter(period=SnapshotPeriod.MONTH, period_start=month,
                                                   rooftop_id__isnull=True)
            .select_related("dealer_group__plan"))
    if country:
        rows = rows.filter(dealer_group__country=country)
    if plan:
        rows = rows.filter(dealer_group__plan__code=plan)
    if size in SIZE_BANDS:
        _label, low, high = SIZE_BANDS[size]
        if low is not None:
            rows = rows.filter(customers__gte=low)
        if high is not None:
            rows = rows.filter(customers__lt=high)
    if sort in SNAPSHOT_KPIS:  # empty figures last either way
        by = F(sort).desc(nulls_last=True) if descending else F(sort).asc(nulls_last=True)
        rows = rows.order_by(by, "dealer_group__name")
    else:
        rows = rows.order_by("dealer_group__name")
    return [GroupRow(snapshot.dealer_group, snapshot) for snapshot in rows]


def series(organisation: HqOrganisation, *, kpi: str, dealer_group_id: int | None = None,
           ) -> list[tuple[date, Decimal]]:
    """A KPI month by month: one group's, or (no group) the median of the sharing groups."""
    rows = visible_snapshots(organisation).filter(period=SnapshotPeriod.MONTH, rooftop_id__isnull=True)
    if dealer_group_id is not None:
        return list(rows.filter(dealer_group_id=dealer_group_id).order_by("period_start")
                    .values_list("period_start", kpi))
    by_month: dict[date, list[Decimal]] = {}
    for start, value in rows.exclude(**{f"{kpi}__isnull": True}).values_list("period_start", kpi):
        by_month.setdefault(start, []).append(value)
    return [(start, Decimal(str(round(statistics.median(values), 2)))) for start, values in sorted(by_month.items())]


def rooftop_rows(organisation: HqOrganisation, *, dealer_group_id: int, month: date) -> list[KpiSnapshot]:
    """Drill-down: the group's rooftops for the month, by rooftop id (their names stay in the tenant)."""
    return list(visible_snapshots(organisation).filter(period=SnapshotPeriod.MONTH, period_start=month,
                                                       dealer_group_id=dealer_group_id,
                                                       rooftop_id__isnull=False).order_by("rooftop_id"))


# A group compares itself only with at least this many others, so no single peer's figure can be read off.
PEERS_MINIMUM = 5


@dataclass(frozen=True)
class Position:
    kpi: str
    value: Decimal | None
    quartiles: Quartiles | None
    peers: int

    @property
    def quarter(self) -> int | None:
        """1 (bottom quarter) to 4 (top quarter) among the peers; None without a figure or enough peers."""
        if self.value is None or self.quartiles is None:
            return None
        q = self.quartiles
        return 1 if self.value < q.q1 else 2 if self.value < q.median else 3 if self.value < q.q3 else 4


def peer_group(dealer_group: DealerGroup, scope: str) -> list[int]:
    """Anonymous peers: the other groups sharing with an HQ this group shares with, or of its country."""
    others = DealerGroup.objects.exclude(pk=dealer_group.pk)
    if scope == "hq":
        hqs = HqShare.objects.filter(dealer_group=dealer_group, withdrawn_at__isnull=True).values("organisation_id")
        others = others.filter(hq_shares__organisation_id__in=hqs, hq_shares__withdrawn_at__isnull=True)
    else:
        others = others.filter(country=dealer_group.country)
    return list(others.values_list("pk", flat=True).distinct())


def how_we_compare(dealer_group: DealerGroup, *, scope: str) -> tuple[date | None, list[Position], int]:
    """The group's latest complete month against its peers' same month, KPI by KPI; quartiles only from
    ``PEERS_MINIMUM`` peers with a figure. Returns (month, positions, peers with a snapshot)."""
    mine = KpiSnapshot.objects.filter(dealer_group=dealer_group, period=SnapshotPeriod.MONTH, rooftop_id__isnull=True)
    month = month_default(list(mine.order_by("-period_start").values_list("period_start", flat=True)[:2]),
                          timezone.localdate())
    own = mine.filter(period_start=month).first()
    if own is None:
        return None, [], 0
    peers = list(KpiSnapshot.objects.filter(dealer_group_id__in=peer_group(dealer_group, scope),
                                            period=SnapshotPeriod.MONTH, rooftop_id__isnull=True,
                                            period_start=own.period_start))
    positions = []
    for kpi in SNAPSHOT_KPIS:
        values = [getattr(peer, kpi) for peer in peers if getattr(peer, kpi) is not None]
        enough = len(values) >= PEERS_MINIMUM
        positions.append(Position(kpi, getattr(own, kpi), quartiles(values) if enough else None, len(values)))
    return own.period_start, positions, len(peers)
