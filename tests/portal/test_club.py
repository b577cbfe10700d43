"""The owners' club in the portal: join on the terms, the card with its QR code, points and vouchers,
club events answered with seats and a waiting list; an owner sees only their own card, and nothing of
the club reaches someone without one or another dealer's host."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.services import person_create
from crm.dealerships.models import Rooftop
from crm.loyalty import services as loyalty
from crm.loyalty.models import ClubRules, Membership, PointsEntry, Reward, Voucher
from crm.marketing.models import Event, EventInvitation
from portal.models import CustomerLink

pytestmark = pytest.mark.django_db


def _linked_owner(cast, email, family_name):
    with schema_context(cast.a.schema_name):
        person = person_create(by=None, fields={"family_name": family_name, "given_name": "Olga"}, emails=[email])
        user = User.objects.filter(email=email).first() or User.objects.create_user(email, cast.password)
        CustomerLink.objects.create(user=user, person=person, proof="email")
        return person


def _club_event(name="Club night", capacity=2, kind="club"):
    starts = timezone.now() + timedelta(days=7)
    return Event.objects.create(name=name, kind=kind, capacity=capacity, starts_at=starts,
                                ends_at=starts + timedelta(hours=3), rooftop=Rooftop.objects.get(name="Alpha Berlin"))


def test_an_owner_joins_sees_the_card_and_exchanges_points(cast):
    olga = _linked_owner(cast, cast.a_owner, "Mitglied")
    client = cast.signed_in(cast.a, cast.a_owner)
    page = client.get("/my/club/")
    assert "Join the club" in page.text and "Membership is free" in page.text
    version = page.context["rules"].terms_version
    refused = client.post("/my/club/join/", {"marketing_email": "on", "terms_version": version})
    assert refused.status_code == 400 and "Please accept the club terms to join." in refused.text
    with schema_context(cast.a.schema_name):  # the terms change while Olga reads them
        ClubRules.objects.update(terms_version=version + 1)
    changed = client.post("/my/club/join/", {"accept_terms": "on", "terms_version": version})
    assert changed.status_code == 400 and "terms have just changed" in changed.text
    assert client.post("/my/club/join/", {"accept_terms": "on", "terms_version": version + 1}).status_code == 302
    with schema_context(cast.a.schema_name):
        number = Membership.objects.get(person=olga).number
        loyalty.points_adjust(person=olga, points=350, reason="Welcome", by=User.objects.get(email=cast.a_admin))
        wash = Reward.objects.get(points_cost=300)
        aircon = Reward.objects.get(points_cost=1500)
    card = client.get("/my/club/")
    assert number in card.text and "<svg" in card.text and 'aria-label="Membership card' in card.text
    assert card.context["card"].balance == 350 and "Welcome" in card.text
    assert f"/my/club/rewards/{aircon.pk}/" not in card.text  # not enough points: no button
    response = client.post(f"/my/club/rewards/{wash.pk}/", {"once": "tap-1"}, follow=True)
    client.post(f"/my/club/rewards/{wash.pk}/", {"once": "tap-1"})  # a double tap: one voucher
    with schema_context(cast.a.schema_name):
        voucher = Voucher.objects.get(person=olga)
    assert voucher.code in response.text and response.context["card"].balance == 50
    refused = client.post(f"/my/club/rewards/{aircon.pk}/", follow=True)
    assert "needs 1500 points; you have 50 points" in refused.text
    kept = client.post("/my/club/leave/")
    assert kept.status_code == 400 and "Tick the box" in kept.text and "your 50 unused points lapse" in kept.text
    client.post("/my/club/leave/", {"confirm": "on"})
    with schema_context(cast.a.schema_name):
        assert Membership.objects.get(person=olga).left_at is not None
        assert sum(PointsEntry.objects.filter(person=olga).values_list("points", flat=True)) == 0


def test_members_answer_club_events_with_seats_and_a_waiting_list(cast):
    olga = _linked_owner(cast, cast.a_owner, "Abend")
    bob = _linked_owner(cast, "bob@alpha.test", "Zweiter")
    with schema_context(cast.a.schema_name):
        loyalty.club_join(person=olga, accepted_terms=True, by=None, source="test")
        loyalty.club_join(person=bob, accepted_terms=True, by=None, source="test")
        night = _club_event(capacity=2)
        class_ = _club_event(name="Care class", kind="care_class")
    client = cast.signed_in(cast.a, cast.a_owner)
    page = client.get("/my/club/")
    assert "Club night" in page.text and "2 seats left" in page.text and "Care class" not in page.text
    too_many = client.post(f"/my/club/events/{night.pk}/", {"coming": "yes", "guests": "5"})
    assert too_many.status_code == 400 and f'id="rsvp-errors-{night.pk}"' in too_many.text
    assert "Ensure this value is less than or equal to 4." in too_many.text and 'value="5"' in too_many.text
    assert client.post(f"/my/club/events/{night.pk}/", {"coming": "yes", "guests": "1"}).status_code == 302
    assert "You are coming with 1 guest." in client.get("/my/club/").text
    bob_client = cast.signed_in(cast.a, "bob@alpha.test")
    bob_client.post(f"/my/club/events/{night.pk}/", {"coming": "yes", "guests": "0"})
    assert "You are on the waiting list." in bob_client.get("/my/club/").text
    client.post(f"/my/club/events/{night.pk}/", {"coming": "no"})  # Olga's seats go to Bob
    with schema_context(cast.a.schema_name):
        statuses = dict(EventInvitation.objects.filter(event=night).values_list("person__family_name", "status"))
    assert statuses == {"Abend": "declined", "Zweiter": "accepted"}
    assert client.post(f"/my/club/events/{class_.pk}/", {"coming": "yes"}).status_code == 404


def test_no_club_without_a_customer_record_or_membership_and_nothing_of_anyone_else(cast):
    with schema_context(cast.a.schema_name):
        User.objects.create_user("stranger@alpha.test", cast.password)
        night = _club_event()
        ClubRules.current()  # the defaults, as the first club page would make them
        wash = Reward.objects.get(points_cost=300)
    stranger = cast.signed_in(cast.a, "stranger@alpha.test")
    assert "Add your car to your garage first" in stranger.get("/my/club/").text
    assert stranger.post("/my/club/join/", {"accept_terms": "on", "terms_version": 1}).status_code == 404
    assert stranger.post(f"/my/club/events/{night.pk}/", {"coming": "yes"}).status_code == 404
    assert stranger.post(f"/my/club/rewards/{wash.pk}/").status_code == 404

    olga = _linked_owner(cast, cast.a_owner, "Eigene")
    other = _linked_owner(cast, "other@alpha.test", "Fremde")
    with schema_context(cast.a.schema_name):
        loyalty.club_join(person=other, accepted_terms=True, by=None, source="test")
        other_number = Membership.objects.get(person=other).number
    client = cast.signed_in(cast.a, cast.a_owner)
    page = client.get("/my/club/")
    assert other_number not in page.text and "Join the club" in page.text
    assert client.post(f"/my/club/events/{night.pk}/", {"coming": "yes"}).status_code == 404  # not a member
    assert client.get(f"/crm/club/card/{other_number}/").status_code == 403
    with schema_context(cast.a.schema_name):
        assert not EventInvitation.objects.filter(person=olga).exists()
    assert cast.client(cast.b).get("/my/club/").status_code == 302  # B's host: sign in to B first


def test_the_club_page_takes_the_same_queries_for_one_or_many_events_and_entries(cast, django_assert_max_num_queries):
    olga = _linked_owner(cast, cast.a_owner, "Zaehler")
    with schema_context(cast.a.schema_name):
        loyalty.club_join(person=olga, accepted_terms=True, by=None, source="test")
        admin = User.objects.get(email=cast.a_admin)
        _club_event()
    client = cast.signed_in(cast.a, cast.a_owner)
    client.get("/my/club/")
    with django_assert_max_num_queries(30) as few:
        client.get("/my/club/")
    with schema_context(cast.a.schema_name):
        for n in range(5):
            _club_event(name=f"Night {n}")
            loyalty.points_adjust(person=olga, points=100, reason=f"Bonus {n}", by=admin)
        loyalty.reward_redeem(person=olga, reward=Reward.objects.get(points_cost=300), by=None)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/my/club/")
    assert "Night 4" in page.text and "Bonus 4" in page.text


def test_the_referral_page_offers_a_wechat_qr_and_a_copy_button(cast):
    _linked_owner(cast, cast.a_owner, "Teilen")
    page = cast.signed_in(cast.a, cast.a_owner).get("/my/refer/")
    assert "WeChat" in page.text and 'class="qr"' in page.text and 'data-copy="referral-link"' in page.text
