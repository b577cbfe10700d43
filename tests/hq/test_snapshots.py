"""KPI snapshots: written from inside each tenant's schema into the public schema as numbers only (checked
on every column), one row per rooftop and for the group, per day and month; a rerun rewrites, never adds."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from django_tenants.utils import schema_context

from crm.analytics.kpis import KPI_KEYS
from crm.customers.services import person_create
from crm.dealerships.models import Rooftop
from tenants.kpi_snapshots import snapshot_take
from tenants.models import SNAPSHOT_KPIS, DealerGroup, KpiSnapshot

pytestmark = pytest.mark.django_db

# What a snapshot column may be: a number, a date, the period's name, the dealer group. Never text about
# anyone (a name, an e-mail, a phone, a VIN) and never a customer's id.
ALLOWED = (models.DecimalField, models.PositiveIntegerField, models.DateField, models.DateTimeField,
           models.BigAutoField, models.ForeignKey)


def test_snapshot_columns_hold_numbers_only_and_are_the_kpis_defined():
    assert set(SNAPSHOT_KPIS) == set(KPI_KEYS)
    for field in KpiSnapshot._meta.get_fields():
        if field.name == "period":
            assert set(dict(field.choices)) == {"day", "month"}  # a fixed word, not free text
            continue
        assert isinstance(field, ALLOWED), f"{field.name} is a {type(field).__name__}"
        if isinstance(field, models.ForeignKey):
            assert field.related_model._meta.label == "tenants.DealerGroup"


def test_a_snapshot_writes_rooftop_and_group_rows_once_with_no_personal_data(cast):
    day = timezone.localdate()  # today so far: the customer made now counts
    cast.signed_in(cast.a, cast.a_admin)  # staff activity, which the operator console shows
    connection.set_schema_to_public()
    with schema_context(cast.a.schema_name):
        berlin = Rooftop.objects.get(name="Alpha Berlin")
        person_create(by=None, fields={"family_name": "Geheimnisvoll", "given_name": "Greta", "rooftop": berlin},
                      emails=["greta@example.de"], phones=["+49 151 99998888"])
        assert snapshot_take(dealer_group=cast.a, day=day) == snapshot_take(dealer_group=cast.a, day=day)
    rows = KpiSnapshot.objects.filter(dealer_group=cast.a)
    assert rows.filter(period="day", period_start=day).count() == rows.filter(
        period="month", period_start=day.replace(day=1)).count()
    group = rows.get(period="day", period_start=day, rooftop_id=None)
    assert group.customers >= 1 and rows.get(period="day", period_start=day, rooftop_id=berlin.pk).customers == 1
    for row in rows.values():
        for name, value in row.items():
            assert value is None or isinstance(value, (int, Decimal)) or name in ("period", "period_start",
                                                                                   "period_end", "computed_at")
            assert "Geheimnisvoll" not in str(value) and "greta" not in str(value)
    assert not KpiSnapshot.objects.filter(dealer_group=cast.b).exists()  # B's figures are B's task's
    assert DealerGroup.objects.get(pk=cast.a.pk).last_activity_at is not None
    with schema_context(cast.a.schema_name):  # yesterday, she was not a customer yet
        snapshot_take(dealer_group=cast.a, day=day - timedelta(days=1))
    assert rows.get(period="day", period_start=day - timedelta(days=1), rooftop_id=None).customers == 0


def test_the_snapshot_job_runs_daily_for_every_tenant():
    jobs = {(entry["task"], tuple(entry.get("args", ()))) for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert ("tenants.tasks.fan_out", ("tenants.kpi_snapshots.kpi_snapshot_take",)) in jobs
