"""The demo: two dealer groups in different languages, a user per role, idempotent."""

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from wagtail.models import Site

from accounts.models import StaffRole, User
from crm.customers.models import Company, CompanyContact, Household, ImportJob, Person, TimelineEntry
from crm.dealerships.models import Rooftop
from crm.loyalty.models import Membership
from crm.loyalty.selectors import card
from crm.marketing.models import Automation, Campaign, Event, EventInvitation, MessageTemplate, Segment
from crm.marketing.segments import segment_people
from crm.sales.models import CareTask, Contact, Prospect, TestDrive, TransferRequest
from crm.service.models import Appointment, DeclinedRecommendation, ServiceVisit, Slot
from portal.models import CustomerLink, VehicleClaim
from tenants.management.commands.seed_demo import DEMO_PASSWORD
from tenants.models import DealerGroup, KpiSnapshot

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_two_groups_with_staff_for_every_role_and_is_idempotent(cast, capsys):
    call_command("seed_demo", force=True)
    call_command("seed_demo", force=True)
    printed = capsys.readouterr().out

    assert "Operator console" in printed and "operator@platform.demo" in printed
    operator = Client(HTTP_HOST=settings.APP_DOMAIN)
    assert operator.post("/accounts/login/", {"login": "operator@platform.demo", "password": DEMO_PASSWORD}
                         ).status_code == 302
    console = operator.get("/operator/")
    assert console.status_code == 200 and "Волга Моторс" in console.text

    volga = DealerGroup.objects.get(slug="volga")
    huaxia = DealerGroup.objects.get(slug="huaxia")
    assert (volga.default_language, huaxia.default_language) == ("ru", "zh-hans")
    # The operator console's figures are right: the rooftops each group has, MRR for the active one.
    assert (volga.rooftops_paid, huaxia.rooftops_paid) == (2, 1)
    assert volga.mrr_cents == volga.plan.monthly_price * 2 and huaxia.mrr_cents == 0  # huaxia is on trial
    with schema_context(volga.schema_name):
        assert Rooftop.objects.count() == 2
        # Every role, and a second salesperson so leads take turns.
        assert sorted(User.objects.exclude(role="").values_list("role", flat=True)) == sorted(
            [*StaffRole.values, StaffRole.SALESPERSON])
        assert User.objects.filter(role="").count() == 1  # the car owner
        home = Site.objects.get(is_default_site=True).root_page.specific
        assert home.title == "Волга Моторс"
        assert "Добро пожаловать" in home.intro
        assert Person.objects.count() == 120  # once, not twice
        assert Person.objects.filter(phones__number__startswith="+7").distinct().count() > 100
        assert Person.objects.filter(vehicle_links__isnull=False).distinct().count() == 120
        assert Household.objects.count() == 12
        assert Company.objects.filter(vehicle_links__kind="owner").distinct().count() == 3
        assert CompanyContact.objects.filter(role="user", vehicles__isnull=False).count() == 6
        assert Slot.objects.filter(starts_at__gte=timezone.now()).exists()  # the calendar has room to book
        assert ServiceVisit.objects.filter(status="closed").count() >= 40
        assert ServiceVisit.objects.filter(repeat_of__isnull=False).exists()
        assert DeclinedRecommendation.objects.exists()
        # Sales: prospects at every worked level, overdue plans, a delivery with its care plan, a loss.
        assert set(Prospect.objects.values_list("level", flat=True)) >= {"H", "A", "B", "C", "O", "F"}
        assert Contact.objects.filter(done_at__isnull=True, due_by__lt=timezone.localdate()).exists()
        assert CareTask.objects.count() == 4 and TestDrive.objects.count() == 1
        assert TransferRequest.objects.filter(status="pending").count() == 1
        # Marketing: a template in three languages, a draft campaign, this month's buyers invited.
        assert MessageTemplate.objects.get(name="Весенний осмотр").texts.count() == 3
        assert Campaign.objects.get().status == "draft"
        lapsed = Segment.objects.get(name="Давно не были в сервисе")
        assert segment_people(lapsed).exists()  # the demo has someone to win back
        assert Segment.objects.get(kind="list").members.count() == segment_people(lapsed).count()
        assert set(Automation.objects.values_list("trigger", flat=True)) >= {"visit_closed", "no_visit", "birthday"}
        assert EventInvitation.objects.filter(event__kind="second_delivery").count() >= 1
        # The club: the demo owner is a member with points and a voucher, and a club evening is coming.
        owner_card = card(CustomerLink.objects.get(user__email="owner@volga.demo").person_id)
        assert owner_card.balance > 0 and len(owner_card.vouchers) == 1
        assert Membership.objects.count() == 21 and Event.objects.filter(kind="club").count() == 2  # the summer's
        assert EventInvitation.objects.filter(event__kind="club", checked_in_at__isnull=False).exists()
        assert VehicleClaim.objects.filter(user__email="owner@volga.demo", confirmed_at__isnull=False).exists()
    with schema_context(huaxia.schema_name):
        assert Rooftop.objects.count() == 1
        assert User.objects.count() == len(StaffRole.values) + 2
        assert "欢迎" in Site.objects.get(is_default_site=True).root_page.specific.intro

    # HQ: both groups share with the demo brand, two years of snapshots, and its analyst sees them.
    assert KpiSnapshot.objects.filter(dealer_group=volga, period="month", rooftop_id=None).count() >= 24
    analyst = Client(HTTP_HOST=settings.APP_DOMAIN)
    analyst.post("/accounts/login/", {"login": "analyst@brand.demo", "password": "demo-pass-2026"})
    dashboard = analyst.get("/hq/").text
    assert volga.name in dashboard and huaxia.name in dashboard

    assert "http://volga.localhost:8000/crm/" in printed
    assert "dealer.admin@huaxia.demo" in printed
    assert "demo-pass-2026" in printed


def test_seed_demo_refuses_to_run_without_debug(cast):
    with pytest.raises(CommandError, match="refusing"):
        call_command("seed_demo")

    assert not DealerGroup.objects.filter(slug="volga").exists()


def test_seed_demo_fills_in_what_is_missing_from_an_existing_group(cast):
    call_command("seed_demo", force=True)
    volga = DealerGroup.objects.get(slug="volga")
    with schema_context(volga.schema_name):
        User.objects.filter(role=StaffRole.SALESPERSON).delete()
        TestDrive.objects.all().delete()  # a demo car's test drives keep it (and its rooftop) from deletion
        Appointment.objects.all().delete()  # so do the workshop's appointments
        Rooftop.objects.filter(city="Самара").delete()

    call_command("seed_demo", force=True)

    with schema_context(volga.schema_name):
        assert User.objects.filter(role=StaffRole.SALESPERSON).count() == 1
        assert Rooftop.objects.filter(city="Самара").count() == 1


def _month(group: DealerGroup, start: date) -> KpiSnapshot:
    return KpiSnapshot.objects.get(dealer_group=group, period="month", rooftop_id=None, period_start=start)


@time_machine.travel(datetime(2026, 12, 7, 8, tzinfo=UTC), tick=False)  # Monday, 11:00 in Kazan, for the whole test
def test_the_demo_tells_two_years_of_two_different_groups_in_their_own_words(cast):
    call_command("seed_demo", force=True)
    volga, huaxia = DealerGroup.objects.get(slug="volga"), DealerGroup.objects.get(slug="huaxia")

    # Every month of the two years has figures: customers, visits, satisfaction (the group went live two years ago).
    assert KpiSnapshot.objects.filter(dealer_group=volga, period="month", rooftop_id=None).count() >= 24
    for group in (volga, huaxia):
        for month in (date(2025, 1, 1), date(2025, 12, 1), date(2026, 10, 1)):
            figures = _month(group, month)
            assert figures.customers > 40 and figures.visits > 0, (group.slug, month)
        year = KpiSnapshot.objects.filter(dealer_group=group, period="month", rooftop_id=None,
                                          period_start__gte=date(2025, 12, 1))
        assert sum(row.visits for row in year) > 60
        assert sum(row.csi is not None and row.nps is not None for row in year) >= 10  # answers nearly every month
    # Two groups, two characters: Volga's customers are happier and its leads answered sooner; Huaxia is smaller.
    volga_year = [_month(volga, date(2026, month, 1)) for month in range(1, 12)]
    huaxia_year = [_month(huaxia, date(2026, month, 1)) for month in range(1, 12)]
    assert sum(row.nps for row in volga_year) > sum(row.nps for row in huaxia_year)
    assert _month(volga, date(2026, 11, 1)).customers > _month(huaxia, date(2026, 11, 1)).customers
    # Money in each group's currency: a workshop visit costs thousands of roubles, hundreds of yuan.
    assert 5_000 < _month(volga, date(2026, 6, 1)).average_ticket < 150_000
    assert 200 < _month(huaxia, date(2026, 6, 1)).average_ticket < 12_000
    # Customers agreed to e-mails, read the newsletters, came to the club's evening, had their contacts confirmed.
    november = _month(volga, date(2026, 11, 1))
    assert november.club_participation > 50 and november.stale_contacts < 50
    assert _month(volga, date(2026, 10, 1)).campaign_response > 0
    assert _month(huaxia, date(2026, 3, 1)).campaign_response > 0

    with schema_context(volga.schema_name):
        # The owner's account and the customer record it is linked to carry one name.
        link = CustomerLink.objects.select_related("user", "person").get(user__email="owner@volga.demo")
        assert (link.user.first_name, link.user.last_name) == (link.person.given_name, link.person.family_name)
        # Club evenings at 19:00 where they happen, whatever the server's time zone.
        club_evening = Event.objects.select_related("rooftop").get(kind="club", starts_at__gt=timezone.now())
        assert club_evening.starts_at.astimezone(ZoneInfo(club_evening.rooftop.timezone)).time() == time(19)
        # What staff named is in the group's language, and no Faker Latin anywhere.
        names = [name for model in (Segment, Automation, Campaign, MessageTemplate, Event)
                 for name in model.objects.values_list("name", flat=True)]
        assert names and all(re.search("[а-яё]", name, re.IGNORECASE) for name in names), names
        assert not DeclinedRecommendation.objects.filter(description__regex="^[A-Za-z ]+$").exists()
        # A customer's history goes back two years: repair orders on the timeline as events, worded in Russian.
        assert ServiceVisit.objects.filter(closed_on__lt=date(2025, 3, 1)).exists()
        assert TimelineEntry.objects.filter(event="visit", occurred_at__lt=datetime(2025, 3, 1, tzinfo=UTC)).exists()
        assert Prospect.objects.filter(level="O", closed_on__lt=date(2026, 1, 1)).exists()
        # They came with the DMS export two years ago: a finished import whose lines name them (first steps done).
        go_live = ImportJob.objects.get(status="done")
        assert go_live.created_at.date() < date(2024, 12, 15) and go_live.rows.filter(person__isnull=False).count() > 60
        assert Prospect.objects.filter(level="F", closed_on__lt=date(2026, 1, 1)).exclude(lost_reason="").exists()
        # The workshop calendar at 11:00: the first cars done, some in the workshop, the afternoon booked.
        kazan = Rooftop.objects.get(city="Казань")
        today = Appointment.objects.filter(rooftop=kazan, slot__starts_at__date=date(2026, 12, 7))
        assert set(today.values_list("status", flat=True)) >= {"done", "booked", "confirmed"}
        assert today.filter(status__in=["arrived", "in_progress"]).exists()
        assert Appointment.objects.filter(rooftop=kazan, slot__starts_at__date=date(2026, 12, 8)).count() >= 5
    with schema_context(huaxia.schema_name):
        assert Person.objects.count() == 80
        assert ServiceVisit.objects.filter(lines__description__contains="保养").exists()
        assert all(re.search("[\u4e00-\u9fff]", name) for name in Segment.objects.values_list("name", flat=True))
