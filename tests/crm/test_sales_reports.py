"""Sales reports and the lost-deal analysis: each figure on crafted data, who sees what, constant queries."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.services import person_create
from crm.dealerships.models import Rooftop
from crm.sales import services
from crm.sales.models import Contact, DemoVehicle, Opportunity, Prospect
from crm.sales.reports import lost_analysis, report_scope, sales_report
from crm.sales.services import Delivery, FirstContact

pytestmark = pytest.mark.django_db

REPORTS = "/crm/sales/reports/"
LOST = "/crm/sales/reports/lost/"


def _at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute))


@pytest.fixture
def team(cast):
    with schema_context(cast.a.schema_name):
        return {
            "berlin": Rooftop.objects.get(name="Alpha Berlin"),
            "hamburg": Rooftop.objects.get(name="Alpha Hamburg"),
            "anna": User.objects.get(email=cast.a_salesperson),
            "boris": User.objects.create_user("boris@alpha.test", cast.password, role="salesperson",
                                              first_name="Boris", last_name="Brandt"),
            "manager": User.objects.create_user("manager@alpha.test", cast.password, role="sales_manager",
                                                first_name="Maria"),
            "advisor": User.objects.create_user("advisor@alpha.test", cast.password, role="service_advisor"),
        }


def _prospect(team, name: str, *, by: str = "anna", level: str = "B", source: str = "walk_in", model: str = "",
              rooftop: str = "berlin", answered: bool = True) -> Prospect:
    person = person_create(by=None, fields={"family_name": name})
    prospect = services.prospect_create(
        person=person, by=team[by], level=level, rooftop=team[rooftop],
        fields={"source": source, "model_interest": model},
        first_contact=FirstContact("visit", "reached") if answered else None)
    return prospect


def _craft(prospect: Prospect, *, registered: date, response: timedelta | None = None, **dates) -> None:
    """Registered on a day at 9:00, first answered ``response`` later (or never)."""
    created = _at(registered)
    Prospect.objects.filter(pk=prospect.pk).update(
        registered_on=registered, created_at=created,
        first_response_at=None if response is None else created + response, **dates)


@pytest.fixture
def sales(cast, team):
    """Six prospects registered in the last 30 days, one before, one lost before the period.

    | prospect | who   | source   | rooftop | became                                          | response | to close |
    | p1       | anna  | walk_in  | Berlin  | test drive done, offer, order, delivered        | 0        | 10       |
    | p2       | anna  | phone    | Berlin  | test drive stage, order; 2nd deal lost (Skoda)  | 30 min   | 4        |
    | p3       | boris | web_form | Hamburg | ordered (level O), no deal                      | 3 h      | 22       |
    | p4       | boris | web_form | Berlin  | never answered                                  | —        |          |
    | p5       | anna  | web_form | Berlin  | lost: price, Toyota, Golf                       | 2 h      |          |
    | p6       | boris | referral | Berlin  | deal lost: competitor, toyota, Passat           | 0        |          |
    | p7       | anna  | phone    | Berlin  | registered 60 days ago, lost today: price       |          |          |
    | p8       | anna  | walk_in  | Berlin  | lost 45 days ago with its deal                  |          |          |
    """
    today = timezone.localdate()
    tomorrow = today + timedelta(days=1)
    anna, boris = team["anna"], team["boris"]
    with schema_context(cast.a.schema_name):
        demo = DemoVehicle.objects.create(rooftop=team["berlin"], model="ID.4", plate="B-RE 1")

        p1 = _prospect(team, "Eins", model="ID.4")
        deal = services.opportunity_create(prospect=p1, by=anna, fields={"model": "ID.4", "amount": Decimal(45000)})
        drive = services.test_drive_book(prospect=p1, demo=demo, starts_at=_at(tomorrow, 10),
                                         ends_at=_at(tomorrow, 11), by=anna)
        services.test_drive_close(drive=drive, by=anna, status="done")
        services.opportunity_stage(deal=deal, by=anna, stage="offer")
        services.opportunity_stage(deal=deal, by=anna, stage="order")
        services.delivery_record(deal=deal, by=anna, car=Delivery(
            vin="WVGZZZE2ZNP000901", make="VW", model="ID.4", year=today.year, plate="B-RE 11", delivered_on=today))
        _craft(p1, registered=today - timedelta(days=20), response=timedelta(0),
               ordered_on=today - timedelta(days=10))

        p2 = _prospect(team, "Zwei", source="phone", model="ID.3", answered=False)
        services.contact_log(prospect=p2, by=anna, kind="call", outcome="reached")
        kept = services.opportunity_create(prospect=p2, by=anna, fields={"model": "ID.3"})
        dropped = services.opportunity_create(prospect=p2, by=anna, fields={"model": "Golf GTI"})
        services.opportunity_stage(deal=dropped, by=anna, stage="lost", lost_reason="price", competitor="Skoda")
        services.opportunity_stage(deal=kept, by=anna, stage="test_drive")
        services.opportunity_stage(deal=kept, by=anna, stage="order")
        _craft(p2, registered=today - timedelta(days=15), response=timedelta(minutes=30),
               ordered_on=today - timedelta(days=11))

        p3 = _prospect(team, "Drei", by="boris", source="web_form", rooftop="hamburg", answered=False)
        services.contact_log(prospect=p3, by=boris, kind="call", outcome="reached")
        services.level_change(prospect=p3, by=boris, level="O", note="Signed")
        _craft(p3, registered=today - timedelta(days=25), response=timedelta(hours=3),
               ordered_on=today - timedelta(days=3))

        p4 = _prospect(team, "Vier", by="boris", level="H", source="web_form", answered=False)
        _craft(p4, registered=today - timedelta(days=5))

        p5 = _prospect(team, "Fünf", source="web_form", model="Golf", answered=False)
        services.contact_log(prospect=p5, by=anna, kind="call", outcome="reached")
        services.level_change(prospect=p5, by=anna, level="F", note="Too dear", lost_reason="price",
                              competitor="Toyota")
        _craft(p5, registered=today - timedelta(days=10), response=timedelta(hours=2))

        p6 = _prospect(team, "Sechs", by="boris", source="referral", model="Passat")
        passat = services.opportunity_create(prospect=p6, by=boris, fields={"model": "Passat"})
        services.opportunity_stage(deal=passat, by=boris, stage="lost", lost_reason="competitor",
                                   competitor="toyota ")
        _craft(p6, registered=today - timedelta(days=8), response=timedelta(0))

        p7 = _prospect(team, "Sieben", source="phone", model="Tiguan")
        services.level_change(prospect=p7, by=anna, level="F", note="No loan", lost_reason="price")
        _craft(p7, registered=today - timedelta(days=60), response=timedelta(0))

        p8 = _prospect(team, "Acht", model="T-Roc")
        services.opportunity_create(prospect=p8, by=anna, fields={"model": "T-Roc"})
        services.level_change(prospect=p8, by=anna, level="F", note="Later", lost_reason="postponed",
                              competitor="Kia")
        _craft(p8, registered=today - timedelta(days=50), response=timedelta(0),
               closed_on=today - timedelta(days=45))
        Opportunity.objects.filter(prospect=p8).update(stage_changed_at=_at(today - timedelta(days=45)))
    return {"start": today - timedelta(days=30), "end": today, "p7": p7}


def _report(cast, user_email: str, start: date, end: date, rooftop_id: int | None = None):
    with schema_context(cast.a.schema_name):
        user = User.objects.get(email=user_email)
        scope = report_scope(user, start=start, end=end, rooftop_id=rooftop_id)
        return sales_report(scope), lost_analysis(scope)


def _figures(row) -> tuple:
    return (row.registered, row.contacted, row.test_drive, row.offer, row.ordered, row.delivered, row.lost)


def test_the_funnel_conversion_and_days_to_close_by_their_definitions(cast, team, sales):
    report, _lost = _report(cast, "manager@alpha.test", sales["start"], sales["end"])

    assert _figures(report.total) == (6, 5, 2, 2, 3, 1, 2)
    assert report.total.conversion == 50.0
    assert (report.total.close_median, report.total.close_avg) == (10, 12)
    by = report.dimensions
    assert {row.key: (row.registered, row.ordered, row.conversion) for row in by["source"].rows} == {
        "walk_in": (1, 1, 100.0), "phone": (1, 1, 100.0), "web_form": (3, 1, 33.3), "referral": (1, 0, 0.0)}
    assert [(row.key, row.registered) for row in by["level"].rows] == [("H", 1), ("O", 3), ("F", 2)]
    assert {row.label: (_figures(row), row.close_median) for row in by["salesperson"].rows} == {
        str(team["anna"]): ((3, 3, 2, 2, 2, 1, 1), 7.0),
        "Boris Brandt": ((3, 2, 0, 0, 1, 0, 1), 22.0)}
    assert {row.label: (row.registered, row.ordered) for row in by["rooftop"].rows} == {
        "Alpha Berlin": (5, 2), "Alpha Hamburg": (1, 1)}

    hamburg, _lost = _report(cast, "manager@alpha.test", sales["start"], sales["end"], team["hamburg"].pk)
    assert _figures(hamburg.total) == (1, 1, 0, 0, 1, 0, 0)
    assert hamburg.total.close_median == 22


def test_lead_response_time_median_average_and_within_an_hour(cast, team, sales):
    report, _lost = _report(cast, "manager@alpha.test", sales["start"], sales["end"])

    # Answered: 0, 0, 30 min, 2 h, 3 h; p4 never; within an hour 3 of 6 leads.
    assert report.total.response_median == 1800
    assert report.total.response_avg == pytest.approx((1800 + 7200 + 10800) / 5)
    assert report.total.within_hour_rate == 50.0
    by_source = {row.key: (row.response_median, row.within_hour_rate) for row in report.dimensions["source"].rows}
    assert by_source == {"walk_in": (0, 100.0), "phone": (1800, 100.0), "web_form": (9000, 0.0),
                         "referral": (0, 100.0)}
    by_salesperson = {row.label: (row.response_median, row.within_hour_rate)
                      for row in report.dimensions["salesperson"].rows}
    assert by_salesperson == {str(team["anna"]): (1800, 66.7), "Boris Brandt": (5400, 33.3)}


def test_follow_up_on_time_counts_done_contacts_by_their_due_date(cast, team):
    today = timezone.localdate()
    anna, boris = team["anna"], team["boris"]
    with schema_context(cast.a.schema_name):
        mine = _prospect(team, "Termin", answered=False)
        for _n in range(4):
            services.contact_log(prospect=mine, by=anna, kind="call", outcome="reached")
        theirs = _prospect(team, "Spät", by="boris")  # the registering contact has no due date: not counted
        for _n in range(2):
            services.contact_log(prospect=theirs, by=boris, kind="call", outcome="reached")
        done = list(Contact.objects.filter(prospect=mine, done_at__isnull=False).order_by("pk"))
        crafted = [(today - timedelta(days=5), today - timedelta(days=6)),  # a day late
                   (today - timedelta(days=3), today - timedelta(days=3)),  # on the day
                   (today - timedelta(days=2), today - timedelta(days=1)),  # early
                   (today - timedelta(days=40), today - timedelta(days=41))]  # before the period
        for contact, (done_on, due_by) in zip(done, crafted, strict=True):
            Contact.objects.filter(pk=contact.pk).update(done_at=_at(done_on, 23, 30), due_by=due_by)
        late = Contact.objects.filter(prospect=theirs, done_at__isnull=False, due_by__isnull=False)
        assert late.count() == 2
        late.update(done_at=_at(today - timedelta(days=1)), due_by=today - timedelta(days=4))

    report, _lost = _report(cast, "manager@alpha.test", today - timedelta(days=30), today)

    assert {row.name: (row.on_time, row.done, row.rate) for row in report.follow_up} == {
        str(anna): (2, 3, 66.7), "Boris Brandt": (0, 2, 0.0)}
    assert (report.follow_up_total.on_time, report.follow_up_total.done, report.follow_up_total.rate) == (2, 5, 40.0)


def test_lost_prospects_and_deals_by_reason_competitor_salesperson_source_and_model(cast, team, sales):
    _sales, lost = _report(cast, "manager@alpha.test", sales["start"], sales["end"])
    anna = str(team["anna"])

    prospects = lost.prospects  # p5, p6, p7; p8 was lost before the period
    assert prospects.total == 3
    assert [(share.key, share.count, share.percent) for share in prospects.reasons] == [
        ("price", 2, 66.7), ("competitor", 1, 33.3)]
    assert [(share.label, share.count, share.percent) for share in prospects.competitors] == [("Toyota", 2, 66.7)]
    assert prospects.top_competitor.label == "Toyota"
    assert prospects.competitor_unnamed == 1

    def cells(matrix) -> dict:
        return {row.label: dict(zip((label for _key, label in matrix.columns), row.cells, strict=True))
                for row in matrix.rows}

    reasons = {matrix.key: cells(matrix) for matrix in prospects.by_reason}
    assert reasons["salesperson"] == {anna: {"Price": 2, "Bought from a competitor": 0},
                                      "Boris Brandt": {"Price": 0, "Bought from a competitor": 1}}
    assert reasons["source"] == {"Web form": {"Price": 1, "Bought from a competitor": 0},
                                 "Phone": {"Price": 1, "Bought from a competitor": 0},
                                 "Referral": {"Price": 0, "Bought from a competitor": 1}}
    assert reasons["model"] == {"Golf": {"Price": 1, "Bought from a competitor": 0},
                                "Tiguan": {"Price": 1, "Bought from a competitor": 0},
                                "Passat": {"Price": 0, "Bought from a competitor": 1}}
    competitors = {matrix.key: cells(matrix) for matrix in prospects.by_competitor}
    assert competitors["salesperson"] == {anna: {"Toyota": 1, "Not named": 1},
                                          "Boris Brandt": {"Toyota": 1, "Not named": 0}}

    deals = lost.deals  # p2's second deal and p6's deal; p8's deal was lost before the period
    assert deals.total == 2
    assert {share.key: share.percent for share in deals.reasons} == {"price": 50.0, "competitor": 50.0}
    assert {share.label: share.count for share in deals.competitors} == {"Skoda": 1, "toyota": 1}
    deal_reasons = {matrix.key: cells(matrix) for matrix in deals.by_reason}
    assert deal_reasons["model"] == {"Golf GTI": {"Price": 1, "Bought from a competitor": 0},
                                     "Passat": {"Price": 0, "Bought from a competitor": 1}}
    assert deal_reasons["salesperson"] == {anna: {"Price": 1, "Bought from a competitor": 0},
                                           "Boris Brandt": {"Price": 0, "Bought from a competitor": 1}}
    assert [prospect.person.family_name for prospect in lost.recent] == ["Sieben", "Sechs", "Fünf"]


def test_the_pages_show_the_figures_to_a_manager(cast, team, sales):
    client = cast.signed_in(cast.a, "manager@alpha.test")
    period = {"start": sales["start"].isoformat(), "end": sales["end"].isoformat()}

    page = client.get(REPORTS, period)
    assert page.status_code == 200
    assert page.context["report"].total.registered == 6
    assert page.context["active_module"] == "sales"
    assert "Boris Brandt" in page.text and "50.0%" in page.text

    lost = client.get(LOST, period)
    assert lost.status_code == 200
    assert "Toyota" in lost.text and "Skoda" in lost.text
    assert f'href="/crm/sales/prospects/{sales["p7"].pk}/"' in lost.text

    default = client.get(REPORTS)
    assert (default.context["scope"].start, default.context["scope"].end) == (
        timezone.localdate() - timedelta(days=89), timezone.localdate())
    assert default.context["report"].total.registered == 8  # p7 and p8 too: inside the last 90 days

    backwards = client.get(REPORTS, {"start": period["end"], "end": period["start"]})
    assert backwards.status_code == 200 and "The period starts before it ends." in backwards.text


def test_a_salesperson_sees_only_their_own_prospects(cast, team, sales):
    client = cast.signed_in(cast.a, cast.a_salesperson)
    period = {"start": sales["start"].isoformat(), "end": sales["end"].isoformat()}

    page = client.get(REPORTS, period)
    report = page.context["report"]
    assert _figures(report.total) == (3, 3, 2, 2, 2, 1, 1)
    assert [row.label for row in report.dimensions["salesperson"].rows] == [str(team["anna"])]
    assert "Boris" not in page.text

    lost = client.get(LOST, period)
    assert (lost.context["lost"].prospects.total, lost.context["lost"].deals.total) == (2, 1)
    assert "Boris" not in lost.text and "Sechs" not in lost.text


def test_other_roles_are_refused_and_anonymous_visitors_sent_to_sign_in(cast, team):
    advisor = cast.signed_in(cast.a, "advisor@alpha.test")
    anonymous = cast.client(cast.a)

    for url in (REPORTS, LOST):
        assert advisor.get(url).status_code == 403
        response = anonymous.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_another_dealer_group_sees_nothing_of_this_one(cast, team, sales):
    other = cast.signed_in(cast.b, cast.b_admin)

    page = other.get(REPORTS)
    assert page.status_code == 200 and page.context["report"].total.registered == 0
    lost = other.get(LOST)
    assert (lost.context["lost"].prospects.total, lost.context["lost"].deals.total) == (0, 0)
    assert "Toyota" not in lost.text and "Boris" not in lost.text


def test_the_reports_cost_the_same_queries_for_one_prospect_or_many(cast, team):
    client = cast.signed_in(cast.a, "manager@alpha.test")
    with schema_context(cast.a.schema_name):
        first = _prospect(team, "Einzeln", model="ID.4")
        services.level_change(prospect=first, by=team["anna"], level="F", note="Gone", lost_reason="price",
                              competitor="Toyota")
    client.get(REPORTS)
    client.get(LOST)
    with CaptureQueriesContext(connection) as small_report:
        client.get(REPORTS)
    with CaptureQueriesContext(connection) as small_lost:
        client.get(LOST)

    with schema_context(cast.a.schema_name):
        sources = ("walk_in", "phone", "web_form", "referral", "event")
        for n in range(25):
            prospect = _prospect(team, f"Viele {n}", by=("anna", "boris")[n % 2], source=sources[n % 5],
                                 model=("ID.3", "ID.4", "Golf")[n % 3], rooftop=("berlin", "hamburg")[n % 2],
                                 answered=n % 3 != 0)
            deal = services.opportunity_create(prospect=prospect, by=team["anna"], fields={"model": "ID.3"})
            if n % 4 == 0:
                services.opportunity_stage(deal=deal, by=team["anna"], stage="order")
            elif n % 4 == 1:
                services.level_change(prospect=prospect, by=team["anna"], level="F", note="Gone",
                                      lost_reason=("price", "competitor", "financing")[n % 3],
                                      competitor=("Toyota", "Kia", "")[n % 3])
            else:
                services.contact_log(prospect=prospect, by=team["anna"], kind="call", outcome="reached")
    with CaptureQueriesContext(connection) as large_report:
        page = client.get(REPORTS)
    with CaptureQueriesContext(connection) as large_lost:
        lost = client.get(LOST)

    assert page.context["report"].total.registered == 26 and lost.context["lost"].prospects.total == 7
    assert len(large_report) == len(small_report) <= 15, [query["sql"][:120] for query in large_report]
    assert len(large_lost) == len(small_lost) <= 12, [query["sql"][:120] for query in large_lost]
