"""The retention dashboard on crafted data: each figure by its written definition."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from crm.analytics.dashboard import dashboard
from crm.customers.models import Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.service.models import DeclinedRecommendation, Reminder, ServiceVisit

pytestmark = pytest.mark.django_db


def test_retention_loyalty_by_age_reminder_conversion_and_declined_recovery(cast):
    today = timezone.localdate()
    with schema_context(cast.a.schema_name):
        cars = []
        for n, year in enumerate((today.year - 1, today.year - 2, today.year - 6, today.year - 12)):
            person = person_create(by=None, fields={"family_name": f"Dash{n}"})
            car = Vehicle.objects.create(make="VW", model="Golf", year=year, plate=f"D-{n}")
            VehicleLink.objects.create(vehicle=car, person=person, kind="owner")
            cars.append((person, car))
        # A cars: one seen 2 months ago, one 14 months ago; B car seen; C car never
        visit = ServiceVisit.objects.create(vehicle=cars[0][1], person=cars[0][0],
                                            opened_on=today - timedelta(days=60), total_amount=Decimal(100))
        ServiceVisit.objects.create(vehicle=cars[1][1], person=cars[1][0], opened_on=today - timedelta(days=430),
                                    total_amount=Decimal(100))
        ServiceVisit.objects.create(vehicle=cars[2][1], person=cars[2][0], opened_on=today - timedelta(days=10),
                                    total_amount=Decimal(100))
        sent = timezone.now() - timedelta(days=20)
        Reminder.objects.create(kind="maintenance", person=cars[2][0], vehicle=cars[2][1], due_on=today,
                                period="a", status="sent", sent_at=sent)  # visit 10 days later: converted
        Reminder.objects.create(kind="maintenance", person=cars[3][0], vehicle=cars[3][1], due_on=today,
                                period="b", status="sent", sent_at=sent)  # nothing followed
        for status in ("booked", "open", "lost", "done"):
            DeclinedRecommendation.objects.create(visit=visit, vehicle=cars[0][1], category="tyres",
                                                  description=status, follow_up_on=today, status=status)

        figures = dashboard(today)

    assert (figures["retention"].part, figures["retention"].whole) == (2, 4)
    assert {age: (r.part, r.whole) for age, r in figures["by_age"].items()} == {"A": (1, 2), "B": (1, 1),
                                                                                 "C": (0, 1)}
    assert (figures["reminders"].part, figures["reminders"].whole, figures["reminders"].percent) == (1, 2, 50)
    assert (figures["declined"].part, figures["declined"].whole) == (2, 4)


def test_the_dashboard_is_for_managers_of_the_same_group(cast):
    assert cast.signed_in(cast.a, cast.a_admin).get("/crm/analytics/").status_code == 200
    assert cast.signed_in(cast.a, cast.a_salesperson).get("/crm/analytics/").status_code == 403
    other = cast.signed_in(cast.b, cast.b_admin).get("/crm/analytics/")
    assert other.status_code == 200 and other.context["retention"].whole == 0
