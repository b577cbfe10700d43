"""Prospects: cadence by level, collisions and transfers, round-robin, handover, deals to delivery."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.models import TimelineEntry, Vehicle, VehicleLink
from crm.customers.services import consent_record, person_create
from crm.dealerships.models import Rooftop
from crm.sales import services
from crm.sales.models import Cadence, CareTask, Contact, DemoVehicle, History, Prospect, SalesSchedule, Stage
from crm.sales.services import Delivery, FirstContact, ProspectHeld
from crm.sales.tasks import transfer_request_notify
from crm.surveys.models import Invitation
from crm.surveys.tasks import survey_invite_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(cast):
    with schema_context(cast.a.schema_name):
        berlin = Rooftop.objects.get(name="Alpha Berlin")
        return {
            "berlin": berlin,
            "anna": User.objects.get(email=cast.a_salesperson),
            "boris": User.objects.create_user("boris@alpha.test", cast.password, role="salesperson",
                                              first_name="Boris"),
            "manager": User.objects.create_user("manager@alpha.test", cast.password, role="sales_manager",
                                                first_name="Maria"),
            "customer": person_create(by=None, fields={"family_name": "Käufer", "given_name": "Karl"},
                                      emails=["karl@example.de"]),
        }


def _prospect(team, *, level="B", by="anna", **fields):
    return services.prospect_create(person=fields.pop("person", team["customer"]), by=team[by], level=level,
                                    rooftop=team["berlin"], fields={"source": "walk_in", "model_interest": "ID.4",
                                                                    **fields},
                                    first_contact=FirstContact("visit", "reached"))


def _at(day: date, hour: int = 11) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


def test_the_level_cadence_plans_the_next_contact_and_its_limit(cast, team):
    today = timezone.localdate()
    with schema_context(cast.a.schema_name):
        prospect = _prospect(team, level="H")
        plan = Contact.objects.get(prospect=prospect, done_at__isnull=True)
        assert (plan.planned_on, plan.due_by) == (today + timedelta(days=1), today + timedelta(days=2))
        assert prospect.next_contact_on == today + timedelta(days=1)

        # A date agreed with the customer is kept when within the level's limit, refused after it.
        with pytest.raises(ValidationError) as late:
            services.contact_log(prospect=prospect, by=team["anna"], kind="call", outcome="reached",
                                 next_contact_on=today + timedelta(days=3))
        assert "due by" in str(late.value)
        with pytest.raises(ValidationError):
            services.contact_log(prospect=prospect, by=team["anna"], kind="call", outcome="reached",
                                 next_contact_on=today)
        services.contact_log(prospect=prospect, by=team["anna"], kind="call", outcome="reached",
                             next_contact_on=today + timedelta(days=2))
        assert Contact.objects.get(prospect=prospect, done_at__isnull=True).planned_on == today + timedelta(days=2)

        # Weekly at B, the dealer's own cadence for C.
        services.level_change(prospect=prospect, by=team["anna"], level="B", note="Waits for the bonus")
        plan = Contact.objects.get(prospect=prospect, done_at__isnull=True)
        assert (plan.planned_on, plan.due_by) == (today + timedelta(days=7), today + timedelta(days=7))
        Cadence.objects.filter(level="C").update(min_days=10, max_days=12)
        services.level_change(prospect=prospect, by=team["anna"], level="C", note="Spring, not now")
        plan = Contact.objects.get(prospect=prospect, done_at__isnull=True)
        assert (plan.planned_on, plan.due_by) == (today + timedelta(days=10), today + timedelta(days=12))

        # One open plan at a time; the history keeps each level with its reason.
        assert Contact.objects.filter(prospect=prospect, done_at__isnull=True).count() == 1
        levels = list(History.objects.filter(prospect=prospect, kind__in=["created", "level"])
                      .order_by("at", "pk").values_list("to_value", "note"))
        assert levels == [("H", "Showroom walk-in"), ("B", "Waits for the bonus"), ("C", "Spring, not now")]


def test_a_contact_is_on_time_until_the_day_it_is_due_by(cast, team):
    today = timezone.localdate()
    with schema_context(cast.a.schema_name):
        prospect = _prospect(team, level="A")
        plan = Contact.objects.get(prospect=prospect, done_at__isnull=True)
        assert plan.due_by == today + timedelta(days=3)
        Contact.objects.filter(pk=plan.pk).update(planned_on=today - timedelta(days=3),
                                                  due_by=today - timedelta(days=1))
        late = services.contact_log(prospect=prospect, by=team["anna"], kind="call", outcome="reached")
        plan = Contact.objects.get(prospect=prospect, done_at__isnull=True)
        Contact.objects.filter(pk=plan.pk).update(due_by=today)
        on_day = services.contact_log(prospect=prospect, by=team["anna"], kind="call", outcome="reached")
        assert (late.on_time, Contact.objects.get(pk=on_day.pk).on_time) == (False, True)


def test_a_level_change_needs_a_reason_and_lost_needs_why(cast, team):
    with schema_context(cast.a.schema_name):
        prospect = _prospect(team)
        with pytest.raises(ValidationError) as no_note:
            services.level_change(prospect=prospect, by=team["anna"], level="A", note="  ")
        with pytest.raises(ValidationError) as no_reason:
            services.level_change(prospect=prospect, by=team["anna"], level="F", note="Bought elsewhere")
        services.level_change(prospect=prospect, by=team["anna"], level="F", note="Bought elsewhere",
                              lost_reason="competitor", competitor="Autohaus Nord")
        prospect.refresh_from_db()
        assert "note" in no_note.value.message_dict and "lost_reason" in no_reason.value.message_dict
        assert (prospect.closed_on, prospect.competitor) == (timezone.localdate(), "Autohaus Nord")
        assert not Contact.objects.filter(prospect=prospect, done_at__isnull=True).exists()


def test_a_customer_held_by_a_colleague_is_refused_and_a_transfer_goes_to_the_manager(cast, team, mailoutbox,
                                                                                    django_capture_on_commit_callbacks):
    with schema_context(cast.a.schema_name):
        held = _prospect(team)
        with pytest.raises(ProspectHeld) as refused:
            _prospect(team, by="boris")
        assert refused.value.prospect == held and str(team["anna"]) in str(refused.value)
        assert Prospect.objects.filter(person=team["customer"]).count() == 1

        with django_capture_on_commit_callbacks(execute=False) as queued:
            request = services.transfer_request(prospect=held, by=team["boris"], reason="He called me directly")
        assert len(queued) == 1 and transfer_request_notify(request.pk) == 2
        with pytest.raises(ValidationError):
            services.transfer_request(prospect=held, by=team["boris"], reason="Again")
        services.transfer_decide(request=request, by=team["manager"], approve=True)
        held.refresh_from_db()
        team["customer"].refresh_from_db()
        assert held.salesperson == team["boris"] and team["customer"].salesperson == team["boris"]
        assert History.objects.filter(prospect=held, kind="transfer", note="He called me directly").exists()
    assert sorted(message.to[0] for message in mailoutbox) == ["admin@alpha.test", "manager@alpha.test"]
    assert "He called me directly" in mailoutbox[0].body


def test_new_leads_go_round_robin_to_the_rooftops_salespeople_working_that_day(cast, team):
    today = timezone.localdate()
    with schema_context(cast.a.schema_name):
        off = User.objects.create_user("off@alpha.test", cast.password, role="salesperson")
        SalesSchedule.objects.create(user=team["anna"], rooftop=team["berlin"])
        SalesSchedule.objects.create(user=team["boris"], rooftop=team["berlin"], weekdays=list(range(7)))
        SalesSchedule.objects.create(user=off, rooftop=team["berlin"],
                                     weekdays=[day for day in range(7) if day != today.weekday()])
        SalesSchedule.objects.filter(user=team["anna"]).update(weekdays=list(range(7)))
        got = []
        for number in range(4):
            person = person_create(by=None, fields={"family_name": f"Lead{number}"})
            prospect = services.prospect_create(person=person, by=None, level="C", rooftop=team["berlin"],
                                                route=True, fields={"source": "web_form"})
            got.append(prospect.salesperson.email)
            # A lead from elsewhere is contacted today.
            assert Contact.objects.get(prospect=prospect).planned_on == today
        assert sorted(got) == sorted([team["anna"].email, team["boris"].email] * 2)
        assert got[0] != got[1] and "off@alpha.test" not in got
        SalesSchedule.objects.filter(user=team["boris"]).update(away_until=today)
        person = person_create(by=None, fields={"family_name": "Lead9"})
        assert services.prospect_create(person=person, by=None, level="C", rooftop=team["berlin"], route=True,
                                        fields={"source": "web_form"}).salesperson == team["anna"]


def test_handover_moves_open_prospects_customers_and_care_in_one_step(cast, team):
    with schema_context(cast.a.schema_name):
        prospects = [_prospect(team, person=person_create(by=None, fields={"family_name": f"Kunde{n}"}))
                     for n in range(3)]
        services.level_change(prospect=prospects[2], by=team["anna"], level="F", note="gone", lost_reason="price")
        moved = services.prospects_handover(from_user=team["anna"], to_user=team["boris"], by=team["manager"])
        assert moved == 2
        assert [Prospect.objects.get(pk=p.pk).salesperson for p in prospects] == [team["boris"], team["boris"],
                                                                                 team["anna"]]
        assert History.objects.filter(kind="handover", prospect__in=prospects[:2]).count() == 2
        assert prospects[0].person.__class__.objects.get(pk=prospects[0].person_id).salesperson == team["boris"]
        with pytest.raises(ValidationError):
            services.prospects_handover(from_user=team["boris"], to_user=team["boris"], by=team["manager"])


def test_delivery_creates_the_car_ownership_and_care_plan_and_the_survey(cast, team,
                                                                       django_capture_on_commit_callbacks):
    today = timezone.localdate()
    with schema_context(cast.a.schema_name):
        customer = team["customer"]
        consent_record(person=customer, by=None, channel="email", purpose="surveys", granted=True, source="form")
        prospect = _prospect(team, level="A")
        deal = services.opportunity_create(prospect=prospect, by=team["anna"], fields={
            "model": "ID.4 Pro", "amount": Decimal("45990.00"), "expected_close": today + timedelta(days=14)})
        assert (deal.stage, deal.probability) == (Stage.CONTACTED, 20)
        services.opportunity_stage(deal=deal, by=team["anna"], stage="order", note="Signed")
        prospect.refresh_from_db()
        assert (prospect.level, prospect.ordered_on, prospect.closed_on) == ("O", today, None)

        with pytest.raises(ValidationError):
            services.opportunity_stage(deal=deal, by=team["anna"], stage="delivered")
        services.delivery_record(deal=deal, by=team["anna"], car=Delivery(
            vin="WVGZZZE2ZNP000123", make="VW", model="ID.4 Pro", year=today.year, plate="B-ID 4",
            delivered_on=today, kilometres=12))

        car = Vehicle.objects.get(vin="WVGZZZE2ZNP000123")
        link = VehicleLink.objects.get(vehicle=car)
        prospect.refresh_from_db()
        deal.refresh_from_db()
        assert (link.person, link.kind, link.started_on) == (customer, "owner", today)
        assert (car.salesperson, car.selling_rooftop, car.purchase_date) == (team["anna"], team["berlin"], today)
        assert (deal.stage, deal.vehicle, prospect.closed_on, prospect.level) == ("delivered", car, today, "O")
        assert TimelineEntry.objects.filter(person=customer, kind="purchase", summary__contains="ID.4 Pro").exists()
        care = list(CareTask.objects.filter(opportunity=deal).values_list("kind", "due_on", "assigned_to"))
        assert care == [("thank_you", today + timedelta(days=1), team["anna"].pk),
                        ("survey", today + timedelta(days=3), team["anna"].pk),
                        ("check_call", today + timedelta(days=7), team["anna"].pk),
                        ("second_delivery", today + timedelta(days=14), team["anna"].pk)]
        # The customer is now an owner: a new prospect may be registered for the next car.
        assert services.open_prospect_of(customer) is None

        assert services.care_surveys_send(today + timedelta(days=2)) == 0
        with django_capture_on_commit_callbacks(execute=False) as queued:
            assert services.care_surveys_send(today + timedelta(days=3)) == 1
        assert services.care_surveys_send(today + timedelta(days=3)) == 0
        assert len(queued) == 1
        assert survey_invite_send("csi_delivery", customer.pk, f"sales:delivery:{deal.pk}", prospect.rooftop_id,
                                  prospect.salesperson_id)
        invitation = Invitation.objects.get(person=customer)
        assert (invitation.kind, invitation.employee_id) == ("csi_delivery", team["anna"].pk)


def test_a_demo_car_cannot_be_booked_twice_at_once(cast, team):
    tomorrow = timezone.localdate() + timedelta(days=1)
    with schema_context(cast.a.schema_name):
        demo = DemoVehicle.objects.create(rooftop=team["berlin"], model="ID.4 GTX", plate="B-DE 1")
        first = _prospect(team)
        second = _prospect(team, by="boris", person=person_create(by=None, fields={"family_name": "Zweiter"}))
        services.test_drive_book(prospect=first, demo=demo, starts_at=_at(tomorrow, 10), ends_at=_at(tomorrow, 11),
                                 by=team["anna"])
        with pytest.raises(ValidationError) as clash:
            services.test_drive_book(prospect=second, demo=demo, starts_at=_at(tomorrow, 10) + timedelta(minutes=30),
                                     ends_at=_at(tomorrow, 12), by=team["boris"])
        assert "already booked" in str(clash.value)
        # Back to back is fine, and a cancelled booking frees the car.
        services.test_drive_book(prospect=second, demo=demo, starts_at=_at(tomorrow, 11), ends_at=_at(tomorrow, 12),
                                 by=team["boris"])
        drive = first.test_drives.get()
        services.test_drive_close(drive=drive, by=team["anna"], status="cancelled")
        services.test_drive_book(prospect=first, demo=demo, starts_at=_at(tomorrow, 10),
                                 ends_at=_at(tomorrow, 10) + timedelta(minutes=45), by=team["anna"])


def test_a_merge_takes_the_prospect_along_and_refuses_two_open_ones(cast, team):
    from crm.customers.merging import customers_merge, merge_undo

    with schema_context(cast.a.schema_name):
        twin = person_create(by=None, fields={"family_name": "Käufer", "given_name": "Karl"})
        prospect = _prospect(team, person=twin)
        record = customers_merge(survivor=team["customer"], others=[twin], by=team["manager"])
        assert Prospect.objects.get(pk=prospect.pk).person == team["customer"]
        merge_undo(record=record, by=team["manager"])
        assert Prospect.objects.get(pk=prospect.pk).person == twin

        _prospect(team, by="boris")  # the other record is now an open prospect too
        with pytest.raises(ValidationError) as refused:
            customers_merge(survivor=team["customer"], others=[twin], by=team["manager"])
        assert "Boris" in str(refused.value) and str(team["anna"]) in str(refused.value)


def test_a_cancelled_order_restores_the_level_and_a_test_drive_moves_the_deal_when_driven(cast, team):
    tomorrow = timezone.localdate() + timedelta(days=1)
    with schema_context(cast.a.schema_name):
        prospect = _prospect(team, level="A")
        deal = services.opportunity_create(prospect=prospect, by=team["anna"], fields={"model": "ID.4"})
        demo = DemoVehicle.objects.create(rooftop=team["berlin"], model="ID.4")
        drive = services.test_drive_book(prospect=prospect, demo=demo, starts_at=_at(tomorrow, 10),
                                         ends_at=_at(tomorrow, 11), by=team["anna"])
        deal.refresh_from_db()
        assert deal.stage == Stage.CONTACTED  # booked is not driven
        services.test_drive_close(drive=drive, by=team["anna"], status="no_show")
        deal.refresh_from_db()
        assert deal.stage == Stage.CONTACTED
        with pytest.raises(ValidationError):
            services.test_drive_close(drive=drive, by=team["anna"], status="done")  # closed already

        services.opportunity_stage(deal=deal, by=team["anna"], stage="order", note="Signed")
        services.opportunity_stage(deal=deal, by=team["anna"], stage="offer", note="Financing refused, new offer")
        prospect.refresh_from_db()
        assert (prospect.level, prospect.ordered_on) == ("A", None)
        assert Contact.objects.filter(prospect=prospect, done_at__isnull=True).count() == 1  # worked again


def test_a_missed_contact_stays_counted_when_the_prospect_is_lost_or_changes_level(cast, team):
    today = timezone.localdate()
    with schema_context(cast.a.schema_name):
        prospect = _prospect(team, level="B")
        missed = Contact.objects.get(prospect=prospect, done_at__isnull=True)
        Contact.objects.filter(pk=missed.pk).update(planned_on=today - timedelta(days=9),
                                                    due_by=today - timedelta(days=2))
        services.level_change(prospect=prospect, by=team["anna"], level="A", note="More urgent now")
        assert Contact.objects.get(pk=missed.pk).due_by == today - timedelta(days=2)  # still overdue
        services.level_change(prospect=prospect, by=team["anna"], level="F", note="Gone", lost_reason="price")
        assert Contact.objects.filter(pk=missed.pk, done_at__isnull=True).exists()  # planned, never done

        future = _prospect(team, by="boris", person=person_create(by=None, fields={"family_name": "Zukunft"}))
        services.level_change(prospect=future, by=team["boris"], level="F", note="Gone", lost_reason="price")
        assert not Contact.objects.filter(prospect=future, done_at__isnull=True).exists()  # not yet due: dropped


def test_the_delivery_survey_is_not_marked_done_by_hand(cast, team):
    today = timezone.localdate()
    with schema_context(cast.a.schema_name):
        prospect = _prospect(team, level="H")
        deal = services.opportunity_create(prospect=prospect, by=team["anna"], fields={"model": "Golf"})
        services.delivery_record(deal=deal, by=team["manager"], car=Delivery(
            vin="", make="VW", model="Golf", year=None, plate="B-GO 1", delivered_on=today))
        survey = CareTask.objects.get(opportunity=deal, kind="survey")
        with pytest.raises(ValidationError):
            services.care_task_done(task=survey, by=team["anna"], outcome="done")
        call = CareTask.objects.get(opportunity=deal, kind="thank_you")
        services.care_task_done(task=call, by=team["anna"], outcome="Happy with the car")
        with pytest.raises(ValidationError):
            services.care_task_done(task=call, by=team["anna"], outcome="again")
