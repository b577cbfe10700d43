"""HQ's dashboard: an HQ sees only the dealer groups that share with it (and after a group stops, only the
periods before), sorted and filtered, with quartiles and outliers, a CSV, a drill-down to rooftops; an
analyst reaches no dealer group's host; a dealer admin chooses whom to share with."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import User
from tenants.hq.services import share_grant, share_withdraw
from tenants.models import DealerGroup, HqAnalyst, HqOrganisation, HqShare, KpiSnapshot
from tests.conftest import confirmed_step

pytestmark = pytest.mark.django_db

MONTH = date(2026, 10, 1)


def _snapshot(group: DealerGroup, retention: str, *, month: date = MONTH, rooftop_id: int | None = None):
    return KpiSnapshot.objects.create(
        dealer_group=group, rooftop_id=rooftop_id, period="month", period_start=month,
        period_end=month + timedelta(days=30), computed_at=timezone.now(), customers=Decimal(100),
        retention_rate=Decimal(retention), visits=Decimal(40))


@pytest.fixture
def brand(cast):
    organisation = HqOrganisation.objects.create(name="Brand HQ", kind="brand")
    analyst = User.objects.create_user("analyst@brand.test", cast.password)
    HqAnalyst.objects.create(user=analyst, organisation=organisation)
    share_grant(dealer_group=cast.a, organisation=organisation, by_email=cast.a_admin)
    _snapshot(cast.a, "61.50")
    _snapshot(cast.a, "70.00", rooftop_id=7)
    _snapshot(cast.b, "99.00")  # B shares with nobody
    client = Client(HTTP_HOST=settings.APP_DOMAIN)
    assert client.post("/accounts/login/", {"login": "analyst@brand.test", "password": cast.password}).url == "/hq/"
    return {"organisation": organisation, "client": client}


def test_an_hq_sees_only_the_groups_that_share_with_it(cast, brand):
    page = brand["client"].get("/hq/")
    assert page.status_code == 200
    assert cast.a.name in page.text and cast.b.name not in page.text and "61.5" in page.text
    assert "Retention, %" in page.text and "retention_rate</a>" not in page.text  # named, not keyed
    assert brand["client"].get(f"/hq/groups/{cast.b.pk}/").status_code == 404
    detail = brand["client"].get(f"/hq/groups/{cast.a.pk}/?month={MONTH.isoformat()}")
    assert "Rooftop 7" in detail.text and "70" in detail.text
    exported = brand["client"].get("/hq/export.csv").content.decode("utf-8-sig")  # with a BOM, for Excel
    assert exported.splitlines()[0].startswith("dealer_group,country,plan,month,customers")
    assert cast.a.name in exported and cast.b.name not in exported and len(exported.splitlines()) == 2

    other = HqOrganisation.objects.create(name="Importer", kind="importer")
    User.objects.create_user("analyst@importer.test", cast.password)
    HqAnalyst.objects.create(user=User.objects.get(email="analyst@importer.test"), organisation=other)
    importer = Client(HTTP_HOST=settings.APP_DOMAIN)
    importer.post("/accounts/login/", {"login": "analyst@importer.test", "password": cast.password})
    assert cast.a.name not in importer.get("/hq/").text  # A shares with the brand only


def test_stopping_ends_the_sharing_from_that_day(cast, brand):
    share = HqShare.objects.get(dealer_group=cast.a)
    _snapshot(cast.a, "65.00", month=date(2026, 11, 1))
    HqShare.objects.filter(pk=share.pk).update(granted_at=timezone.now() - timedelta(days=90))
    share_withdraw(share=share, by_email=cast.a_admin)
    HqShare.objects.filter(pk=share.pk).update(withdrawn_at=timezone.make_aware(
        timezone.datetime(2026, 11, 15)))
    months = brand["client"].get("/hq/").context["months"]
    assert months == [MONTH]  # October ended before; November's row runs past the day they stopped


def test_sorting_filters_quartiles_and_outliers(cast, brand):
    for number, retention in enumerate(["60.00", "62.00", "63.00", "99.90"]):
        group = DealerGroup.objects.create(name=f"Peer {number}", slug=f"peer{number}", country="FR",
                                           schema_name=f"t_peer{number}")
        share_grant(dealer_group=group, organisation=brand["organisation"], by_email="admin@peer.test")
        _snapshot(group, retention)
    page = brand["client"].get("/hq/?sort=retention_rate&dir=desc")
    names = [row.dealer_group.name for row, _cells in page.context["table"]]
    assert names[0] == "Peer 3" and names[-1] == "Peer 0"
    stats = dict(page.context["stats"])["retention_rate"]
    assert stats.median == Decimal("62.00")
    flagged = {row.dealer_group.name for row, cells in page.context["table"]
               for kpi, _value, outlier in cells if kpi == "retention_rate" and outlier}
    assert flagged == {"Peer 3"}  # 99.9 % retention among peers at about 62 %: check it
    french = brand["client"].get("/hq/?country=fr").context["table"]
    assert {row.dealer_group.country for row, _cells in french} == {"FR"}

    KpiSnapshot.objects.filter(dealer_group__name="Peer 1", rooftop_id__isnull=True).update(customers=25_000)
    large = brand["client"].get("/hq/?size=l").context["table"]
    assert [row.dealer_group.name for row, _cells in large] == ["Peer 1"]
    small = brand["client"].get("/hq/?size=s&country=FR").context["table"]
    assert [row.dealer_group.name for row, _cells in small] == ["Peer 0", "Peer 2", "Peer 3"]
    assert len(brand["client"].get("/hq/?size=nonsense").context["table"]) == 5  # an unknown band filters nothing


def test_an_analyst_reaches_no_dealer_groups_data(cast, brand):
    tenant = Client(HTTP_HOST=cast.a.primary_host)
    refused = tenant.post("/accounts/login/", {"login": "analyst@brand.test", "password": cast.password})
    assert refused.status_code == 200 and "_auth_user_id" not in tenant.session  # no such user in A
    assert brand["client"].get("/crm/").status_code == 404  # the platform's host has no CRM
    assert cast.signed_in(cast.a, cast.a_admin).get("/hq/").status_code == 404  # nor a dealer's host an HQ
    assert Client(HTTP_HOST=settings.APP_DOMAIN).get("/hq/").status_code == 302  # sign in first


def test_the_dealer_admin_chooses_whom_to_share_with(cast):
    organisation = HqOrganisation.objects.create(name="Head office", kind="head_office")
    admin = cast.signed_in(cast.a, cast.a_admin)
    assert "Head office" in admin.get("/hq-sharing/").text
    admin.post("/hq-sharing/", {"organisation": organisation.pk})
    share = HqShare.objects.get(dealer_group=cast.a, organisation=organisation, withdrawn_at__isnull=True)
    assert share.granted_by == cast.a_admin
    again = admin.post("/hq-sharing/", {"organisation": organisation.pk}, follow=True)
    assert "already share" in again.text
    action, fields = confirmed_step(admin.get("/hq-sharing/").text, "Stop sharing")
    admin.post(action, fields)
    assert HqShare.objects.get(pk=share.pk).withdrawn_at is not None
    assert cast.signed_in(cast.a, cast.a_salesperson).get("/hq-sharing/").status_code == 403
    bravo = cast.signed_in(cast.b, cast.b_admin)
    assert bravo.post("/hq-sharing/", {"withdraw": share.pk}).status_code == 404  # not B's share


def test_a_near_perfect_csi_with_signs_of_fabrication_is_flagged(cast, brand):
    KpiSnapshot.objects.filter(dealer_group=cast.a, rooftop_id=None).update(csi=Decimal("4.95"),
                                                                          survey_integrity=Decimal("40.00"))
    cells = brand["client"].get("/hq/").context["table"][0][1]
    assert [kpi for kpi, _value, flagged in cells if flagged] == ["csi"]


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example","Click")', "+1+2", "-2+3", "@SUM(A1)",
                                  "\t=1+1", "\r=1+1"])
def test_the_csv_makes_a_formula_like_group_name_text_and_keeps_numbers_numbers(cast, brand, name):
    DealerGroup.objects.filter(pk=cast.a.pk).update(name=name)  # names are chosen by whoever signs up
    KpiSnapshot.objects.filter(dealer_group=cast.a, rooftop_id__isnull=True).update(nps=Decimal("-12.50"))

    body = brand["client"].get("/hq/export.csv").content.decode("utf-8-sig")

    header, row = csv.reader(io.StringIO(body))
    assert header[0] == "dealer_group"
    assert row[0] == "'" + name
    assert row[header.index("nps")] == "-12.50"  # a negative figure stays a number


def test_sharing_answers_a_posted_id_that_is_not_one_with_not_found(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)

    withdrawn = admin.post("/hq-sharing/", {"withdraw": "x1"})
    granted = admin.post("/hq-sharing/", {"organisation": "1 OR 1"})

    assert withdrawn.status_code == 404 and granted.status_code == 404


def test_money_carries_its_currency_and_different_currencies_get_no_quartiles(cast, brand):
    KpiSnapshot.objects.filter(dealer_group=cast.a, rooftop_id=None).update(average_ticket=Decimal("310.50"))
    KpiSnapshot.objects.filter(dealer_group=cast.b, rooftop_id=None).update(average_ticket=Decimal("18400"))
    one_currency = brand["client"].get("/hq/")
    assert '310.50 <small class="muted">EUR</small>' in one_currency.text
    assert "in each group's own currency" not in one_currency.text

    share_grant(dealer_group=cast.b, organisation=brand["organisation"], by_email=cast.b_admin)
    page = brand["client"].get("/hq/")

    assert '18,400 <small class="muted">RUB</small>' in page.text  # grouped the reader's way
    assert '310.50 <small class="muted">EUR</small>' in page.text
    assert dict(page.context["stats"])["average_ticket"] is None  # no EUR-and-RUB median
    assert page.context["mixed_currencies"] and "in each group's own currency" in page.text


def test_the_chart_has_its_axes_month_labels_and_every_point_for_screen_readers(cast, brand):
    month = MONTH
    for retention in ("55.00", "58.00", "57.00", "60.00", "62.00", "64.00", "63.00", "66.00"):  # eight months to Oct
        month = (month.replace(day=1) - timedelta(days=1)).replace(day=1)
        _snapshot(cast.a, retention, month=month)
    page = brand["client"].get("/hq/", {"chart": "retention_rate"})
    chart = page.context["chart"]
    assert (chart["low"], chart["high"]) == (55.0, 66.0)
    labelled = [day for day, shown in chart["months"] if shown]
    assert len(chart["months"]) == 9 and len(labelled) <= 6 and chart["months"][-1] == (MONTH, True)
    text = page.content.decode()
    assert '<div class="chart__y" aria-hidden="true"><span>66</span>' in text  # the top of the axis
    assert "Oct 26" in text and "<td>October 2026</td><td>61.50</td>" in text  # a month label; the point as a row


def test_the_dashboard_and_compare_open_on_the_latest_complete_month(cast, brand):
    _snapshot(cast.a, "64.00", month=date(2026, 11, 1))
    _snapshot(cast.a, "12.00", month=date(2026, 12, 1))  # December so far: a week of figures
    with time_machine.travel(datetime(2026, 12, 7, 9, tzinfo=UTC), tick=False):
        page = brand["client"].get("/hq/")
        compared = cast.signed_in(cast.a, cast.a_admin).get("/compare/")
    assert page.context["month"] == date(2026, 11, 1) and "64" in page.text
    assert "December 2026" in page.text  # still offered in the month list
    assert compared.context["month"] == date(2026, 11, 1)
    with time_machine.travel(datetime(2027, 1, 3, 9, tzinfo=UTC), tick=False):  # December is complete now
        analyst = Client(HTTP_HOST=settings.APP_DOMAIN)
        analyst.post("/accounts/login/", {"login": "analyst@brand.test", "password": cast.password})
        assert analyst.get("/hq/").context["month"] == date(2026, 12, 1)
