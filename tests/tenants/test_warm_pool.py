"""The warm pool: a sign-up takes a schema cloned ahead of time, fixes its site, admin and domain in the same
transaction, and nothing of a pool schema is reachable before it is taken."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django_tenants.utils import schema_context, schema_exists
from wagtail.models import Site

from accounts.models import User
from crm.customers.models import Person
from tenants import pool
from tenants.models import DealerGroup, Domain
from tenants.services import dealer_group_create

from ..conftest import PASSWORD


def _create(slug: str) -> DealerGroup:
    return dealer_group_create(name=f"Pool {slug}", slug=slug, country="DE", default_language="en",
                               timezone="Europe/Berlin", currency="EUR", admin_email=f"admin@{slug}.test",
                               admin_password=PASSWORD, rooftops=2).dealer_group


def _drop_pool() -> None:
    with connection.cursor() as cursor:
        for name in pool._pool():
            cursor.execute(f"DROP SCHEMA {connection.ops.quote_name(name)} CASCADE")


@pytest.fixture
def autocommit(cast, django_db_blocker):
    """Each clone in its own transaction, as on a server (one transaction cannot lock three schemas' tables);
    what the test made is dropped afterwards."""
    with django_db_blocker.unblock():
        made: list[DealerGroup] = []
        try:
            yield made
        finally:
            connection.set_schema_to_public()
            for group in made:
                group.delete(force_drop=True)
            _drop_pool()


def test_a_new_group_takes_a_warm_schema_with_its_own_site_admin_and_domain(cast, autocommit, settings):
    settings.TENANT_WARM_POOL_SIZE = 2
    assert pool.pool_refill() == {"cloned": 2, "dropped": 0, "ready": 2}
    warm = pool._pool()
    # Nothing reaches a pool schema: no group, no domain; it holds the template's rows and nothing else.
    assert not DealerGroup.objects.filter(schema_name__in=warm).exists()
    assert not Domain.objects.filter(tenant__schema_name__in=warm).exists()
    with schema_context(warm[0]):
        assert not Person.objects.exists() and not User.objects.exists()

    group = _create("poolside")
    autocommit.append(group)
    assert group.schema_name == "t_poolside" and len(pool._pool()) == 1  # one taken, renamed: not cloned
    assert warm[0] not in pool._pool() and not schema_exists(warm[0])
    with schema_context(group.schema_name):
        assert Site.objects.get(is_default_site=True).hostname == group.primary_host
        assert User.objects.get().email == "admin@poolside.test"
    assert Domain.objects.get(tenant=group).domain == group.primary_host
    signed_in = Client(HTTP_HOST=group.primary_host)
    assert signed_in.post("/accounts/login/", {"login": "admin@poolside.test", "password": PASSWORD}).status_code == 302
    assert signed_in.get("/crm/").status_code == 200
    # The other group sees none of it, and the new one none of the cast's.
    with schema_context(group.schema_name):
        assert not Person.objects.exists()
    assert cast.signed_in(cast.a, cast.a_admin).get("/crm/").status_code == 200

    assert pool.pool_refill() == {"cloned": 1, "dropped": 0, "ready": 2}


def test_a_sign_up_that_took_a_warm_schema_asks_for_a_refill(cast, autocommit, settings):
    from config.celery import app

    settings.TENANT_WARM_POOL_SIZE = 1
    pool.pool_refill()
    app.conf.task_always_eager = True  # the refill it sends runs here, as the worker would run it
    try:
        autocommit.append(_create("refilled"))
    finally:
        app.conf.task_always_eager = False
    assert len(pool._pool()) == 1 and pool.pool_refill()["cloned"] == 0


def test_after_a_tenant_migration_the_pool_is_stale_sign_ups_clone_and_the_refill_replaces_it(cast, autocommit,
                                                                                              settings):
    settings.TENANT_WARM_POOL_SIZE = 2
    pool.pool_refill()
    stale = set(pool._pool())
    template_migrations = f"{settings.TENANT_BASE_SCHEMA}.django_migrations"
    with connection.cursor() as cursor:  # a deploy migrated the template
        cursor.execute(f"INSERT INTO {template_migrations} (app, name, applied) "  # noqa: S608
                       "VALUES ('crm_core', '9999_deployed_today', now())")
    try:
        group = _create("afterdeploy")  # cloned from the migrated template, not taken from the stale pool
        autocommit.append(group)
        assert set(pool._pool()) == stale
        with schema_context(group.schema_name), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM django_migrations WHERE name = '9999_deployed_today'")
            assert cursor.fetchone()[0] == 1

        assert pool.pool_refill() == {"cloned": 2, "dropped": 2, "ready": 2}
        assert not stale & set(pool._pool())
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {template_migrations} WHERE name = '9999_deployed_today'")  # noqa: S608


@pytest.mark.django_db
def test_without_a_pool_a_group_is_cloned_as_before(cast, settings):
    settings.TENANT_WARM_POOL_SIZE = 0
    assert pool.pool_refill() == {"cloned": 0, "dropped": 0, "ready": 0}
    assert _create("nopool").schema_name == "t_nopool"


def test_two_sign_ups_at_the_same_moment_take_two_different_schemas(cast, django_db_blocker, settings):
    """Autocommit, two connections: each claim holds its schema until its transaction ends."""
    settings.TENANT_WARM_POOL_SIZE = 2
    with django_db_blocker.unblock():
        pool.pool_refill()
        taken: dict[str, bool] = {}
        both_inside = threading.Barrier(2)

        def claim(schema_name: str) -> None:
            from django.db import transaction

            try:
                with transaction.atomic():
                    taken[schema_name] = pool.schema_take(schema_name)
                    both_inside.wait(timeout=20)  # neither commits before the other has claimed
                    raise RuntimeError("undo")  # leave the pool as it was
            except RuntimeError:
                pass
            finally:
                connections.close_all()

        threads = [threading.Thread(target=claim, args=(name,)) for name in ("t_race_one", "t_race_two")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        try:
            assert taken == {"t_race_one": True, "t_race_two": True}  # both found one, so they were different
            assert len(pool._pool()) == 2  # and undone with their transactions
        finally:
            _drop_pool()
