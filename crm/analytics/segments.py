"""Customer segments in one set-based statement: RFM quintiles, value x churn risk, car age, lost.

Definitions (the same for every dealer group):

- **RFM** among customers with a service visit: recency = date of the last visit, frequency =
  visits and monetary = spend in the last three years, each cut into quintiles (5 = best: most
  recent, most frequent, highest spend), ties broken by customer id so a run is reproducible.
- **Value**: the upper half of three-year spend among those customers.
- **Churn risk**: the days since the last visit exceed the customer's own expected interval by a
  quarter; the expected interval is the average gap between the customer's consecutive visits with
  the same car (a car's visits under its previous owner are not this customer's rhythm), or a year
  when there is only one visit day.
- **Action**: high value & low risk → prevention, high value & high risk → retention,
  lower value & low risk → maintenance, lower value & high risk → win-back.
- **Car age** from the newest car the customer currently holds: A up to 3 model years, B up to 8,
  C older.
- **Lost**: no visit for ``LOST_AFTER_MONTHS`` (18) months: the win-back list.

Sales spend joins the monetary figure once the sales module records it.
"""

from datetime import date

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.utils import timezone

from .models import SegmentsRun

LOST_AFTER_MONTHS = 18
DEFAULT_INTERVAL_DAYS = 365
RISK_MARGIN = 1.25
WORK_MEM = "256MB"

# One pass over the visits: each visit's gap to the customer's previous visit with the same car (a window sorted by
# customer and car, whose order the per-customer figures then reuse) and the customer's figures from that same scan.
# Rows are written only where a value changed (most of a group's customers keep their segment from one night to the
# next: rewriting them all cost more than reading).
SQL = """
WITH visit_gaps AS (
    SELECT person_id, opened_on, total_amount,
           opened_on - lag(opened_on) OVER (PARTITION BY person_id, vehicle_id ORDER BY opened_on, id) AS gap
    FROM service_servicevisit WHERE person_id IS NOT NULL
), visits AS (
    SELECT person_id, max(opened_on) AS last_visit,
           count(*) FILTER (WHERE opened_on >= %(since)s) AS visits_3y,
           coalesce(sum(total_amount) FILTER (WHERE opened_on >= %(since)s), 0) AS spend_3y,
           avg(gap) FILTER (WHERE gap > 0) AS expected
    FROM visit_gaps GROUP BY person_id
), cars AS (
    SELECT l.person_id, max(v.year) AS newest_year
    FROM customers_vehiclelink l JOIN customers_vehicle v ON v.id = l.vehicle_id
    WHERE l.ended_on IS NULL AND l.person_id IS NOT NULL AND v.year IS NOT NULL GROUP BY l.person_id
), base AS (
    SELECT p.id AS person_id, vi.last_visit, coalesce(vi.visits_3y, 0) AS visits_3y,
           coalesce(vi.spend_3y, 0) AS spend_3y, coalesce(vi.expected, %(default_interval)s) AS expected,
           c.newest_year
    FROM customers_person p
    LEFT JOIN visits vi ON vi.person_id = p.id
    LEFT JOIN cars c ON c.person_id = p.id
    WHERE p.merged_into_id IS NULL AND p.archived_at IS NULL
), rfm AS (
    SELECT person_id,
           ntile(5) OVER (ORDER BY last_visit, person_id) AS recency,
           ntile(5) OVER (ORDER BY visits_3y, person_id) AS frequency,
           ntile(5) OVER (ORDER BY spend_3y, person_id) AS monetary,
           ntile(2) OVER (ORDER BY spend_3y, person_id) = 2 AS high_value
    FROM base WHERE last_visit IS NOT NULL
), scored AS (
    SELECT b.person_id, r.recency, r.frequency, r.monetary, coalesce(r.high_value, false) AS high_value,
           (b.last_visit IS NOT NULL AND (%(today)s - b.last_visit) > b.expected * %(margin)s) AS high_risk,
           b.last_visit, b.visits_3y, b.spend_3y, b.newest_year
    FROM base b LEFT JOIN rfm r ON r.person_id = b.person_id
), written AS (
    INSERT INTO analytics_customersegment AS s (person_id, recency, frequency, monetary, high_value, high_risk,
                                                action, car_age, lost, last_visit_on, visits_3y, spend_3y,
                                                computed_at)
    SELECT person_id, recency, frequency, monetary, high_value, high_risk,
           CASE WHEN last_visit IS NULL THEN ''
                WHEN high_value AND NOT high_risk THEN 'prevention'
                WHEN high_value THEN 'retention'
                WHEN NOT high_risk THEN 'maintenance'
                ELSE 'win_back' END,
           CASE WHEN newest_year IS NULL THEN ''
                WHEN %(year)s - newest_year <= 3 THEN 'A'
                WHEN %(year)s - newest_year <= 8 THEN 'B'
                ELSE 'C' END,
           last_visit IS NOT NULL AND last_visit < %(lost_before)s,
           last_visit, visits_3y, spend_3y, %(now)s
    FROM scored
    ON CONFLICT (person_id) DO UPDATE SET
        recency = EXCLUDED.recency, frequency = EXCLUDED.frequency, monetary = EXCLUDED.monetary,
        high_value = EXCLUDED.high_value, high_risk = EXCLUDED.high_risk, action = EXCLUDED.action,
        car_age = EXCLUDED.car_age, lost = EXCLUDED.lost, last_visit_on = EXCLUDED.last_visit_on,
        visits_3y = EXCLUDED.visits_3y, spend_3y = EXCLUDED.spend_3y, computed_at = EXCLUDED.computed_at
    WHERE (s.recency, s.frequency, s.monetary, s.high_value, s.high_risk, s.action, s.car_age, s.lost,
           s.last_visit_on, s.visits_3y, s.spend_3y)
          IS DISTINCT FROM (EXCLUDED.recency, EXCLUDED.frequency, EXCLUDED.monetary, EXCLUDED.high_value,
                            EXCLUDED.high_risk, EXCLUDED.action, EXCLUDED.car_age, EXCLUDED.lost,
                            EXCLUDED.last_visit_on, EXCLUDED.visits_3y, EXCLUDED.spend_3y)
    RETURNING 1
)
SELECT (SELECT count(*) FROM scored), (SELECT count(*) FROM written)
"""

PRUNE = """
DELETE FROM analytics_customersegment s USING customers_person p
WHERE p.id = s.person_id AND (p.merged_into_id IS NOT NULL OR p.archived_at IS NOT NULL)
"""


@transaction.atomic
def segments_recompute(today: date | None = None) -> int:
    """Recompute every active customer's segments of the current dealer group; returns how many."""
    today = today or timezone.localdate()
    params = {
        "since": today - relativedelta(years=3), "today": today, "year": today.year, "margin": RISK_MARGIN,
        "default_interval": DEFAULT_INTERVAL_DAYS, "lost_before": today - relativedelta(months=LOST_AFTER_MONTHS),
        "now": timezone.now(),
    }
    with connection.cursor() as cursor:
        # The window over every visit sorts the group's visits by car: in memory, not in temporary files
        # (PostgreSQL's default 4 MB spills a large group's sort to disk). For this transaction only.
        cursor.execute("SET LOCAL work_mem = %s", [WORK_MEM])
        cursor.execute(SQL, params)
        count, changed = cursor.fetchone()
        cursor.execute(PRUNE)
    SegmentsRun.objects.update_or_create(pk=1, defaults={"computed_at": params["now"], "customers": count,
                                                         "changed": changed})
    return count
