"""What an HQ sees: the KPI snapshot rows of the dealer groups that share with it, and nothing else.

Pages read only ``KpiSnapshot`` rows (numbers and rooftop ids) and the groups' names, countries and
plans; never a tenant schema.
"""

import statistics
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import F, Q

from tenants.models import SNAPSHOT_KPIS, DealerGroup, HqOrganisation, HqShare, KpiSnapshot, SnapshotPeriod

# Fewer rows than this and quartiles would describe single dealers.
QUARTILE_MINIMUM = 4


def visible_snapshots(organisation: HqOrganisation):
    """Snapshot rows the organisation may see: of groups sharing now, and of groups that stopped, the
    periods that ended before they stopped."""
    shares = HqShare.objects.filter(organisation=organisation)
    visible = Q(pk__in=[])
    for share in shares.only("dealer_group_id", "withdrawn_at"):
        if share.withdrawn_at is None:
            visible |= Q(dealer_group_id=share.dealer_group_id)
        else:
            visible |= Q(dealer_group_id=share.dealer_group_id, period_end__lt=share.withdrawn_at.date())
    return KpiSnapshot.objects.filter(visible)


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


def month_rows(organisation: HqOrganisation, *, month: date, country: str = "", plan: str = "",
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
