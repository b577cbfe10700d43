"""Benchmark: a deploy's ``migrate_all`` with nothing new for the tenants, as it is (only the schemas behind the
template, found in one query) against migrating every schema (``--all``, what every deploy did before).

    .venv/bin/python bench/migrate_all.py [--tenants 40] [--repeats 3]

In a fresh ``dealercrm_bench`` database (``provisioning.py``'s, dropped at the end): ``migrate_all``, then
``--tenants`` dealer groups provisioned by cloning, then both ways of deploying, interleaved ``--repeats`` times
so both see the same machine. The last line is one JSON object: medians, the ratio, seconds per tenant.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import provisioning  # noqa: E402 - beside this script: the bench database and provisioning by cloning


def run(tenants: int, repeats: int) -> dict[str, object]:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate_all", verbosity=0)
    password = "Bench-" + secrets.token_urlsafe(16)
    started = time.perf_counter()
    for i in range(tenants):
        provisioning.provision_by_cloning(f"bench-m-{i}", password)
    print(f"{tenants} tenants cloned in {time.perf_counter() - started:.1f} s", flush=True)
    behind_s: list[float] = []
    all_s: list[float] = []
    for _ in range(repeats):
        for label, options, results in (("behind only", {}, behind_s), ("every schema", {"everyone": True}, all_s)):
            started = time.perf_counter()
            call_command("migrate_all", verbosity=0, **options)
            results.append(time.perf_counter() - started)
            print(f"migrate_all, {label:<13} {results[-1]:7.2f} s", flush=True)
    behind, every = statistics.median(behind_s), statistics.median(all_s)
    return {"tenants": tenants, "behind_only_s": round(behind, 3), "every_schema_s": round(every, 3),
            "ratio": round(every / behind, 1), "every_schema_s_per_tenant": round(every / tenants, 3),
            "behind_only_s_runs": [round(s, 3) for s in behind_s], "every_schema_s_runs": [round(s, 3) for s in all_s],
            "cpu_count": os.cpu_count()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(provisioning.BASE_DIR))
    os.chdir(provisioning.BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    return provisioning.in_bench_database(lambda: run(args.tenants, args.repeats))


if __name__ == "__main__":
    sys.exit(main())
