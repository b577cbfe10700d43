"""Stripe billing against localstripe: plans, subscription state, webhooks, access by state."""

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from tenants.billing.services import as_dict, client, subscription_apply, subscription_sync
from tenants.billing.tasks import billing_email_send, stripe_event_process
from tenants.models import BillingEmail, DealerGroup, DealerGroupStatus, Plan, StripeEvent

pytestmark = pytest.mark.django_db


def _card(customer_id: str, test_card: str = "pm_card_visa") -> str:
    api = client()
    method = api.v1.payment_methods.attach(test_card, params={"customer": customer_id})
    api.v1.customers.update(customer_id, params={"invoice_settings": {"default_payment_method": method.id}})
    return method.id


def _subscribe(group: DealerGroup, *, trial: bool = True, rooftops: int = 2) -> DealerGroup:
    """The group as a sign-up leaves it: a Stripe customer with a card and a subscription."""
    api, plan = client(), Plan.objects.get(code="group")
    customer = api.v1.customers.create(params={"email": "admin@alpha.test", "metadata": {"dealer_group": group.slug}})
    _card(customer.id)
    params = {"customer": customer.id, "items": [{"plan": plan.stripe_plan_id("month"), "quantity": rooftops}]}
    if trial:
        params["trial_end"] = int(time.time()) + plan.trial_days * 86400
    subscription = api.v1.subscriptions.create(params=params)
    DealerGroup.objects.filter(pk=group.pk).update(stripe_customer_id=customer.id)
    return subscription_apply(DealerGroup.objects.get(pk=group.pk), as_dict(subscription))


def _past_due(group: DealerGroup) -> DealerGroup:
    """localstripe's way to an unpaid renewal: a failing card, then an invoice (the yearly switch)."""
    api = client()
    _card(group.stripe_customer_id, "pm_card_chargeCustomerFail")
    subscription = as_dict(api.v1.subscriptions.retrieve(group.stripe_subscription_id))
    api.v1.subscriptions.update(group.stripe_subscription_id, params={"items": [{
        "id": subscription["items"]["data"][0]["id"], "plan": group.plan.stripe_plan_id("year"), "quantity": 2}]})
    return subscription_sync(group)


def _webhook(event_type: str, obj: dict, event_id: str | None = None, secret: str | None = None):
    payload = json.dumps({"id": event_id or f"evt_{time.monotonic_ns()}", "object": "event", "type": event_type,
                          "data": {"object": obj}})
    stamp = int(time.time())
    signature = hmac.new((secret or settings.STRIPE_WEBHOOK_SECRET).encode(), f"{stamp}.{payload}".encode(),
                         hashlib.sha256).hexdigest()
    return Client(HTTP_HOST=settings.APP_DOMAIN).post("/stripe/webhook/", payload, content_type="application/json",
                                                      HTTP_STRIPE_SIGNATURE=f"t={stamp},v1={signature}")


@pytest.mark.parametrize(("language", "words"), [("en", "per rooftop a month"), ("ru", "за дилерский центр в месяц"),
                                                 ("zh-hans", "每家门店每月")])
def test_the_pricing_page_shows_the_plans_in_the_visitors_language(cast, language, words):
    page = Client(HTTP_HOST=settings.APP_DOMAIN, HTTP_ACCEPT_LANGUAGE=language).get("/pricing/")

    assert page.status_code == 200
    assert [plan.code for plan in page.context["plans"]] == ["starter", "group", "network"]
    assert words in page.text
    assert "€149" in page.text and "/signup/?plan=group" in page.text


def test_a_subscription_in_its_trial_makes_the_group_a_trial_with_its_end_date(cast, stripe_plans):
    group = _subscribe(cast.a)

    assert (group.status, group.plan.code, group.rooftops_paid) == (DealerGroupStatus.TRIAL, "group", 2)
    assert group.trial_ends_at > timezone.now() + timedelta(days=13)


def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(cast, stripe_plans):
    group = _subscribe(cast.a)

    response = _webhook("customer.subscription.deleted", {"object": "subscription", "id": group.stripe_subscription_id,
                                                          "status": "canceled"}, secret="whsec_wrong")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_signature"
    assert not StripeEvent.objects.exists()
    assert DealerGroup.objects.get(pk=group.pk).status == DealerGroupStatus.TRIAL


def test_the_same_event_delivered_ten_times_has_one_effect(cast, stripe_plans, django_capture_on_commit_callbacks):
    group = _past_due(_subscribe(cast.a, trial=False))
    DealerGroup.objects.filter(pk=group.pk).update(status=DealerGroupStatus.ACTIVE, past_due_since=None)
    BillingEmail.objects.all().delete()
    obj = {"object": "invoice", "id": "in_x", "subscription": group.stripe_subscription_id, "status": "open"}

    with django_capture_on_commit_callbacks(execute=False) as queued:
        responses = [_webhook("invoice.payment_failed", obj, event_id="evt_same") for _ in range(10)]
    for _ in range(10):
        stripe_event_process("evt_same")

    assert [r.status_code for r in responses] == [200] * 10
    assert sum(r.json()["duplicate"] for r in responses) == 9
    assert len(queued) == 1  # one task sent, for the first delivery
    assert StripeEvent.objects.get(pk="evt_same").processed_at is not None
    assert DealerGroup.objects.get(pk=group.pk).status == DealerGroupStatus.PAST_DUE
    email = BillingEmail.objects.get(dealer_group=group, kind="payment_failed")
    billing_email_send(email.pk)
    billing_email_send(email.pk)
    assert [m.to for m in mail.outbox] == [["admin@alpha.test"]]
    assert "update the card" in mail.outbox[0].body


def test_an_event_run_again_after_it_was_applied_changes_nothing(cast, stripe_plans):
    """The task is acknowledged late, and the nightly sweep applies what looks unprocessed: one event can
    reach ``stripe_event_process`` twice. The second time must do nothing, even though Stripe says
    something else by then."""
    group = _subscribe(cast.a)
    client().v1.subscriptions.update(group.stripe_subscription_id,
                                     params={"trial_end": int(time.time()) + 2 * 86400})
    _webhook("customer.subscription.trial_will_end", {"object": "subscription", "id": group.stripe_subscription_id},
             event_id="evt_trial_ends")
    assert stripe_event_process("evt_trial_ends") == "processed"
    first_end = DealerGroup.objects.get(pk=group.pk).trial_ends_at
    processed_at = StripeEvent.objects.get(pk="evt_trial_ends").processed_at
    # The dealer called after the warning; support extended the trial by a month, and the group synced.
    client().v1.subscriptions.update(group.stripe_subscription_id,
                                     params={"trial_end": int(time.time()) + 30 * 86400})
    subscription_sync(group)

    again = stripe_event_process("evt_trial_ends")  # the same event, again

    warnings = BillingEmail.objects.filter(dealer_group=group, kind=BillingEmail.Kind.TRIAL_ENDING)
    assert list(warnings.values_list("key", flat=True)) == [first_end.date().isoformat()]
    for warning in warnings:
        billing_email_send(warning.pk)
    assert len(mail.outbox) == 1  # told once that the trial ends, not a month early a second time
    assert StripeEvent.objects.get(pk="evt_trial_ends").processed_at == processed_at
    assert again == "already processed"


def test_an_old_event_arriving_late_does_not_undo_a_newer_state(cast, stripe_plans):
    group = _subscribe(cast.a, trial=False)
    created_then = as_dict(client().v1.subscriptions.retrieve(group.stripe_subscription_id))
    group = _past_due(group)

    _webhook("customer.subscription.created", created_then, event_id="evt_old")  # says "active"
    stripe_event_process("evt_old")

    assert DealerGroup.objects.get(pk=group.pk).status == DealerGroupStatus.PAST_DUE  # re-read from Stripe


def test_past_due_shows_a_banner_then_read_only_then_paying_restores_everything(cast, stripe_plans):
    group = _past_due(_subscribe(cast.a, trial=False))
    admin = cast.signed_in(cast.a, cast.a_admin)
    assert group.status == DealerGroupStatus.PAST_DUE

    within_grace = admin.post("/crm/customers/new/", {"family_name": "Grace"})
    assert within_grace.status_code == 302
    assert "The last payment failed" in admin.get("/crm/customers/").text

    DealerGroup.objects.filter(pk=group.pk).update(past_due_since=timezone.now() - timedelta(days=8))
    refused = admin.post("/crm/customers/new/", {"family_name": "Late"})
    assert refused.status_code == 403 and "Read-only until the invoice is paid" in refused.text
    assert admin.get("/crm/customers/").status_code == 200  # everything stays visible

    intent = client().v1.setup_intents.create(params={"customer": group.stripe_customer_id, "usage": "off_session"})
    client().v1.setup_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    paid = admin.post("/billing/card/", {"setup_intent": intent.id}, follow=True)

    assert "the invoice is paid" in paid.text
    assert DealerGroup.objects.get(pk=group.pk).status == DealerGroupStatus.ACTIVE
    assert admin.post("/crm/customers/new/", {"family_name": "Paid"}).status_code == 302


def test_cancel_suspends_the_group_and_its_admin_reactivates_it(cast, stripe_plans):
    group = _subscribe(cast.a, trial=False)
    client().v1.subscriptions.cancel(group.stripe_subscription_id)
    _webhook("customer.subscription.deleted", {"object": "subscription", "id": group.stripe_subscription_id},
             event_id="evt_cancel")
    stripe_event_process("evt_cancel")
    admin = cast.signed_in(cast.a, cast.a_admin)
    sales = cast.signed_in(cast.a, cast.a_salesperson)

    group = DealerGroup.objects.get(pk=group.pk)
    assert group.status == DealerGroupStatus.SUSPENDED
    page = sales.get("/crm/customers/")
    assert page.status_code == 402 and "Your dealer admin can reactivate it" in page.text
    assert Client(HTTP_HOST=cast.a.primary_host).get("/").status_code == 402  # the owners' site too
    assert BillingEmail.objects.filter(dealer_group=group, kind="suspended").exists()

    admin.post("/billing/reactivate/")

    group = DealerGroup.objects.get(pk=group.pk)
    assert group.status == DealerGroupStatus.ACTIVE and group.suspended_at is None
    assert sales.get("/crm/customers/").status_code == 200


def test_cancel_at_period_end_and_resume_from_the_billing_page(cast, stripe_plans):
    group = _subscribe(cast.a)
    admin = cast.signed_in(cast.a, cast.a_admin)
    # Cancelling is a secondary step, said twice and in red: the page's only primary action is not it.
    page = admin.get("/billing/").text
    assert '<details class="danger-zone"><summary>Cancel at the end of the period</summary>' in page
    assert 'class="danger">Yes, cancel at the end of the period</button>' in page and "kept 90 days" in page

    cancelled = admin.post("/billing/cancel/", follow=True)
    assert "The subscription ends on" in cancelled.text
    assert DealerGroup.objects.get(pk=group.pk).cancel_at_period_end
    admin.post("/billing/resume/")
    assert not DealerGroup.objects.get(pk=group.pk).cancel_at_period_end


def test_plan_changes_respect_the_limits_and_update_the_subscription(cast, stripe_plans):
    group = _subscribe(cast.a)  # tenant A has two rooftops
    admin = cast.signed_in(cast.a, cast.a_admin)
    starter = Plan.objects.get(code="starter")

    too_few = admin.post("/billing/plan/", {"plan": starter.pk, "interval": "month", "rooftops": "1"}, follow=True)
    too_many = admin.post("/billing/plan/", {"plan": starter.pk, "interval": "month", "rooftops": "3"}, follow=True)
    changed = admin.post("/billing/plan/", {"plan": starter.pk, "interval": "month", "rooftops": "2"}, follow=True)

    assert "You have 2 rooftops" in too_few.text
    assert "Starter covers up to 2 rooftops." in too_many.text
    assert "Your subscription is now Starter for 2 rooftops." in changed.text
    group = DealerGroup.objects.get(pk=group.pk)
    assert (group.plan.code, group.rooftops_paid) == ("starter", 2)
    stripe_side = as_dict(client().v1.subscriptions.retrieve(group.stripe_subscription_id))
    assert stripe_side["plan"]["id"] == starter.stripe_plan_id("month")


def test_only_the_dealer_admin_reaches_the_billing_page_of_their_own_group(cast, stripe_plans):
    _subscribe(cast.a)
    admin = cast.signed_in(cast.a, cast.a_admin)
    sales = cast.signed_in(cast.a, cast.a_salesperson)
    other = cast.signed_in(cast.b, cast.b_admin)

    page = admin.get("/billing/")
    assert page.status_code == 200 and "Group" in page.text and "Visa •••• 4242" in page.text
    assert sales.get("/billing/").status_code == 403
    assert sales.post("/billing/cancel/").status_code == 403
    assert Client(HTTP_HOST=cast.a.primary_host).get("/billing/").status_code == 302  # to the login
    bravo = other.get("/billing/")
    assert bravo.status_code == 200  # its own page: no customer in Stripe yet, nothing of alpha's
    assert (bravo.context["group"].slug, bravo.context["overview"].card, bravo.context["overview"].invoices) == (
        "bravo", "", [])


def test_billing_sync_reconciles_a_change_no_webhook_reported(cast, stripe_plans):
    from django.core.management import call_command

    group = _subscribe(cast.a, trial=False)
    client().v1.subscriptions.update(group.stripe_subscription_id, params={"cancel_at_period_end": True})
    StripeEvent.objects.create(pk="evt_left", type="invoice.created", dealer_group=group)

    call_command("billing_sync")

    group = DealerGroup.objects.get(pk=group.pk)
    assert group.cancel_at_period_end and group.status == DealerGroupStatus.ACTIVE
    assert StripeEvent.objects.get(pk="evt_left").processed_at is not None


def test_rooftops_and_staff_seats_stay_within_what_the_subscription_pays_for(cast):
    group = DealerGroup.objects.get(pk=cast.a.pk)
    DealerGroup.objects.filter(pk=group.pk).update(plan=Plan.objects.get(code="group"), rooftops_paid=2)
    Plan.objects.filter(code="group").update(seats_per_rooftop=1)  # 2 seats: the admin and the salesperson
    admin = cast.signed_in(cast.a, cast.a_admin)

    rooftop = admin.post("/crm/settings/rooftops/new/", {"name": "Alpha Kiel", "city": "Kiel",
                                                         "timezone": "Europe/Berlin"})
    staff = admin.post("/crm/settings/staff/new/", {"email": "new@alpha.test", "role": "salesperson",
                                                    "password": "long-enough-password-1"})

    assert rooftop.status_code == 403 and "covers 2 rooftops" in rooftop.text
    assert staff.status_code == 403 and "2 staff seats" in staff.text
    DealerGroup.objects.filter(pk=group.pk).update(rooftops_paid=3)
    assert admin.post("/crm/settings/rooftops/new/", {"name": "Alpha Kiel", "city": "Kiel",
                                                      "timezone": "Europe/Berlin"}).status_code == 302


def test_a_group_suspended_beyond_the_retention_period_is_deleted_and_a_recent_one_kept(cast, stripe_plans):
    from django.db import connection
    from django_tenants.utils import schema_exists

    from tenants.billing.tasks import suspended_groups_purge
    from tenants.services import dealer_group_create

    doomed = dealer_group_create(name="Old Motors", slug="old-motors", country="DE",
                                 admin_email="admin@old.test", admin_password=None).dealer_group
    doomed = _subscribe(doomed, trial=False)
    client().v1.subscriptions.cancel(doomed.stripe_subscription_id)
    subscription_sync(doomed)
    kept = _subscribe(cast.b, trial=False)
    client().v1.subscriptions.cancel(kept.stripe_subscription_id)
    subscription_sync(kept)
    DealerGroup.objects.filter(pk=doomed.pk).update(
        suspended_at=timezone.now() - timedelta(days=settings.BILLING_RETENTION_DAYS + 1))
    with connection.cursor() as cursor:  # as if created long ago: its deferred checks are done
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    assert suspended_groups_purge() == ["old-motors"]
    assert not DealerGroup.objects.filter(slug="old-motors").exists() and not schema_exists("t_old_motors")
    assert DealerGroup.objects.get(pk=cast.b.pk).status == DealerGroupStatus.SUSPENDED  # within its 90 days


def test_the_current_api_shape_with_plan_and_quantity_on_the_item_is_read(cast):
    group = DealerGroup.objects.get(pk=cast.a.pk)
    starter = Plan.objects.get(code="starter")
    period_end = int(time.time()) + 20 * 86400

    group = subscription_apply(group, {
        "id": "sub_new_shape", "status": "active", "trial_end": None, "cancel_at_period_end": False,
        "items": {"data": [{"id": "si_1", "quantity": 2, "current_period_end": period_end,
                            "price": {"id": starter.stripe_plan_id("year")}}]}})

    assert (group.plan, group.billing_interval, group.rooftops_paid) == (starter, "year", 2)
    assert int(group.current_period_end.timestamp()) == period_end
    assert subscription_apply(group, {"id": "sub_new_shape", "status": "paused"}).status == DealerGroupStatus.ACTIVE


def test_reactivating_twice_makes_one_subscription_and_a_failing_card_keeps_the_group_suspended(cast, stripe_plans):
    from tenants.billing import account

    group = _subscribe(cast.a, trial=False)
    client().v1.subscriptions.cancel(group.stripe_subscription_id)
    group = subscription_sync(group)
    _card(group.stripe_customer_id, "pm_card_chargeCustomerFail")

    with pytest.raises(ValidationError, match="did not go through"):
        account.reactivate(group)
    assert DealerGroup.objects.get(pk=group.pk).status == DealerGroupStatus.SUSPENDED

    _card(group.stripe_customer_id)
    account.reactivate(group)
    with pytest.raises(ValidationError, match="not suspended"):
        account.reactivate(group)
    live = [s for s in client().v1.subscriptions.list(params={"customer": group.stripe_customer_id}).data
            if s.status == "active"]
    assert len(live) == 1


def test_switching_staff_back_on_respects_the_seats(cast):
    from django_tenants.utils import schema_context

    from accounts.models import User

    DealerGroup.objects.filter(pk=cast.a.pk).update(plan=Plan.objects.get(code="group"), rooftops_paid=2)
    Plan.objects.filter(code="group").update(seats_per_rooftop=1)
    with schema_context(cast.a.schema_name):
        left = User.objects.create_user("left@alpha.test", "long-enough-password-1", role="salesperson",
                                        is_active=False)
    admin = cast.signed_in(cast.a, cast.a_admin)

    refused = admin.post(f"/crm/settings/staff/{left.pk}/", {"role": "salesperson", "is_active": "on"})

    assert "2 staff seats" in refused.text
    with schema_context(cast.a.schema_name):
        assert not User.objects.get(pk=left.pk).is_active
