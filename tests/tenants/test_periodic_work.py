"""Periodic jobs: one beat entry fans out one task per tenant, each in its own schema, staggered."""

from datetime import timedelta

import pytest
from celery import current_app
from celery.result import AsyncResult
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.tasks import clear_expired_sessions
from tenants import tasks as tenant_tasks
from tenants.tasks import fan_out

pytestmark = pytest.mark.django_db


@pytest.mark.worker
def test_fan_out_runs_the_job_once_in_every_tenant_schema_staggered(cast, celery_worker):
    sent_at = timezone.now()
    sent = fan_out.apply(kwargs={"task_name": "tests.celery_tasks.probe", "stagger_seconds": 1.5}).get()

    assert set(sent) == {cast.a.schema_name, cast.b.schema_name}
    results = {schema: AsyncResult(task_id) for schema, task_id in sent.items()}
    reports = {schema: result.get(timeout=30) for schema, result in results.items()}
    assert reports[cast.a.schema_name] == {"schema": cast.a.schema_name, "site": cast.a.primary_host}
    assert reports[cast.b.schema_name] == {"schema": cast.b.schema_name, "site": cast.b.primary_host}
    # Tenants are taken in creation order: A at once, B held back by one stagger step.
    assert results[cast.b.schema_name].date_done >= sent_at + timedelta(seconds=1.5)


def test_clearing_expired_sessions_touches_only_the_current_schema(cast):
    with schema_context(cast.a.schema_name):
        expired_a = SessionStore()
        expired_a.set_expiry(timezone.now() - timedelta(days=1))
        expired_a.save()
        live_a = SessionStore()
        live_a.save()
    with schema_context(cast.b.schema_name):
        expired_b = SessionStore()
        expired_b.set_expiry(timezone.now() - timedelta(days=1))
        expired_b.save()

    with schema_context(cast.a.schema_name):
        report = clear_expired_sessions()
        assert report == {"schema": cast.a.schema_name, "deleted": 1}
        assert set(Session.objects.values_list("session_key", flat=True)) >= {live_a.session_key}
        assert not Session.objects.filter(session_key=expired_a.session_key).exists()
        assert clear_expired_sessions()["deleted"] == 0  # running twice has the effect of once
    with schema_context(cast.b.schema_name):
        assert Session.objects.filter(session_key=expired_b.session_key).exists()


def test_every_beat_entry_names_tasks_the_worker_knows():
    current_app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in current_app.tasks, name
        if entry["task"] == "tenants.tasks.fan_out":
            assert entry["args"][0] in current_app.tasks, name


def test_sessions_are_cleared_in_the_public_schema_and_in_every_tenant():
    jobs = {(entry["task"], tuple(entry.get("args", ()))) for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert ("accounts.tasks.clear_expired_sessions", ()) in jobs
    assert ("tenants.tasks.fan_out", ("accounts.tasks.clear_expired_sessions",)) in jobs


@pytest.mark.worker
def test_a_fan_out_never_spreads_past_its_window(cast, celery_worker, monkeypatch):
    monkeypatch.setattr(tenant_tasks, "FAN_OUT_WINDOW_SECONDS", 1.0)  # as if there were thousands of tenants
    sent_at = timezone.now()

    sent = fan_out.apply(kwargs={"task_name": "tests.celery_tasks.probe", "stagger_seconds": 120}).get()

    last = AsyncResult(sent[cast.b.schema_name])
    assert last.get(timeout=30)["schema"] == cast.b.schema_name
    assert last.date_done < sent_at + timedelta(seconds=30)  # not the 120 s the stagger asked for


@pytest.mark.worker
def test_a_polling_job_goes_only_to_the_groups_with_work_for_it(cast, celery_worker):
    from crm.core.due import schemas_with_work
    from crm.marketing.models import Campaign, MessageTemplate

    schemas = [cast.a.schema_name, cast.b.schema_name]
    poll = "crm.marketing.tasks.campaigns_resume"
    assert schemas_with_work(poll, schemas) == []  # no campaign anywhere: no task at all
    assert fan_out.apply(kwargs={"task_name": poll}).get() == {}
    with schema_context(cast.b.schema_name):
        template = MessageTemplate.objects.create(name="Spring", channel="email")
        later = Campaign.objects.create(name="Later", template=template, status=Campaign.Status.SCHEDULED,
                                        scheduled_at=timezone.now() + timedelta(hours=2))
        assert schemas_with_work(poll, schemas) == []  # scheduled, but not yet
        Campaign.objects.create(name="Stalled", template=template, status=Campaign.Status.SENDING,
                                heartbeat_at=timezone.now() - timedelta(hours=1))  # its worker died
    assert schemas_with_work(poll, schemas) == [cast.b.schema_name]
    sent = fan_out.apply(kwargs={"task_name": poll}).get()
    assert set(sent) == {cast.b.schema_name}  # B alone: A has nothing to poll
    with schema_context(cast.b.schema_name):
        Campaign.objects.filter(pk=later.pk).update(scheduled_at=timezone.now() - timedelta(minutes=1))
    assert schemas_with_work(poll, schemas) == [cast.b.schema_name]
    # A job that says nothing of its work still goes everywhere.
    assert schemas_with_work("crm.loyalty.tasks.points_accrue", schemas) == schemas
