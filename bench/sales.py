"""Benchmark: the salesperson's day list and the monthly prospect review on a large group, in a fixed query budget.

    .venv/bin/python bench/sales.py [--prospects 50000] [--contacts-per-prospect 6] [--salespeople 40]

Own database (``dealercrm_bench``, created fresh and dropped at the end, as bench/provisioning.py).
One tenant gets ``--salespeople`` salespeople spread over four rooftops and ``--prospects`` prospects
(one customer each) registered over the last 24 months, generated in SQL: levels as a real group's
(most older prospects closed, lost with a reason or ordered and delivered; recent ones still worked
at H/A/B/C or ordered and waiting for the car), about ``--contacts-per-prospect`` done contacts each
(planned, due by the cadence, some late, some unplanned walk-ins), exactly one open planned contact
per worked prospect, and the history the review reads (created, assigned, level changes). Then, in
the same run, interleaved, median of five rounds after a warm-up:

- ``my_day(user)`` of the salesperson with the most contacts due, at most 5 queries, against one
  hand-written statement returning the same contacts with the same joined rows (the floor);
- ``monthly_review(month)`` of the last complete month, group-wide and for one rooftop, at most 6
  queries, against a plain ``count(*)`` of the same prospects and contacts (the floor of reading them).

The query budgets are checked (the run fails when one is exceeded), the timings are not. The last
line is one JSON object with the times, the query counts and the ratios to the floors.
``--explain`` also prints ``EXPLAIN (ANALYZE, BUFFERS)`` of every query the two functions ran.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

MY_DAY_BUDGET = 5
REVIEW_BUDGET = 6
ROUNDS = 5
ROOFTOPS = ("Bench North", "Bench South", "Bench East", "Bench West")

# One row per prospect with everything the other inserts derive from it; random() is seeded.
PLAN = """
CREATE TEMP TABLE bench_plan AS
WITH base AS (
    SELECT p.id AS person_id, random() AS r_reg, random() AS r_life, random() AS r_fate, random() AS r_seller,
           random() AS r_level, random() AS r_change, random() AS r_reason, random() AS r_source,
           random() AS r_plan, random() AS r_n
    FROM customers_person p
), sellers AS (
    SELECT array_agg(u.id ORDER BY u.id) AS ids FROM accounts_user u WHERE u.role = 'salesperson'
), drawn AS (
    SELECT b.*, %(today)s::date - floor(b.r_reg * 730)::int AS reg,
           5 + floor(b.r_life * b.r_life * 180)::int AS life,      -- days from registration to the end
           b.r_fate < 0.35 AS buys,
           -- a few salespeople hold many more prospects than others
           s.ids[1 + floor(power(b.r_seller, 1.25) * array_length(s.ids, 1))::int] AS salesperson_id,
           CASE WHEN b.r_level < 0.10 THEN 'H' WHEN b.r_level < 0.30 THEN 'A'
                WHEN b.r_level < 0.65 THEN 'B' ELSE 'C' END AS first_level,
           CASE WHEN b.r_source < 0.30 THEN 'walk_in' WHEN b.r_source < 0.50 THEN 'phone'
                WHEN b.r_source < 0.75 THEN 'web_form' WHEN b.r_source < 0.83 THEN 'referral'
                WHEN b.r_source < 0.88 THEN 'event' WHEN b.r_source < 0.92 THEN 'service_lane'
                WHEN b.r_source < 0.97 THEN 'campaign' ELSE 'third_party' END AS source
    FROM base b CROSS JOIN sellers s
), fate AS (
    SELECT d.*, d.reg + d.life AS end_day,
           CASE WHEN d.buys THEN d.reg + (d.life * 0.8)::int END AS order_day
    FROM drawn d
), leveled AS (
    SELECT f.*, sch.rooftop_id,
           CASE WHEN f.end_day <= %(today)s THEN f.end_day END AS closed_on,
           CASE WHEN f.order_day <= %(today)s THEN f.order_day END AS ordered_on,
           CASE WHEN f.end_day <= %(today)s AND f.buys THEN 'O'
                WHEN f.end_day <= %(today)s THEN 'F'
                WHEN f.order_day <= %(today)s THEN 'O'
                WHEN f.r_change < 0.3 THEN CASE f.first_level WHEN 'H' THEN 'A' WHEN 'A' THEN 'H'
                                                              WHEN 'B' THEN 'A' ELSE 'B' END
                ELSE f.first_level END AS level
    FROM fate f JOIN sales_salesschedule sch ON sch.user_id = f.salesperson_id
)
SELECT l.*,
       CASE WHEN l.level = 'F' THEN (ARRAY['price', 'competitor', 'other_brand', 'financing', 'trade_in',
                                           'delivery_time', 'product', 'postponed', 'no_response', 'other']
                                    )[1 + floor(l.r_reason * 10)::int] ELSE '' END AS lost_reason,
       CASE l.level WHEN 'F' THEN l.closed_on WHEN 'O' THEN l.ordered_on
                    ELSE l.reg + (%(today)s - l.reg) / 2 END AS level_day,
       CASE l.level WHEN 'F' THEN l.closed_on WHEN 'O' THEN l.ordered_on ELSE %(today)s END AS contacts_until,
       CASE l.first_level WHEN 'H' THEN 1 WHEN 'A' THEN 3 WHEN 'B' THEN 7 ELSE 14 END AS cadence,
       CASE l.first_level WHEN 'H' THEN 1 ELSE 0 END AS slack,
       -- the open contact of a worked prospect: from two days overdue to a cadence ahead
       CASE WHEN l.level IN ('H', 'A', 'B', 'C') THEN greatest(l.reg, %(today)s - 2 + floor(
           l.r_plan * (3 + CASE l.level WHEN 'H' THEN 1 WHEN 'A' THEN 3 WHEN 'B' THEN 7 ELSE 14 END))::int)
           END AS open_planned,
       greatest(1, %(contacts)s - 2 + floor(l.r_n * 5)::int) AS done_contacts
FROM leveled l
"""

GENERATE = [
    "SELECT setseed(0.42)",
    """INSERT INTO customers_person (family_name, given_name, middle_name, family_name_latin, given_name_latin,
           name_order, name_key, search_text, gender, address, residential_area, occupation, income_band,
           preferred_language, channel, notes, created_at, updated_at)
       SELECT 'Bench' || n, 'Interessent', '', 'bench' || n, 'interessent', 'given_first',
              'bench' || n || ' interessent', 'bench' || n || ' interessent', '', '', '', '', '', '', '', '',
              now(), now()
       FROM generate_series(1, %(prospects)s) AS n""",
    PLAN,
    """INSERT INTO sales_prospect (person_id, rooftop_id, salesperson_id, source, source_detail, model_interest,
           condition, trade_in, financing, level, lost_reason, competitor, notes, registered_on, created_at,
           next_contact_on, ordered_on, closed_on, created_by_id)
       SELECT person_id, rooftop_id, salesperson_id, source, '', (ARRAY['Golf', 'Passat', 'Tiguan', 'ID.4'])[
                  1 + person_id %% 4], 'new', r_fate < 0.2, r_fate > 0.6, level, lost_reason,
              CASE WHEN lost_reason = 'competitor' THEN 'Other dealer' ELSE '' END, '', reg,
              reg + time '09:00', open_planned, ordered_on, closed_on, salesperson_id
       FROM bench_plan ORDER BY reg, person_id""",
    "CREATE INDEX ON bench_plan (person_id)",
    "ANALYZE bench_plan",
    # Done contacts, spread from the registration to the end of the follow-up; some late, first ones of
    # walk-ins unplanned (registered during the visit).
    """INSERT INTO sales_contact (prospect_id, planned_on, due_by, done_at, kind, outcome, note, next_step, by_id)
       SELECT c.prospect_id,
              CASE WHEN c.i = 1 AND c.source = 'walk_in' THEN NULL ELSE c.day - c.late END,
              CASE WHEN c.i = 1 AND c.source = 'walk_in' THEN NULL ELSE c.day - c.late + c.slack END,
              least(now(), c.day + time '09:00' + c.r_time * interval '9 hours'),
              CASE WHEN c.r_kind < 0.6 THEN 'call' WHEN c.r_kind < 0.75 THEN 'visit' WHEN c.r_kind < 0.9 THEN 'message'
                   WHEN c.r_kind < 0.95 THEN 'email' ELSE 'test_drive' END,
              CASE WHEN c.r_kind < 0.25 THEN 'no_answer' WHEN c.r_kind < 0.55 THEN 'reached'
                   WHEN c.r_kind < 0.7 THEN 'appointment' WHEN c.r_kind < 0.8 THEN 'offer'
                   WHEN c.r_kind < 0.9 THEN 'negotiating' ELSE 'test_drive' END,
              '', '', c.salesperson_id
       FROM (SELECT p.id AS prospect_id, b.salesperson_id, b.source, b.slack, i.i, random() AS r_time,
                    random() AS r_kind,
                    b.reg + ((b.contacts_until - b.reg) * (i.i - 1)) / b.done_contacts AS day,
                    CASE WHEN i.i > 1 AND random() < 0.15 THEN 1 + b.slack + floor(random() * 5)::int ELSE 0 END AS late
             FROM bench_plan b JOIN sales_prospect p ON p.person_id = b.person_id
             CROSS JOIN LATERAL generate_series(1, b.done_contacts) AS i (i)) c
       ORDER BY c.day, c.prospect_id""",
    # Exactly one open planned contact for each worked prospect (one_planned_contact).
    """INSERT INTO sales_contact (prospect_id, planned_on, due_by, done_at, kind, outcome, note, next_step, by_id)
       SELECT p.id, b.open_planned, b.open_planned + b.slack, NULL, '', '', '', '', NULL
       FROM bench_plan b JOIN sales_prospect p ON p.person_id = b.person_id
       WHERE b.open_planned IS NOT NULL""",
    """UPDATE sales_prospect p SET first_response_at = c.first_done
       FROM (SELECT prospect_id, min(done_at) AS first_done FROM sales_contact GROUP BY prospect_id) c
       WHERE c.prospect_id = p.id""",
    # History: created (with the first level), assigned, and the level changes (to O, to F, or between
    # worked levels) the review's level-at-month-end subquery reads.
    """INSERT INTO sales_history (prospect_id, kind, from_value, to_value, note, by_id, at)
       SELECT p.id, h.kind, h.from_value, h.to_value, '', b.salesperson_id, least(now(), h.at)
       FROM bench_plan b JOIN sales_prospect p ON p.person_id = b.person_id
       CROSS JOIN LATERAL (VALUES
           ('created', '', b.first_level, b.reg + time '09:00'),
           ('assigned', '', b.salesperson_id::text, b.reg + time '09:00'),
           ('level', b.first_level, b.level, CASE WHEN b.level <> b.first_level THEN b.level_day + time '12:00' END)
       ) AS h (kind, from_value, to_value, at)
       WHERE h.at IS NOT NULL
       ORDER BY h.at""",
    "DROP TABLE bench_plan",
    "ANALYZE",
]

# The floor of my_day's contacts: the same rows, joined to the same prospect, customer and rooftop rows.
MY_DAY_FLOOR = """
SELECT c.*, p.*, person.*, r.*
FROM sales_contact c
JOIN sales_prospect p ON p.id = c.prospect_id
JOIN customers_person person ON person.id = p.person_id
LEFT JOIN dealerships_rooftop r ON r.id = p.rooftop_id
WHERE c.done_at IS NULL AND c.planned_on <= %(today)s AND p.salesperson_id = %(user)s AND p.closed_on IS NULL
  AND p.level IN ('H', 'A', 'B', 'C')
ORDER BY c.due_by, c.planned_on, c.id
"""

# The floor of the review: counting the prospects it reports on and the contacts it counts.
REVIEW_FLOOR = """
SELECT (SELECT count(*) FROM sales_prospect p
        WHERE (p.registered_on BETWEEN %(first)s AND %(last)s
               OR p.registered_on < %(first)s AND (p.closed_on IS NULL OR p.closed_on >= %(first)s)
                  AND (p.ordered_on IS NULL OR p.ordered_on >= %(first)s))
          AND (%(rooftop)s::bigint IS NULL OR p.rooftop_id = %(rooftop)s)),
       (SELECT count(*) FROM sales_contact c JOIN sales_prospect p ON p.id = c.prospect_id
        WHERE (c.planned_on BETWEEN %(first)s AND %(last)s
               OR c.done_at >= %(start)s AND c.done_at < %(end)s)
          AND (%(rooftop)s::bigint IS NULL OR p.rooftop_id = %(rooftop)s))
"""


def setup_people(salespeople: int) -> None:
    from crm.core.services import staff_user_create
    from crm.dealerships.models import Rooftop
    from crm.sales.models import SalesSchedule

    rooftops = [Rooftop.objects.create(name=name, timezone="UTC") for name in ROOFTOPS]
    for n in range(salespeople):
        user = staff_user_create(email=f"seller{n:03}@bench.example.com", password=None, role="salesperson",
                                 first_name="Seller", last_name=f"{n:03}")
        SalesSchedule.objects.create(user=user, rooftop=rooftops[n % len(rooftops)])


def generate(prospects: int, contacts: int, today: object) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in GENERATE:
            cursor.execute(statement, {"prospects": prospects, "contacts": contacts, "today": today})
        cursor.execute("""SELECT (SELECT count(*) FROM sales_prospect), (SELECT count(*) FROM sales_contact),
                                 (SELECT count(*) FROM sales_contact WHERE done_at IS NULL),
                                 (SELECT count(*) FROM sales_history),
                                 (SELECT count(*) FROM sales_prospect WHERE closed_on IS NULL)""")
        counts = cursor.fetchone()
        cursor.execute("SELECT level, count(*) FROM sales_prospect GROUP BY level ORDER BY level")
        levels = dict(cursor.fetchall())
    return {"prospects": counts[0], "contacts": counts[1], "open_contacts": counts[2], "history": counts[3],
            "open_prospects": counts[4], "levels": levels}


def timed(function: Callable[[], object]) -> tuple[float, object, list[str]]:
    """Seconds, result and the SQL of the queries it ran."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        result = function()
        seconds = time.perf_counter() - started
    return seconds, result, [query["sql"] for query in captured.captured_queries]


def floor(sql: str, params: dict[str, object]) -> Callable[[], list[tuple]]:
    from django.db import connection

    def run() -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    return run


def budget_check(name: str, queries: list[str], budget: int) -> None:
    if len(queries) > budget:
        listing = "\n".join(f"  {n}. {sql[:300]}" for n, sql in enumerate(queries, 1))
        raise SystemExit(f"FAILED: {name} ran {len(queries)} queries, over its budget of {budget}:\n{listing}")


def explain(name: str, queries: list[str]) -> None:
    from django.db import connection

    for n, sql in enumerate(queries, 1):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"--- {name}, query {n}\n{sql}\n{plan}\n", flush=True)


def run(prospects: int, contacts: int, salespeople: int, show_plans: bool) -> dict[str, object]:
    import django
    from django.core.management import call_command

    django.setup()
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from accounts.models import User
    from crm.dealerships.models import Rooftop
    from crm.sales.selectors import day_start, month_bounds, monthly_review, my_day
    from tenants.services import dealer_group_create

    call_command("migrate_all", verbosity=0)
    group = dealer_group_create(name="Bench Sales", slug="bench-sales", country="DE",
                                admin_email="admin@bench.example.com", admin_password=None).dealer_group
    today = timezone.localdate()
    first, last = month_bounds(today.replace(day=1) - timedelta(days=1))
    with schema_context(group.schema_name):
        setup_people(salespeople)
        started = time.perf_counter()
        counts = generate(prospects, contacts, today)
        generate_s = time.perf_counter() - started
        print(f"generated {counts['prospects']} prospects ({counts['open_prospects']} open, levels "
              f"{counts['levels']}), {counts['contacts']} contacts ({counts['open_contacts']} planned open), "
              f"{counts['history']} history rows in {generate_s:.1f} s", flush=True)

        with connection.cursor() as cursor:
            cursor.execute("""SELECT p.salesperson_id, count(*) FROM sales_contact c
                              JOIN sales_prospect p ON p.id = c.prospect_id
                              WHERE c.done_at IS NULL AND c.planned_on <= %s AND p.closed_on IS NULL
                                AND p.level IN ('H', 'A', 'B', 'C')
                              GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1""", [today])
            busiest_id, busiest_due = cursor.fetchone()
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        user = User.objects.get(pk=busiest_id)
        rooftop = Rooftop.objects.get(name=ROOFTOPS[0])
        day_floor = floor(MY_DAY_FLOOR, {"today": today, "user": user.pk})
        window = {"first": first, "last": last, "start": day_start(first), "end": day_start(last + timedelta(days=1))}
        review_floor = floor(REVIEW_FLOOR, {**window, "rooftop": None})
        rooftop_floor = floor(REVIEW_FLOOR, {**window, "rooftop": rooftop.pk})
        cases: dict[str, Callable[[], object]] = {
            "my_day": lambda: my_day(user, today),
            "my_day_floor": day_floor,
            "review": lambda: monthly_review(first),
            "review_floor": review_floor,
            "review_rooftop": lambda: monthly_review(first, rooftop_id=rooftop.pk),
            "review_rooftop_floor": rooftop_floor,
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        queries: dict[str, list[str]] = {}
        results: dict[str, object] = {}
        for round_ in range(ROUNDS + 1):  # round 0 warms the caches and is not counted
            for name, function in cases.items():
                seconds, result, sql = timed(function)
                if round_:
                    times[name].append(seconds)
                queries[name], results[name] = sql, result
        budget_check("my_day", queries["my_day"], MY_DAY_BUDGET)
        budget_check("monthly_review", queries["review"], REVIEW_BUDGET)
        budget_check("monthly_review(rooftop)", queries["review_rooftop"], REVIEW_BUDGET)

        # Outside the timings: the function and its floor read the same rows.
        day, floor_rows = results["my_day"], results["my_day_floor"]
        if [contact.pk for contact in day.contacts] != [row[0] for row in floor_rows]:
            raise SystemExit("FAILED: my_day's contacts are not the floor query's contacts")
        for key in ("review", "review_rooftop"):
            review, ((floor_prospects, _contacts),) = results[key], results[key + "_floor"]
            if review.total.total != floor_prospects:
                raise SystemExit(f"FAILED: {key} counts {review.total.total} prospects, the floor {floor_prospects}")
        review = results["review"]
        if show_plans:
            explain("my_day", queries["my_day"])
            explain("monthly_review", queries["review"])
            explain("monthly_review(rooftop)", queries["review_rooftop"])

    ms = {name: statistics.median(values) * 1000 for name, values in times.items()}
    print(f"my_day of {user.email}: {len(day.contacts)} contacts due ({day.overdue} overdue), "
          f"{ms['my_day']:.1f} ms in {len(queries['my_day'])} queries; floor (one statement) "
          f"{ms['my_day_floor']:.1f} ms; ratio {ms['my_day'] / ms['my_day_floor']:.1f}", flush=True)
    print(f"monthly_review {first:%Y-%m}, group: {review.total.carried_over} carried over + {review.total.new} new, "
          f"{review.total.ordered_carried + review.total.ordered_new} ordered, {review.total.lost} lost; "
          f"{review.planned} contacts planned, {review.done} done, {review.on_time} on time; "
          f"{ms['review']:.1f} ms in {len(queries['review'])} queries; floor (count(*)) {ms['review_floor']:.1f} ms; "
          f"ratio {ms['review'] / ms['review_floor']:.1f}", flush=True)
    print(f"monthly_review {first:%Y-%m}, {rooftop.name}: {ms['review_rooftop']:.1f} ms in "
          f"{len(queries['review_rooftop'])} queries; floor {ms['review_rooftop_floor']:.1f} ms; "
          f"ratio {ms['review_rooftop'] / ms['review_rooftop_floor']:.1f}", flush=True)
    return {
        "prospects": counts["prospects"], "contacts": counts["contacts"],
        "my_day_ms": round(ms["my_day"], 2), "my_day_queries": len(queries["my_day"]),
        "my_day_floor_ms": round(ms["my_day_floor"], 2), "my_day_ratio": round(ms["my_day"] / ms["my_day_floor"], 2),
        "review_ms": round(ms["review"], 2), "review_queries": len(queries["review"]),
        "review_floor_ms": round(ms["review_floor"], 2), "review_ratio": round(ms["review"] / ms["review_floor"], 2),
        "review_rooftop_ms": round(ms["review_rooftop"], 2), "review_rooftop_queries": len(queries["review_rooftop"]),
        "review_rooftop_floor_ms": round(ms["review_rooftop_floor"], 2),
        "review_rooftop_ratio": round(ms["review_rooftop"] / ms["review_rooftop_floor"], 2),
        "my_day_contacts": len(day.contacts), "review_month": f"{first:%Y-%m}", "salespeople": salespeople,
        "open_prospects": counts["open_prospects"], "history": counts["history"], "busiest_due": busiest_due,
        "generate_s": round(generate_s, 1), "rounds": ROUNDS, "cpu_count": os.cpu_count(), "postgres": version,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=50_000)
    parser.add_argument("--contacts-per-prospect", type=int, default=6)
    parser.add_argument("--salespeople", type=int, default=40)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the measured queries")
    args = parser.parse_args()
    if args.prospects < 1 or args.contacts_per_prospect < 1 or args.salespeople < 1:
        parser.error("--prospects, --contacts-per-prospect and --salespeople must be at least 1")
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Tasks the run queues (confirmations, e-mails) stay in memory: never in the demo's queue.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    from provisioning import in_bench_database

    return in_bench_database(lambda: run(args.prospects, args.contacts_per_prospect, args.salespeople, args.explain))


if __name__ == "__main__":
    sys.exit(main())
