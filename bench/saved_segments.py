"""Benchmark: the saved-segment editor's recount on a large group, against hand-written SQL of the same counts.

    .venv/bin/python bench/saved_segments.py [--customers 100000] [--explain]

Own database (``dealercrm_bench``, created fresh and dropped at the end, as bench/provisioning.py).
One tenant gets three rooftops and ``--customers`` customers generated in SQL (seeded): about 1.3
current cars each (a second car for 30%) and an earlier, ended ownership for 15%, of ten makes with
their models, model years and purchase dates over ten years; an e-mail address for 80%; 0 to 10
service visits each over five years; a prospect for 10% (40% of them open, at H/A/B/C; the others
ordered or lost); a computed segment row for everyone (random action, high value, car age, RFM
scores); and the consent ledger: e-mail marketing granted for 60% (one in twelve of them withdrew
it later, one in thirty let it expire), SMS marketing for 50%, service reminders for 70%. 1% of the
customers are archived and 0.5% merged into another. The tables are then ``VACUUM ANALYZE``d, as
autovacuum leaves them.

Four segments, saved with ``segment_save`` from the rules as the editor posts them:

- A (all): car make is BMW, no service visit in the last 12 months, has an e-mail address;
- B (any): high value, an open prospect at level H, a car bought in the last 6 months;
- C (all): agreed to e-mail marketing, age at least 30, rooftop is the first one;
- D (all): in segment A, not in a fixed list of 5,000 customers (a twentieth of the customers if fewer).

Then, in the same run, interleaved, median of five rounds after a warm-up, for each segment:

- ``editor_ms``: what the editor does on every change, ``segment_views._preview`` itself (rows made from the
  posted rules as ``_rows`` makes them): ``rules_clean`` of the rules, then one statement, the 20-row sample
  ordered by name with everyone counted alongside (``COUNT(*) OVER ()``), against ``editor_sql_ms``: the same
  single statement hand-written, as a DBA would write it (semi-joins, a ``UNION`` for "any", the consent
  ledger's latest entries in one pass);
- ``editor_two_ms``: the editor as it was before cb86b4a, ``rules_people(match, rules).count()`` and then the
  sample, against ``editor_two_sql_ms``: one hand-written count and one hand-written sample statement;
- ``count_ms``: ``rules_people(...).count()`` alone, against ``count_sql_ms``, the hand-written count;
- ``saved_ms``: ``segment_people(segment).count()`` of the saved segment, against the same count;

and ``list_from_people`` of segment A (a fixed list: the segment row, then one ``INSERT … SELECT``)
against ``list_sql_ms``, a plain ``INSERT … SELECT`` of the same ids into an unindexed temporary table.

The run **fails** when an ORM count differs from the hand-written count, a sample from the
hand-written sample (each way of counting and sampling against the others), the list's members from the
plain copy's ids, or a segment is empty; timings are not checked. The last line is one JSON object.
``--explain`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the ORM's and the hand-written statements, and of the
list's insert (its foreign keys checked at once, rolled back).
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

ROUNDS = 5
LIST_SIZE = 5_000
ROOFTOPS = ("Bench Mitte", "Bench Nord", "Bench Süd")

FAMILY = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
          "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Braun", "Hofmann", "Zimmermann",
          "Schmitt", "Hartmann", "Krüger", "Schmid", "Werner", "Lange", "Schmitz", "Meier", "Krause", "Maier",
          "Lehmann", "Huber", "Mayer", "Herrmann", "Köhler", "Walter", "König", "Schulze", "Fuchs", "Kaiser",
          "Yilmaz", "Kaya", "Nowak", "Kowalski", "Ivanov", "Petrov", "Wang", "Li", "Nguyen", "Rossi")
GIVEN = ("Anna", "Jonas", "Mia", "Lukas", "Lea", "Finn", "Emma", "Paul", "Sophie", "Leon", "Marie", "Felix",
         "Hannah", "Elias", "Laura", "Noah", "Julia", "Ben", "Sarah", "Tim", "Lena", "Jan", "Lisa", "Max",
         "Katharina", "Peter", "Sabine", "Thomas", "Monika", "Michael")

# Makes with their share of the cars (cumulative bounds) and models.
MAKES = """(VALUES ('BMW', 0.00, 0.12, ARRAY['1er', '3er', '5er', 'X1', 'X3', 'X5', 'i4']),
                   ('VW', 0.12, 0.37, ARRAY['Polo', 'Golf', 'Passat', 'Tiguan', 'T-Roc', 'ID.4']),
                   ('Mercedes-Benz', 0.37, 0.47, ARRAY['A-Klasse', 'C-Klasse', 'E-Klasse', 'GLC']),
                   ('Audi', 0.47, 0.57, ARRAY['A3', 'A4', 'A6', 'Q3', 'Q5']),
                   ('Skoda', 0.57, 0.67, ARRAY['Fabia', 'Octavia', 'Superb', 'Kodiaq']),
                   ('Toyota', 0.67, 0.75, ARRAY['Yaris', 'Corolla', 'RAV4']),
                   ('Ford', 0.75, 0.83, ARRAY['Fiesta', 'Focus', 'Kuga']),
                   ('Opel', 0.83, 0.90, ARRAY['Corsa', 'Astra', 'Mokka']),
                   ('Hyundai', 0.90, 0.95, ARRAY['i20', 'i30', 'Tucson']),
                   ('Kia', 0.95, 1.01, ARRAY['Ceed', 'Sportage', 'Niro'])) AS m (make, lo, hi, models)"""

GENERATE = [
    "SELECT setseed(0.42)",
    """INSERT INTO customers_person (family_name, given_name, middle_name, family_name_latin, given_name_latin,
           name_order, name_key, search_text, gender, birth_date, address, residential_area, occupation, income_band,
           preferred_language, channel, notes, rooftop_id, archived_at, created_at, updated_at)
       SELECT f, g, '', f, g, 'given_first', lower(f || ' ' || g), lower(f || ' ' || g || ' ' || n),
              CASE WHEN r_gender < 0.48 THEN 'f' WHEN r_gender < 0.97 THEN 'm' ELSE '' END,
              CASE WHEN r_birth < 0.85 THEN current_date - 6570 - floor(r_age * 24500)::int END,
              '', '', '', '', 'de', 'import', '',
              (%(rooftops)s::bigint[])[CASE WHEN r_rooftop < 0.45 THEN 1 WHEN r_rooftop < 0.80 THEN 2 ELSE 3 END],
              CASE WHEN r_archived < 0.01 THEN now() - interval '30 days' END,
              now() - r_created * interval '10 years', now()
       FROM (SELECT n, (%(family)s::text[])[1 + floor(random() * %(families)s)::int] AS f,
                    (%(given)s::text[])[1 + floor(random() * %(givens)s)::int] AS g, random() AS r_gender,
                    random() AS r_birth, random() AS r_age, random() AS r_rooftop, random() AS r_archived,
                    random() AS r_created
             FROM generate_series(1, %(customers)s) AS n) s
       ORDER BY n""",
    # A customer merged into another (the survivor is the one before); inactive like the archived.
    """UPDATE customers_person SET merged_into_id = id - 1
       WHERE id %% 200 = 0 AND archived_at IS NULL AND id > (SELECT min(id) FROM customers_person)""",
    """CREATE TEMP TABLE bench_people AS
       SELECT id AS person_id, rooftop_id, row_number() OVER (ORDER BY id) AS n FROM customers_person""",
    # Cars: slot 1 (everyone) and 2 (30%) are current, slot 3 (15%) an earlier car, sold on. The random draws are
    # made in a subquery over the rows (in a LATERAL subquery PostgreSQL would draw them once per slot).
    """CREATE TEMP TABLE bench_cars AS
       SELECT row_number() OVER (ORDER BY c.person_id, c.slot) AS car_n, c.person_id, c.slot, m.make,
              m.models[1 + floor(c.r_model * array_length(m.models, 1))::int] AS model, c.purchase_date,
              extract(year FROM c.purchase_date)::int
                  - CASE WHEN c.r_used < 0.3 THEN 1 + floor(c.r_model * 6)::int ELSE 0 END AS year,
              CASE WHEN c.slot = 3 THEN c.purchase_date + 1000 + floor(c.r_used * 1500)::int END AS ended_on
       FROM (SELECT x.person_id, x.slot, random() AS r_make, random() AS r_model, random() AS r_used,
                    CASE WHEN x.slot = 3 THEN current_date - 3000 - floor(random() * 1500)::int
                         ELSE current_date - floor(random() * 3650)::int END AS purchase_date
             FROM (SELECT b.person_id, s.slot
                   FROM (SELECT person_id, random() AS r_two, random() AS r_earlier FROM bench_people) b
                   CROSS JOIN LATERAL (VALUES (1, true), (2, b.r_two < 0.3), (3, b.r_earlier < 0.15))
                       AS s (slot, present)
                   WHERE s.present) x) c
       JOIN """ + MAKES + " ON c.r_make >= m.lo AND c.r_make < m.hi",
    """INSERT INTO customers_vehicle (vin, make, model, year, plate, plate_key, colour, purchase_date, warranty_end,
           created_at, updated_at)
       SELECT '', make, model, year, 'BN-' || car_n, 'BN' || car_n, '', purchase_date, purchase_date + 730, now(), now()
       FROM bench_cars ORDER BY car_n""",
    """CREATE TEMP TABLE bench_links AS
       SELECT c.*, v.id AS vehicle_id FROM bench_cars c JOIN customers_vehicle v ON v.plate = 'BN-' || c.car_n""",
    """INSERT INTO customers_vehiclelink (vehicle_id, person_id, company_id, kind, started_on, ended_on)
       SELECT vehicle_id, person_id, NULL, 'owner', purchase_date, ended_on FROM bench_links ORDER BY car_n""",
    """INSERT INTO customers_email (person_id, address, is_primary, verified_at, created_at)
       SELECT person_id, 'kunde' || n || '@bench.example.com', true, NULL, now()
       FROM bench_people WHERE random() < 0.8""",
    # 0 to 10 visits each over five years, with the first car, in the order they happened.
    """INSERT INTO service_servicevisit (rooftop_id, vehicle_id, person_id, company_id, advisor_id, order_number,
           opened_on, closed_on, mileage, status, labour_amount, parts_amount, total_amount, repeat_of_id, source_ref,
           created_at)
       SELECT rooftop_id, vehicle_id, person_id, NULL, NULL, '', day, day, NULL, 'closed', 0, 0, amount, NULL, '', now()
       FROM (SELECT b.rooftop_id, l.vehicle_id, b.person_id, current_date - floor(random() * 1826)::int AS day,
                    round((80 + random() * 900)::numeric, 2) AS amount
             FROM (SELECT person_id, rooftop_id, floor(random() * 11)::int AS visits FROM bench_people) b
             JOIN bench_links l ON l.person_id = b.person_id AND l.slot = 1
             CROSS JOIN LATERAL generate_series(1, b.visits) AS i) v
       ORDER BY day""",
    # Prospects for 10%: 40% open at H/A/B/C, the others ordered (O) or lost (F).
    """INSERT INTO sales_prospect (person_id, rooftop_id, salesperson_id, source, source_detail, referrer_id,
           model_interest, condition, trade_in, financing, level, lost_reason, competitor, notes, registered_on,
           created_at, first_response_at, next_contact_on, ordered_on, closed_on, created_by_id)
       SELECT person_id, rooftop_id, NULL, source, '', NULL, 'Golf', 'new', false, false, level,
              CASE WHEN level = 'F' THEN 'price' ELSE '' END, '', '', reg, reg + time '09:00', NULL,
              CASE WHEN is_open THEN current_date + 3 END, CASE WHEN level = 'O' THEN reg + 30 END,
              CASE WHEN NOT is_open THEN reg + 60 END, NULL
       FROM (SELECT person_id, rooftop_id, is_open,
                    (ARRAY['walk_in', 'phone', 'web_form', 'referral', 'event', 'service_lane', 'campaign',
                           'third_party'])[1 + floor(r_source * 8)::int] AS source,
                    CASE WHEN is_open THEN CASE WHEN r_level < 0.15 THEN 'H' WHEN r_level < 0.40 THEN 'A'
                                                WHEN r_level < 0.70 THEN 'B' ELSE 'C' END
                         WHEN r_level < 0.4 THEN 'O' ELSE 'F' END AS level,
                    CASE WHEN is_open THEN current_date - floor(r_reg * 90)::int
                         ELSE current_date - 90 - floor(r_reg * 640)::int END AS reg
             FROM (SELECT person_id, rooftop_id, random() < 0.4 AS is_open, random() AS r_source, random() AS r_level,
                          random() AS r_reg, random() AS r_prospect FROM bench_people) b
             WHERE r_prospect < 0.1) p
       ORDER BY reg""",
    """INSERT INTO analytics_customersegment (person_id, recency, frequency, monetary, high_value, high_risk, action,
           car_age, lost, last_visit_on, visits_3y, spend_3y, computed_at)
       SELECT b.person_id, 1 + floor(random() * 5)::int, 1 + floor(random() * 5)::int, 1 + floor(random() * 5)::int,
              b.hv, b.hr, CASE WHEN b.hv AND NOT b.hr THEN 'prevention' WHEN b.hv THEN 'retention'
                               WHEN NOT b.hr THEN 'maintenance' ELSE 'win_back' END,
              (ARRAY['A', 'B', 'C'])[1 + floor(random() * 3)::int], coalesce(v.last < current_date - 548, false),
              v.last, coalesce(v.n3, 0), coalesce(v.s3, 0), now()
       FROM (SELECT person_id, random() < 0.2 AS hv, random() < 0.3 AS hr FROM bench_people) b
       LEFT JOIN (SELECT person_id, max(opened_on) AS last,
                         count(*) FILTER (WHERE opened_on >= current_date - 1096) AS n3,
                         sum(total_amount) FILTER (WHERE opened_on >= current_date - 1096) AS s3
                  FROM service_servicevisit GROUP BY person_id) v USING (person_id)""",
    # The consent ledger, in the order it was written.
    """INSERT INTO customers_consent (person_id, channel, purpose, granted, source, proof, recorded_at, expires_at,
           recorded_by_id)
       SELECT person_id, channel, purpose, granted, 'bench', '', recorded_at, expires_at, NULL
       FROM (SELECT b.person_id, e.channel, e.purpose, e.granted, e.recorded_at, e.expires_at
             FROM (SELECT person_id, random() AS r_email, random() AS r_later, random() AS r_sms, random() AS r_service,
                          now() - interval '30 days' - random() * interval '1000 days' AS at FROM bench_people) b
             CROSS JOIN LATERAL (VALUES
                 ('email', 'marketing', true, b.at,
                  CASE WHEN b.r_later >= 0.97 THEN now() - interval '1 day' END, b.r_email < 0.6),
                 ('email', 'marketing', false, b.at + interval '10 days', NULL::timestamptz,
                  b.r_email < 0.6 AND b.r_later < 0.08),
                 ('sms', 'marketing', true, b.at, NULL, b.r_sms < 0.5),
                 ('email', 'service_reminders', true, b.at - interval '1 day', NULL, b.r_service < 0.7)
             ) AS e (channel, purpose, granted, recorded_at, expires_at, present)
             WHERE e.present) c
       ORDER BY recorded_at""",
    "DROP TABLE bench_cars",
]

VACUUMED = ("customers_person", "customers_vehicle", "customers_vehiclelink", "customers_email", "customers_consent",
            "service_servicevisit", "sales_prospect", "analytics_customersegment", "marketing_segmentmember",
            "marketing_segment")

ACTIVE = "p.archived_at IS NULL AND p.merged_into_id IS NULL"

# Each segment's rules as the editor posts them (strings), and the hand-written condition on
# customers_person p for the same people. upper(make), as the index vehicle_make_upper (and so its statistics).
A_WHERE = ACTIVE + """
  AND EXISTS (SELECT FROM customers_vehiclelink l JOIN customers_vehicle v ON v.id = l.vehicle_id
              WHERE l.person_id = p.id AND l.ended_on IS NULL AND upper(v.make) = 'BMW')
  AND NOT EXISTS (SELECT FROM service_servicevisit s WHERE s.person_id = p.id AND s.opened_on >= %(since_12m)s)
  AND EXISTS (SELECT FROM customers_email e WHERE e.person_id = p.id)"""

# "Any": the union of three sets of ids, then the active customers among them.
B_WHERE = ACTIVE + """
  AND p.id IN (SELECT person_id FROM analytics_customersegment WHERE high_value
               UNION SELECT person_id FROM sales_prospect WHERE closed_on IS NULL AND level = 'H'
               UNION SELECT l.person_id FROM customers_vehiclelink l JOIN customers_vehicle v ON v.id = l.vehicle_id
                     WHERE l.ended_on IS NULL AND v.purchase_date >= %(since_6m)s)"""

# The ledger's latest entry per customer up to now decides: read once, in (person, recorded_at) order.
C_WHERE = ACTIVE + """
  AND p.rooftop_id = %(rooftop)s AND p.birth_date <= %(born_by)s
  AND p.id IN (SELECT person_id FROM (
          SELECT DISTINCT ON (person_id) person_id, granted, expires_at FROM customers_consent
          WHERE channel = 'email' AND purpose = 'marketing' AND recorded_at <= %(now)s
          ORDER BY person_id, recorded_at DESC, id DESC) latest
      WHERE granted AND (expires_at IS NULL OR expires_at > %(now)s))"""

D_WHERE = A_WHERE + """
  AND NOT EXISTS (SELECT FROM marketing_segmentmember m WHERE m.segment_id = %(list)s AND m.person_id = p.id)"""

COUNT_SQL = "SELECT count(*) FROM customers_person p WHERE {where}"
SAMPLE_SQL = ("SELECT p.* FROM customers_person p WHERE {where}\n"
              "ORDER BY p.family_name_latin, p.given_name_latin, p.id LIMIT %(size)s")
# The editor's single statement: the first rows with the number of all matches alongside (no row: none match).
PREVIEW_SQL = ("SELECT p.*, count(*) OVER () AS total FROM customers_person p WHERE {where}\n"
               "ORDER BY p.family_name_latin, p.given_name_latin, p.id LIMIT %(size)s")
LIST_SQL = ("INSERT INTO bench_list (segment_id, person_id, added_at, added_by_id)\n"
            "SELECT %(segment)s, p.id, now(), NULL FROM customers_person p WHERE {where}")


def setup() -> list[int]:
    from crm.dealerships.models import Rooftop

    return [Rooftop.objects.create(name=name, city="Berlin", timezone="Europe/Berlin").pk for name in ROOFTOPS]


def generate(customers: int, rooftops: list[int]) -> dict[str, int]:
    from django.db import connection

    params = {"customers": customers, "rooftops": rooftops, "family": list(FAMILY), "families": len(FAMILY),
              "given": list(GIVEN), "givens": len(GIVEN)}
    with connection.cursor() as cursor:
        for statement in GENERATE:
            cursor.execute(statement, params)
        counts = {}
        for key, sql in (("people", "SELECT count(*) FROM customers_person"),
                         ("active", "SELECT count(*) FROM customers_person p WHERE " + ACTIVE),
                         ("cars", "SELECT count(*) FROM customers_vehicle"),
                         ("current_links", "SELECT count(*) FROM customers_vehiclelink WHERE ended_on IS NULL"),
                         ("ended_links", "SELECT count(*) FROM customers_vehiclelink WHERE ended_on IS NOT NULL"),
                         ("emails", "SELECT count(*) FROM customers_email"),
                         ("visits", "SELECT count(*) FROM service_servicevisit"),
                         ("prospects", "SELECT count(*) FROM sales_prospect"),
                         ("open_prospects", "SELECT count(*) FROM sales_prospect WHERE closed_on IS NULL"),
                         ("consents", "SELECT count(*) FROM customers_consent"),
                         ("computed_segments", "SELECT count(*) FROM analytics_customersegment")):
            cursor.execute(sql)
            counts[key] = cursor.fetchone()[0]
    return counts


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in VACUUMED:
            cursor.execute(f"VACUUM ANALYZE {table}")


def fixed_list(name: str, size: int) -> object:
    """A fixed list of ``size`` customers drawn at random (seeded)."""
    from django.db import connection

    from crm.marketing.models import Segment, SegmentMember
    from crm.marketing.segments import segment_save

    segment = segment_save(segment=Segment(name=name, kind=Segment.Kind.LIST), by=None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.7)")
        cursor.execute(f"""INSERT INTO {SegmentMember._meta.db_table} (segment_id, person_id, added_at, added_by_id)
                           SELECT %s, person_id, now(), NULL FROM bench_people ORDER BY random() LIMIT %s""",
                       [segment.pk, size])
    return segment


def timed(function: Callable[[], object]) -> tuple[float, object, list[str]]:
    """Seconds, result and the SQL of the queries it ran."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        result = function()
        seconds = time.perf_counter() - started
    return seconds, result, [query["sql"] for query in captured.captured_queries]


def statement(sql: str, params: dict[str, object]) -> Callable[[], object]:
    from django.db import connection

    def run() -> object:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    return run


def editor(match: str, posted: list[dict[str, str]], segment: object) -> Callable[[], tuple[int, list[int]]]:
    """What the editor does on every change: segment_views._preview (clean the rules, then the sample with
    everyone counted alongside, one statement), on rows made from the posted rules as _rows makes them."""
    from crm.marketing.segment_views import _preview, _row

    def run() -> tuple[int, list[int]]:
        preview = _preview(match, [_row(rule["field"], rule["op"], rule["value"]) for rule in posted], segment)
        if "errors" in preview:
            raise SystemExit(f"FAILED: the editor refuses the rules {posted}: {preview['errors']}")
        return preview["count"], [person.pk for person in preview["sample"]]

    return run


def editor_two(match: str, posted: list[dict[str, str]], segment: object) -> Callable[[], tuple[int, list[int]]]:
    """The editor before cb86b4a: clean the rules, count, then sample (the segment evaluated twice)."""
    from crm.marketing import segments
    from crm.marketing.segment_views import PREVIEW_SIZE

    def run() -> tuple[int, list[int]]:
        rules = segments.rules_clean(posted, segment=segment)
        people = segments.rules_people(match, rules)
        count = people.count()
        sample = list(people.order_by("family_name_latin", "given_name_latin", "pk")[:PREVIEW_SIZE])
        return count, [person.pk for person in sample]

    return run


def hand_editor(where: str, params: dict[str, object]) -> Callable[[], tuple[int, list[int]]]:
    """The editor's single statement, hand-written."""
    from django.db import connection

    from crm.marketing.segment_views import PREVIEW_SIZE

    preview_sql = PREVIEW_SQL.format(where=where)

    def run() -> tuple[int, list[int]]:
        with connection.cursor() as cursor:
            cursor.execute(preview_sql, {**params, "size": PREVIEW_SIZE})
            rows = cursor.fetchall()
            return (rows[0][-1] if rows else 0), [row[0] for row in rows]

    return run


def hand_editor_two(where: str, params: dict[str, object]) -> Callable[[], tuple[int, list[int]]]:
    """A hand-written count, then a hand-written sample."""
    from django.db import connection

    from crm.marketing.segment_views import PREVIEW_SIZE

    count_sql, sample_sql = COUNT_SQL.format(where=where), SAMPLE_SQL.format(where=where)

    def run() -> tuple[int, list[int]]:
        with connection.cursor() as cursor:
            cursor.execute(count_sql, params)
            count = cursor.fetchone()[0]
            cursor.execute(sample_sql, {**params, "size": PREVIEW_SIZE})
            return count, [row[0] for row in cursor.fetchall()]

    return run


def explain(name: str, sql: str, params: object = None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print(f"--- {name}\n{sql}\n{plan}\n", flush=True)


def list_rounds(segment_a: object, where: str, params: dict[str, object], rounds: int
                ) -> tuple[list[float], list[float], int, int, list[str]]:
    """Interleaved: the plain INSERT … SELECT into a temporary table, then ``list_from_people`` of segment A.
    Each list is checked against the copy, then deleted (in SQL, outside the timing) but the last."""
    from django.db import connection

    from crm.marketing.models import Segment, SegmentMember
    from crm.marketing.segments import list_from_people, segment_people

    members, segments_table = SegmentMember._meta.db_table, Segment._meta.db_table
    list_s, copy_s, last_pk, size = [], [], 0, 0
    queries: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_list (segment_id bigint, person_id bigint, added_at timestamptz, "
                       "added_by_id bigint)")
        for round_ in range(rounds + 1):  # round 0 warms the caches and is not counted
            cursor.execute("TRUNCATE bench_list")
            started = time.perf_counter()
            cursor.execute(LIST_SQL.format(where=where), {**params, "segment": 0})
            seconds = time.perf_counter() - started
            copied = cursor.rowcount
            list_seconds, frozen, queries = timed(lambda round_=round_: list_from_people(
                name=f"A, fixed {round_}", people=segment_people(segment_a), by=None))
            if round_:
                copy_s.append(seconds)
                list_s.append(list_seconds)
            cursor.execute(f"""SELECT count(*), count(*) FILTER (WHERE b.person_id IS NULL),
                                      count(*) FILTER (WHERE m.person_id IS NULL)
                               FROM (SELECT person_id FROM {members} WHERE segment_id = %s) m
                               FULL JOIN bench_list b USING (person_id)""", [frozen.pk])
            rows, only_list, only_copy = cursor.fetchone()
            if only_list or only_copy or copied == 0:
                raise SystemExit(f"FAILED: list_from_people put {rows - only_copy} customers on the list, the plain "
                                 f"INSERT copied {copied}: {only_list} only on the list, {only_copy} only in the copy")
            size = copied
            print(f"list_from_people {list_seconds * 1000:8.1f} ms   plain INSERT … SELECT {seconds * 1000:8.1f} ms"
                  f"   ({copied} rows)", flush=True)
            if round_ < rounds:
                cursor.execute(f"DELETE FROM {members} WHERE segment_id = %s", [frozen.pk])
                cursor.execute(f"DELETE FROM {segments_table} WHERE id = %s", [frozen.pk])
            last_pk = frozen.pk
    return list_s, copy_s, size, last_pk, queries


def explain_list(last_pk: int, queries: list[str]) -> None:
    """EXPLAIN ANALYZE the list's INSERT again, into the last list emptied first, foreign keys checked at once;
    rolled back."""
    from django.db import connection, transaction

    from crm.marketing.models import SegmentMember

    insert = next(sql for sql in queries if sql.lstrip().startswith(f"INSERT INTO {SegmentMember._meta.db_table}")
                  or sql.lstrip().startswith(f'INSERT INTO "{SegmentMember._meta.db_table}"'))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {SegmentMember._meta.db_table} WHERE segment_id = %s", [last_pk])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        explain("list_from_people(segment A): the INSERT … SELECT, foreign keys checked at once", insert)
        transaction.set_rollback(True)


def run(customers: int, show_plans: bool) -> dict[str, object]:
    import django
    from django.core.management import call_command

    django.setup()
    from dateutil.relativedelta import relativedelta
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from crm.marketing.models import Segment
    from crm.marketing.segments import rules_people, segment_people, segment_save
    from tenants.services import dealer_group_create

    load_before = os.getloadavg()
    call_command("migrate_all", verbosity=0)
    group = dealer_group_create(name="Bench Segmente", slug="bench-saved-segments", country="DE",
                                admin_email="admin@bench.example.com", admin_password=None).dealer_group
    with schema_context(group.schema_name):
        rooftops = setup()
        started = time.perf_counter()
        counts = generate(customers, rooftops)
        generate_s = time.perf_counter() - started
        print(f"generated {counts} in {generate_s:.1f} s", flush=True)

        list_size = min(LIST_SIZE, customers // 20)
        excluded = fixed_list(f"Do not mail ({list_size:,})", list_size)
        posted = {
            "A": ("all", [{"field": "make", "op": "is", "value": "BMW"},
                          {"field": "visited", "op": "not_within", "value": "12"},
                          {"field": "has_email", "op": "yes", "value": ""}]),
            "B": ("any", [{"field": "high_value", "op": "yes", "value": ""},
                          {"field": "prospect_level", "op": "is", "value": "H"},
                          {"field": "bought", "op": "within", "value": "6"}]),
            "C": ("all", [{"field": "consent", "op": "is", "value": "email:marketing"},
                          {"field": "age", "op": "gte", "value": "30"},
                          {"field": "rooftop", "op": "is", "value": str(rooftops[0])}]),
        }
        saved = {key: segment_save(segment=Segment(name=f"Bench {key}", match=match), by=None, rules=rules)
                 for key, (match, rules) in posted.items()}
        posted["D"] = ("all", [{"field": "in_segment", "op": "is", "value": str(saved["A"].pk)},
                               {"field": "in_segment", "op": "is_not", "value": str(excluded.pk)}])
        saved["D"] = segment_save(segment=Segment(name="Bench D", match="all"), by=None, rules=posted["D"][1])
        vacuum()

        today, now = timezone.localdate(), timezone.now()
        params = {"since_12m": today - relativedelta(months=12), "since_6m": today - relativedelta(months=6),
                  "born_by": today - relativedelta(years=30), "rooftop": rooftops[0], "now": now,
                  "list": excluded.pk}
        wheres = {"A": A_WHERE, "B": B_WHERE, "C": C_WHERE, "D": D_WHERE}
        cases: dict[str, Callable[[], object]] = {}
        for key, (match, rules) in posted.items():
            cleaned = saved[key].rules
            cases[f"{key}_editor"] = editor(match, rules, saved[key])
            cases[f"{key}_editor_sql"] = hand_editor(wheres[key], params)
            cases[f"{key}_editor_two"] = editor_two(match, rules, saved[key])
            cases[f"{key}_editor_two_sql"] = hand_editor_two(wheres[key], params)
            cases[f"{key}_count"] = lambda match=match, cleaned=cleaned: rules_people(match, cleaned).count()
            cases[f"{key}_count_sql"] = statement(COUNT_SQL.format(where=wheres[key]), params)
            cases[f"{key}_saved"] = lambda segment=saved[key]: segment_people(segment).count()
        times: dict[str, list[float]] = {name: [] for name in cases}
        queries: dict[str, list[str]] = {}
        results: dict[str, object] = {}
        for round_ in range(ROUNDS + 1):  # round 0 warms the caches and is not counted
            for name, function in cases.items():
                seconds, result, sql = timed(function)
                if round_:
                    times[name].append(seconds)
                queries[name], results[name] = sql, result
            print(f"round {round_}: " + "  ".join(f"{name} {times[name][-1] * 1000:.0f}" for name in cases
                                                  if round_ and not name.endswith("_sql")) + " ms", flush=True)

        # Outside the timings: the ORM and the hand-written statements find the same people.
        errors = []
        for key in posted:
            (count, sample), (sql_count, sql_sample) = results[f"{key}_editor"], results[f"{key}_editor_sql"]
            if sql_count == 0:
                errors.append(f"segment {key} is empty: the data do not exercise it")
            if count != sql_count or results[f"{key}_count"] != sql_count or results[f"{key}_count_sql"] != sql_count:
                errors.append(f"segment {key}: rules_people counts {count} ({results[f'{key}_count']} alone), "
                              f"the hand-written statement {sql_count}")
            if results[f"{key}_saved"] != sql_count:
                errors.append(f"segment {key}: segment_people counts {results[f'{key}_saved']}, the hand-written "
                              f"statement {sql_count}")
            if sample != sql_sample:
                errors.append(f"segment {key}: the editor's sample {sample} is not the hand-written {sql_sample}")
            for name in (f"{key}_editor_two", f"{key}_editor_two_sql"):
                if results[name] != (sql_count, sql_sample):
                    errors.append(f"segment {key}: {name} gives {results[name]}, the hand-written single statement "
                                  f"{(sql_count, sql_sample)}")
        if errors:
            raise SystemExit("FAILED:\n  " + "\n  ".join(errors))
        print("checked: " + ", ".join(f"{key} {results[f'{key}_count_sql']}" for key in posted)
              + " people, ORM and hand-written alike, samples too", flush=True)

        list_s, copy_s, frozen_size, last_list, list_queries = list_rounds(saved["A"], A_WHERE, params, ROUNDS)

        if show_plans:
            for key in posted:
                for sql in queries[f"{key}_editor"]:
                    if "customers_person" in sql:
                        explain(f"segment {key}: the editor's single statement (sample and COUNT(*) OVER ())", sql)
                explain(f"segment {key}: hand-written single statement", PREVIEW_SQL.format(where=wheres[key]),
                        {**params, "size": 20})
                for sql in queries[f"{key}_editor_two"]:
                    if "customers_person" in sql:
                        explain(f"segment {key}: before cb86b4a, the editor's "
                                f"{'count' if 'COUNT(' in sql else 'sample'}", sql)
                explain(f"segment {key}: hand-written count", COUNT_SQL.format(where=wheres[key]), params)
                explain(f"segment {key}: hand-written sample", SAMPLE_SQL.format(where=wheres[key]),
                        {**params, "size": 20})
            for sql in queries["D_saved"]:
                if "customers_person" in sql:
                    explain("segment D: segment_people(D).count()", sql)
            explain_list(last_list, list_queries)

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]

    ms = {name: statistics.median(values) * 1000 for name, values in times.items()}
    figures: dict[str, dict[str, object]] = {}
    for key in posted:
        figures[key] = {
            "people": results[f"{key}_count_sql"],
            "editor_ms": round(ms[f"{key}_editor"], 1), "editor_sql_ms": round(ms[f"{key}_editor_sql"], 1),
            "editor_ratio": round(ms[f"{key}_editor"] / ms[f"{key}_editor_sql"], 2),
            "editor_queries": len(queries[f"{key}_editor"]),
            "editor_two_ms": round(ms[f"{key}_editor_two"], 1),
            "editor_two_sql_ms": round(ms[f"{key}_editor_two_sql"], 1),
            "editor_two_ratio": round(ms[f"{key}_editor_two"] / ms[f"{key}_editor_two_sql"], 2),
            "editor_two_queries": len(queries[f"{key}_editor_two"]),
            "count_ms": round(ms[f"{key}_count"], 1), "count_sql_ms": round(ms[f"{key}_count_sql"], 1),
            "count_ratio": round(ms[f"{key}_count"] / ms[f"{key}_count_sql"], 2),
            "saved_ms": round(ms[f"{key}_saved"], 1),
            "saved_ratio": round(ms[f"{key}_saved"] / ms[f"{key}_count_sql"], 2),
        }
        print(f"segment {key}: {figures[key]['people']} people; editor {ms[f'{key}_editor']:.1f} ms "
              f"({len(queries[f'{key}_editor'])} queries), hand-written single statement "
              f"{ms[f'{key}_editor_sql']:.1f} ms, ratio {figures[key]['editor_ratio']}; before cb86b4a (count, then "
              f"sample) {ms[f'{key}_editor_two']:.1f} ms ({len(queries[f'{key}_editor_two'])} queries), hand-written "
              f"count + sample {ms[f'{key}_editor_two_sql']:.1f} ms, ratio {figures[key]['editor_two_ratio']}; "
              f"count alone "
              f"{ms[f'{key}_count']:.1f} ms vs {ms[f'{key}_count_sql']:.1f} ms, ratio {figures[key]['count_ratio']}; "
              f"saved segment's count {ms[f'{key}_saved']:.1f} ms", flush=True)
    list_ms, copy_ms = statistics.median(list_s) * 1000, statistics.median(copy_s) * 1000
    print(f"list_from_people(A): {frozen_size} customers in {list_ms:.1f} ms; plain INSERT … SELECT {copy_ms:.1f} ms; "
          f"ratio {list_ms / copy_ms:.2f}", flush=True)
    return {
        "customers": customers, "segments": figures,
        "editor_ms_max": max(f["editor_ms"] for f in figures.values()),
        "list_ms": round(list_ms, 1), "list_sql_ms": round(copy_ms, 1), "list_ratio": round(list_ms / copy_ms, 2),
        "list_people": frozen_size, "excluded_list": list_size, "data": counts,
        "generate_s": round(generate_s, 1), "rounds": ROUNDS,
        "list_ms_rounds": [round(s * 1000, 1) for s in list_s],
        "editor_ms_rounds": {key: [round(s * 1000, 1) for s in times[f"{key}_editor"]] for key in posted},
        "load_avg": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpu_count": os.cpu_count(), "postgres": version,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the measured statements")
    args = parser.parse_args()
    if args.customers < 1000:
        parser.error("--customers must be at least 1000")
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # A web worker runs without DEBUG; with it, Django keeps every statement's SQL in memory.
    os.environ.setdefault("DJANGO_DEBUG", "false")
    # Tasks the run queues stay in memory: never in the demo's queue.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    from provisioning import in_bench_database

    return in_bench_database(lambda: run(args.customers, args.explain))


if __name__ == "__main__":
    sys.exit(main())
