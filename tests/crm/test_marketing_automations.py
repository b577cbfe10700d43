"""Automations: each trigger fires on its day and once, only from the day the rule is on, within consent and
quiet hours; tasks reach the customer's own colleague or their role; the service reminders' birthday, care-call
and declined-work flows are automations now; who may edit them, and nothing across tenants."""

import importlib
import zoneinfo
from datetime import date, datetime, time, timedelta

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.models import Consent, TimelineEntry, Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.marketing import automations
from crm.marketing.models import Automation, AutomationRun, MessageTemplate, SendingRules
from crm.service.models import AUTOMATED_KINDS, DeclinedRecommendation, Reminder, ReminderRule, ServiceVisit
from crm.service.reminders import reminders_create
from crm.service.services import declined_add

pytestmark = pytest.mark.django_db
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
DAY = date(2026, 11, 23)


def _at(day, hour=10):
    return datetime.combine(day, time(hour), tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def clock(time_machine):
    """The test's "now" is DAY's early morning, so consents recorded "now" and runs ``_at`` a day agree on any
    real date; a test moves it on where it means a later moment."""
    time_machine.move_to(_at(DAY, hour=7))
    return time_machine


@pytest.fixture
def shop(cast, clock):
    """Tenant A without the default automations, with a thank-you template and a customer who agreed to
    service messages by e-mail; their service advisor is Sven."""
    with schema_context(cast.a.schema_name):
        Automation.objects.all().delete()
        SendingRules.objects.create(quiet_from=time(21), quiet_until=time(9))
        thanks = MessageTemplate.objects.create(name="Thanks", channel="email", purpose="service_reminders")
        thanks.texts.create(language="en", subject="Thank you, {{ given_name }}", body="How was your visit?")
        sven = User.objects.create_user("sven@alpha.test", cast.password, role="service_advisor", first_name="Sven")
        paula = User.objects.create_user("paula@alpha.test", cast.password, role="service_advisor",
                                         first_name="Paula")
        person = person_create(by=None, fields={"family_name": "Kunde", "given_name": "Karl", "service_advisor": sven,
                                                "birth_date": date(1980, 2, 29)}, emails=["karl@example.de"])
        Consent.objects.create(person=person, channel="email", purpose="service_reminders", granted=True,
                               source="test", recorded_at=timezone.now() - timedelta(days=400))
        car = Vehicle.objects.create(make="Skoda", model="Octavia", purchase_date=DAY - timedelta(days=2))
        VehicleLink.objects.create(vehicle=car, person=person, kind="owner")
    return {"thanks": thanks, "sven": sven, "paula": paula, "person": person, "car": car}


def _rule(trigger, *, since, delay=0, months=None, **action):
    automation = Automation(name=f"{trigger} +{delay}", trigger=trigger, delay_days=delay, months=months, **action)
    automations.automation_save(automation=automation, by=None)
    Automation.objects.filter(pk=automation.pk).update(active_since=since)
    return Automation.objects.get(pk=automation.pk)


def _visit(shop, opened, closed=None):
    return ServiceVisit.objects.create(person=shop["person"], vehicle=shop["car"], opened_on=opened,
                                       closed_on=closed, status="closed" if closed else "open")


def test_a_closed_visit_is_thanked_after_the_delay_once_and_within_consent(cast, shop, mailoutbox, clock):
    with schema_context(cast.a.schema_name):
        rule = _rule("visit_closed", since=DAY - timedelta(days=30), delay=3, action="message",
                     template=shop["thanks"])
        _visit(shop, DAY - timedelta(days=4), closed=DAY - timedelta(days=3))
        earlier = _visit(shop, DAY - timedelta(days=60), closed=DAY - timedelta(days=40))  # before the rule was on
        automations.automations_run(_at(DAY - timedelta(days=1)))
        assert not AutomationRun.objects.exists()  # not due yet: nothing recorded
        assert automations.automations_run(_at(DAY)) == {"new": 1, "sent": 1}
        assert automations.automations_run(_at(DAY)) == {}  # never twice
        assert automations.automations_run(_at(DAY + timedelta(days=1))) == {}
        run = AutomationRun.objects.get(automation=rule)
        assert (run.status, run.due_on, run.message.status) == ("sent", DAY, "sent")
        assert not AutomationRun.objects.filter(occasion=f"visit:{earlier.pk}").exists()
        # the next day the customer withdraws consent: the next visit's thanks is refused, with the reason kept
        clock.move_to(_at(DAY + timedelta(days=1)))
        Consent.objects.create(person=shop["person"], channel="email", purpose="service_reminders", granted=False,
                               source="test", recorded_at=timezone.now())
        _visit(shop, DAY, closed=DAY)
        automations.automations_run(_at(DAY + timedelta(days=3)))
        refused = AutomationRun.objects.get(automation=rule, due_on=DAY + timedelta(days=3))
        assert (refused.status, refused.message.reason) == ("refused", "no_consent")
    assert [message.subject for message in mailoutbox] == ["Thank you, Karl"]


def test_messages_wait_for_the_morning_but_tasks_do_not(cast, shop, mailoutbox):
    with schema_context(cast.a.schema_name):
        _rule("visit_closed", since=DAY, action="message", template=shop["thanks"])
        _rule("visit_closed", since=DAY, action="task", task_role="service_advisor", task_title="Call Karl")
        _visit(shop, DAY, closed=DAY)
        assert automations.automations_run(_at(DAY, hour=22)) == {"new": 2, "task": 1}
        assert automations.automations_run(_at(DAY + timedelta(days=1), hour=9)) == {"sent": 1}
    assert len(mailoutbox) == 1


def test_birthday_delivery_and_lapse_fire_on_their_days(cast, shop):
    with schema_context(cast.a.schema_name):
        task = {"action": "task", "task_role": "service_advisor", "task_title": "Call"}
        birthday = _rule("birthday", since=date(2027, 1, 1), **task)
        delivery = _rule("delivery", since=DAY - timedelta(days=10), delay=2, **task)
        lapsed = _rule("no_visit", since=DAY - timedelta(days=10), months=15, **task)
        last = _visit(shop, date(2025, 8, 23), closed=date(2025, 8, 23))  # 15 months before DAY
        automations.automations_run(_at(DAY))
        assert set(AutomationRun.objects.values_list("automation", "occasion", "due_on")) == {
            (delivery.pk, f"delivery:{shop['car'].pk}:{DAY - timedelta(days=2)}", DAY),
            (lapsed.pk, "no_visit:2025-08-23", DAY)}
        # born on 29 February: greeted on 28 February in a common year
        automations.automations_run(_at(date(2027, 2, 27)))
        assert not AutomationRun.objects.filter(automation=birthday).exists()
        automations.automations_run(_at(date(2027, 2, 28)))
        assert AutomationRun.objects.get(automation=birthday).occasion == "birthday:2027"
        # came back after the lapse was noticed but before anyone acted: the lapse no longer applies
        run = AutomationRun.objects.get(automation=lapsed)
        AutomationRun.objects.filter(pk=run.pk).update(status="pending")
        _visit(shop, DAY, closed=DAY)
        automations.run_perform(AutomationRun.objects.get(pk=run.pk))
        assert AutomationRun.objects.get(pk=run.pk).status == "skipped"
        assert last.pk  # the visit that started the lapse stays on record


def test_declined_work_is_a_task_for_the_customers_advisor_unless_booked_first(cast, shop):
    with schema_context(cast.a.schema_name):
        rule = _rule("declined_work", since=DAY - timedelta(days=5), action="task", task_role="service_advisor",
                     task_title="Offer the declined work")
        visit = _visit(shop, DAY - timedelta(days=30), closed=DAY - timedelta(days=30))
        tyres = declined_add(visit=visit, category="tyres", description="Winter tyres", by=None,
                             follow_up_on=DAY - timedelta(days=1))
        brakes = declined_add(visit=visit, category="brakes", description="Brake pads", by=None,
                              follow_up_on=DAY - timedelta(days=1))
        DeclinedRecommendation.objects.filter(pk=brakes.pk).update(status="booked")  # booked: no follow-up
        automations.automations_run(_at(DAY))
        task = AutomationRun.objects.get(automation=rule)
        assert (task.occasion, task.status, task.assigned_to) == (f"declined:{tyres.pk}", "task", shop["sven"])

    sven = cast.signed_in(cast.a, "sven@alpha.test")
    paula = cast.signed_in(cast.a, "paula@alpha.test")
    assert [run.pk for run in sven.get("/crm/tasks/").context["page"]] == [task.pk]
    assert list(paula.get("/crm/tasks/").context["page"]) == []  # Karl's own advisor has it
    assert paula.post(f"/crm/tasks/{task.pk}/done/", {"outcome": "x"}).status_code == 404
    assert cast.signed_in(cast.a, cast.a_salesperson).post(f"/crm/tasks/{task.pk}/done/",
                                                          {"outcome": "x"}).status_code == 404
    assert "Say how it went." in sven.post(f"/crm/tasks/{task.pk}/done/", {"outcome": " "}, follow=True).text
    done = sven.post(f"/crm/tasks/{task.pk}/done/", {"outcome": "Booked for Friday"}, follow=True)
    assert "it is on the customer&#x27;s timeline" in done.text
    with schema_context(cast.a.schema_name):
        assert TimelineEntry.objects.filter(person=shop["person"],
                                            summary="Offer the declined work: Booked for Friday").exists()
        assert AutomationRun.objects.get(pk=task.pk).status == "done"
    assert cast.signed_in(cast.b, cast.b_admin).post(f"/crm/tasks/{task.pk}/done/",
                                                    {"outcome": "x"}).status_code == 404


def test_a_role_task_without_an_own_colleague_is_taken_once(cast, shop):
    with schema_context(cast.a.schema_name):
        shop["person"].service_advisor = None
        shop["person"].save(update_fields=["service_advisor"])
        _rule("visit_closed", since=DAY, action="task", task_role="service_advisor", task_title="Call")
        _visit(shop, DAY, closed=DAY)
        automations.automations_run(_at(DAY))
        task = AutomationRun.objects.get()
        assert task.assigned_to is None
    sven, paula = cast.signed_in(cast.a, "sven@alpha.test"), cast.signed_in(cast.a, "paula@alpha.test")
    assert [run.pk for run in paula.get("/crm/tasks/").context["page"]] == [task.pk]
    sven.post(f"/crm/tasks/{task.pk}/take/")
    assert list(paula.get("/crm/tasks/").context["page"]) == []
    assert paula.post(f"/crm/tasks/{task.pk}/take/").status_code == 404
    with schema_context(cast.a.schema_name):
        assert AutomationRun.objects.get(pk=task.pk).assigned_to == shop["sven"]


def test_switched_off_then_on_it_does_not_catch_up_late(cast, shop, mailoutbox):
    admin = cast.signed_in(cast.a, cast.a_admin)
    with schema_context(cast.a.schema_name):
        rule = _rule("visit_closed", since=DAY - timedelta(days=3), action="message", template=shop["thanks"])
        _visit(shop, DAY - timedelta(days=1), closed=DAY - timedelta(days=1))
        SendingRules.objects.update(quiet_from=time(0), quiet_until=time(23, 59))  # always night
        automations.automations_run(_at(DAY - timedelta(days=1)))
        assert AutomationRun.objects.get().status == "pending"
    admin.post(f"/crm/marketing/automations/{rule.pk}/toggle/")
    admin.post(f"/crm/marketing/automations/{rule.pk}/toggle/")
    with schema_context(cast.a.schema_name):
        assert Automation.objects.get(pk=rule.pk).is_active
        assert AutomationRun.objects.get().status == "skipped"
    assert mailoutbox == []


def test_every_group_starts_with_the_reminders_former_flows_in_its_language_from_tomorrow(cast):
    with schema_context(cast.a.schema_name):
        rules = {rule.preset: rule for rule in Automation.objects.select_related("template")}
        assert set(rules) == {"birthday_greeting", "care_call", "declined_follow_up"}
        greeting = rules["birthday_greeting"]
        assert (greeting.name, greeting.trigger, greeting.action) == ("Birthday greeting", "birthday", "message")
        assert sorted(greeting.template.texts.values_list("language", flat=True)) == ["en", "ru", "zh-hans"]
        care = rules["care_call"]
        assert (care.trigger, care.delay_days, care.task_role) == ("delivery", 2, "salesperson")
        assert rules["declined_follow_up"].task_role == "service_advisor"
        assert not ReminderRule.objects.filter(kind__in=AUTOMATED_KINDS, enabled=True).exists()
        person_create(by=None, fields={"family_name": "Geburtstag", "birth_date": timezone.localdate()})
        reminders_create()
        assert not Reminder.objects.filter(kind="birthday").exists()
    with schema_context(cast.b.schema_name):  # Браво Авто: Russian, Moscow
        care = Automation.objects.get(preset="care_call")
        assert (care.name, care.task_title) == ("Звонок после выдачи автомобиля",
                                                "Позвонить: как первые дни с автомобилем?")
        russian = Automation.objects.get(preset="birthday_greeting").template.texts.get(language="ru")
        assert russian.subject == "С днём рождения, {{ given_name }}!"
        assert care.active_since > cast.b.created_at.date()  # nothing before the group existed, or on its first day


def test_a_group_that_existed_keeps_its_reminder_settings_as_automations(cast):
    """The data migration, on a group that had the service reminders: a care call even where the rule said
    "message" (it only ever made a task), a birthday message and call as set, counting from tomorrow."""
    migration = importlib.import_module("crm.marketing.migrations.0008_automations_from_reminders")
    with schema_context(cast.a.schema_name):
        Automation.objects.all().delete()
        ReminderRule.objects.filter(kind="post_delivery").update(enabled=True, message=True, task=False)
        ReminderRule.objects.filter(kind="birthday").update(enabled=True, message=True, task=True)
        ReminderRule.objects.filter(kind="declined").update(enabled=False)
        migration.forwards(django_apps, None)
        rules = {rule.preset: rule for rule in Automation.objects.all()}
        assert set(rules) == {"care_call", "birthday_greeting", "birthday_call"}
        assert {rule.active_since for rule in rules.values()} == {
            datetime.now(BERLIN).date() + timedelta(days=1)}
        assert not ReminderRule.objects.filter(kind__in=AUTOMATED_KINDS, enabled=True).exists()


def test_a_greeting_is_not_held_back_by_the_weekly_cap_and_a_switched_off_template_sends_nothing(cast, shop,
                                                                                                mailoutbox):
    with schema_context(cast.a.schema_name):
        greeting = MessageTemplate.objects.create(name="Greeting", channel="email")  # marketing purpose
        greeting.texts.create(language="en", subject="Happy birthday", body="All the best")
        Consent.objects.create(person=shop["person"], channel="email", purpose="marketing", granted=True,
                               source="test", recorded_at=timezone.now() - timedelta(days=400))
        SendingRules.objects.update(weekly_cap=1)
        other = MessageTemplate.objects.create(name="Offer", channel="email")
        other.texts.create(language="en", subject="Offer", body="Spring offer")
        from crm.marketing.channels import message_send

        assert message_send(person=shop["person"], template=other, key="campaign:x", now=_at(DAY)).status == "sent"
        _rule("birthday", since=date(2027, 2, 20), action="message", template=greeting)
        automations.automations_run(_at(date(2027, 2, 28)))
        assert AutomationRun.objects.get().status == "sent"
        _visit(shop, date(2027, 3, 1), closed=date(2027, 3, 1))
        _rule("visit_closed", since=date(2027, 3, 1), action="message", template=shop["thanks"])
        MessageTemplate.objects.filter(pk=shop["thanks"].pk).update(is_active=False)
        automations.automations_run(_at(date(2027, 3, 1)))
        assert AutomationRun.objects.get(automation__trigger="visit_closed").status == "skipped"
    assert [message.subject for message in mailoutbox] == ["Offer", "Happy birthday"]


def test_tasks_follow_the_role_they_were_made_for(cast, shop):
    with schema_context(cast.a.schema_name):
        manager = User.objects.create_user("svcmgr@alpha.test", cast.password, role="service_manager")
        shop["person"].service_advisor = manager  # a manager who works customers keeps their own
        shop["person"].save(update_fields=["service_advisor"])
        rule = _rule("visit_closed", since=DAY, action="task", task_role="service_advisor", task_title="Call")
        _visit(shop, DAY, closed=DAY)
        automations.automations_run(_at(DAY))
        task = AutomationRun.objects.get()
        assert (task.assigned_to, task.role) == (manager, "service_advisor")
        # the rule becomes a message, its manager leaves: the open task goes to the advisors to take
        rule.action, rule.template, rule.task_role, rule.task_title = "message", shop["thanks"], "", ""
        automations.automation_save(automation=rule, by=None)
        manager.is_active = False
        manager.save(update_fields=["is_active"])
    paula = cast.signed_in(cast.a, "paula@alpha.test")
    assert [run.pk for run in paula.get("/crm/tasks/").context["page"]] == [task.pk]
    paula.post(f"/crm/tasks/{task.pk}/take/")
    with schema_context(cast.a.schema_name):
        assert AutomationRun.objects.get(pk=task.pk).assigned_to == shop["paula"]


def test_changing_what_makes_an_occasion_counts_from_today(cast, shop):
    with schema_context(cast.a.schema_name):
        rule = _rule("visit_closed", since=DAY - timedelta(days=10), action="task", task_role="salesperson",
                     task_title="Call")
        rule.trigger, rule.delay_days = "delivery", 0  # the car was bought two days ago
        automations.automation_save(automation=rule, by=None)
        assert Automation.objects.get(pk=rule.pk).active_since == timezone.localdate()
        automations.automations_run(_at(timezone.localdate()))
        assert not AutomationRun.objects.exists()


def test_editing_automations_explains_mistakes_and_is_for_marketing_only(cast, shop):
    admin = cast.signed_in(cast.a, cast.a_admin)
    bad = admin.post("/crm/marketing/automations/new/", {"name": "Lapsed", "trigger": "no_visit", "delay_days": 0,
                                                         "action": "message", "is_active": "on"})
    assert bad.status_code == 400
    assert "Say after how many months without a visit." in bad.text and "Choose the template to send." in bad.text
    task = admin.post("/crm/marketing/automations/new/", {"name": "Lapsed", "trigger": "no_visit", "months": 15,
                                                          "delay_days": 0, "action": "task", "is_active": "on"})
    assert "Choose who gets the task." in task.text and "Say what to do." in task.text
    saved = admin.post("/crm/marketing/automations/new/", {
        "name": "Lapsed", "trigger": "no_visit", "months": 15, "delay_days": 0, "action": "task",
        "task_role": "service_advisor", "task_title": "Call: we miss you", "is_active": "on"}, follow=True)
    assert "Automation saved." in saved.text and "No workshop visit for 15 months" in saved.text
    with schema_context(cast.a.schema_name):
        rule = Automation.objects.get(name="Lapsed")
        assert rule.active_since == timezone.localdate()
    listing = admin.get("/crm/marketing/automations/")
    assert "Task for Service advisor: Call: we miss you" in listing.text
    assert cast.signed_in(cast.a, cast.a_salesperson).get("/crm/marketing/automations/").status_code == 403
    bravo = cast.signed_in(cast.b, cast.b_admin)
    assert bravo.get(f"/crm/marketing/automations/{rule.pk}/").status_code == 404
    assert bravo.post(f"/crm/marketing/automations/{rule.pk}/toggle/").status_code == 404
    assert "Lapsed" not in bravo.get("/crm/marketing/automations/").text
