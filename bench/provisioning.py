"""Benchmark: provisioning a dealer group by cloning the template schema vs. by running migrations.

    .venv/bin/python bench/provisioning.py [--n 3]

Runs against its own database (``dealercrm_bench`` on the server ``DATABASE_URL`` points at, or
on the embedded PostgreSQL when it is unset), created fresh and dropped at the end, so the demo's
data is never touched. After ``migrate_all`` it provisions N tenants each way, interleaved
(clone, migrate, clone, migrate…) so both paths see the same machine conditions, and times each
one from the start to a usable tenant (row, domain, schema, Wagtail site, first admin).

One line per tenant, then a last line that is one JSON object (``n``, ``clone_s_median``,
``migrate_s_median``, ``ratio``, ``clone_s``, ``migrate_s``…) for scripts to read.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "dealercrm_bench"


def database_urls() -> tuple[str, str, object | None]:
    """Return (the server's URL as configured, the benchmark database's URL, the embedded server's handle)."""
    from config.devstack import database_ensure

    env = dict(os.environ)
    handle = database_ensure(env)  # None when DATABASE_URL is set; otherwise keep it alive
    server_url = env["DATABASE_URL"]
    os.environ["DATABASE_URL"] = server_url
    parts = urlsplit(server_url)
    if parts.path.lstrip("/") == BENCH_DATABASE:
        raise SystemExit(f"DATABASE_URL already names {BENCH_DATABASE!r}: point it at another database.")
    bench_url = urlunsplit(parts._replace(path="/" + BENCH_DATABASE))
    return server_url, bench_url, handle


def database_recreate(server_url: str, *, create: bool) -> None:
    """Drop the benchmark database (whoever is connected to it) and, if asked, create it anew."""
    import psycopg
    from psycopg import sql

    name = sql.Identifier(BENCH_DATABASE)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def in_bench_database(run: Callable[[], dict[str, object]]) -> int:
    """Run a benchmark in a fresh ``dealercrm_bench`` database, drop it afterwards whatever happens,
    and print the result as the final JSON line."""
    server_url, bench_url, _handle = database_urls()
    database_recreate(server_url, create=True)
    os.environ["DATABASE_URL"] = bench_url
    try:
        result = run()
    finally:
        from django.db import connections

        connections.close_all()
        database_recreate(server_url, create=False)
    print(f"(database {BENCH_DATABASE} dropped)")
    print(json.dumps(result))
    return 0


def provision_by_cloning(slug: str, admin_password: str) -> float:
    """The production path: ``dealer_group_create`` clones ``tenant_template``."""
    from tenants.services import dealer_group_create

    started = time.perf_counter()
    dealer_group_create(
        name=f"Bench {slug}",
        slug=slug,
        country="DE",
        default_language="en",
        timezone="Europe/Berlin",
        admin_email=f"admin@{slug}.example.com",
        admin_password=admin_password,
        admin_first_name="Bench",
        admin_last_name="Admin",
    )
    return time.perf_counter() - started


def provision_by_migrating(slug: str, admin_password: str) -> float:
    """What provisioning would cost without the template: same row, domain, site and admin, but migrated."""
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import translation
    from django_tenants.utils import schema_context

    from cms.services import site_configure
    from crm.core.services import staff_user_create
    from tenants.models import DealerGroup, Domain
    from tenants.services import slug_validate

    started = time.perf_counter()
    slug = slug_validate(slug)
    group = DealerGroup(
        name=f"Bench {slug}",
        slug=slug,
        schema_name=DealerGroup.schema_name_for(slug),
        country="DE",
        default_language="en",
        timezone="Europe/Berlin",
        currency="EUR",
    )
    group.full_clean(exclude=["schema_name"])
    try:
        connection.set_schema_to_public()
        with transaction.atomic():
            group.save()
            Domain.objects.create(domain=group.primary_host, tenant=group, is_primary=True)
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {connection.ops.quote_name(group.schema_name)}")
        # Migrations manage their own transactions, as they do in `migrate_all`.
        call_command("migrate_schemas", tenant=True, schema_name=group.schema_name, interactive=False, verbosity=0)
        connection.set_schema_to_public()
        with transaction.atomic(), schema_context(group.schema_name), translation.override(group.default_language):
            site_configure(hostname=group.primary_host, site_name=group.name)
            staff_user_create(
                email=f"admin@{slug}.example.com",
                password=admin_password,
                role="dealer_admin",
                first_name="Bench",
                last_name="Admin",
                preferred_language=group.default_language,
            )
    finally:
        connection.set_schema_to_public()
    return time.perf_counter() - started


def tenant_check(slug: str) -> None:
    """Outside the timings: the tenant answers on its host and has its one admin."""
    from django.contrib.auth import get_user_model
    from django_tenants.utils import schema_context
    from wagtail.models import Site

    from tenants.models import DealerGroup

    group = DealerGroup.objects.get(slug=slug)
    with schema_context(group.schema_name):
        site = Site.objects.get(is_default_site=True)
        admins = list(get_user_model().objects.values_list("email", flat=True))
    if site.hostname != group.primary_host or admins != [f"admin@{slug}.example.com"]:
        raise RuntimeError(f"{slug}: unexpected tenant state (site {site.hostname!r}, users {admins!r})")


def run(n: int) -> dict[str, object]:
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    # Import what both paths use before any timing, so the first clone does not pay for it.
    for module in ("cms.services", "crm.core.services", "tenants.services", "wagtail.models"):
        importlib.import_module(module)

    started = time.perf_counter()
    call_command("migrate_all", verbosity=0)
    migrate_all_s = time.perf_counter() - started
    print(f"migrate_all (public, template, no tenants) {migrate_all_s:7.2f} s", flush=True)

    admin_password = "Bench-" + secrets.token_urlsafe(16)
    clone_s: list[float] = []
    migrate_s: list[float] = []
    for i in range(n):
        for method, provision, results in (
            ("clone", provision_by_cloning, clone_s),
            ("migrate", provision_by_migrating, migrate_s),
        ):
            slug = f"bench-{method}-{i}"
            seconds = provision(slug, admin_password)
            tenant_check(slug)
            results.append(seconds)
            print(f"{method:<8} {slug:<18} {seconds:7.2f} s", flush=True)

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    clone_median = statistics.median(clone_s)
    migrate_median = statistics.median(migrate_s)
    return {
        "n": n,
        "clone_s_median": round(clone_median, 3),
        "migrate_s_median": round(migrate_median, 3),
        "ratio": round(migrate_median / clone_median, 2),
        "clone_s": [round(s, 3) for s in clone_s],
        "migrate_s": [round(s, 3) for s in migrate_s],
        "migrate_all_s": round(migrate_all_s, 3),
        "cpu_count": os.cpu_count(),
        "postgres": server_version,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3, help="tenants to provision each way (default 3)")
    args = parser.parse_args()
    if args.n < 1:
        parser.error("--n must be at least 1")

    sys.path.insert(0, str(BASE_DIR))
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # keep the output to the benchmark's own lines

    server_url, bench_url, handle = database_urls()
    database_recreate(server_url, create=True)
    os.environ["DATABASE_URL"] = bench_url
    try:
        result = run(args.n)
    finally:
        from django.db import connections

        connections.close_all()
        database_recreate(server_url, create=False)
        del handle  # the embedded server, if any, may stop now
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
