"""KPI definitions on crafted data: each figure as docs/kpis.md defines it, per rooftop and for the group,
rooftops adding up to the group; rates from their parts."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from crm.analytics.kpis import KPI_KEYS, kpis_compute
from crm.customers.models import DuplicateCandidate, Person, Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.dealerships.models import Rooftop
from crm.loyalty.services import club_join, club_leave
from crm.sales.models import Opportunity, Prospect, Source, Stage
from crm.service.models import ServiceVisit

pytestmark = pytest.mark.django_db


def _customer(name: str, rooftop: Rooftop, *, phone: bool = True) -> Person:
    return person_create(by=None, fields={"family_name": name, "rooftop": rooftop},
                         phones=["+49 151 1000" + str(abs(hash(name)) % 10000).zfill(4)] if phone else [])


def _car(person: Person, visit_on: date | None = None, amount: str = "0") -> Vehicle:
    car = Vehicle.objects.create(make="VW", model="Golf")
    VehicleLink.objects.create(vehicle=car, person=person, kind="owner")
    if visit_on:
        ServiceVisit.objects.create(vehicle=car, person=person, rooftop=person.rooftop, status="closed",
                                    opened_on=visit_on, closed_on=visit_on, total_amount=Decimal(amount))
    return car


def test_each_kpi_on_crafted_data_per_rooftop_and_for_the_group(cast):
    today = timezone.localdate()
    start, end = today.replace(day=1), today
    with schema_context(cast.a.schema_name):
        berlin, hamburg = Rooftop.objects.get(name="Alpha Berlin"), Rooftop.objects.get(name="Alpha Hamburg")
        anna, ben = _customer("Anna", berlin), _customer("Ben", berlin, phone=False)
        carl = _customer("Carl", hamburg)
        _car(anna, visit_on=start, amount="300.00")
        _car(ben)  # held, no visit: not retained
        _car(carl, visit_on=start, amount="500.00")
        _car(carl, visit_on=start - timedelta(days=400), amount="80.00")  # a visit too long ago
        gone = _customer("Gone", hamburg)
        Person.objects.filter(pk=gone.pk).update(archived_at=timezone.now())

        def prospect(person, **fields):
            return Prospect.objects.create(person=person, rooftop=person.rooftop, registered_on=start, **fields)

        prospect(anna, level="H")
        won = prospect(ben, level="O", closed_on=start)
        prospect(carl, level="F", lost_reason="price", closed_on=start)
        friend = _customer("Friend", berlin)
        referral = prospect(friend, level="B", source=Source.REFERRAL, referrer=anna)
        Prospect.objects.filter(pk=referral.pk).update(first_response_at=referral.created_at + timedelta(hours=3))
        Opportunity.objects.create(prospect=referral, model="ID.4", probability=100, stage=Stage.DELIVERED,
                                   stage_changed_at=timezone.now(), delivered_on=start)
        club_join(person=anna, accepted_terms=True, by=None, source="test")
        club_join(person=carl, accepted_terms=True, by=None, source="test")
        club_leave(person=carl, by=None)
        DuplicateCandidate.objects.create(person_a=anna, person_b=friend, confidence=0.9)

        figures = kpis_compute(start=start, end=end)

    group, b, h = figures[None], figures[berlin.pk], figures[hamburg.pk]
    assert set(group) == set(KPI_KEYS)
    assert (b["customers"], h["customers"], group["customers"]) == (3, 1, 4)  # Gone is archived
    assert (b["active_vehicles"], h["active_vehicles"], group["active_vehicles"]) == (2, 2, 4)
    assert (b["retention_rate"], h["retention_rate"], group["retention_rate"]) == (50, 50, 50)
    assert (b["visits"], h["visits"], group["visits"]) == (1, 1, 2)
    assert (b["average_ticket"], group["average_ticket"]) == (Decimal("300.00"), Decimal("400.00"))
    assert (b["prospects_h"], b["prospects_b"], group["prospects_a"]) == (1, 1, 0)
    assert (b["conversion"], h["conversion"], group["conversion"]) == (100, 0, 50)
    assert group["lead_response_hours"] == Decimal("3.00")
    assert (b["club_members"], h["club_members"], group["club_members"]) == (1, 0, 1)  # Carl has left
    assert (group["referrals"], group["referral_conversion"]) == (1, 100)
    assert (b["data_completeness"], group["data_completeness"]) == (Decimal("66.67"), 75)  # Ben has no phone
    assert group["duplicate_rate"] == 25 and b["duplicate_rate"] is None
    assert won.level == "O"


def test_an_empty_dealer_group_has_counts_of_zero_and_no_rates(cast):
    with schema_context(cast.b.schema_name):
        group = kpis_compute(start=date(2026, 1, 1), end=date(2026, 1, 31))[None]
    assert group["customers"] == 0 and group["visits"] == 0
    assert group["retention_rate"] is None and group["average_ticket"] is None and group["conversion"] is None


def test_every_kpi_has_its_one_written_definition_in_the_docs():
    from pathlib import Path

    from crm.analytics.kpis import KPIS

    written = (Path(__file__).resolve().parents[2] / "docs" / "kpis.md").read_text(encoding="utf-8")
    for kpi in KPIS:
        assert f"| `{kpi.key}` | {kpi.unit} | {kpi.definition} |" in written, kpi.key


def test_survey_reminder_follow_up_club_campaign_and_stale_kpis(cast):
    from crm.loyalty.services import club_join
    from crm.marketing.models import Event, EventInvitation, Message
    from crm.sales.models import Contact
    from crm.service.models import Reminder
    from crm.surveys.models import Answer, Invitation

    today = timezone.localdate()
    start, end = today.replace(day=1), today
    now = timezone.now()
    with schema_context(cast.a.schema_name):
        berlin = Rooftop.objects.get(name="Alpha Berlin")
        anna, ben = _customer("Anna", berlin), _customer("Ben", berlin)
        for n, (satisfaction, recommend, signals) in enumerate([(5, 10, []), (5, 9, ["too_fast"]), (2, 3, [])]):
            invitation = Invitation.objects.create(kind="csi_service", person=anna, rooftop=berlin, source_ref=f"t:{n}",
                                                   token_hash=f"{n}" * 64, expires_at=now + timedelta(days=14))
            Answer.objects.create(invitation=invitation, satisfaction=satisfaction, recommend=recommend,
                                  signals=signals)
        for person, came_back in ((anna, True), (ben, False)):
            Reminder.objects.create(kind="maintenance", person=person, due_on=start, period="p", status="sent",
                                    sent_at=now)
            if came_back:
                _car(person, visit_on=today)
        prospect = Prospect.objects.create(person=anna, rooftop=berlin, registered_on=start)
        Contact.objects.create(prospect=prospect, due_by=today, done_at=now)
        Contact.objects.create(prospect=prospect, due_by=today - timedelta(days=1), done_at=now)  # a day late
        Contact.objects.create(prospect=prospect, due_by=today, done_at=now - timedelta(days=400))  # another period
        club_join(person=anna, accepted_terms=True, by=None, source="test")
        club_join(person=ben, accepted_terms=True, by=None, source="test")
        evening = Event.objects.create(name="Club", kind="club", capacity=9, starts_at=now - timedelta(hours=3),
                                       ends_at=now - timedelta(hours=1))
        EventInvitation.objects.create(event=evening, person=anna, token_hash="e" * 64, status="accepted",
                                       checked_in_at=now - timedelta(hours=2))
        for n, clicked in enumerate([True, False, False, False]):
            Message.objects.create(key=f"kpi:{n}", person=ben, channel="email", purpose="marketing", status="sent",
                                   sent_at=now, clicked_at=now if clicked else None)

        group = kpis_compute(start=start, end=end)[None]

    assert group["csi"] == Decimal("4.00") and group["nps"] == Decimal("33.33")  # (2 promoters - 1) / 3
    assert group["survey_integrity"] == Decimal("66.67")
    assert group["reminder_conversion"] == 50 and group["followup_on_time"] == 50
    assert group["club_participation"] == 50 and group["campaign_response"] == 25
    assert group["stale_contacts"] == 100  # their phones were never confirmed
