"""The KPI snapshot job: the one place the platform reads a tenant's CRM (ARCHITECTURE.md).

Daily by fan-out, in each dealer group's schema: the figures of the day before and of its month to
date, computed by ``crm.analytics.kpis`` inside the schema, are written as numbers into the public
``KpiSnapshot`` table, one row per rooftop and one for the group. Rerunning a day rewrites its rows
(an upsert on the unique key), so a retried or repeated task has the effect of one.
"""

from datetime import date, timedelta

from celery import shared_task
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from crm.analytics.kpis import kpis_compute

from .models import DealerGroup, KpiSnapshot, SnapshotPeriod


@transaction.atomic
def snapshot_take(*, dealer_group: DealerGroup, day: date) -> int:
    """Write ``day``'s and its month-to-date rows for the group whose schema is active; returns the rows."""
    now = timezone.now()
    written = 0
    last_sign_in = User.objects.exclude(role="").aggregate(latest=Max("last_login"))["latest"]
    DealerGroup.objects.filter(pk=dealer_group.pk).update(last_activity_at=last_sign_in)
    for period, start in ((SnapshotPeriod.DAY, day), (SnapshotPeriod.MONTH, day.replace(day=1))):
        for rooftop_id, figures in kpis_compute(start=start, end=day).items():
            KpiSnapshot.objects.update_or_create(
                dealer_group=dealer_group, rooftop_id=rooftop_id, period=period, period_start=start,
                defaults={"period_end": day, "computed_at": now, **figures})
            written += 1
    return written


@shared_task
def kpi_snapshot_take(day: str | None = None) -> dict[str, object]:
    """Fan-out target: yesterday (in the group's time zone) unless a day is given."""
    dealer_group = DealerGroup.objects.get(schema_name=connection.schema_name)
    when = date.fromisoformat(day) if day else timezone.localdate() - timedelta(days=1)
    return {"schema": connection.schema_name, "day": when.isoformat(),
            "rows": snapshot_take(dealer_group=dealer_group, day=when)}
