"""Benchmark: from the sign-up wizard's final submit to a usable tenant, beside bare provisioning.

    .venv/bin/python bench/signup.py [--n 5]

Runs on its own database (as bench/provisioning.py: ``dealercrm_bench``, created fresh, dropped
at the end) and its own localstripe. Each round, interleaved so both see the same machine:

- ``provision``: ``dealer_group_create`` alone (the Foundation benchmark's clone path);
- ``pool``: the same sign-up taking a schema from the warm pool (``tenants.pool``; refilled untimed before it);
- ``signup``: the wizard through Django's test client — details, then the card confirmed the way
  Stripe.js does it (SetupIntent + test card), then the timed part: the final submit, the
  provisioning task (run inline: a worker's queue wait is not counted), the progress page issuing
  the sign-in link, the link signing the admin in, and the CRM answering 200.

The last line is one JSON object: ``signup_s_median``, ``pool_s_median``, ``provision_s_median``,
``overhead_ratio`` (sign-up / bare provisioning), ``pool_ratio`` (sign-up from the pool / sign-up cloning), the
per-round lists, the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))


def signup_once(slug: str) -> float:
    from django.test import Client

    from tenants.billing.services import client
    from tenants.billing.signup import provision
    from tenants.models import Signup

    browser = Client(HTTP_HOST="localhost")
    started = browser.post("/signup/", {
        "name": f"Bench {slug}", "country": "DE", "language": "en", "rooftops": "3", "slug": slug,
        "admin_email": f"admin@{slug}.example.com", "password": "bench-quiet-harbour", "plan": "group",
        "interval": "month"})
    if started.status_code != 302:
        raise RuntimeError(f"{slug}: the wizard refused the details ({started.status_code})")
    signup = Signup.objects.get(slug=slug)
    client().v1.setup_intents.confirm(signup.setup_intent_id, params={"payment_method": "pm_card_visa"})

    timer = time.perf_counter()
    browser.post(f"/signup/{signup.pk}/card/", {"setup_intent": signup.setup_intent_id})
    provision(str(signup.pk))
    link = browser.get(f"/signup/{signup.pk}/status/")["HX-Redirect"]
    tenant = Client(HTTP_HOST=f"{slug}.localhost")
    tenant.get(link.split("localhost", 1)[1])
    if tenant.get("/crm/").status_code != 200:
        raise RuntimeError(f"{slug}: the new admin does not reach the CRM")
    return time.perf_counter() - timer


def run(n: int) -> dict[str, object]:
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    from django.conf import settings
    from provisioning import provision_by_cloning

    from tenants.billing.services import plans_sync
    from tenants.pool import pool_refill

    call_command("migrate_all", verbosity=0)
    plans_sync()
    signup_once("bench-warmup")  # imports, template caches, first Stripe connections: not timed
    signup_s: list[float] = []
    pool_s: list[float] = []
    provision_s: list[float] = []
    for i in range(n):
        provision_s.append(provision_by_cloning(f"bench-bare-{i}", "Bench-password-1234"))
        settings.TENANT_WARM_POOL_SIZE = 0
        signup_s.append(signup_once(f"bench-signup-{i}"))
        settings.TENANT_WARM_POOL_SIZE = 1
        pool_refill()
        pool_s.append(signup_once(f"bench-pool-{i}"))
        print(f"round {i + 1}: provision {provision_s[-1]:6.2f} s   sign-up {signup_s[-1]:6.2f} s   "
              f"from the pool {pool_s[-1]:6.2f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    signup_median, provision_median = statistics.median(signup_s), statistics.median(provision_s)
    pool_median = statistics.median(pool_s)
    return {
        "n": n,
        "signup_s_median": round(signup_median, 3),
        "pool_s_median": round(pool_median, 3),
        "pool_ratio": round(pool_median / signup_median, 3),
        "pool_s": [round(s, 3) for s in pool_s],
        "provision_s_median": round(provision_median, 3),
        "overhead_ratio": round(signup_median / provision_median, 2),
        "signup_s": [round(s, 3) for s in signup_s],
        "provision_s": [round(s, 3) for s in provision_s],
        "cpu_count": os.cpu_count(),
        "postgres": server_version,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5, help="sign-ups (and bare provisionings) to time (default 5)")
    args = parser.parse_args()
    if args.n < 1:
        parser.error("--n must be at least 1")
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Tasks the run queues (confirmations, e-mails) stay in memory: never in the demo's queue.
    os.environ["CELERY_BROKER_URL"] = "memory://"

    from provisioning import BENCH_DATABASE, database_recreate, database_urls

    from config import localstripe

    fake = localstripe.start()
    os.environ.update(fake.environ())
    server_url, bench_url, _handle = database_urls()
    database_recreate(server_url, create=True)
    os.environ["DATABASE_URL"] = bench_url
    try:
        result = run(args.n)
    finally:
        from django.db import connections

        connections.close_all()
        database_recreate(server_url, create=False)
        fake.stop()
    print(f"(database {BENCH_DATABASE} dropped)")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
