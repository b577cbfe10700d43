"""Call lists: built from a segment or a filter within the consent ledger, shared among agents, called one at
a time (call-backs first, never two agents on one customer), outcomes that reach sales and the ledger, figures."""

import itertools
import threading
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from crm.analytics.models import CustomerSegment
from crm.customers.models import Consent, Person, Phone, TimelineEntry, Vehicle, VehicleLink
from crm.customers.selectors import consent_allows
from crm.customers.services import consent_record, person_create
from crm.dealerships.models import Rooftop
from crm.sales import calllists
from crm.sales.models import CallEntry, CallList, Prospect, SalesSchedule
from crm.sales.services import FirstContact, prospect_create
from crm.service.models import ServiceVisit

db = pytest.mark.django_db
NUMBERS = itertools.count(1)


@pytest.fixture
def centre(cast):
    with schema_context(cast.a.schema_name):
        return {
            "berlin": Rooftop.objects.get(name="Alpha Berlin"),
            "hamburg": Rooftop.objects.get(name="Alpha Hamburg"),
            "admin": User.objects.get(email=cast.a_admin),
            "anna": User.objects.get(email=cast.a_salesperson),
            "carla": User.objects.create_user("carla@alpha.test", cast.password, role="marketing",
                                              first_name="Carla", last_name="Callcentre"),
            "dora": User.objects.create_user("dora@alpha.test", cast.password, role="marketing",
                                             first_name="Dora", last_name="Dialer"),
        }


def _customer(name, *, rooftop, phone=True, consent=True, purpose="marketing", **fields):
    """A customer with a phone who agreed to marketing calls a month ago, unless told otherwise."""
    person = person_create(by=None, fields={"family_name": name, "given_name": "Test", "rooftop": rooftop, **fields})
    if phone:
        Phone.objects.create(person=person, number=f"+49301{next(NUMBERS):06d}", is_primary=True)
    if consent:
        _consent(person, True, days_ago=30, purpose=purpose)
    return person


def _consent(person, granted, *, days_ago=1, expires_in_days=None, channel="phone", purpose="marketing"):
    now = timezone.now()
    return Consent.objects.create(
        person=person, channel=channel, purpose=purpose, granted=granted, source="test",
        recorded_at=now - timedelta(days=days_ago),
        expires_at=None if expires_in_days is None else now + timedelta(days=expires_in_days))


def _list(centre, *, name="Spring check", purpose="marketing", by="admin", **criteria):
    criteria = criteria or {"rooftop": centre["hamburg"]}
    return calllists.call_list_create(by=centre[by], name=name, purpose=purpose, script="Hello!", criteria=criteria)


def _entries(call_list):
    return {entry.person.family_name: entry
            for entry in CallEntry.objects.filter(call_list=call_list).select_related("person")}


def _people(call_list):
    return set(CallEntry.objects.filter(call_list=call_list).values_list("person__family_name", flat=True))


# --- Building a list ---------------------------------------------------------------------------------

@db
def test_only_customers_whose_latest_phone_consent_for_the_purpose_is_granted_are_listed(cast, centre):
    hamburg = centre["hamburg"]
    with schema_context(cast.a.schema_name):
        _customer("Granted", rooftop=hamburg)
        withdrawn = _customer("Withdrawn", rooftop=hamburg)
        _consent(withdrawn, False, days_ago=2)
        regranted = _customer("Regranted", rooftop=hamburg)
        _consent(regranted, False, days_ago=5)
        _consent(regranted, True, days_ago=1)
        expired = _customer("Expired", rooftop=hamburg, consent=False)
        _consent(expired, True, days_ago=400, expires_in_days=-35)
        # The newest entry decides, as consent_allows has it: an expired renewal does not fall back on an
        # older open-ended grant.
        lapsed = _customer("Lapsed", rooftop=hamburg)
        _consent(lapsed, True, days_ago=3, expires_in_days=-1)
        not_yet = _customer("NotYet", rooftop=hamburg, consent=False)
        _consent(not_yet, True, days_ago=-2)  # recorded for the day after tomorrow: not in force
        _customer("Never", rooftop=hamburg, consent=False)
        sms_only = _customer("SmsOnly", rooftop=hamburg, consent=False)
        _consent(sms_only, True, channel="sms")
        _customer("ServiceOnly", rooftop=hamburg, purpose="service_reminders")
        _customer("NoPhone", rooftop=hamburg, phone=False)
        archived = _customer("Archived", rooftop=hamburg)
        Person.objects.filter(pk=archived.pk).update(archived_at=timezone.now())
        _customer("Berlin", rooftop=centre["berlin"])
        people = {person.family_name: person for person in
                  calllists.call_list_audience({"rooftop": hamburg.pk}).order_by()}
    admin = cast.signed_in(cast.a, cast.a_admin)

    built = admin.post("/crm/sales/calls/new/", {"name": "Spring check", "purpose": "marketing",
                                                  "script": "Good morning, …", "rooftop": hamburg.pk}, follow=True)

    assert "2 customers to call; 7 left out without phone consent." in built.text
    with schema_context(cast.a.schema_name):
        marketing = CallList.objects.get(name="Spring check")
        assert _people(marketing) == {"Granted", "Regranted"}
        assert marketing.excluded_without_consent == 7  # every active Hamburg customer with a phone, but the two
        assert (marketing.criteria, marketing.created_by) == ({"rooftop": hamburg.pk}, centre["admin"])
        # The set-based check says what consent_allows says, customer by customer.
        assert {name for name, person in people.items()
                if consent_allows(person, channel="phone", purpose="marketing")} == {"Granted", "Regranted"}
        # The purpose matters.
        reminders = _list(centre, name="Tyre season", purpose="service_reminders")
        assert _people(reminders) == {"ServiceOnly"}
        assert reminders.excluded_without_consent == 8


@db
def test_a_list_from_a_segment_or_from_filters_takes_only_the_customers_that_match(cast, centre):
    hamburg, today = centre["hamburg"], timezone.localdate()
    in_2020, in_2021, new_year_2022 = date(2020, 6, 1), date(2021, 6, 1), date(2022, 1, 1)
    with schema_context(cast.a.schema_name):
        golf_owner = _customer("GolfOwner", rooftop=hamburg)
        golf = Vehicle.objects.create(make="VW", model="Golf VIII", plate="HH-G 1")
        VehicleLink.objects.create(vehicle=golf, person=golf_owner, kind="owner")
        sold_golf = _customer("SoldGolf", rooftop=hamburg)
        old = Vehicle.objects.create(make="VW", model="Golf VII", plate="HH-G 2")
        VehicleLink.objects.create(vehicle=old, person=sold_golf, kind="owner", ended_on=today)
        ServiceVisit.objects.create(vehicle=old, person=sold_golf, rooftop=hamburg, opened_on=in_2020)
        long_ago = _customer("LongAgo", rooftop=centre["berlin"])
        ServiceVisit.objects.create(vehicle=golf, person=long_ago, rooftop=hamburg, opened_on=in_2021)
        ServiceVisit.objects.create(vehicle=golf, person=golf_owner, rooftop=hamburg, opened_on=in_2021)
        ServiceVisit.objects.create(vehicle=golf, person=golf_owner, rooftop=hamburg, opened_on=today)
        in_talks = _customer("InTalks", rooftop=hamburg)
        prospect_create(person=in_talks, by=centre["anna"], level="B", rooftop=hamburg, fields={"source": "walk_in"})
        for person, action in ((golf_owner, "retention"), (in_talks, "retention"), (long_ago, "win_back")):
            CustomerSegment.objects.create(person=person, action=action, high_risk=action == "win_back",
                                           lost=person == long_ago, computed_at=timezone.now())

        assert _people(_list(centre, make="vw", model="golf")) == {"GolfOwner"}  # current cars only
        assert _people(_list(centre, last_visit_before=new_year_2022)) == {
            "SoldGolf", "LongAgo"}  # came, but not since
        assert _people(_list(centre, rooftop=hamburg, open_prospect="yes")) == {"InTalks"}
        assert _people(_list(centre, rooftop=hamburg, open_prospect="no")) == {"GolfOwner", "SoldGolf"}
        assert _people(_list(centre, segment="action:retention")) == {"GolfOwner", "InTalks"}
        assert _people(_list(centre, segment="lost")) == {"LongAgo"}
        assert _people(_list(centre, segment="action:retention", open_prospect="no")) == {"GolfOwner"}


@db
def test_building_refuses_a_list_without_criteria_or_without_anyone_to_call_with_the_reasons(cast, centre):
    with schema_context(cast.a.schema_name):
        _customer("Never", rooftop=centre["hamburg"], consent=False)
    marketing = cast.signed_in(cast.a, "carla@alpha.test")

    empty = marketing.post("/crm/sales/calls/new/", {"name": "", "purpose": "marketing"})
    no_criteria = marketing.post("/crm/sales/calls/new/", {"name": "Everyone", "purpose": "marketing"})
    nobody = marketing.post("/crm/sales/calls/new/", {"name": "Hamburg", "purpose": "marketing",
                                                      "rooftop": centre["hamburg"].pk})
    form = marketing.get("/crm/sales/calls/new/")

    assert (empty.status_code, no_criteria.status_code, nobody.status_code, form.status_code) == (400, 400, 400, 200)
    assert "name" in empty.context["form"].errors
    assert "Choose a segment or at least one filter." in no_criteria.text
    assert "1 customer with a phone matches, and they did not agree to phone calls for Marketing" in nobody.text
    with schema_context(cast.a.schema_name):
        assert not CallList.objects.exists()


# --- Sharing out -------------------------------------------------------------------------------------

@db
def test_unassigned_calls_are_shared_round_robin_and_an_agents_open_calls_pass_on(cast, centre):
    with schema_context(cast.a.schema_name):
        for n in range(6):
            _customer(f"Customer{n}", rooftop=centre["hamburg"])
        call_list = _list(centre)
        entries = list(CallEntry.objects.filter(call_list=call_list).order_by("pk"))
        CallEntry.objects.filter(pk=entries[0].pk).update(agent=centre["anna"])  # already someone's: stays
    manager = cast.signed_in(cast.a, "carla@alpha.test")
    url = f"/crm/sales/calls/{call_list.pk}/"

    refused = manager.post(f"{url}assign/", {"agents": []})
    shared = manager.post(f"{url}assign/", {"agents": [centre["dora"].pk, centre["carla"].pk]}, follow=True)

    assert refused.status_code == 400 and "agents" in refused.context["assign_form"].errors
    assert "5 calls given out." in shared.text
    first, second = sorted([centre["carla"].pk, centre["dora"].pk])
    with schema_context(cast.a.schema_name):
        agents = list(CallEntry.objects.filter(call_list=call_list).order_by("pk").values_list("agent", flat=True))
        assert agents == [centre["anna"].pk, first, second, first, second, first]
        # Carla's done call stays hers; her open ones go to Dora.
        done = CallEntry.objects.filter(call_list=call_list, agent=centre["carla"]).first()
        CallEntry.objects.filter(pk=done.pk).update(status="done", outcome="not_interested", attempts=1)
    self_refused = manager.post(f"{url}reassign/", {"from_agent": centre["carla"].pk,
                                                    "to_agent": centre["carla"].pk})
    moved = manager.post(f"{url}reassign/", {"from_agent": centre["carla"].pk, "to_agent": centre["dora"].pk},
                         follow=True)

    assert self_refused.status_code == 400
    assert "2 open calls passed on." in moved.text
    with schema_context(cast.a.schema_name):
        assert list(CallEntry.objects.filter(call_list=call_list, agent=centre["carla"])) == [done]
        assert CallEntry.objects.filter(call_list=call_list, agent=centre["dora"]).count() == 4


# --- Calling -----------------------------------------------------------------------------------------

@db
def test_the_next_call_is_a_due_call_back_first_then_the_agents_own_calls_then_unassigned_ones(cast, centre):
    now = timezone.now()
    carla = centre["carla"]
    with schema_context(cast.a.schema_name):
        for name in ("Fresh", "DueLater", "DueEarlier", "NotYet", "Tried", "Dora", "Pool"):
            _customer(name, rooftop=centre["hamburg"])
        call_list = _list(centre)
        entry = _entries(call_list)
        CallEntry.objects.filter(pk__in=[entry[name].pk for name in ("Fresh", "DueLater", "DueEarlier", "NotYet",
                                                                     "Tried")]).update(agent=carla)
        CallEntry.objects.filter(pk=entry["Dora"].pk).update(agent=centre["dora"])
        CallEntry.objects.filter(pk=entry["DueLater"].pk).update(status="call_back",
                                                                 call_back_at=now - timedelta(minutes=5))
        CallEntry.objects.filter(pk=entry["DueEarlier"].pk).update(status="call_back",
                                                                   call_back_at=now - timedelta(hours=2))
        CallEntry.objects.filter(pk=entry["NotYet"].pk).update(status="call_back",
                                                               call_back_at=now + timedelta(hours=2))
        CallEntry.objects.filter(pk=entry["Tried"].pk).update(attempts=1, last_called_at=now - timedelta(hours=3))

        order = []
        while (next_entry := calllists.call_next(agent=carla, call_list=call_list)[0]) is not None:
            order.append(next_entry.person.family_name)
            calllists.call_outcome_record(entry=next_entry, by=carla, outcome="not_interested")

        assert order == ["DueEarlier", "DueLater", "Fresh", "Tried", "Pool"]
        assert CallEntry.objects.get(pk=entry["Pool"].pk).agent == carla  # taken from the pool when called
        assert CallEntry.objects.get(pk=entry["Dora"].pk).status == "to_call"  # Dora's is not Carla's
        assert calllists.next_call_back(carla).pk == entry["NotYet"].pk


def test_two_agents_asking_at_the_same_moment_never_get_the_same_customer(scratch):
    schema, agents_count = scratch.tenant.schema_name, 8
    with schema_context(schema):
        rooftop = Rooftop.objects.create(name="Race Rooftop", timezone="Europe/Berlin")
        agents = [User.objects.create_user(f"agent{n}@race.test", "x", role="marketing") for n in range(agents_count)]
        for n in range(agents_count + 2):
            _customer(f"Race{n}", rooftop=rooftop)
        call_list = calllists.call_list_create(by=None, name="Race", purpose="marketing", script="",
                                               criteria={"rooftop": rooftop.pk})
    start = threading.Barrier(agents_count)
    taken: list[tuple[int, int]] = []

    def ask(agent: User) -> None:
        try:
            with schema_context(schema):
                start.wait()
                entry, _closed = calllists.call_next(agent=agent, call_list=call_list)
                taken.append((agent.pk, entry.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(taken) == agents_count
    assert len({entry for _agent, entry in taken}) == agents_count
    with schema_context(schema):
        assert dict(CallEntry.objects.filter(agent__isnull=False).values_list("agent", "pk")) == dict(taken)
        left = list(CallEntry.objects.filter(agent__isnull=True).order_by("pk").values_list("pk", flat=True))
        late = User.objects.create_user("late@race.test", "x", role="marketing")

    # While another agent's screen holds the next free entry, the following one comes up, without waiting.
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with schema_context(schema), transaction.atomic():
                CallEntry.objects.select_for_update().get(pk=left[0])
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        with schema_context(schema):
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '2s'")
            entry, _closed = calllists.call_next(agent=late, call_list=call_list)
            assert entry.pk == left[1]
    finally:
        release.set()
        holder.join(timeout=30)
        connection.close()


@db
def test_an_interested_customer_becomes_a_lead_routed_to_the_rooftops_salesperson(cast, centre):
    with schema_context(cast.a.schema_name):
        SalesSchedule.objects.create(user=centre["anna"], rooftop=centre["berlin"], weekdays=list(range(7)))
        customer = _customer("Neugierig", rooftop=centre["berlin"])
        call_list = _list(centre, name="ID.4 launch", rooftop=centre["berlin"])
        calllists.call_entries_assign(call_list=call_list, agents=[centre["carla"]], by=None)
    carla = cast.signed_in(cast.a, "carla@alpha.test")

    to_call = carla.get("/crm/sales/calls/next/")
    screen = carla.get(to_call["Location"])
    saved = carla.post(f"{to_call['Location']}outcome/", {
        "outcome": "interested", "level": "A", "model_interest": "ID.4 Pro", "note": "Wants a test drive"},
        follow=True)

    assert screen.status_code == 200
    assert "Neugierig" in screen.text and "Hello!" in screen.text and f"/crm/customers/{customer.pk}/" in screen.text
    assert "Lead passed to sales@alpha.test." in saved.text
    with schema_context(cast.a.schema_name):
        prospect = Prospect.objects.get(person=customer)
        assert (prospect.salesperson, prospect.level, prospect.source, prospect.source_detail,
                prospect.model_interest) == (centre["anna"], "A", "campaign", "ID.4 launch", "ID.4 Pro")
        entry = CallEntry.objects.get(call_list=call_list)
        assert (entry.status, entry.outcome, entry.attempts, entry.note) == (
            "done", "interested", 1, "Wants a test drive")
        call = TimelineEntry.objects.get(person=customer, kind="contact")
        assert (call.author, call.body) == (centre["carla"], "Wants a test drive")
        assert "ID.4 launch" in call.summary


@db
def test_interest_from_a_customer_a_salesperson_holds_makes_no_second_lead_and_says_who_holds_them(cast, centre):
    with schema_context(cast.a.schema_name):
        customer = _customer("Vergeben", rooftop=centre["hamburg"])
        held = prospect_create(person=customer, by=centre["anna"], level="B", rooftop=centre["hamburg"],
                               fields={"source": "walk_in"}, first_contact=FirstContact("visit", "reached"))
        call_list = _list(centre)
        calllists.call_entries_assign(call_list=call_list, agents=[centre["carla"]], by=None)
        entry = CallEntry.objects.get(call_list=call_list)
    carla = cast.signed_in(cast.a, "carla@alpha.test")

    screen = carla.get(f"/crm/sales/calls/entries/{entry.pk}/")
    saved = carla.post(f"/crm/sales/calls/entries/{entry.pk}/outcome/",
                       {"outcome": "interested", "level": "C", "note": "Asks about the Tiguan too"}, follow=True)

    assert "Already a prospect (B) of sales@alpha.test" in screen.text
    assert "is already a prospect of sales@alpha.test" in saved.text
    with schema_context(cast.a.schema_name):
        assert list(Prospect.objects.filter(person=customer)) == [held]
        call = TimelineEntry.objects.get(person=customer, kind="contact", author=centre["carla"])
        assert call.body == "Asks about the Tiguan too" and "already a prospect of sales@alpha.test" in call.summary
        assert CallEntry.objects.get(pk=entry.pk).outcome == "interested"


@db
def test_do_not_call_withdraws_phone_consent_for_the_lists_purpose_in_the_ledger(cast, centre):
    with schema_context(cast.a.schema_name):
        customer = _customer("Ruhe", rooftop=centre["hamburg"])
        _consent(customer, True, purpose="surveys")
        call_list = _list(centre, name="Winter tyres")
        calllists.call_entries_assign(call_list=call_list, agents=[centre["carla"]], by=None)
        entry = CallEntry.objects.get(call_list=call_list)
    carla = cast.signed_in(cast.a, "carla@alpha.test")

    saved = carla.post(f"/crm/sales/calls/entries/{entry.pk}/outcome/", {"outcome": "do_not_call",
                                                                          "note": "Never again"}, follow=True)

    assert "is not to be called for Marketing any more" in saved.text
    with schema_context(cast.a.schema_name):
        latest = Consent.objects.filter(person=customer, channel="phone", purpose="marketing").first()
        assert (latest.granted, latest.recorded_by, latest.proof) == (False, centre["carla"], "Never again")
        assert "Winter tyres" in latest.source
        assert not consent_allows(customer, channel="phone", purpose="marketing")
        assert consent_allows(customer, channel="phone", purpose="surveys")  # only the list's purpose
        assert CallEntry.objects.get(pk=entry.pk).status == "done"
        assert TimelineEntry.objects.filter(person=customer, kind="contact").count() == 1


@db
def test_a_call_back_needs_a_time_to_come_and_no_answer_three_times_closes_the_call(cast, centre):
    with schema_context(cast.a.schema_name):
        later = _customer("Later", rooftop=centre["hamburg"])
        _customer("Silent", rooftop=centre["hamburg"])
        call_list = _list(centre)
        calllists.call_entries_assign(call_list=call_list, agents=[centre["carla"]], by=None)
        entry = _entries(call_list)
    carla = cast.signed_in(cast.a, "carla@alpha.test")
    outcome = f"/crm/sales/calls/entries/{entry['Later'].pk}/outcome/"
    when = timezone.localtime() + timedelta(days=1)

    no_time = carla.post(outcome, {"outcome": "call_back"})
    past = carla.post(outcome, {"outcome": "call_back", "call_back_at": "2020-01-01T10:00"})
    scheduled = carla.post(outcome, {"outcome": "call_back", "call_back_at": when.strftime("%Y-%m-%dT%H:%M")},
                           follow=True)

    assert (no_time.status_code, past.status_code) == (400, 400)
    assert no_time.context["form"].errors["call_back_at"] == ["Say when to call back."]
    assert past.context["form"].errors["call_back_at"] == ["Choose a time that has not passed."]
    assert "Call-back on" in scheduled.text
    with schema_context(cast.a.schema_name):
        called_back = CallEntry.objects.get(pk=entry["Later"].pk)
        assert (called_back.status, called_back.outcome, called_back.attempts) == ("call_back", "call_back", 1)
        assert timezone.localtime(called_back.call_back_at).strftime("%H:%M") == when.strftime("%H:%M")
        assert TimelineEntry.objects.filter(person=later, kind="contact").count() == 1

        silent = entry["Silent"]
        for attempt in (1, 2, 3):
            calllists.call_outcome_record(entry=silent, by=centre["carla"], outcome="no_answer")
            silent.refresh_from_db()
            assert (silent.attempts, silent.status) == (attempt, "to_call" if attempt < 3 else "done")
        assert calllists.call_next(agent=centre["carla"], call_list=call_list)[0] is None


@db
def test_a_customer_who_withdrew_consent_after_the_list_was_built_is_not_called(cast, centre):
    with schema_context(cast.a.schema_name):
        changed_mind = _customer("ChangedMind", rooftop=centre["hamburg"])
        _customer("Willing", rooftop=centre["hamburg"])
        call_list = _list(centre)
        calllists.call_entries_assign(call_list=call_list, agents=[centre["carla"]], by=None)
        consent_record(person=changed_mind, by=None, channel="phone", purpose="marketing", granted=False,
                       source="e-mail to the dealer")
    carla = cast.signed_in(cast.a, "carla@alpha.test")

    to_call = carla.get("/crm/sales/calls/next/", follow=True)

    assert "Test ChangedMind was not called: they no longer agree to phone calls for Marketing." in to_call.text
    assert to_call.context["person"].family_name == "Willing"
    with schema_context(cast.a.schema_name):
        closed = CallEntry.objects.get(call_list=call_list, person=changed_mind)
        assert (closed.status, closed.outcome, closed.attempts) == ("done", "", 0)
        assert not TimelineEntry.objects.filter(person=changed_mind, kind="contact").exists()
        total, _agents = calllists.call_list_stats(call_list)
        assert (total.no_consent, total.called) == (1, 0)


# --- Figures -----------------------------------------------------------------------------------------

def _crafted_list(centre):
    """Carla: interested, do not call, a pending call-back, a no-answer still to call, one untouched;
    Dora: not interested, wrong number, closed for consent; one unassigned."""
    carla, dora = centre["carla"], centre["dora"]
    rows = [(carla, "done", "interested", 1), (carla, "done", "do_not_call", 1), (carla, "call_back", "call_back", 1),
            (carla, "to_call", "no_answer", 2), (carla, "to_call", "", 0), (dora, "done", "not_interested", 1),
            (dora, "done", "wrong_number", 1), (dora, "done", "", 0), (None, "to_call", "", 0)]
    for n in range(len(rows)):
        _customer(f"Crafted{n}", rooftop=centre["hamburg"])
    _customer("NoConsent", rooftop=centre["hamburg"], consent=False)
    call_list = _list(centre, name="Crafted")
    for entry, (agent, status, outcome, attempts) in zip(
            CallEntry.objects.filter(call_list=call_list).order_by("pk"), rows, strict=True):
        CallEntry.objects.filter(pk=entry.pk).update(agent=agent, status=status, outcome=outcome, attempts=attempts)
    return call_list


@db
def test_the_figures_of_a_list_in_total_and_per_agent(cast, centre):
    with schema_context(cast.a.schema_name):
        call_list = _crafted_list(centre)
        total, per_agent = calllists.call_list_stats(call_list)
        mine, only_carla = calllists.call_list_stats(call_list, agent=centre["carla"])
    manager = cast.signed_in(cast.a, cast.a_admin)

    page = manager.get("/crm/sales/calls/")

    assert total == calllists.CallStats(entries=9, called=6, reached=4, interested=1, call_backs=1, no_answer=1,
                                        do_not_call=1, no_consent=1, to_call=3, done=5)
    assert [(row.name, row.stats.entries, row.stats.called, row.stats.reached) for row in per_agent] == [
        ("Carla Callcentre", 5, 4, 3), ("Dora Dialer", 3, 2, 1), ("Unassigned", 1, 0, 0)]
    assert per_agent[0].stats == mine and [row.name for row in only_carla] == ["Carla Callcentre"]
    assert total.done_percent == 56
    [(listed, stats)] = page.context["rows"]
    assert listed == call_list and stats == total and listed.excluded_without_consent == 1


@db
def test_an_agent_sees_only_the_lists_and_calls_given_to_them(cast, centre):
    with schema_context(cast.a.schema_name):
        call_list = _crafted_list(centre)
        _list(centre, name="Not for Anna")
        CallEntry.objects.filter(call_list=call_list, agent=centre["dora"]).update(agent=centre["anna"])
    anna = cast.signed_in(cast.a, cast.a_salesperson)

    lists = anna.get("/crm/sales/calls/")
    detail = anna.get(f"/crm/sales/calls/{call_list.pk}/")

    [(listed, stats)] = lists.context["rows"]
    assert listed == call_list and (stats.entries, stats.called) == (3, 2)
    assert {entry.agent_id for entry in detail.context["page"].object_list} == {centre["anna"].pk}
    assert [row.name for row in detail.context["per_agent"]] == ["sales@alpha.test"]
    assert detail.context["assign_form"] is None


@db
def test_the_list_page_and_a_lists_page_run_a_fixed_number_of_queries(cast, centre):
    with schema_context(cast.a.schema_name):
        first = _crafted_list(centre)
    manager = cast.signed_in(cast.a, "carla@alpha.test")
    with CaptureQueriesContext(connection) as lists_one:
        manager.get("/crm/sales/calls/")
    with CaptureQueriesContext(connection) as detail_one:
        manager.get(f"/crm/sales/calls/{first.pk}/")
    with schema_context(cast.a.schema_name):
        for n in range(30):
            _customer(f"More{n}", rooftop=centre["hamburg"])
        more = _list(centre, name="More")
        _list(centre, name="Even more")
        User.objects.create_user("erik@alpha.test", cast.password, role="marketing", first_name="Erik")
        calllists.call_entries_assign(call_list=more, agents=[centre["carla"], centre["dora"], centre["anna"]],
                                      by=None)
    with CaptureQueriesContext(connection) as lists_many:
        lists = manager.get("/crm/sales/calls/")
    with CaptureQueriesContext(connection) as detail_many:
        detail = manager.get(f"/crm/sales/calls/{more.pk}/")

    assert len(lists.context["rows"]) == 3 and len(detail.context["per_agent"]) == 3
    assert len(detail.context["page"].object_list) == 25
    assert len(lists_many) == len(lists_one), [query["sql"][:100] for query in lists_many]
    assert len(detail_many) == len(detail_one), [query["sql"][:100] for query in detail_many]


# --- Who may do what ---------------------------------------------------------------------------------

@db
def test_salespeople_and_advisors_cannot_build_lists_and_visitors_must_sign_in(cast, centre):
    with schema_context(cast.a.schema_name):
        User.objects.create_user("advisor@alpha.test", cast.password, role="service_advisor")
        _customer("Someone", rooftop=centre["hamburg"])
    salesperson = cast.signed_in(cast.a, cast.a_salesperson)
    advisor = cast.signed_in(cast.a, "advisor@alpha.test")
    form = {"name": "Mine", "purpose": "marketing", "rooftop": centre["hamburg"].pk}

    assert salesperson.get("/crm/sales/calls/new/").status_code == 403
    assert salesperson.post("/crm/sales/calls/new/", form).status_code == 403
    assert advisor.get("/crm/sales/calls/").status_code == 403
    assert advisor.get("/crm/sales/calls/next/").status_code == 403
    assert cast.client(cast.a).get("/crm/sales/calls/")["Location"].startswith("/accounts/login/")
    with schema_context(cast.a.schema_name):
        assert not CallList.objects.exists()


@db
def test_another_dealer_groups_admin_gets_404_for_a_list_and_its_calls(cast, centre):
    with schema_context(cast.a.schema_name):
        _customer("Private", rooftop=centre["hamburg"])
        call_list = _list(centre)
        entry = CallEntry.objects.get(call_list=call_list)
    bravo = cast.signed_in(cast.b, cast.b_admin)

    assert bravo.get(f"/crm/sales/calls/{call_list.pk}/").status_code == 404
    assert bravo.get(f"/crm/sales/calls/entries/{entry.pk}/").status_code == 404
    assert bravo.post(f"/crm/sales/calls/{call_list.pk}/assign/", {"agents": []}).status_code == 404
    assert "Private" not in bravo.get("/crm/sales/calls/").text


@db
def test_an_agent_cannot_see_or_record_a_call_given_to_another_agent(cast, centre):
    with schema_context(cast.a.schema_name):
        _customer("Carlas", rooftop=centre["hamburg"])
        call_list = _list(centre)
        calllists.call_entries_assign(call_list=call_list, agents=[centre["carla"]], by=None)
        entry = CallEntry.objects.get(call_list=call_list)
    anna = cast.signed_in(cast.a, cast.a_salesperson)
    dora = cast.signed_in(cast.a, "dora@alpha.test")
    outcome = f"/crm/sales/calls/entries/{entry.pk}/outcome/"

    assert anna.get(f"/crm/sales/calls/entries/{entry.pk}/").status_code == 404
    assert anna.post(outcome, {"outcome": "do_not_call"}).status_code == 404
    read_only = dora.get(f"/crm/sales/calls/entries/{entry.pk}/")  # call-centre staff read every list
    assert read_only.status_code == 200 and not read_only.context["can_act"]
    assert dora.post(outcome, {"outcome": "do_not_call"}).status_code == 404
    with schema_context(cast.a.schema_name):
        entry.refresh_from_db()
        assert (entry.status, entry.attempts, entry.agent) == ("to_call", 0, centre["carla"])
        assert not Consent.objects.filter(person=entry.person, granted=False).exists()


@db
def test_two_records_of_one_customer_on_the_same_list_are_named_before_a_merge(cast, centre):
    with schema_context(cast.a.schema_name):
        first = _customer("Twin", rooftop=centre["hamburg"])
        second = _customer("Twin", rooftop=centre["hamburg"])
        alone = _customer("Alone", rooftop=centre["berlin"])
        _list(centre, name="Hamburg calls")

        assert calllists.call_lists_merge_refusal([first.pk, second.pk]) == (
            "These records are both on the call list \u201cHamburg calls\u201d, where a customer can only be once.")
        assert calllists.call_lists_merge_refusal([first.pk, alone.pk]) == ""


@db
def test_a_double_submitted_outcome_counts_once_and_archived_customers_are_not_called(cast, centre):
    """The same call posted twice (a double click) is one attempt; a customer archived since the list
    was built does not come up."""
    with schema_context(cast.a.schema_name):
        gone = _customer("Archived", rooftop=centre["hamburg"])
        _customer("Present", rooftop=centre["hamburg"])
        call_list = _list(centre)
        calllists.call_entries_assign(call_list=call_list, agents=[centre["carla"]], by=None)
        Person.objects.filter(pk=gone.pk).update(archived_at=timezone.now())
    carla = cast.signed_in(cast.a, "carla@alpha.test")

    screen = carla.get("/crm/sales/calls/next/", follow=True)
    assert screen.context["person"].family_name == "Present"
    entry_pk = screen.context["entry"].pk
    seen = screen.context["form"].initial["attempts_seen"]
    for _ in range(2):
        carla.post(f"/crm/sales/calls/entries/{entry_pk}/outcome/", {"outcome": "no_answer", "attempts_seen": seen})

    with schema_context(cast.a.schema_name):
        entry = CallEntry.objects.get(pk=entry_pk)
        assert entry.attempts == 1
        assert TimelineEntry.objects.filter(person=entry.person, kind="contact").count() == 1
        assert CallEntry.objects.get(call_list=call_list, person=gone).attempts == 0


@db
def test_a_call_back_handed_back_to_the_pool_comes_up_for_whoever_works_the_list(cast, centre):
    with schema_context(cast.a.schema_name):
        customer = _customer("Rückruf", rooftop=centre["hamburg"])
        call_list = _list(centre)
        calllists.call_entries_assign(call_list=call_list, agents=[centre["carla"]], by=None)
        CallEntry.objects.filter(call_list=call_list).update(status="call_back",
                                                             call_back_at=timezone.now() - timedelta(minutes=5))
        calllists.call_entries_reassign(call_list=call_list, from_agent=centre["carla"], to_agent=None, by=None)

        entry, _closed = calllists.call_next(agent=centre["dora"], call_list=call_list)

        assert (entry.person, entry.agent) == (customer, centre["dora"])
