"""Each role lands on its own day: the salesperson's follow-ups due and new leads, the advisor's appointments
today and declined work to call, marketing's campaigns; the admin gets the first steps instead. Each figure
links to where the work is, the page costs a fixed number of queries, and nothing crosses groups."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.models import StaffRole, User
from crm.core.services import staff_user_create
from crm.customers.services import person_create
from crm.sales import services as sales

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 14, 8, tzinfo=UTC)


def _panels(client):
    return [template for template, _context in client.get("/crm/").context["panels"]]


@time_machine.travel(NOW, tick=False)
def test_a_salesperson_lands_on_their_follow_ups_and_new_leads(cast):
    with schema_context(cast.a.schema_name):
        seller = User.objects.get(email=cast.a_salesperson)
        for n in range(3):
            customer = person_create(by=None, fields={"family_name": f"Kunde{n}", "given_name": "Karl"})
            sales.prospect_create(person=customer, by=None, level="H", fields={"source": "web_form"},
                                  salesperson=seller)
    client = cast.signed_in(cast.a, cast.a_salesperson)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/crm/")
    day = dict(page.context["panels"])["sales/_day_panel.html"]
    assert (day["new_leads"], day["unassigned"]) == (3, False)
    assert day["due"] == 3  # a new lead is called the day it comes in
    assert "Your sales day" in page.text and 'href="/crm/sales/"' in page.text
    assert len(queries) < 25

    with schema_context(cast.b.schema_name):  # another group's salesperson has nothing of Alpha's
        staff_user_create(email="seller@bravo.test", password=cast.password, role=StaffRole.SALESPERSON)
    other = dict(cast.signed_in(cast.b, "seller@bravo.test").get("/crm/").context["panels"])
    assert other["sales/_day_panel.html"]["new_leads"] == 0 and other["sales/_day_panel.html"]["due"] == 0


@time_machine.travel(NOW, tick=False)
def test_each_role_sees_its_own_day_and_the_admin_the_first_steps(cast):
    with schema_context(cast.a.schema_name):
        for email, role in (("advisor@alpha.test", StaffRole.SERVICE_ADVISOR),
                            ("marketing@alpha.test", StaffRole.MARKETING)):
            staff_user_create(email=email, password=cast.password, role=role)
    advisor = cast.signed_in(cast.a, "advisor@alpha.test")
    assert _panels(advisor) == ["service/_day_panel.html"]
    assert "Your service day" in advisor.get("/crm/").text
    marketing = cast.signed_in(cast.a, "marketing@alpha.test")
    assert _panels(marketing) == ["marketing/_day_panel.html"]
    assert _panels(cast.signed_in(cast.a, cast.a_admin)) == []
