"""Benchmark: recomputing all segments of a large dealer group, against one hand-written RFM query.

    .venv/bin/python bench/segments.py [--customers 200000] [--visits 2000000]

Own database (``dealercrm_bench``, created fresh and dropped at the end, as bench/provisioning.py).
One tenant gets ``--customers`` customers, each with a car (model years spread over 15 years), and
``--visits`` service visits spread over five years with amounts, generated in SQL. Then, in the
same run, it times:

- ``segments_s``: ``segments_recompute()`` — RFM quintiles, value x churn risk with the customer's
  own visit interval, car age, lost customers, written into ``CustomerSegment`` for everyone;
- ``rfm_sql_s``: one hand-written statement computing only the RFM quintiles (no write), the
  floor of what any implementation must read and sort.

The last line is one JSON object with both times and ``ratio`` = segments_s / rfm_sql_s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

RFM_ONLY = """
WITH visits AS (
    SELECT person_id, max(opened_on) AS last_visit, count(*) FILTER (WHERE opened_on >= %(since)s) AS frequency,
           coalesce(sum(total_amount) FILTER (WHERE opened_on >= %(since)s), 0) AS monetary
    FROM service_servicevisit WHERE person_id IS NOT NULL GROUP BY person_id
)
SELECT count(*), sum(r), sum(f), sum(m) FROM (
    SELECT ntile(5) OVER (ORDER BY last_visit, person_id) AS r, ntile(5) OVER (ORDER BY frequency, person_id) AS f,
           ntile(5) OVER (ORDER BY monetary, person_id) AS m FROM visits) q
"""


def generate(customers: int, visits: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO customers_person (family_name, given_name, middle_name, family_name_latin, given_name_latin,
                name_order, name_key, search_text, gender, address, residential_area, occupation, income_band,
                preferred_language, channel, notes, created_at, updated_at)
            SELECT 'Bench' || n, 'Kunde', '', 'bench' || n, 'kunde', 'given_first', 'bench' || n || ' kunde',
                   'bench' || n || ' kunde', '', '', '', '', '', '', 'import', '', now(), now()
            FROM generate_series(1, %s) AS n""", [customers])
        cursor.execute("""
            INSERT INTO customers_vehicle (vin, make, model, year, plate, plate_key, colour, created_at, updated_at)
            SELECT '', 'VW', 'Golf', 2011 + (n %% 15), 'B' || n, 'B' || n, '', now(), now()
            FROM generate_series(1, %s) AS n""", [customers])
        cursor.execute("""
            INSERT INTO customers_vehiclelink (vehicle_id, person_id, kind)
            SELECT v.id, p.id, 'owner' FROM
              (SELECT id, row_number() OVER (ORDER BY id) AS k FROM customers_vehicle) v JOIN
              (SELECT id, row_number() OVER (ORDER BY id) AS k FROM customers_person) p USING (k)""")
        cursor.execute("""
            INSERT INTO service_servicevisit (vehicle_id, person_id, opened_on, closed_on, status, order_number,
                labour_amount, parts_amount, total_amount, source_ref, advisor_name, created_at)
            SELECT l.vehicle_id, l.person_id, d, d, 'closed', '', 0, 0,
                   (50 + (n::bigint * 37) %% 900)::numeric, '', '', now()
            FROM generate_series(1, %s) AS n
            JOIN customers_vehiclelink l
              ON l.id = (SELECT min(id) FROM customers_vehiclelink) + (n::bigint * 7919) %% %s
            CROSS JOIN LATERAL (SELECT current_date - ((n::bigint * 104729) %% 1825)::int AS d) AS day""",
                       [visits, customers])
        cursor.execute("ANALYZE")


def run(customers: int, visits: int) -> dict[str, object]:
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    from dateutil.relativedelta import relativedelta
    from django.db.models import Count
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from crm.analytics.models import CustomerSegment
    from crm.analytics.segments import segments_recompute
    from tenants.services import dealer_group_create

    call_command("migrate_all", verbosity=0)
    group = dealer_group_create(name="Bench Segments", slug="bench-segments", country="DE",
                                admin_email="admin@bench.example.com", admin_password=None).dealer_group
    with schema_context(group.schema_name):
        started = time.perf_counter()
        generate(customers, visits)
        generate_s = time.perf_counter() - started
        print(f"generated {customers} customers and {visits} visits in {generate_s:.1f} s", flush=True)
        results: dict[str, list[float]] = {"segments": [], "rfm": []}
        for _round in range(2):  # the first round warms the caches of both
            started = time.perf_counter()
            written = segments_recompute()
            results["segments"].append(time.perf_counter() - started)
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(RFM_ONLY, {"since": timezone.localdate() - relativedelta(years=3)})
                cursor.fetchone()
            results["rfm"].append(time.perf_counter() - started)
            print(f"segments {results['segments'][-1]:6.2f} s   rfm sql {results['rfm'][-1]:6.2f} s", flush=True)
        actions = dict(CustomerSegment.objects.values("action").annotate(n=Count("pk")).values_list("action", "n"))
        cursor_version = connection.cursor()
        cursor_version.execute("SHOW server_version")
        version = cursor_version.fetchone()[0]
    segments_s, rfm_s = results["segments"][-1], results["rfm"][-1]
    return {"customers": customers, "visits": visits, "segments_s": round(segments_s, 2), "rfm_sql_s": round(rfm_s, 2),
            "ratio": round(segments_s / rfm_s, 2), "written": written, "actions": actions,
            # The first round writes every customer's row (none existed); the second rewrites only what changed,
            # as a nightly run does.
            "segments_s_rounds": [round(x, 2) for x in results["segments"]],
            "rfm_sql_s_rounds": [round(x, 2) for x in results["rfm"]],
            "first_round_ratio": round(results["segments"][0] / results["rfm"][0], 2),
            "generate_s": round(generate_s, 1), "cpu_count": os.cpu_count(), "postgres": version}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--visits", type=int, default=2_000_000)
    args = parser.parse_args()
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Tasks the run queues (confirmations, e-mails) stay in memory: never in the demo's queue.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    from provisioning import in_bench_database

    return in_bench_database(lambda: run(args.customers, args.visits))


if __name__ == "__main__":
    sys.exit(main())
