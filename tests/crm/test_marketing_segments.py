"""Saved segments: rules over customer, car, visit, prospect and computed fields combined with all/any and by
including other segments; fixed lists; live count and preview while editing; used by campaigns and call lists;
who may use them, and nothing across tenants."""

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from crm.analytics.models import CustomerSegment
from crm.customers.merging import customers_merge, merge_undo
from crm.customers.models import Consent, MergeRecord, Person, Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.dealerships.models import Rooftop
from crm.marketing import campaigns, segments
from crm.marketing.models import Campaign, MessageTemplate, Recipient, Segment, SegmentMember
from crm.sales import calllists
from crm.sales.models import Level, Prospect, Source
from crm.service.models import ServiceVisit

pytestmark = pytest.mark.django_db


def _car(person, make, model, *, bought=None):
    car = Vehicle.objects.create(make=make, model=model, purchase_date=bought)
    VehicleLink.objects.create(vehicle=car, person=person, kind="owner")
    return car


def _visit(person, car, months_ago, amount=100):
    return ServiceVisit.objects.create(person=person, vehicle=car, status="closed", total_amount=amount,
                                       opened_on=timezone.localdate() - relativedelta(months=months_ago))


@pytest.fixture
def people(cast):
    """Five customers of tenant A, crafted so each rule picks a known set."""
    with schema_context(cast.a.schema_name):
        hamburg = Rooftop.objects.get(name="Alpha Hamburg")
        today = timezone.localdate()

        def customer(name, **fields):
            return person_create(by=None, fields={"family_name": name, "given_name": "Test", **fields},
                                 emails=[f"{name.lower()}@example.de"])

        ben = customer("Ben", rooftop=hamburg, birth_date=today - relativedelta(years=40), preferred_language="ru")
        _visit(ben, _car(ben, "BMW", "X3", bought=today - relativedelta(months=30)), months_ago=14)
        cleo = customer("Cleo", birth_date=today - relativedelta(years=25))
        _visit(cleo, _car(cleo, "bmw", "320d", bought=today - relativedelta(months=2)), months_ago=1)
        dan = customer("Dan", rooftop=hamburg)
        _visit(dan, _car(dan, "VW", "Golf"), months_ago=20)
        eva = customer("Eva")  # no car, no visit; an open H prospect
        Prospect.objects.create(person=eva, source=Source.WEB_FORM, level=Level.H, registered_on=today)
        fritz = customer("Fritz", rooftop=hamburg)
        Consent.objects.create(person=fritz, channel="email", purpose="marketing", granted=True, source="test",
                               recorded_at=timezone.now() - timedelta(days=1))
        CustomerSegment.objects.create(person=fritz, high_value=True, computed_at=timezone.now())
        admin = User.objects.get(email=cast.a_admin)
    return {"ben": ben, "cleo": cleo, "dan": dan, "eva": eva, "fritz": fritz, "hamburg": hamburg, "admin": admin}


def _names(queryset):
    return sorted(queryset.values_list("family_name", flat=True))


def _rules(match, *rules):
    return segments.rules_people(match, segments.rules_clean(list(rules)))


def test_rules_over_cars_visits_prospects_and_computed_fields(cast, people):
    with schema_context(cast.a.schema_name):
        bmw = {"field": "make", "op": "is", "value": "BMW"}
        assert _names(_rules("all", bmw)) == ["Ben", "Cleo"]  # the make in any case
        # "is not" is everyone without a current BMW, including customers with no car at all
        assert _names(_rules("all", {**bmw, "op": "is_not"})) == ["Dan", "Eva", "Fritz"]
        lapsed = {"field": "visited", "op": "not_within", "value": "12"}
        assert _names(_rules("all", bmw, lapsed)) == ["Ben"]
        assert _names(_rules("any", bmw, lapsed)) == ["Ben", "Cleo", "Dan", "Eva", "Fritz"]
        assert _names(_rules("all", {"field": "visited", "op": "within", "value": "12"})) == ["Cleo"]
        assert _names(_rules("all", {"field": "bought", "op": "within", "value": "6"})) == ["Cleo"]
        assert _names(_rules("all", {"field": "age", "op": "gte", "value": "30"})) == ["Ben"]
        assert _names(_rules("all", {"field": "age", "op": "lte", "value": "25"})) == ["Cleo"]
        assert _names(_rules("all", {"field": "rooftop", "op": "is", "value": str(people["hamburg"].pk)})) == [
            "Ben", "Dan", "Fritz"]
        assert _names(_rules("all", {"field": "prospect_level", "op": "is", "value": "H"})) == ["Eva"]
        assert _names(_rules("all", {"field": "open_prospect", "op": "no"})) == ["Ben", "Cleo", "Dan", "Fritz"]
        assert _names(_rules("all", {"field": "consent", "op": "is", "value": "email:marketing"})) == ["Fritz"]
        assert _names(_rules("all", {"field": "high_value", "op": "yes"})) == ["Fritz"]
        assert _names(_rules("all", {"field": "language", "op": "is", "value": "ru"})) == ["Ben"]
        # a label typed by hand is understood as its value
        assert _names(_rules("all", {"field": "prospect_level", "op": "is", "value": "h – buys within a week"})) == [
            "Eva"]


def test_and_or_nest_through_saved_segments_and_cycles_are_refused(cast, people):
    with schema_context(cast.a.schema_name):
        admin = people["admin"]
        # (BMW and not visited for 12 months) or Hamburg  ->  Ben, plus Dan and Fritz
        lapsed_bmw = segments.segment_save(segment=Segment(name="Lapsed BMW"), by=admin, rules=[
            {"field": "make", "op": "is", "value": "BMW"}, {"field": "visited", "op": "not_within", "value": "12"}])
        either = segments.segment_save(segment=Segment(name="Lapsed BMW or Hamburg", match="any"), by=admin, rules=[
            {"field": "in_segment", "op": "is", "value": str(lapsed_bmw.pk)},
            {"field": "rooftop", "op": "is", "value": str(people["hamburg"].pk)}])
        assert _names(segments.segment_people(either)) == ["Ben", "Dan", "Fritz"]
        outside = segments.segment_save(segment=Segment(name="Not lapsed BMW"), by=admin, rules=[
            {"field": "in_segment", "op": "is_not", "value": str(lapsed_bmw.pk)}])
        assert _names(segments.segment_people(outside)) == ["Cleo", "Dan", "Eva", "Fritz"]
        # A includes B: B may not come to include A (nor itself)
        with pytest.raises(ValidationError, match="A segment cannot include itself"):
            segments.segment_save(segment=lapsed_bmw, by=admin, rules=[
                {"field": "in_segment", "op": "is", "value": str(either.pk)}])
        with pytest.raises(ValidationError, match="A segment cannot include itself"):
            segments.segment_save(segment=either, by=admin, rules=[
                {"field": "in_segment", "op": "is", "value": str(either.pk)}])
        # still in use: not archived; the reason names the user
        with pytest.raises(ValidationError, match="Lapsed BMW or Hamburg"):
            segments.segment_archive(segment=lapsed_bmw)
        # a cycle through several segments is refused too, and nesting stops at five levels, said when saving
        chain = [lapsed_bmw]
        for level in range(1, 6):
            chain.append(segments.segment_save(segment=Segment(name=f"Level {level}"), by=admin, rules=[
                {"field": "in_segment", "op": "is", "value": str(chain[-1].pk)}]))
        assert _names(segments.segment_people(chain[-1])) == ["Ben"]
        with pytest.raises(ValidationError, match="at most 5 deep"):
            segments.segment_save(segment=Segment(name="Level 6"), by=admin, rules=[
                {"field": "in_segment", "op": "is", "value": str(chain[-1].pk)}])
        with pytest.raises(ValidationError, match="cannot include itself"):
            segments.segment_save(segment=chain[1], by=admin, rules=[
                {"field": "in_segment", "op": "is", "value": str(chain[3].pk)}])
        # "not in" a segment archived since excludes nobody wrongly: the rule holds nobody (fail closed)
        vip = segments.list_from_people(name="VIP", people=Person.objects.filter(pk=people["ben"].pk), by=admin)
        not_vip = segments.segment_save(segment=Segment(name="Not VIP"), by=admin, rules=[
            {"field": "in_segment", "op": "is_not", "value": str(vip.pk)}])
        assert _names(segments.segment_people(not_vip)) == ["Cleo", "Dan", "Eva", "Fritz"]
        Segment.objects.filter(pk=vip.pk).update(archived_at=timezone.now())
        assert _names(segments.segment_people(not_vip)) == []
        assert segments.list_add(segment=segments.list_from_people(name="Empty", people=Person.objects.none(),
                                                                   by=admin), people=segments.segment_people(vip),
                                 by=admin) == 0


def test_bad_rules_are_named_one_by_one(cast, people):
    with schema_context(cast.a.schema_name):
        with pytest.raises(ValidationError) as refused:
            segments.rules_clean([
                {"field": "make", "op": "is", "value": "BMW"},
                {"field": "age", "op": "gte", "value": "forty"},
                {"field": "visited", "op": "within", "value": "1.5"},
                {"field": "nonsense", "op": "is", "value": "x"},
                {"field": "customer_since", "op": "before", "value": "31.12.2020"},
                {"field": "make", "op": "gte", "value": "BMW"},
                {"field": "language", "op": "is", "value": "klingon"}])
        assert refused.value.messages == [
            "Rule 2: Give a number from 0 to 120.", "Rule 3: Give a whole number of months from 1 to 240.",
            "Rule 4: Choose what to test.", "Rule 5: Give a date as YYYY-MM-DD.", "Rule 6: Choose how to compare.",
            "Rule 7: Choose one of the values offered."]
        with pytest.raises(ValidationError, match="Add at least one rule"):
            segments.rules_clean([])
        # numbers fit their field: whole years and scores, money to the cent; a repeated rule is named
        with pytest.raises(ValidationError) as refused:
            segments.rules_clean([
                {"field": "age", "op": "gte", "value": "18.5"}, {"field": "model_year", "op": "gte", "value": "2019.5"},
                {"field": "recency", "op": "gte", "value": "9"}, {"field": "age", "op": "gte", "value": "5000"},
                {"field": "make", "op": "is", "value": "BMW"}, {"field": "make", "op": "is", "value": " BMW "}])
        assert refused.value.messages == [
            "Rule 1: Give a whole number.", "Rule 2: Give a whole number.", "Rule 3: Give a number from 1 to 5.",
            "Rule 4: Give a number from 0 to 120.", "Rule 6: It repeats rule 5."]
        assert segments.rules_clean([{"field": "spend_3y", "op": "gte", "value": "1 500,5"}]) == [
            {"field": "spend_3y", "op": "gte", "value": "1500.50"}]


def test_a_fixed_list_keeps_its_customers_through_a_merge(cast, people):
    with schema_context(cast.a.schema_name):
        admin = people["admin"]
        bmw = segments.segment_save(segment=Segment(name="BMW"), by=admin, rules=[
            {"field": "make", "op": "is", "value": "BMW"}])
        frozen = segments.list_from_people(name="BMW in November", people=segments.segment_people(bmw), by=admin)
        assert _names(segments.segment_people(frozen)) == ["Ben", "Cleo"]
        _car(people["dan"], "BMW", "i4")  # the rules follow; the fixed list does not
        assert _names(segments.segment_people(bmw)) == ["Ben", "Cleo", "Dan"]
        assert _names(segments.segment_people(frozen)) == ["Ben", "Cleo"]
        assert segments.list_add(segment=frozen, people=Person.objects.filter(pk=people["cleo"].pk), by=admin) == 0
        # Cleo's record is merged into Eva's, then Eva's into Ben's (already on the list): the list holds Ben once
        segments.list_add(segment=frozen, people=Person.objects.filter(pk=people["dan"].pk), by=admin)
        first = customers_merge(survivor=people["eva"], others=[people["cleo"]], by=admin)
        assert _names(segments.segment_people(frozen)) == ["Ben", "Dan", "Eva"]
        customers_merge(survivor=people["dan"], others=[people["eva"]], by=admin)
        assert _names(segments.segment_people(frozen)) == ["Ben", "Dan"]
        assert SegmentMember.objects.filter(segment=frozen).count() == 2
        # undone, each record is back on the list as it was
        merge_undo(record=MergeRecord.objects.exclude(pk=first.pk).get(), by=admin)
        merge_undo(record=first, by=admin)
        assert _names(segments.segment_people(frozen)) == ["Ben", "Cleo", "Dan"]
        segments.list_remove(segment=frozen, person=people["dan"])
        assert _names(segments.segment_people(frozen)) == ["Ben", "Cleo"]


def test_campaigns_and_call_lists_reach_a_saved_segment(cast, people):
    with schema_context(cast.a.schema_name):
        admin = people["admin"]
        hamburg = segments.segment_save(segment=Segment(name="Hamburg"), by=admin, rules=[
            {"field": "rooftop", "op": "is", "value": str(people["hamburg"].pk)}])
        template = MessageTemplate.objects.create(name="Offer", channel="email")
        campaign = campaigns.campaign_create(name="Hamburg offer", template=template, by=admin,
                                             criteria={"saved_segment": hamburg})
        campaigns.audience_freeze(campaign)
        assert sorted(Recipient.objects.filter(campaign=campaign).values_list("person__family_name", flat=True)) == [
            "Ben", "Dan", "Fritz"]
        assert ("Saved segment", "Hamburg") in segments.criteria_describe(campaign.criteria)
        # combined with a filter: both must hold
        assert _names(segments.customers_matching({"saved_segment": hamburg.pk, "make": "VW"})) == ["Dan"]
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.DONE)
        draft = campaigns.campaign_create(name="Draft", template=template, by=admin,
                                          criteria={"saved_segment": hamburg})
        with pytest.raises(ValidationError, match="Draft"):
            segments.segment_archive(segment=hamburg)
        draft.delete()
        segments.segment_archive(segment=hamburg)
        with pytest.raises(ValidationError, match="Choose a saved segment"):
            calllists.call_list_create(by=admin, name="Calls", purpose="marketing", script="",
                                       criteria={"saved_segment": hamburg.pk})
        assert Campaign.objects.get(pk=campaign.pk).recipients.count() == 3  # the frozen audience stays


def test_the_editor_counts_previews_and_keeps_what_was_typed(cast, people):
    client = cast.signed_in(cast.a, cast.a_admin)
    blank = client.get("/crm/marketing/segments/new/")
    assert blank.status_code == 200 and [row.field.key for row in blank.context["rows"]] == ["make"]
    rows = {"name": "BMW lapsed", "kind": "rules", "match": "all", "rule_field": ["make", "visited"],
            "rule_op": ["is", "not_within"], "rule_value": ["BMW", "12"]}
    live = client.post("/crm/marketing/segments/new/", rows, headers={"HX-Request": "true"})
    assert live.status_code == 200 and live.templates[0].name == "marketing/_segment_rules.html"
    assert live.context["preview"]["count"] == 1 and "Ben" in live.text
    added = client.post("/crm/marketing/segments/new/", {**rows, "action": "add", "new_field": "high_value"},
                        headers={"HX-Request": "true"})
    assert [row.field.key for row in added.context["rows"]] == ["make", "visited", "high_value"]
    assert client.post("/crm/marketing/segments/new/", {**rows, "action": "remove:²"}).status_code == 200
    kept = client.post("/crm/marketing/segments/new/", {**rows, "new_field": "visited"}, headers={"HX-Request": "true"})
    assert '<option value="visited" selected>' in kept.text  # the field chosen for the next rule stays chosen
    page = client.get("/crm/marketing/segments/new/").text
    assert page.index('value="count"') < page.index('value="remove:0"')  # Enter counts, it does not remove
    removed = client.post("/crm/marketing/segments/new/", {**rows, "action": "remove:0"})
    assert [row.field.key for row in removed.context["rows"]] == ["visited"]
    assert removed.context["preview"]["count"] == 4  # Ben and Dan lapsed; Eva and Fritz never came
    # a field changed in the editor gets its own operators; the old operator does not stay
    changed = client.post("/crm/marketing/segments/new/", {**rows, "rule_field": ["high_value", "visited"]},
                          headers={"HX-Request": "true"})
    assert changed.context["rows"][0].op == "yes"
    bad = client.post("/crm/marketing/segments/new/", {**rows, "rule_value": ["BMW", "twelve"], "action": "save"})
    assert bad.status_code == 400 and "Rule 2: Give a whole number of months from 1 to 240." in bad.text
    assert 'value="twelve"' in bad.text  # nothing typed is lost
    saved = client.post("/crm/marketing/segments/new/", {**rows, "action": "save"}, follow=True)
    assert "Segment saved." in saved.text and saved.context["page"].paginator.count == 1
    twice = client.post("/crm/marketing/segments/new/", {**rows, "name": "bmw LAPSED", "action": "save"})
    assert twice.status_code == 400 and "A segment with this name already exists." in twice.text
    with schema_context(cast.a.schema_name):
        segment = Segment.objects.get(name="BMW lapsed")
        assert segment.rules == [{"field": "make", "op": "is", "value": "BMW"},
                                 {"field": "visited", "op": "not_within", "value": 12}]
    listing = client.get("/crm/marketing/segments/")
    assert "Car make is BMW" in listing.text and "Service visit not in the last 12 months" in listing.text
    frozen = client.post(f"/crm/marketing/segments/{segment.pk}/freeze/", {"name": "BMW lapsed, November"},
                         follow=True)
    assert "Fixed list saved with 1 customer." in frozen.text
    campaign_form = client.get(f"/crm/marketing/campaigns/new/?saved_segment={segment.pk}")
    assert campaign_form.context["form"]["saved_segment"].value() == str(segment.pk)


def test_a_fixed_list_is_kept_by_hand(cast, people):
    client = cast.signed_in(cast.a, cast.a_admin)
    created = client.post("/crm/marketing/segments/new/", {"name": "VIP evening", "kind": "list", "match": "all",
                                                          "action": "save"})
    with schema_context(cast.a.schema_name):
        vip = Segment.objects.get(name="VIP evening")
    assert created["Location"] == f"/crm/marketing/segments/{vip.pk}/"
    add = f"/crm/marketing/segments/{vip.pk}/members/add/"
    assert client.post(add, {"customer": "Nobody-like-this"}).status_code == 400
    client.post(add, {"customer": "Fritz"})
    page = client.get(f"/crm/marketing/segments/{vip.pk}/")
    assert [person.family_name for person in page.context["page"]] == ["Fritz"]
    client.post(f"/crm/marketing/segments/{vip.pk}/members/{people['fritz'].pk}/remove/")
    assert client.get(f"/crm/marketing/segments/{vip.pk}/").context["page"].paginator.count == 0
    with schema_context(cast.a.schema_name):
        assert not SegmentMember.objects.filter(segment=vip).exists()


def test_only_audience_builders_of_the_tenant_see_segments(cast, people):
    with schema_context(cast.a.schema_name):
        segment = segments.segment_save(segment=Segment(name="Alpha BMW"), by=people["admin"], rules=[
            {"field": "make", "op": "is", "value": "BMW"}])
    assert cast.signed_in(cast.a, cast.a_salesperson).get("/crm/marketing/segments/").status_code == 403
    bravo = cast.signed_in(cast.b, cast.b_admin)
    assert bravo.get(f"/crm/marketing/segments/{segment.pk}/").status_code == 404
    assert bravo.post(f"/crm/marketing/segments/{segment.pk}/freeze/", {"name": "x"}).status_code == 404
    assert bravo.post(f"/crm/marketing/segments/{segment.pk}/archive/").status_code == 404
    assert "Alpha BMW" not in bravo.get("/crm/marketing/segments/").text
    with schema_context(cast.b.schema_name):
        assert not Segment.objects.exists()
