"""The demo: two dealer groups in different languages, a user per role, idempotent."""

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from wagtail.models import Site

from accounts.models import StaffRole, User
from crm.customers.models import Company, CompanyContact, Household, Person
from crm.dealerships.models import Rooftop
from crm.loyalty.models import Membership
from crm.loyalty.selectors import card
from crm.marketing.models import Automation, Campaign, Event, EventInvitation, MessageTemplate, Segment
from crm.marketing.segments import segment_people
from crm.sales.models import CareTask, Contact, Prospect, TestDrive, TransferRequest
from crm.service.models import DeclinedRecommendation, ServiceVisit, Slot
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
        assert MessageTemplate.objects.get(name="Spring check").texts.count() == 3
        assert Campaign.objects.get().status == "draft"
        lapsed = Segment.objects.get(name="Lapsed owners")
        assert segment_people(lapsed).exists()  # the demo has someone to win back
        assert Segment.objects.get(kind="list").members.count() == segment_people(lapsed).count()
        assert set(Automation.objects.values_list("trigger", flat=True)) >= {"visit_closed", "no_visit", "birthday"}
        assert EventInvitation.objects.filter(event__kind="second_delivery").count() >= 1
        # The club: the demo owner is a member with points and a voucher, and a club evening is coming.
        owner_card = card(CustomerLink.objects.get(user__email="owner@volga.demo").person_id)
        assert owner_card.balance > 0 and len(owner_card.vouchers) == 1
        assert Membership.objects.count() == 21 and Event.objects.filter(kind="club").count() == 1
        assert VehicleClaim.objects.filter(user__email="owner@volga.demo", confirmed_at__isnull=False).exists()
    with schema_context(huaxia.schema_name):
        assert Rooftop.objects.count() == 1
        assert User.objects.count() == len(StaffRole.values) + 2
        assert "欢迎" in Site.objects.get(is_default_site=True).root_page.specific.intro

    # HQ: both groups share with the demo brand, six months of snapshots, and its analyst sees them.
    assert KpiSnapshot.objects.filter(dealer_group=volga, period="month", rooftop_id=None).count() >= 6
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
        Rooftop.objects.filter(city="Самара").delete()

    call_command("seed_demo", force=True)

    with schema_context(volga.schema_name):
        assert User.objects.filter(role=StaffRole.SALESPERSON).count() == 1
        assert Rooftop.objects.filter(city="Самара").count() == 1
