"""The retention dashboard's figures, each one aggregate query, with its written definition.

- Retention rate: cars held by an active customer with a service visit in the last 12 months,
  over all cars held by an active customer.
- Service loyalty by car age: the same ratio per car-age group (A up to 3 model years, B up to 8,
  C older).
- Reminder conversion: reminders sent to customers in the last 12 months followed by an
  appointment or a visit for that customer within 30 days, over the reminders sent.
- Declined-work recovery: declined recommendations of the last 12 months later booked or done,
  over all of them.
- CSI and NPS by month: average satisfaction (1-5) and promoters minus detractors (% of answers).
"""

from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from django.db import connection
from django.db.models.functions import TruncMonth
from django.utils import timezone

from crm.customers.models import VehicleLink
from crm.service.models import DeclinedRecommendation
from crm.surveys.models import Answer
from crm.surveys.services import nps, score_measures


@dataclass(frozen=True)
class Ratio:
    part: int
    whole: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.part / self.whole) if self.whole else None


def retention(today: date) -> tuple[Ratio, dict[str, Ratio]]:
    since = today - relativedelta(months=12)
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH held AS (
                SELECT DISTINCT v.id, v.year FROM customers_vehiclelink l
                JOIN customers_vehicle v ON v.id = l.vehicle_id JOIN customers_person p ON p.id = l.person_id
                WHERE l.ended_on IS NULL AND p.merged_into_id IS NULL AND p.archived_at IS NULL
            )
            SELECT CASE WHEN year IS NULL THEN '' WHEN %(year)s - year <= 3 THEN 'A'
                        WHEN %(year)s - year <= 8 THEN 'B' ELSE 'C' END AS age,
                   count(*) AS cars,
                   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM service_servicevisit s
                                                  WHERE s.vehicle_id = held.id AND s.opened_on >= %(since)s)) AS kept
            FROM held GROUP BY 1
        """, {"year": today.year, "since": since})
        rows = cursor.fetchall()
    by_age = {age: Ratio(kept, cars) for age, cars, kept in rows if age}
    return Ratio(sum(r[2] for r in rows), sum(r[1] for r in rows)), by_age


def reminder_conversion(today: date) -> Ratio:
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*), count(*) FILTER (WHERE
                EXISTS (SELECT 1 FROM service_appointment a WHERE a.person_id = r.person_id
                        AND a.created_at BETWEEN r.sent_at AND r.sent_at + interval '30 days')
                OR EXISTS (SELECT 1 FROM service_servicevisit s WHERE s.person_id = r.person_id
                           AND s.opened_on BETWEEN r.sent_at::date AND r.sent_at::date + 30))
            FROM service_reminder r WHERE r.status = 'sent' AND r.sent_at >= %s
        """, [today - relativedelta(months=12)])
        sent, converted = cursor.fetchone()
    return Ratio(converted, sent)


def declined_recovery(today: date) -> Ratio:
    items = DeclinedRecommendation.objects.filter(created_at__date__gte=today - relativedelta(months=12))
    recovered = items.filter(status__in=[DeclinedRecommendation.Status.BOOKED, DeclinedRecommendation.Status.DONE])
    return Ratio(recovered.count(), items.count())


def survey_trend(today: date) -> list[dict]:
    rows = (Answer.objects.filter(answered_at__date__gte=today - relativedelta(months=12))
            .annotate(month=TruncMonth("answered_at")).values("month")
            .annotate(**score_measures()).order_by("month"))
    return [{**row, "nps": nps(row)} for row in rows]


def dashboard(today: date | None = None) -> dict:
    today = today or timezone.localdate()
    overall, by_age = retention(today)
    return {"retention": overall, "by_age": by_age, "reminders": reminder_conversion(today),
            "declined": declined_recovery(today), "surveys": survey_trend(today),
            "active_cars": VehicleLink.objects.filter(ended_on__isnull=True).count()}
