"""The owners' club in the CRM: points earned from visits, club events and referrals exactly once; the
ledger is the balance; adjustments need a reason and never take a balance below zero; vouchers are
honoured once; who may do what; and another dealer group sees none of it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import StaffRole, User
from crm.core.services import staff_user_create
from crm.customers.merging import customers_merge, merge_undo
from crm.customers.models import Consent, Person, Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.loyalty import accrual, selectors, services
from crm.loyalty.models import ClubRules, Membership, PointsEntry, Reward, Tier, Voucher
from crm.marketing.models import Event, EventInvitation
from crm.sales.models import Opportunity, Prospect, Source, Stage
from crm.service.models import ServiceVisit

pytestmark = pytest.mark.django_db


def _person(name: str, email: str = "") -> Person:
    return person_create(by=None, fields={"family_name": name, "given_name": "Mia"},
                         emails=[email] if email else [])


def _visit(person: Person, amount: str, days_ago: int = 1) -> ServiceVisit:
    car = Vehicle.objects.create(make="VW", model="Golf")
    VehicleLink.objects.create(vehicle=car, person=person, kind="owner")
    closed = timezone.localdate() - timedelta(days=days_ago)
    return ServiceVisit.objects.create(person=person, vehicle=car, status="closed", total_amount=Decimal(amount),
                                       opened_on=closed, closed_on=closed)


def _member(person: Person, *, days_ago: int = 30) -> Membership:
    membership = services.club_join(person=person, accepted_terms=True, by=None, source="test")
    Membership.objects.filter(pk=membership.pk).update(joined_at=timezone.now() - timedelta(days=days_ago))
    return membership


def _balance(person: Person) -> int:
    return PointsEntry.objects.filter(person=person).aggregate(total=Sum("points"))["total"] or 0


def test_default_rules_tiers_and_rewards_come_in_the_groups_language(cast):
    with schema_context(cast.a.schema_name):
        rules = ClubRules.current()
        assert rules.name and rules.terms and rules.spend_per_point == Decimal(100)
        assert [tier.threshold for tier in Tier.objects.all()] == [0, 1000, 3000]
        assert Reward.objects.filter(active=True).count() == 3
        assert ClubRules.current().pk == rules.pk  # made once


def test_visits_events_and_referrals_earn_points_once(cast):
    with schema_context(cast.a.schema_name):
        mia = _person("Punkte", "mia@example.de")
        _member(mia)
        before_joining = _visit(mia, "900.00", days_ago=60)
        _visit(mia, "1250.00")
        _visit(mia, "99.00")  # less than one point
        starts = timezone.now() - timedelta(days=2)
        club_night = Event.objects.create(name="Club night", kind="club", capacity=10, starts_at=starts,
                                          ends_at=starts + timedelta(hours=3))
        EventInvitation.objects.create(event=club_night, person=mia, token_hash="a" * 64, status="accepted",
                                       checked_in_at=starts)
        class_ = Event.objects.create(name="Care class", kind="care_class", capacity=10, starts_at=starts,
                                      ends_at=starts + timedelta(hours=3))
        EventInvitation.objects.create(event=class_, person=mia, token_hash="b" * 64, status="accepted",
                                       checked_in_at=starts)
        friend = _person("Freundin")
        prospect = Prospect.objects.create(person=friend, referrer=mia, source=Source.REFERRAL,
                                           registered_on=timezone.localdate())
        assert accrual.points_accrue() == {"service": 1, "event": 1, "referral": 0}
        Opportunity.objects.create(prospect=prospect, model="ID.4", probability=100, stage=Stage.DELIVERED,
                                   stage_changed_at=timezone.now(), delivered_on=timezone.localdate())
        assert accrual.points_accrue() == {"service": 0, "event": 0, "referral": 1}
        _visit(friend, "300.00")  # the friend's first visit: "whichever comes first" has already paid
        assert accrual.points_accrue() == {"service": 0, "event": 0, "referral": 0}
        assert _balance(mia) == 12 + 100 + 500
        assert not PointsEntry.objects.filter(visit=before_joining).exists()
        assert selectors.card(mia.pk).balance == 612


def test_a_referral_voucher_by_the_rules_on_the_friends_first_visit(cast):
    with schema_context(cast.a.schema_name):
        ClubRules.current()
        ClubRules.objects.update(referral_trigger="first_visit", referral_reward="voucher",
                                 referral_voucher="Free car wash")
        olga, friend = _person("Olga"), _person("Fred")
        Prospect.objects.create(person=friend, referrer=olga, source=Source.REFERRAL,
                                registered_on=timezone.localdate() - timedelta(days=5))
        assert accrual.points_accrue()["referral"] == 0
        _visit(friend, "80.00")
        assert accrual.points_accrue()["referral"] == 1
        assert accrual.points_accrue()["referral"] == 0
        voucher = Voucher.objects.get(person=olga)
        assert (voucher.description, voucher.source, voucher.points_cost) == ("Free car wash", "referral", 0)


def test_referral_rewards_follow_merges_once_per_friend_and_never_to_oneself(cast):
    with schema_context(cast.a.schema_name):
        admin = User.objects.get(email=cast.a_admin)
        first, second, final = _person("Erst"), _person("Zweit"), _person("Letzt")
        _member(final)
        friend = _person("Freundin")
        for lost in (True, False):  # the same friend recommended twice: an earlier enquiry came to nothing
            Prospect.objects.create(person=friend, referrer=first, source=Source.REFERRAL,
                                    registered_on=timezone.localdate() - timedelta(days=5),
                                    **({"level": "F", "lost_reason": "price", "closed_on": timezone.localdate()}
                                       if lost else {}))
        customers_merge(survivor=second, others=[first], by=admin)
        customers_merge(survivor=final, others=[second], by=admin)  # the referrer's record, merged twice
        _visit(friend, "120.00")
        assert accrual.points_accrue()["referral"] == 1
        assert accrual.points_accrue()["referral"] == 0
        assert PointsEntry.objects.get(kind="referral").person == final

        regular = _person("Stamm")  # already a workshop customer before the "referral"
        _visit(regular, "200.00", days_ago=40)
        Prospect.objects.create(person=regular, referrer=final, source=Source.REFERRAL,
                                registered_on=timezone.localdate() - timedelta(days=5))
        _visit(regular, "150.00")
        selfie = Prospect.objects.create(person=final, referrer=final, source=Source.REFERRAL,
                                         registered_on=timezone.localdate() - timedelta(days=5))
        _visit(final, "50.00")
        assert accrual.points_accrue()["referral"] == 0
        assert not PointsEntry.objects.filter(source_key=f"referral:{selfie.pk}").exists()


def test_points_wait_for_membership_and_none_arrive_after_leaving(cast):
    with schema_context(cast.a.schema_name):
        admin = User.objects.get(email=cast.a_admin)
        olga, friend = _person("Wartend"), _person("Kumpel")
        Prospect.objects.create(person=friend, referrer=olga, source=Source.REFERRAL,
                                registered_on=timezone.localdate() - timedelta(days=5))
        _visit(friend, "100.00")
        assert accrual.points_accrue()["referral"] == 0  # not a member: the reward waits
        _member(olga)
        assert accrual.points_accrue()["referral"] == 1 and _balance(olga) == 500
        voucher = services.reward_redeem(person=olga, reward=Reward.objects.get(points_cost=300), by=None)
        services.club_leave(person=olga, by=None)
        services.voucher_cancel(voucher=voucher, by=admin)  # no refund to someone who left
        _visit(olga, "900.00")
        accrual.points_accrue()
        assert _balance(olga) == 0
        services.club_join(person=olga, accepted_terms=True, by=None, source="test")
        card = selectors.card(olga.pk)
        assert (card.balance, card.tier.name) == (0, "Silver")  # a new start: no points, no old tier


def test_the_ledger_is_the_balance_and_cannot_go_below_zero(cast):
    with schema_context(cast.a.schema_name):
        admin = User.objects.get(email=cast.a_admin)
        mia = _person("Saldo")
        _member(mia)
        services.points_adjust(person=mia, points=400, reason="Goodwill: late car", by=admin)
        with pytest.raises(ValidationError, match="reason"):
            services.points_adjust(person=mia, points=10, reason="  ", by=admin)
        with pytest.raises(ValidationError, match="400"):
            services.points_adjust(person=mia, points=-401, reason="typo", by=admin)
        wash = Reward.objects.get(points_cost=300)
        voucher = services.reward_redeem(person=mia, reward=wash, by=None)
        with pytest.raises(ValidationError, match="needs 300 points; you have 100 points"):
            services.reward_redeem(person=mia, reward=wash, by=None)
        services.voucher_cancel(voucher=voucher, by=admin)  # the points come back
        second = services.reward_redeem(person=mia, reward=wash, by=None)
        entries = list(PointsEntry.objects.filter(person=mia).values_list("kind", "points"))
        assert sorted(entries) == sorted([("adjustment", 400), ("redemption", -300), ("refund", 300),
                                          ("redemption", -300)])
        assert _balance(mia) == sum(points for _kind, points in entries) == selectors.card(mia.pk).balance == 100
        assert second.code != voucher.code and len(second.code) == 8
        services.club_leave(person=mia, by=None)
        assert _balance(mia) == 0 and selectors.card(mia.pk) is None
        with pytest.raises(ValidationError, match="not a club member"):
            services.points_adjust(person=mia, points=5, reason="after leaving", by=admin)


def test_tier_by_points_of_the_last_year_or_by_spend(cast):
    with schema_context(cast.a.schema_name):
        admin = User.objects.get(email=cast.a_admin)
        mia = _person("Stufe")
        _member(mia)
        services.points_adjust(person=mia, points=1200, reason="Welcome bonus", by=admin)
        old = services.points_adjust(person=mia, points=5000, reason="Old points", by=admin)
        PointsEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
        card = selectors.card(mia.pk)
        assert (card.tier.name, card.next_tier.name, card.to_next_tier) == ("Gold", "Platinum", Decimal(1800))
        ClubRules.objects.update(tier_basis="spend")
        _visit(mia, "3100.00")
        assert selectors.card(mia.pk).tier.name == "Platinum"


def test_joining_records_the_terms_and_the_consent_given(cast):
    with schema_context(cast.a.schema_name):
        mia = _person("Beitritt", "beitritt@example.de")
        with pytest.raises(ValidationError, match="accept the club terms"):
            services.club_join(person=mia, accepted_terms=False, by=None, source="portal")
        membership = services.club_join(person=mia, accepted_terms=True, marketing_email=True, by=None,
                                        source="portal")
        assert membership.terms_version == ClubRules.current().terms_version and len(membership.number) == 8
        consent = Consent.objects.get(person=mia)
        assert (consent.channel, consent.purpose, consent.granted, consent.source) == ("email", "marketing", True,
                                                                                      "portal")
        with pytest.raises(ValidationError, match="Already"):
            services.club_join(person=mia, accepted_terms=True, by=None, source="portal")


def test_two_members_cannot_be_merged_but_a_member_and_a_customer_can(cast):
    with schema_context(cast.a.schema_name):
        admin = User.objects.get(email=cast.a_admin)
        one, two, three = _person("Eins"), _person("Zwei"), _person("Drei")
        _member(one)
        _member(two)
        services.points_adjust(person=two, points=50, reason="x", by=admin)
        with pytest.raises(ValidationError, match="club card"):
            customers_merge(survivor=one, others=[two], by=admin)
        customers_merge(survivor=three, others=[two], by=admin)
        assert Membership.objects.get(person=three).number and _balance(three) == 50


def test_a_merge_whose_points_were_spent_since_cannot_be_undone(cast):
    with schema_context(cast.a.schema_name):
        admin = User.objects.get(email=cast.a_admin)
        member, customer = _person("Punktemitglied"), _person("Kundin")
        _member(member)
        services.points_adjust(person=member, points=300, reason="Start", by=admin)
        record = customers_merge(survivor=customer, others=[member], by=admin)
        services.reward_redeem(person=customer, reward=Reward.objects.get(points_cost=300), by=None)
        with pytest.raises(ValidationError, match="cannot be undone"):
            merge_undo(record=record, by=admin)
        assert _balance(customer) == 0


def test_staff_see_members_adjust_and_redeem_a_voucher_once(cast):
    with schema_context(cast.a.schema_name):
        mia = _person("Karte")
        membership = _member(mia)
        services.points_adjust(person=mia, points=500, reason="Start", by=User.objects.get(email=cast.a_admin))
        voucher = services.reward_redeem(person=mia, reward=Reward.objects.get(points_cost=300), by=None)
        staff_user_create(email="advisor@alpha.test", password=cast.password, role=StaffRole.SERVICE_ADVISOR)
    admin = cast.signed_in(cast.a, cast.a_admin)
    page = admin.get("/crm/club/")
    assert membership.number in page.text and "Karte" in page.text
    assert admin.get(f"/crm/club/?q={membership.number}").context["page"].paginator.count == 1
    response = admin.post(f"/crm/club/members/{mia.pk}/adjust/", {"points": "-900", "reason": "oops"})
    assert response.status_code == 400 and "cannot go below zero" in response.text
    assert admin.post(f"/crm/club/members/{mia.pk}/adjust/", {"points": "25", "reason": "Birthday"}).status_code == 302
    assert admin.get(f"/crm/club/card/{membership.number}/").url == f"/crm/club/members/{mia.pk}/"

    advisor = cast.signed_in(cast.a, "advisor@alpha.test")
    code = f"{voucher.code[:4].lower()}-{voucher.code[4:]}"  # as read out at the counter
    check = advisor.get("/crm/club/vouchers/", {"code": code})
    assert check.context["voucher"] == voucher and "This voucher is valid." in check.text
    assert advisor.post(f"/crm/club/vouchers/{voucher.pk}/redeem/", {"rooftop": ""}).status_code == 302
    again = advisor.get("/crm/club/vouchers/", {"code": voucher.code})
    assert "already used" in again.text
    advisor.post(f"/crm/club/vouchers/{voucher.pk}/redeem/", {})
    with schema_context(cast.a.schema_name):
        assert Voucher.objects.get(pk=voucher.pk).redeemed_by.email == "advisor@alpha.test"
    assert advisor.post(f"/crm/club/members/{mia.pk}/adjust/", {"points": "5", "reason": "x"}).status_code == 403
    assert advisor.get("/crm/club/rules/").status_code == 403
    assert advisor.get("/crm/club/vouchers/", {"code": "ZZZZ9999"}).status_code == 404


def test_the_rules_page_saves_rules_tiers_and_rewards(cast):
    with schema_context(cast.a.schema_name):
        rules = ClubRules.current()
        tiers = list(Tier.objects.all())
        rewards = list(Reward.objects.all())
    admin = cast.signed_in(cast.a, cast.a_admin)
    data = {"name": "Alpha Club", "enabled": "on", "terms": "New terms", "spend_per_point": "50",
            "tier_basis": "points", "event_points": "100", "referral_trigger": "purchase",
            "referral_reward": "voucher", "referral_points": "0", "referral_voucher": "", "voucher_valid_days": "90",
            "tiers-TOTAL_FORMS": str(len(tiers) + 1), "tiers-INITIAL_FORMS": str(len(tiers)),
            "tiers-MIN_NUM_FORMS": "0", "tiers-MAX_NUM_FORMS": "1000",
            "rewards-TOTAL_FORMS": str(len(rewards) + 1), "rewards-INITIAL_FORMS": str(len(rewards)),
            "rewards-MIN_NUM_FORMS": "0", "rewards-MAX_NUM_FORMS": "1000"}
    for n, tier in enumerate(tiers):
        data |= {f"tiers-{n}-id": str(tier.pk), f"tiers-{n}-name": tier.name,
                 f"tiers-{n}-threshold": str(tier.threshold), f"tiers-{n}-benefits": tier.benefits}
    for n, reward in enumerate(rewards):
        data |= {f"rewards-{n}-id": str(reward.pk), f"rewards-{n}-name": reward.name,
                 f"rewards-{n}-points_cost": str(reward.points_cost), f"rewards-{n}-active": "on"}
    refused = admin.post("/crm/club/rules/", data)
    assert refused.status_code == 400 and "Say what the voucher for a referral gives." in refused.text
    data |= {"referral_voucher": "Free wash", f"tiers-{len(tiers)}-name": "Diamond",
             f"tiers-{len(tiers)}-threshold": "10000", f"rewards-{len(rewards)}-name": "Wheel alignment",
             f"rewards-{len(rewards)}-points_cost": "800", f"rewards-{len(rewards)}-active": "on"}
    assert admin.post("/crm/club/rules/", data).status_code == 302
    with schema_context(cast.a.schema_name):
        saved = ClubRules.objects.get(pk=rules.pk)
        assert (saved.name, saved.spend_per_point, saved.terms_version) == ("Alpha Club", 50, rules.terms_version + 1)
        assert Tier.objects.filter(name="Diamond").exists() and Reward.objects.filter(points_cost=800).exists()


def test_another_dealer_group_sees_no_member(cast):
    with schema_context(cast.a.schema_name):
        mia = _person("Geheim")
        membership = _member(mia)
    bravo = cast.signed_in(cast.b, cast.b_admin)
    assert membership.number not in bravo.get("/crm/club/").text
    assert bravo.get(f"/crm/club/members/{mia.pk}/").status_code == 404
    assert bravo.get(f"/crm/club/card/{membership.number}/").status_code == 404
    owner = cast.signed_in(cast.a, cast.a_owner)
    assert owner.get("/crm/club/").status_code == 403
