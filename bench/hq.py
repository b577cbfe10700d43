"""Benchmark: the HQ dashboard read from KPI snapshots, against the same figures computed schema by schema.

    .venv/bin/python bench/hq.py [--tenants 500] [--months 24] [--schemas 10] [--customers 20000] [--no-day-rows]

Own database (``dealercrm_bench_hq``, created fresh and dropped at the end, as bench/provisioning.py does for
``dealercrm_bench``; another name, so it can run beside the other benchmarks), migrated by ``migrate_all``.

**The snapshot side.** ``--tenants`` dealer groups (500) are inserted in SQL as ``DealerGroup`` rows in the
public schema, without schemas (the dashboard never reads one), spread over eight countries and the seeded
plans. Each gets ``--months`` (24) complete months of ``KpiSnapshot`` rows, the last one ending with the month
before this one: one row for the group and one for each of its two rooftops a month, and (unless
``--no-day-rows``) the day rows the daily job writes alongside and keeps, three a day, as in production; the
figures are random but plausible (sizes from 2,000 to 50,000 customers, rates in their usual ranges, a few
empty). One HQ organisation (a brand) has every group sharing with it, and one analyst. The table is then
``VACUUM ANALYZE``d.

Measured, median of ``ROUNDS`` rounds after a warm-up:

- ``dashboard_ms``: the dashboard's work for the latest month, as ``tenants.hq.views.dashboard`` does it
  without the template: ``selectors.months``, ``selectors.month_rows`` (one row per group), ``selectors.quartiles``
  for each of the 24 KPIs with the outlier flags of every cell, and the 24-month median chart
  (``selectors.series`` for one KPI);
- ``dashboard_page_ms``: the whole page, ``GET /hq/`` on the platform's host through Django's test client as the
  signed-in analyst (middleware, the same queries, the 500-row table of every KPI rendered).

**The loop side.** Creating 500 real schemas would take most of an hour, so ``--schemas`` (10) real tenants are
provisioned with ``dealer_group_create`` (the template schema cloned), each filled in SQL with a mid-sized group's
CRM (``--customers`` customers over three rooftops; phones, e-mail addresses, 1.4 cars each, five years of
workshop visits, two years of yearly maintenance reminders (the visits include those they brought), surveys after
30% of the visits with their answers and fabrication signals, prospects with their levels, first contacts, weekly
follow-up contacts against their due dates, closing and deliveries, club members, quarterly club events with
invitations and check-ins, a marketing e-mail campaign every two months with opens and clicks, duplicate pairs
waiting for review; then ``VACUUM ANALYZE``), so that all 24 KPIs have a group figure. In each round,
interleaved with the dashboard, ``kpis_compute`` of the same month runs in each schema in turn (``schema_context``,
the way the snapshot job and any "ask every tenant" query would run), timed per schema. The figure for 500
tenants is **extrapolated linearly**: the median per-schema time times ``--tenants``. It is a low estimate of the
loop: every schema's data is cached here (500 groups' CRMs would not stay in memory), and it computes one month
only, where the dashboard's chart needs every month of the series.

One line per step and round, then a last line that is one JSON object (``dashboard_ms_median``,
``loop_ms_extrapolated_500``, ``ratio``, …). Nothing is asserted about times; the run fails if the dashboard
does not show one row per group or a schema's ``kpis_compute`` gives no group figure for any of the 24 KPIs
(``KPI_KEYS``), so every KPI's query is measured on data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

BENCH_DATABASE = "dealercrm_bench_hq"
ROUNDS = 5
CHART_KPI = "retention_rate"  # the dashboard's default chart
# The dashboard's steps, timed apart: selectors.months, selectors.month_rows, the quartiles and outlier flags in
# Python, selectors.series.
DASHBOARD_PARTS = ("months", "month_rows", "quartiles", "series")
COUNTRIES = ("DE", "FR", "IT", "ES", "PL", "NL", "RU", "CN")
ROOFTOPS = ("Bench Mitte", "Bench Nord", "Bench Süd")

# Each KPI's figure in a snapshot row, from the group g (size: customers; r_quality: 0 to 1, how good a dealer it
# is), the row's rooftop r (share: 1 for the group, 0.6 and 0.4 for its rooftops) and period p (k: the month's
# number; scale: 1 for a month, 1/30 for a day). A KPI not listed here (added since) gets a percentage.
FIGURES = {
    "customers": "round(g.size * r.share * (1 + p.k * 0.004))",
    "active_vehicles": "round(g.size * r.share * 1.35 * (1 + p.k * 0.004))",
    "retention_rate": "round((45 + 35 * g.r_quality + 5 * random())::numeric, 2)",
    "visits": "round(g.size * r.share * p.scale * (0.07 + 0.02 * random()))",
    "average_ticket": "round((220 + 300 * g.r_quality + 60 * random())::numeric, 2)",
    "prospects_h": "round(g.size * r.share * 0.002 * random())",
    "prospects_a": "round(g.size * r.share * 0.004 * random())",
    "prospects_b": "round(g.size * r.share * 0.006 * random())",
    "prospects_c": "round(g.size * r.share * 0.008 * random())",
    "conversion": "CASE WHEN random() < 0.97 THEN round((15 + 40 * g.r_quality + 10 * random())::numeric, 2) END",
    "lead_response_hours": "CASE WHEN random() < 0.95 THEN round((2 + 40 * random() * (1 - g.r_quality))::numeric, 2) "
                           "END",
    "club_members": "round(g.size * r.share * (0.1 + 0.2 * g.r_quality))",
    "referrals": "round(g.size * r.share * p.scale * 0.001 * random())",
    "referral_conversion": "CASE WHEN random() < 0.9 THEN round((10 + 40 * random())::numeric, 2) END",
    "data_completeness": "round((70 + 25 * g.r_quality + 5 * random())::numeric, 2)",
    "duplicate_rate": "CASE WHEN r.rooftop_id IS NULL THEN round((3 * random() * (1 - g.r_quality))::numeric, 2) END",
    "stale_contacts": "round((5 + 30 * (1 - g.r_quality) + 5 * random())::numeric, 2)",
    "csi": "CASE WHEN random() < 0.9 THEN round((3.5 + 1.3 * g.r_quality + 0.2 * random())::numeric, 2) END",
    "nps": "CASE WHEN random() < 0.9 THEN round((-10 + 70 * g.r_quality + 10 * random())::numeric, 2) END",
    "survey_integrity": "CASE WHEN random() < 0.9 THEN round((75 + 25 * random())::numeric, 2) END",
}
PERCENT = "CASE WHEN random() < 0.9 THEN round((100 * random())::numeric, 2) END"


def snapshot_insert(kpis: tuple[str, ...]) -> str:
    """Every group's rows of every period: one for the group (rooftop NULL) and one for each of its two
    rooftops, with every KPI of ``SNAPSHOT_KPIS``."""
    return f"""INSERT INTO tenants_kpisnapshot (dealer_group_id, rooftop_id, period, period_start, period_end,
                   computed_at, {", ".join(kpis)})
               SELECT g.dealer_group_id, r.rooftop_id, p.period, p.period_start, p.period_end,
                      p.period_end + interval '1 day 3 hours',
                      {", ".join(FIGURES.get(kpi, PERCENT) for kpi in kpis)}
               FROM bench_groups g CROSS JOIN bench_periods p
               CROSS JOIN (VALUES (NULL::integer, 1.0), (1, 0.6), (2, 0.4)) AS r (rooftop_id, share)
               ORDER BY p.period_start, p.period, g.dealer_group_id"""


# The dealer groups, the snapshot rows of every month (and day), the HQ and its shares: in the public schema.
SNAPSHOT_SQL = [
    "SELECT setseed(0.17)",
    """INSERT INTO tenants_dealergroup (schema_name, name, slug, country, default_language, timezone, currency, status,
           created_at, plan_id, billing_interval, rooftops_paid, stripe_customer_id, stripe_subscription_id,
           subscription_status, cancel_at_period_end)
       SELECT 't_bench_hq_' || n, 'Bench Group ' || lpad(n::text, 4, '0'), 'bench-hq-' || n,
              (%(countries)s::text[])[1 + (n %% %(country_count)s)], 'en', 'Europe/Berlin', 'EUR', 'active',
              now() - interval '3 years', (SELECT id FROM tenants_plan ORDER BY random() * n LIMIT 1), 'month', 2,
              '', '', 'active', false
       FROM generate_series(1, %(tenants)s) AS n""",
    """CREATE TEMP TABLE bench_groups AS
       SELECT id AS dealer_group_id, 2000 + floor(random() * 48000) AS size, random() AS r_quality
       FROM tenants_dealergroup WHERE slug LIKE 'bench-hq-%%'""",
    # The months (and days) covered: --months complete months up to the last day of the month before this one.
    """CREATE TEMP TABLE bench_periods AS
       SELECT 'month' AS period, m::date AS period_start,
              (m + interval '1 month' - interval '1 day')::date AS period_end, 1.0 AS scale,
              row_number() OVER (ORDER BY m) AS k
       FROM generate_series(date_trunc('month', current_date) - %(months)s * interval '1 month',
                            date_trunc('month', current_date) - interval '1 month', interval '1 month') AS m""",
    """INSERT INTO bench_periods
       SELECT 'day', d::date, d::date, 1.0 / 30, 0
       FROM generate_series((SELECT min(period_start) FROM bench_periods),
                            (SELECT max(period_end) FROM bench_periods), interval '1 day') AS d
       WHERE %(day_rows)s""",
    None,  # snapshot_insert(SNAPSHOT_KPIS)
    """INSERT INTO tenants_hqorganisation (name, kind, country, created_at)
       VALUES ('Bench Brand', 'brand', 'DE', now())""",
    """INSERT INTO tenants_hqshare (dealer_group_id, organisation_id, granted_at, granted_by, withdrawn_at,
           withdrawn_by)
       SELECT dealer_group_id, (SELECT id FROM tenants_hqorganisation WHERE name = 'Bench Brand'),
              now() - interval '3 years', 'admin@bench-hq.example.com', NULL, ''
       FROM bench_groups ORDER BY dealer_group_id""",
    "DROP TABLE bench_groups",
    "DROP TABLE bench_periods",
]

# One dealer group's CRM, inside its schema: %(customers)s customers over the rooftops %(rooftops)s.
TENANT_SQL = [
    """INSERT INTO customers_person (family_name, given_name, middle_name, family_name_latin, given_name_latin,
           name_order, name_key, search_text, gender, birth_date, address, residential_area, occupation, income_band,
           preferred_language, channel, notes, rooftop_id, archived_at, created_at, updated_at)
       SELECT f, g, '', f, g, 'given_first', lower(f || ' ' || g), lower(f || ' ' || g || ' ' || n),
              CASE WHEN r_gender < 0.48 THEN 'f' ELSE 'm' END, current_date - 6570 - floor(r_age * 24500)::int,
              '', '', '', '', 'de', 'import', '',
              (%(rooftops)s::bigint[])[CASE WHEN r_rooftop < 0.45 THEN 1 WHEN r_rooftop < 0.80 THEN 2 ELSE 3 END],
              CASE WHEN r_archived < 0.02 THEN now() - r_archived * interval '50 years' END,
              now() - r_created * interval '8 years', now()
       FROM (SELECT n, (ARRAY['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker',
                              'Schulz', 'Hoffmann', 'Koch', 'Richter', 'Klein', 'Wolf', 'Yilmaz', 'Nowak'])
                        [1 + floor(random() * 16)::int] AS f,
                    (ARRAY['Anna', 'Jonas', 'Mia', 'Lukas', 'Lea', 'Finn', 'Emma', 'Paul', 'Sophie', 'Leon'])
                        [1 + floor(random() * 10)::int] AS g,
                    random() AS r_gender, random() AS r_age, random() AS r_rooftop, random() AS r_archived,
                    random() AS r_created
             FROM generate_series(1, %(customers)s) AS n) s
       ORDER BY n""",
    # 0.5% merged into the customer before them (counted as inactive).
    """UPDATE customers_person SET merged_into_id = id - 1
       WHERE id %% 200 = 0 AND archived_at IS NULL AND id > (SELECT min(id) FROM customers_person)""",
    """CREATE TEMP TABLE bench_people AS
       SELECT id AS person_id, rooftop_id, created_at, row_number() OVER (ORDER BY id) AS n FROM customers_person""",
    """INSERT INTO customers_phone (person_id, number, kind, is_primary, verified_at, created_at)
       SELECT person_id, '+4915' || lpad((%(phone_base)s + n)::text, 9, '0'), 'mobile', true, NULL, created_at
       FROM bench_people WHERE random() < 0.75""",
    """INSERT INTO customers_email (person_id, address, is_primary, verified_at, created_at)
       SELECT person_id, 'kunde' || n || '@bench.example.com', true, NULL, created_at
       FROM bench_people WHERE random() < 0.6""",
    # Cars: one each, a second for 30%, an earlier one sold on for 10%.
    """CREATE TEMP TABLE bench_cars AS
       SELECT row_number() OVER (ORDER BY x.person_id, x.slot) AS car_n, x.person_id, x.slot,
              CASE WHEN x.slot = 3 THEN current_date - 2500 - floor(random() * 1000)::int
                   ELSE current_date - floor(random() * 3650)::int END AS purchase_date
       FROM (SELECT b.person_id, s.slot
             FROM (SELECT person_id, random() AS r_two, random() AS r_earlier FROM bench_people) b
             CROSS JOIN LATERAL (VALUES (1, true), (2, b.r_two < 0.3), (3, b.r_earlier < 0.1)) AS s (slot, present)
             WHERE s.present) x""",
    """INSERT INTO customers_vehicle (vin, make, model, year, plate, plate_key, colour, purchase_date, warranty_end,
           created_at, updated_at)
       SELECT '', (ARRAY['VW', 'BMW', 'Audi', 'Skoda', 'Opel'])[1 + car_n %% 5], 'Golf',
              extract(year FROM purchase_date)::int, 'BN-' || car_n, 'BN' || car_n, '', purchase_date,
              purchase_date + 730, now(), now()
       FROM bench_cars ORDER BY car_n""",
    """CREATE TEMP TABLE bench_links AS
       SELECT c.*, v.id AS vehicle_id FROM bench_cars c JOIN customers_vehicle v ON v.plate = 'BN-' || c.car_n""",
    """INSERT INTO customers_vehiclelink (vehicle_id, person_id, company_id, kind, started_on, ended_on)
       SELECT vehicle_id, person_id, NULL, 'owner', purchase_date,
              CASE WHEN slot = 3 THEN purchase_date + 1500 END
       FROM bench_links ORDER BY car_n""",
    # Maintenance reminders: one a year for 85% of the current cars over two years, sent 14 days before they are
    # due (the next weeks' still to send); 12% not sent for want of consent. 35% of those sent bring the car in 2 to
    # 28 days later: the visits below include those.
    """CREATE TEMP TABLE bench_reminders AS
       SELECT vehicle_id, person_id, rooftop_id, due_on, due_on - 14 AS sent_on,
              CASE WHEN due_on - 14 > current_date THEN 'pending' WHEN r_consent < 0.12 THEN 'no_consent'
                   ELSE 'sent' END AS status,
              CASE WHEN r_followed < 0.35 THEN due_on - 12 + floor(r_when * 27)::int END AS visit_on
       FROM (SELECT l.vehicle_id, l.person_id, p.rooftop_id, current_date - 700 + 365 * y + floor(random() * 365)::int
                        AS due_on,
                    random() AS r_consent, random() AS r_followed, random() AS r_when, random() AS r_present
             FROM bench_links l JOIN bench_people p USING (person_id) CROSS JOIN generate_series(0, 1) AS y
             WHERE l.slot < 3) r
       WHERE r_present < 0.85""",
    """INSERT INTO service_reminder (kind, person_id, vehicle_id, due_on, period, status, assigned_to_id, created_at,
           sent_at)
       SELECT 'maintenance', person_id, vehicle_id, due_on, due_on::text, status, NULL,
              least(sent_on, current_date) + time '06:00', CASE WHEN status = 'sent' THEN sent_on + time '08:00' END
       FROM bench_reminders ORDER BY sent_on""",
    # 0 to 8 workshop visits per current car over five years, and those the reminders brought, in the order they
    # happened.
    """INSERT INTO service_servicevisit (rooftop_id, vehicle_id, person_id, company_id, advisor_id, order_number,
           opened_on, closed_on, mileage, status, labour_amount, parts_amount, total_amount, repeat_of_id, source_ref,
           created_at)
       SELECT rooftop_id, vehicle_id, person_id, NULL, NULL, '', day, day, NULL, 'closed', 0, 0, amount, NULL, '', now()
       FROM (SELECT p.rooftop_id, l.vehicle_id, l.person_id, current_date - floor(random() * 1826)::int AS day,
                    round((80 + random() * 900)::numeric, 2) AS amount
             FROM (SELECT vehicle_id, person_id, floor(random() * 9)::int AS visits FROM bench_links
                   WHERE slot < 3) l
             JOIN bench_people p USING (person_id)
             CROSS JOIN LATERAL generate_series(1, l.visits) AS i
             UNION ALL
             SELECT rooftop_id, vehicle_id, person_id, visit_on, round((80 + random() * 900)::numeric, 2)
             FROM bench_reminders WHERE status = 'sent' AND visit_on < current_date) v
       ORDER BY day""",
    # Satisfaction surveys: an invitation the day after 30% of the visits closed in the last two years, 40% answered
    # within five days (satisfaction mostly 4 or 5, the recommendation to match). The signals as the answer page
    # sets them: answered in under 8 seconds (5%) is too fast; 2% share a network and device with others.
    """CREATE TEMP TABLE bench_surveys AS
       SELECT visit_id, person_id, rooftop_id, sent, CASE WHEN r_answer < 0.4 AND answered < now() THEN answered END
                  AS answered,
              seconds, CASE WHEN r_sat < 0.55 THEN 5 WHEN r_sat < 0.85 THEN 4 WHEN r_sat < 0.94 THEN 3
                            WHEN r_sat < 0.98 THEN 2 ELSE 1 END AS satisfaction,
              r_recommend, r_shared < 0.02 AS shared
       FROM (SELECT id AS visit_id, person_id, rooftop_id, closed_on + 1 + time '10:00' AS sent,
                    closed_on + 1 + time '10:00' + random() * interval '5 days' AS answered,
                    CASE WHEN random() < 0.05 THEN 3 + floor(random() * 5)::int ELSE 20 + floor(random() * 300)::int
                    END AS seconds,
                    random() AS r_answer, random() AS r_sat, random() AS r_recommend, random() AS r_shared,
                    random() AS r_invited
             FROM service_servicevisit WHERE closed_on >= current_date - 730 AND closed_on < current_date) v
       WHERE r_invited < 0.3""",
    """INSERT INTO surveys_invitation (kind, person_id, rooftop_id, employee_id, source_ref, token_hash, sent_at,
           expires_at, opened_at, created_at)
       SELECT 'csi_service', person_id, rooftop_id, NULL, 'service:visit:' || visit_id,
              encode(sha256(convert_to('bench:visit:' || visit_id, 'UTF8')), 'hex'), sent, sent + interval '14 days',
              answered - seconds * interval '1 second', sent
       FROM bench_surveys ORDER BY sent""",
    """INSERT INTO surveys_answer (invitation_id, satisfaction, recommend, comment, answered_at, seconds_to_answer,
           network, device, signals)
       SELECT i.id, s.satisfaction, least(10, 2 * s.satisfaction - 1 + floor(s.r_recommend * 3)::int), '', s.answered,
              s.seconds, encode(sha256(convert_to(source, 'UTF8')), 'hex'),
              encode(sha256(convert_to(source || '|browser', 'UTF8')), 'hex'),
              CASE WHEN s.shared THEN '["same_network", "same_device"]'::jsonb ELSE '[]'::jsonb END
              || CASE WHEN s.seconds < 8 THEN '["too_fast"]'::jsonb ELSE '[]'::jsonb END
       FROM bench_surveys s
       JOIN surveys_invitation i ON i.kind = 'csi_service' AND i.source_ref = 'service:visit:' || s.visit_id
       CROSS JOIN LATERAL (SELECT CASE WHEN s.shared THEN 'shared-' || s.visit_id %% 7
                                       ELSE 'home-' || s.visit_id END AS source) n
       WHERE s.answered IS NOT NULL ORDER BY s.answered""",
    # Prospects registered over two years (15% of the customers): the last three months' still open at H/A/B/C
    # for most, the others closed, ordered (O, 35%) or lost (F); a first contact for 90% after 1 to 48 hours.
    """CREATE TEMP TABLE bench_prospects AS
       SELECT person_id, rooftop_id, reg,
              (ARRAY['walk_in', 'phone', 'web_form', 'referral', 'event', 'service_lane', 'campaign',
                     'third_party'])[1 + floor(r_source * 8)::int] AS source,
              CASE WHEN reg > current_date - 90 AND r_open < 0.7
                   THEN CASE WHEN r_level < 0.15 THEN 'H' WHEN r_level < 0.40 THEN 'A'
                             WHEN r_level < 0.70 THEN 'B' ELSE 'C' END
                   WHEN r_level < 0.35 THEN 'O' ELSE 'F' END AS level,
              r_response
       FROM (SELECT person_id, rooftop_id, current_date - floor(random() * 730)::int AS reg, random() AS r_source,
                    random() AS r_open, random() AS r_level, random() AS r_response, random() AS r_prospect
             FROM bench_people) b
       WHERE r_prospect < 0.15""",
    """INSERT INTO sales_prospect (person_id, rooftop_id, salesperson_id, source, source_detail, referrer_id,
           model_interest, condition, trade_in, financing, level, lost_reason, competitor, notes, registered_on,
           created_at, first_response_at, next_contact_on, ordered_on, closed_on, created_by_id)
       SELECT person_id, rooftop_id, NULL, source, '', NULL, 'Golf', 'new', false, false, level,
              CASE WHEN level = 'F' THEN 'price' ELSE '' END, '', '', reg, reg + time '09:00',
              CASE WHEN r_response < 0.9 THEN reg + time '09:00' + (1 + r_response * 47) * interval '1 hour' END,
              CASE WHEN level IN ('H', 'A', 'B', 'C') THEN current_date + 3 END,
              CASE WHEN level = 'O' THEN reg + 20 END,
              CASE WHEN level IN ('O', 'F') THEN reg + 20 + floor(r_response * 40)::int END, NULL
       FROM bench_prospects ORDER BY reg""",
    # The ordered ones have a deal, delivered a month after the order.
    """INSERT INTO sales_opportunity (prospect_id, model, condition, equipment, amount, trade_in_amount, probability,
           expected_close, stage, stage_changed_at, lost_reason, competitor, vehicle_id, delivered_on, created_at)
       SELECT id, 'Golf', 'new', '', 32000, NULL, 100, ordered_on, 'delivered', ordered_on + 30, '', '', NULL,
              ordered_on + 30, created_at
       FROM sales_prospect WHERE level = 'O' ORDER BY id""",
    # Sales contacts: the first, when the prospect was first contacted, due the day after registration; then one
    # planned a week apart until the prospect closed (or today), due two days after it: done on the day for 70%, a
    # day or two later for 15%, three to seven days later for the rest. An open prospect's next contact is planned.
    """INSERT INTO sales_contact (prospect_id, planned_on, due_by, done_at, kind, outcome, note, next_step, by_id)
       SELECT id, NULL, registered_on + 1, first_response_at, 'call', 'reached', '', '', NULL
       FROM sales_prospect WHERE first_response_at IS NOT NULL ORDER BY first_response_at""",
    """INSERT INTO sales_contact (prospect_id, planned_on, due_by, done_at, kind, outcome, note, next_step, by_id)
       SELECT id, planned_on, planned_on + 2, done_at, kind, outcome, '', '', NULL
       FROM (SELECT p.id, p.registered_on + 7 * i AS planned_on,
                    p.registered_on + 7 * i + CASE WHEN random() < 0.7 THEN 0 WHEN random() < 0.5
                                                   THEN 1 + floor(random() * 2)::int
                                                   ELSE 3 + floor(random() * 5)::int END
                    + time '09:00' + random() * interval '8 hours' AS done_at,
                    (ARRAY['call', 'email', 'message', 'visit', 'test_drive'])[1 + floor(random() * 5)::int] AS kind,
                    (ARRAY['reached', 'no_answer', 'offer', 'negotiating'])[1 + floor(random() * 4)::int] AS outcome
             FROM sales_prospect p
             CROSS JOIN LATERAL generate_series(1, (coalesce(p.closed_on, current_date) - p.registered_on) / 7) AS i
             WHERE p.registered_on + 7 * i < coalesce(p.closed_on, current_date)) c
       WHERE done_at < now() ORDER BY done_at""",
    """INSERT INTO sales_contact (prospect_id, planned_on, due_by, done_at, kind, outcome, note, next_step, by_id)
       SELECT id, next_contact_on, next_contact_on + 2, NULL, '', '', '', '', NULL
       FROM sales_prospect WHERE closed_on IS NULL AND next_contact_on IS NOT NULL ORDER BY id""",
    # Club members: 25% of the customers, joined over three years, 5% of them left since.
    """INSERT INTO loyalty_membership (person_id, number, joined_at, terms_version, left_at)
       SELECT person_id, 'B' || lpad(n::text, 8, '0'), joined, 1,
              CASE WHEN random() < 0.05 THEN joined + random() * (now() - joined) END
       FROM (SELECT person_id, n, now() - random() * interval '3 years' AS joined FROM bench_people
             WHERE random() < 0.25) m""",
    # Possible duplicates (1% of the customers), found over a year; 60% still waiting for review.
    """INSERT INTO customers_duplicatecandidate (person_a_id, person_b_id, confidence, reasons, status, found_at,
           decided_by_id, decided_at)
       SELECT a.person_id, b.person_id, 0.7 + random() * 0.3, '["phone"]', status, found,
              NULL, CASE WHEN status <> 'open' THEN found + interval '3 days' END
       FROM (SELECT person_id, n, CASE WHEN random() < 0.6 THEN 'open' WHEN random() < 0.5 THEN 'merged'
                                       ELSE 'dismissed' END AS status,
                    now() - random() * interval '1 year' AS found
             FROM bench_people WHERE n %% 100 = 1) a
       JOIN bench_people b ON b.n = a.n + 1""",
    # Club events: one a quarter at each rooftop over two years, and a test-drive day a year. Every member of the
    # rooftop (joined, not left) is invited to its club events; a test-drive day invites 300 of its customers. 12%
    # accept (with up to two guests) and 85% of those come (checked in) once the event has passed; 20% decline.
    """INSERT INTO marketing_event (name, kind, rooftop_id, starts_at, ends_at, capacity, description, cancelled_at,
           created_at)
       SELECT CASE WHEN kind = 'club' THEN 'Clubabend ' ELSE 'Probefahrttag ' END || day, kind, rooftop_id,
              day + time '18:00', day + time '21:00', 400, '', NULL, day - 30 + time '10:00'
       FROM (SELECT r.rooftop_id, 'club' AS kind,
                    (date_trunc('quarter', current_date) - q * interval '3 months')::date + 35 + 7 * r.ord::int AS day
             FROM unnest(%(rooftops)s::bigint[]) WITH ORDINALITY AS r (rooftop_id, ord)
             CROSS JOIN generate_series(0, 7) AS q
             UNION ALL
             SELECT r.rooftop_id, 'test_drive_day',
                    (date_trunc('year', current_date) - y * interval '1 year')::date + 120 + 7 * r.ord::int
             FROM unnest(%(rooftops)s::bigint[]) WITH ORDINALITY AS r (rooftop_id, ord)
             CROSS JOIN generate_series(0, 1) AS y) e
       ORDER BY day""",
    """INSERT INTO marketing_eventinvitation (event_id, person_id, token_hash, status, guests, responded_at,
           checked_in_at, created_at)
       SELECT event_id, person_id,
              encode(sha256(convert_to('bench:event:' || event_id || ':' || person_id, 'UTF8')), 'hex'),
              CASE WHEN r_status < 0.12 THEN 'accepted' WHEN r_status < 0.32 THEN 'declined' ELSE 'invited' END,
              CASE WHEN r_status < 0.12 THEN floor(r_status * 25)::int ELSE 0 END,
              CASE WHEN r_status < 0.32 THEN least(invited + r_status * interval '60 days', now()) END,
              CASE WHEN r_status < 0.12 AND r_came < 0.85 AND starts_at < now()
                   THEN starts_at - interval '15 minutes' + r_came * interval '1 hour' END,
              invited
       FROM (SELECT event_id, person_id, starts_at, invited, random() AS r_status, random() AS r_came
             FROM (SELECT e.id AS event_id, m.person_id, e.starts_at, e.created_at AS invited
                   FROM marketing_event e
                   JOIN customers_person p ON p.rooftop_id = e.rooftop_id
                   JOIN loyalty_membership m ON m.person_id = p.id AND m.joined_at < e.created_at
                                                AND (m.left_at IS NULL OR m.left_at > e.created_at)
                   WHERE e.kind = 'club'
                   UNION ALL
                   SELECT e.id, b.person_id, e.starts_at, e.created_at
                   FROM marketing_event e
                   CROSS JOIN LATERAL (SELECT person_id FROM bench_people WHERE rooftop_id = e.rooftop_id
                                       ORDER BY random() LIMIT 300) b
                   WHERE e.kind = 'test_drive_day') x) i
       ORDER BY invited, event_id, person_id""",
    # Marketing e-mails: a campaign every two months over two years (the last one last month), to the customers with
    # an e-mail address who agreed to marketing (70% of them; the consent ledger itself is not filled). 97% sent, 2%
    # held back by the frequency cap, 1% failed; of those sent, 25% opened and 4% with a link followed.
    """INSERT INTO marketing_message (key, person_id, template_id, channel, purpose, address, subject, body, status,
           reason, error, created_at, sent_at, opened_at, clicked_at, links)
       SELECT 'campaign:' || c || ':' || person_id, person_id, NULL, 'email', 'marketing', address,
              'Angebot des Monats', '', status, CASE WHEN status = 'refused' THEN 'frequency_cap' ELSE '' END,
              CASE WHEN status = 'failed' THEN '550 mailbox unavailable' ELSE '' END, at,
              CASE WHEN status = 'sent' THEN sent END,
              CASE WHEN status = 'sent' AND r_open < 0.25 THEN sent + r_open * interval '8 days' END,
              CASE WHEN status = 'sent' AND r_open < 0.04 THEN sent + r_open * interval '8 days' + interval '1 minute'
              END,
              '["https://bench.example.com/angebot"]'
       FROM (SELECT c, m.person_id, m.address, a.at, a.at + random() * interval '3 hours' AS sent,
                    CASE WHEN random() < 0.97 THEN 'sent' WHEN random() < 0.67 THEN 'refused' ELSE 'failed' END
                        AS status,
                    random() AS r_open
             FROM (SELECT person_id, address FROM customers_email WHERE random() < 0.7) m
             CROSS JOIN generate_series(0, 11) AS c
             CROSS JOIN LATERAL (SELECT date_trunc('month', current_date) - (2 * c + 1) * interval '1 month'
                                        + interval '9 days 10 hours' AS at) a) s
       ORDER BY at, person_id""",
    "DROP TABLE bench_people",
    "DROP TABLE bench_cars",
    "DROP TABLE bench_links",
    "DROP TABLE bench_prospects",
    "DROP TABLE bench_reminders",
    "DROP TABLE bench_surveys",
]

TENANT_TABLES = ("customers_person", "customers_phone", "customers_email", "customers_vehicle",
                 "customers_vehiclelink", "service_servicevisit", "service_reminder", "surveys_invitation",
                 "surveys_answer", "sales_prospect", "sales_opportunity", "sales_contact", "loyalty_membership",
                 "customers_duplicatecandidate", "marketing_event", "marketing_eventinvitation", "marketing_message")
TENANT_COUNTS = (("customers", "customers_person"), ("cars", "customers_vehicle"),
                 ("visits", "service_servicevisit"), ("reminders", "service_reminder"),
                 ("survey_invitations", "surveys_invitation"), ("survey_answers", "surveys_answer"),
                 ("prospects", "sales_prospect"), ("contacts", "sales_contact"), ("members", "loyalty_membership"),
                 ("duplicates", "customers_duplicatecandidate"), ("events", "marketing_event"),
                 ("event_invitations", "marketing_eventinvitation"), ("messages", "marketing_message"))


def snapshots_generate(tenants: int, months: int, day_rows: bool) -> dict[str, int]:
    from django.db import connection

    from tenants.models import SNAPSHOT_KPIS

    params = {"tenants": tenants, "months": months, "day_rows": day_rows, "countries": list(COUNTRIES),
              "country_count": len(COUNTRIES)}
    with connection.cursor() as cursor:
        for sql in SNAPSHOT_SQL:
            cursor.execute(sql or snapshot_insert(SNAPSHOT_KPIS), params)
        cursor.execute("VACUUM ANALYZE tenants_kpisnapshot")
        cursor.execute("VACUUM ANALYZE tenants_dealergroup")
        cursor.execute("VACUUM ANALYZE tenants_hqshare")
        cursor.execute("""SELECT count(*), count(*) FILTER (WHERE period = 'month'),
                                 count(*) FILTER (WHERE period = 'month' AND rooftop_id IS NULL),
                                 pg_total_relation_size('tenants_kpisnapshot')
                          FROM tenants_kpisnapshot""")
        rows, month_rows, group_month_rows, size = cursor.fetchone()
    return {"snapshot_rows": rows, "month_rows": month_rows, "group_month_rows": group_month_rows,
            "table_mb": round(size / 2**20)}


def tenant_provision(index: int, customers: int) -> tuple[str, float, float, dict[str, int]]:
    """A real tenant by ``dealer_group_create``, then its CRM in SQL. Returns (schema, provisioning seconds,
    generation seconds, row counts)."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from crm.dealerships.models import Rooftop
    from tenants.services import dealer_group_create

    started = time.perf_counter()
    group = dealer_group_create(name=f"Bench Real {index}", slug=f"bench-real-{index}", country="DE",
                                timezone="Europe/Berlin", admin_email=f"admin@bench-real-{index}.example.com",
                                admin_password=None).dealer_group
    provision_s = time.perf_counter() - started
    started = time.perf_counter()
    with schema_context(group.schema_name):
        rooftops = [Rooftop.objects.create(name=name, city="Berlin", timezone="Europe/Berlin").pk for name in ROOFTOPS]
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(%s)", [0.5 + index / 1000])
            for sql in TENANT_SQL:
                cursor.execute(sql, {"customers": customers, "rooftops": rooftops, "phone_base": index * 10**6})
            for table in TENANT_TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")
            counts = {}
            for key, table in TENANT_COUNTS:
                cursor.execute(f"SELECT count(*) FROM {table}")
                counts[key] = cursor.fetchone()[0]
    return group.schema_name, provision_s, time.perf_counter() - started, counts


def dashboard_work(organisation: object, parts: dict[str, list[float]] | None = None) -> tuple[date, int, int]:
    """What ``tenants.hq.views.dashboard`` computes, without the template. Returns (month, rows, chart points);
    adds each step's seconds to ``parts`` if given."""
    from tenants.hq import selectors
    from tenants.models import SNAPSHOT_KPIS

    marks = [time.perf_counter()]
    available = selectors.months(organisation)
    month = available[0]
    marks.append(time.perf_counter())
    rows = selectors.month_rows(organisation, month=month)
    marks.append(time.perf_counter())
    stats = {kpi: selectors.quartiles([row.value(kpi) for row in rows if row.value(kpi) is not None])
             for kpi in SNAPSHOT_KPIS}
    table = [(row, [(kpi, row.value(kpi), bool(stats[kpi] and stats[kpi].outlier(row.value(kpi))))
                    for kpi in SNAPSHOT_KPIS]) for row in rows]
    marks.append(time.perf_counter())
    chart = selectors.series(organisation, kpi=CHART_KPI)
    marks.append(time.perf_counter())
    if parts is not None:
        for name, before, after in zip(DASHBOARD_PARTS, marks, marks[1:], strict=False):
            parts[name].append(after - before)
    return month, len(table), len(chart)


def page_client() -> Callable[[], int]:
    """``GET /hq/`` as the brand's analyst, on the platform's host; returns the number of table rows shown."""
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from tenants.models import HqAnalyst, HqOrganisation

    analyst = User.objects.create_user("analyst@bench-brand.example.com", None)
    HqAnalyst.objects.create(user=analyst, organisation=HqOrganisation.objects.get(name="Bench Brand"))
    client = Client(HTTP_HOST=settings.APP_DOMAIN)
    client.force_login(analyst)

    def get() -> int:
        response = client.get("/hq/")
        if response.status_code != 200:
            raise SystemExit(f"FAILED: GET /hq/ answered {response.status_code}")
        return response.content.count(b"Bench Group ")

    return get


def loop_once(schema: str, month: date, end: date) -> tuple[float, dict]:
    from django_tenants.utils import schema_context

    from crm.analytics.kpis import kpis_compute

    started = time.perf_counter()
    with schema_context(schema):
        figures = kpis_compute(start=month, end=end)
    return time.perf_counter() - started, figures


def run(tenants: int, months: int, schemas: int, customers: int, day_rows: bool) -> dict[str, object]:
    import django
    from django.core.management import call_command

    django.setup()
    from dateutil.relativedelta import relativedelta
    from django.db import connection
    from django_tenants.utils import schema_context

    from crm.analytics.kpis import KPI_KEYS, kpis_compute
    from tenants.models import HqOrganisation

    load_before = os.getloadavg()
    started = time.perf_counter()
    call_command("migrate_all", verbosity=0)
    print(f"migrate_all {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    snapshot_counts = snapshots_generate(tenants, months, day_rows)
    snapshots_s = time.perf_counter() - started
    print(f"{tenants} dealer groups, {months} months: {snapshot_counts} in {snapshots_s:.1f} s", flush=True)

    real: list[str] = []
    data: dict[str, int] = {}
    provision_s: list[float] = []
    for index in range(schemas):
        schema, provisioned, generated, counts = tenant_provision(index, customers)
        real.append(schema)
        provision_s.append(provisioned)
        data = counts
        print(f"schema {schema}: provisioned in {provisioned:.1f} s, CRM generated in {generated:.1f} s: {counts}",
              flush=True)

    organisation = HqOrganisation.objects.get(name="Bench Brand")
    month = dashboard_work(organisation)[0]
    end = month + relativedelta(months=1, days=-1)
    page = page_client()

    dashboard_s: list[float] = []
    parts: dict[str, list[float]] = {name: [] for name in DASHBOARD_PARTS}
    page_s: list[float] = []
    loop_s: dict[str, list[float]] = {schema: [] for schema in real}
    for round_ in range(ROUNDS + 1):  # round 0 warms the caches and is not counted
        started = time.perf_counter()
        shown_month, rows, points = dashboard_work(organisation, parts if round_ else None)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        page_rows = page()
        page_seconds = time.perf_counter() - started
        if shown_month != month or rows != tenants or points != months or page_rows != tenants:
            raise SystemExit(f"FAILED: the dashboard shows {rows} groups ({page_rows} on the page) for {shown_month} "
                             f"and {points} months in the chart; expected {tenants} for {month} and {months}")
        loop_round = []
        for schema in real:
            schema_seconds, figures = loop_once(schema, month, end)
            if not figures.get(None) or not figures[None]["customers"]:
                raise SystemExit(f"FAILED: kpis_compute in {schema} gives no group figure: {figures}")
            empty = [kpi for kpi in KPI_KEYS if figures[None].get(kpi) is None]
            if empty:
                raise SystemExit(f"FAILED: kpis_compute in {schema} gives no group figure for {len(empty)} of the "
                                 f"{len(KPI_KEYS)} KPIs: {', '.join(empty)}")
            loop_round.append(schema_seconds)
            if round_:
                loop_s[schema].append(schema_seconds)
        if round_:
            dashboard_s.append(seconds)
            page_s.append(page_seconds)
        steps = " + ".join(f"{name} {values[-1] * 1000:.0f}" for name, values in parts.items()) if round_ else ""
        print(f"round {round_}{' (warm-up)' if not round_ else ''}: dashboard {seconds * 1000:7.1f} ms ({steps}), "
              f"page {page_seconds * 1000:7.1f} ms; kpis_compute per schema "
              + " ".join(f"{s * 1000:.0f}" for s in loop_round)
              + f" ms (sum over {schemas}: {sum(loop_round) * 1000:.0f} ms)", flush=True)

    # For reference: the chart's series by looping, i.e. kpis_compute of every month, in one schema.
    started = time.perf_counter()
    with schema_context(real[0]):
        for back in range(months):
            start = month - relativedelta(months=back)
            kpis_compute(start=start, end=start + relativedelta(months=1, days=-1))
    series_one_schema_s = time.perf_counter() - started
    print(f"kpis_compute of all {months} months in {real[0]}: {series_one_schema_s * 1000:.0f} ms", flush=True)

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]

    dashboard_ms = statistics.median(dashboard_s) * 1000
    page_ms = statistics.median(page_s) * 1000
    per_schema_ms = {schema: statistics.median(values) * 1000 for schema, values in loop_s.items()}
    loop_ms = statistics.median(per_schema_ms.values())
    extrapolated_ms = loop_ms * tenants
    measured_total_ms = statistics.median(sum(values[i] for values in loop_s.values()) for i in range(ROUNDS)) * 1000
    print(f"dashboard from snapshots: {dashboard_ms:.1f} ms (page {page_ms:.1f} ms) for {tenants} groups; "
          f"kpis_compute per schema {loop_ms:.1f} ms (median of {schemas} schemas with {customers} customers), "
          f"{measured_total_ms:.0f} ms for the {schemas} measured; EXTRAPOLATED linearly to {tenants} schemas: "
          f"{extrapolated_ms / 1000:.1f} s, {extrapolated_ms / dashboard_ms:.0f}x the dashboard", flush=True)
    return {
        "tenants": tenants, "months": months, "snapshot_rows": snapshot_counts["snapshot_rows"],
        "dashboard_ms_median": round(dashboard_ms, 1), "loop_schemas_measured": schemas,
        "loop_ms_per_schema_median": round(loop_ms, 1), "loop_ms_extrapolated_500": round(extrapolated_ms),
        "ratio": round(extrapolated_ms / dashboard_ms, 1),
        "dashboard_page_ms_median": round(page_ms, 1), "page_ratio": round(extrapolated_ms / page_ms, 1),
        "loop_ms_measured_total": round(measured_total_ms), "extrapolated": True,
        "loop_ms_per_schema": [round(ms, 1) for ms in per_schema_ms.values()],
        "loop_series_ms_one_schema": round(series_one_schema_s * 1000),
        "dashboard_ms_rounds": [round(s * 1000, 1) for s in dashboard_s],
        "dashboard_parts_ms": {name: round(statistics.median(values) * 1000, 1) for name, values in parts.items()},
        "month": month.isoformat(), "day_rows": day_rows, **{k: v for k, v in snapshot_counts.items()
                                                             if k != "snapshot_rows"},
        "snapshots_s": round(snapshots_s, 1), "customers_per_schema": customers, "schema_data": data,
        "provision_s_median": round(statistics.median(provision_s), 2), "rounds": ROUNDS,
        "load_avg": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpu_count": os.cpu_count(), "postgres": version,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=500, help="dealer groups with snapshots (default 500)")
    parser.add_argument("--months", type=int, default=24, help="months of snapshots (default 24)")
    parser.add_argument("--schemas", type=int, default=10, help="real tenant schemas for the loop (default 10)")
    parser.add_argument("--customers", type=int, default=20_000, help="customers in each real schema (default 20000)")
    parser.add_argument("--no-day-rows", dest="day_rows", action="store_false",
                        help="month rows only, without the daily job's day rows")
    args = parser.parse_args()
    if args.tenants < 4 or args.months < 2 or args.schemas < 1 or args.customers < 1000:
        parser.error("at least 4 tenants, 2 months, 1 schema and 1000 customers")
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # A web worker runs without DEBUG; with it, Django keeps every statement's SQL in memory.
    os.environ.setdefault("DJANGO_DEBUG", "false")
    # Tasks the run queues stay in memory: never in the demo's queue.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    import provisioning

    # Its helpers create, use and drop the database this name gives (read at call time).
    provisioning.BENCH_DATABASE = BENCH_DATABASE
    return provisioning.in_bench_database(
        lambda: run(args.tenants, args.months, args.schemas, args.customers, args.day_rows))


if __name__ == "__main__":
    sys.exit(main())
