"""Stripe billing: the only module that talks to Stripe, and the only writer of a group's subscription state.

Stripe is the source of truth. Whatever tells us something changed (a webhook, a button on the
billing page, the nightly `billing_sync`), the subscription is read again from Stripe and applied
with ``subscription_apply``: events may arrive twice or out of order, the state never goes back.
"""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.celery import enqueue_on_commit

from ..models import BillingEmail, BillingInterval, DealerGroup, DealerGroupStatus, Plan

log = logging.getLogger(__name__)

ENDED = ("canceled", "incomplete_expired", "unpaid")
TRIAL_WARNING = timedelta(days=3)


def client() -> stripe.StripeClient:
    """The Stripe client: keys from the environment; localstripe when STRIPE_API_BASE points to it."""
    if settings.STRIPE_API_BASE:
        # localstripe answers 500 to parameters it does not know: a retry would replay half a request.
        return stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE},
                                   max_network_retries=0)
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, max_network_retries=2)


def as_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


# Plans -------------------------------------------------------------------------------------------

def plans_sync() -> list[str]:
    """Create in Stripe the product and the monthly and yearly plan of every Plan row that lacks them.

    Idempotent: the ids are derived from the plan's code, interval and currency. Returns the ids
    created. A changed price needs a new plan code (Stripe plans' amounts cannot change).
    """
    api, created = client(), []
    for plan in Plan.objects.all():
        product_id = f"dealercrm-{plan.code}"
        try:
            api.v1.products.retrieve(product_id)
        except stripe.InvalidRequestError:
            api.v1.products.create(params={"id": product_id, "name": f"DealerCRM {plan.name}"})
            created.append(product_id)
        for interval in BillingInterval.values:
            plan_id = plan.stripe_plan_id(interval)
            try:
                api.v1.plans.retrieve(plan_id)
            except stripe.InvalidRequestError:
                api.v1.plans.create(params={
                    "id": plan_id, "product": product_id, "amount": plan.unit_price(interval),
                    "currency": plan.currency.lower(), "interval": interval, "usage_type": "licensed",
                    "nickname": f"{plan.name} ({interval})"})
                created.append(plan_id)
    return created


def plan_of(stripe_plan_id: str) -> tuple[Plan | None, str]:
    for plan in Plan.objects.all():
        for interval in BillingInterval.values:
            if plan.stripe_plan_id(interval) == stripe_plan_id:
                return plan, interval
    return None, BillingInterval.MONTH


# State -------------------------------------------------------------------------------------------

def stripe_time(value: int | None) -> datetime | None:
    """A Stripe timestamp (seconds, or None) as an aware datetime."""
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def status_from(subscription: dict[str, Any], now: datetime | None = None) -> str | None:
    """The group's status for a Stripe subscription.

    A subscription still inside its trial is a trial whatever Stripe calls it (localstripe leaves
    trials "incomplete"); past_due stays past due; an ended one suspends; otherwise active.
    """
    now = now or timezone.now()
    status = subscription.get("status", "")
    trial_end = stripe_time(subscription.get("trial_end"))
    if status in ENDED:
        return DealerGroupStatus.SUSPENDED
    if status == "past_due":
        return DealerGroupStatus.PAST_DUE
    if status == "trialing" or (trial_end and trial_end > now and status in ("active", "incomplete")):
        return DealerGroupStatus.TRIAL
    if status == "incomplete":  # the first payment after the trial did not go through
        return DealerGroupStatus.PAST_DUE
    if status in ("active", "trialing"):
        return DealerGroupStatus.ACTIVE
    return None  # a status we do not know (e.g. "paused"): the group keeps the state it has


@transaction.atomic
def subscription_apply(group: DealerGroup, subscription: dict[str, Any]) -> DealerGroup:
    """Store what Stripe says of the group's subscription; status changes send their e-mail once."""
    group = DealerGroup.objects.select_for_update().get(pk=group.pk)
    before, now = group.status, timezone.now()
    status = status_from(subscription, now) or before
    # Since API version 2025-03 the plan, quantity and period live on the item; older versions
    # (and localstripe) put them on the subscription too.
    item = ((subscription.get("items") or {}).get("data") or [{}])[0]
    price = item.get("price") or item.get("plan") or subscription.get("plan") or {}
    plan, interval = plan_of(price.get("id") or "")
    group.stripe_subscription_id = subscription["id"]
    group.subscription_status = subscription.get("status", "")
    group.status = status
    if plan is not None:
        group.plan, group.billing_interval = plan, interval
    group.rooftops_paid = item.get("quantity") or subscription.get("quantity") or group.rooftops_paid
    group.trial_ends_at = stripe_time(subscription.get("trial_end"))
    group.current_period_end = stripe_time(item.get("current_period_end") or subscription.get("current_period_end"))
    group.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    if status == DealerGroupStatus.PAST_DUE:
        group.past_due_since = group.past_due_since or now
    else:
        group.past_due_since = None
    if status == DealerGroupStatus.SUSPENDED:
        group.suspended_at = group.suspended_at or stripe_time(subscription.get("ended_at")) or now
    else:
        group.suspended_at = None
    group.billing_synced_at = now
    group.save()
    if status != before:
        log.info("dealer group %s: %s -> %s", group.slug, before, status)
    if status == DealerGroupStatus.PAST_DUE and before != status:
        email_send_later(group, BillingEmail.Kind.PAYMENT_FAILED, group.past_due_since.date().isoformat())
    if status == DealerGroupStatus.SUSPENDED and before != status:
        email_send_later(group, BillingEmail.Kind.SUSPENDED, group.suspended_at.date().isoformat())
    if status == DealerGroupStatus.TRIAL and group.trial_ends_at and group.trial_ends_at - now <= TRIAL_WARNING:
        # Stripe's trial_will_end event says the same three days ahead; whichever comes first, one e-mail.
        email_send_later(group, BillingEmail.Kind.TRIAL_ENDING, group.trial_ends_at.date().isoformat())
    return group


@transaction.atomic
def subscription_sync(group: DealerGroup) -> DealerGroup:
    """Read the group's subscription again from Stripe and apply it. The group's row is locked
    before the read: two syncs at once apply in the order they read, so an older read never wins."""
    group = DealerGroup.objects.select_for_update().get(pk=group.pk)
    if not group.stripe_subscription_id:
        return group
    subscription = client().v1.subscriptions.retrieve(group.stripe_subscription_id)
    return subscription_apply(group, as_dict(subscription))


def email_send_later(group: DealerGroup, kind: str, key: str) -> None:
    """Record the e-mail once (group, kind, occasion) and send it from a task after commit."""
    email, created = BillingEmail.objects.get_or_create(dealer_group=group, kind=kind, key=key)
    if created:
        from .tasks import billing_email_send

        enqueue_on_commit(billing_email_send, email.pk)
