"""Django's psycopg pool under django-tenants: a server connection serves many dealer groups in turn, and each
request still reads its own group's rows only.

The pool is the real one (psycopg_pool, configured by ``config.dbpool`` as production configures it) on the
test database; threads play a web server's request threads.
"""

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import connection, connections
from django_tenants.postgresql_backend.base import DatabaseWrapper
from django_tenants.utils import schema_context

from accounts.models import User
from config.dbpool import database_pool_configure
from crm.customers.importing import pipeline
from crm.customers.importing.jobs import job_create
from crm.customers.models import ImportJob

ALIAS = "pool_probe"


@pytest.fixture
def pooled(monkeypatch, django_db_blocker):
    """Settings for a connection on a pool of two, built by the production code path; the pool is closed after."""
    monkeypatch.setenv("DATABASE_POOL_MIN", "2")
    monkeypatch.setenv("DATABASE_POOL_MAX", "2")
    settings_dict = {**connection.settings_dict, "OPTIONS": dict(connection.settings_dict["OPTIONS"]),
                     "CONN_MAX_AGE": 60}
    database_pool_configure(settings_dict, default=True)
    assert settings_dict["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections
    monkeypatch.setitem(connections.settings, ALIAS, settings_dict)
    with django_db_blocker.unblock():
        try:
            yield settings_dict
        finally:
            connections[ALIAS].close()
            connections[ALIAS].close_pool()
            del connections[ALIAS]


def _rooftops(schema: str) -> frozenset[str]:
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("SELECT name FROM dealerships_rooftop")
        return frozenset(name for (name,) in cursor.fetchall())


def test_a_pooled_connection_used_by_another_group_shows_each_request_its_own_rows(cast, pooled):
    # given: what each group's rooftops are, read without the pool
    expected = {cast.a.schema_name: _rooftops(cast.a.schema_name), cast.b.schema_name: _rooftops(cast.b.schema_name)}
    connection.set_schema_to_public()
    assert expected[cast.a.schema_name] and expected[cast.b.schema_name]
    assert not expected[cast.a.schema_name] & expected[cast.b.schema_name]
    sequence = [cast.a.schema_name, cast.b.schema_name, "public", cast.a.schema_name]
    seen: list[tuple[int, str, list[str], frozenset[str] | None]] = []
    start = threading.Barrier(6)

    def request_thread(offset: int) -> None:
        """One thread of a web server: its own Django connection, a tenant per request, closed after each."""
        wrapper = connections[ALIAS]  # per thread, as Django's connections are
        start.wait()
        for turn in range(20):
            schema = sequence[(offset + turn) % len(sequence)]
            wrapper.set_schema(schema)  # what the tenant middleware does
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid(), current_schemas(false)")
                pid, path = cursor.fetchone()
                rows = None
                if schema != "public":
                    cursor.execute("SELECT name FROM dealerships_rooftop")
                    rows = frozenset(name for (name,) in cursor.fetchall())
            seen.append((pid, schema, path, rows))
            wrapper.close_if_unusable_or_obsolete()  # what Django does when a request finishes

    # when: six request threads share a pool of two connections, each going A, B, public, A, ...
    with ThreadPoolExecutor(6) as threads:
        list(threads.map(request_thread, range(6)))

    # then: every request saw its own schema and its own group's rows
    for _pid, schema, path, rows in seen:
        assert path == ([schema, "public"] if schema != "public" else ["public"])
        assert rows == expected.get(schema)
    # ... though the same two server connections served every group in turn
    groups_per_connection = defaultdict(set)
    for pid, schema, _path, _rows in seen:
        groups_per_connection[pid].add(schema)
    assert len(seen) == 120 and len(groups_per_connection) <= 2
    assert all(len(groups) == 3 for groups in groups_per_connection.values())


def test_a_connection_given_back_to_the_pool_has_no_tenant_on_its_path(cast, pooled):
    """Whatever reads through a pooled connection before a tenant is set finds no table, not the last group's."""
    wrapper = connections[ALIAS]
    wrapper.set_schema(cast.a.schema_name)
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dealerships_rooftop")
    wrapper.close()

    pool = wrapper.pool
    for _ in range(2):  # both connections of the pool: the one alpha used is one of them
        raw = pool.getconn()
        try:
            (path,) = raw.execute("SHOW search_path").fetchone()
            assert cast.a.schema_name not in path  # '""' once given back; a fresh one has PostgreSQL's default
            with pytest.raises(psycopg.errors.UndefinedTable):
                raw.execute("SELECT count(*) FROM dealerships_rooftop")
            raw.rollback()
        finally:
            pool.putconn(raw)


@pytest.mark.django_db
def test_dry_runs_take_no_connection_from_the_pool(cast, monkeypatch):
    """A dry run writes its progress on a connection of its own. Taken from the pool and closed, it never went
    back: after as many dry runs as the pool is large, every other task of the worker waited for a connection."""
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "pool", {"min_size": 1, "max_size": 1, "timeout": 2})
    jobs = []
    try:
        with schema_context(cast.a.schema_name):
            admin = User.objects.get(email=cast.a_admin)
            for _ in range(2):
                job = job_create(by=admin, name="sales.csv", data=b"Name;Phone\nAnna Schmidt;0171 2345678\n",
                                 kind="sales")
                job.dry_run = True
                job.save()
                jobs.append(job)
                pipeline.job_run(job)
    finally:
        pool = DatabaseWrapper._connection_pools.pop("default", None)
        if pool is not None:
            pool.close()
        with schema_context(cast.a.schema_name):
            for job in jobs:
                job.file.delete(save=False)

    assert [job.status for job in jobs] == [ImportJob.Status.DONE, ImportJob.Status.DONE]


def test_production_pools_connections_unless_told_not_to():
    from tests.test_settings import PRODUCTION_ENV, run_manage

    show = ("from django.conf import settings; d = settings.DATABASES['default']; "
            "print(d['CONN_MAX_AGE'], d['OPTIONS'].get('pool', {}).get('max_size'))")
    pooled = run_manage("shell", "-c", show, env={**PRODUCTION_ENV, "GUNICORN_THREADS": "8"})
    unpooled = run_manage("shell", "-c", show, env={**PRODUCTION_ENV, "DATABASE_POOL": "false"})

    # as many connections as a gunicorn worker has threads; without, persistent ones (PgBouncer in session mode)
    assert pooled.stdout.splitlines()[-1].split() == ["0", "8"], pooled.stderr
    assert unpooled.stdout.splitlines()[-1].split() == ["60", "None"], unpooled.stderr
