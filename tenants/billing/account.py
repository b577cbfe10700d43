"""What the dealer admin does on the billing page: each action calls Stripe, then re-reads the subscription."""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import stripe
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from ..models import DealerGroup, DealerGroupStatus, Plan
from .services import as_dict, client, stripe_time, subscription_apply, subscription_sync

log = logging.getLogger(__name__)


@dataclass
class Invoice:
    created: datetime | None
    amount: int
    currency: str
    status: str


@dataclass
class Overview:
    """What the billing page shows besides the stored state; ``available`` is False when Stripe
    could not be reached (the page then says so instead of failing)."""

    available: bool = True
    next_amount: int | None = None
    next_date: datetime | None = None
    card: str = ""
    invoices: list[Invoice] = field(default_factory=list)


def overview(group: DealerGroup) -> Overview:
    if not group.stripe_customer_id:
        return Overview()
    api = client()
    try:
        customer = as_dict(api.v1.customers.retrieve(group.stripe_customer_id,
                                                     params={"expand": ["invoice_settings.default_payment_method"]}))
        method = (customer.get("invoice_settings") or {}).get("default_payment_method") or {}
        card = method.get("card") or {} if isinstance(method, dict) else {}
        result = Overview(card=f"{card.get('brand', '').title()} •••• {card['last4']}" if card.get("last4") else "")
        invoices = api.v1.invoices.list(params={"customer": group.stripe_customer_id, "limit": 12})
        result.invoices = [Invoice(stripe_time(i.get("created")), i.get("total") or 0,
                                   (i.get("currency") or "").upper(), i.get("status") or "")
                           for i in (as_dict(x) for x in invoices.data)]
        renews = group.status != DealerGroupStatus.SUSPENDED and not group.cancel_at_period_end
        if group.stripe_subscription_id and renews:
            preview = as_dict(api.v1.invoices.create_preview(params={
                "customer": group.stripe_customer_id, "subscription": group.stripe_subscription_id}))
            result.next_amount = preview.get("total")
            result.next_date = group.trial_ends_at if group.status == DealerGroupStatus.TRIAL else (
                stripe_time(preview.get("next_payment_attempt")) or group.current_period_end)
        return result
    except stripe.StripeError as error:
        log.warning("billing overview of %s unavailable: %s", group.slug, error)
        return Overview(available=False)


def rooftops_in_use(group: DealerGroup) -> int:
    from crm.dealerships.selectors import rooftop_count

    with schema_context(group.schema_name):
        return rooftop_count()


def staff_in_use(group: DealerGroup) -> int:
    from accounts.models import User

    with schema_context(group.schema_name):
        return User.objects.filter(is_active=True).exclude(role="").count()


def limits_check(group: DealerGroup, plan: Plan, rooftops: int) -> None:
    """A plan and quantity the group fits in, or ValidationError saying what to change first."""
    if plan.max_rooftops is not None and rooftops > plan.max_rooftops:
        raise ValidationError(_("%(plan)s covers up to %(max)d rooftops.") % {"plan": plan, "max": plan.max_rooftops})
    used = rooftops_in_use(group)
    if rooftops < used:
        raise ValidationError(_("You have %(used)d rooftops: pay for at least that many, or remove rooftops in "
                                "Settings first.") % {"used": used})
    staff = staff_in_use(group)
    if staff > plan.seats(rooftops):
        raise ValidationError(_("%(plan)s with %(rooftops)d rooftops has %(seats)d staff seats and you have "
                                "%(staff)d active staff: switch some off in Settings or choose more rooftops.")
                              % {"plan": plan, "rooftops": rooftops, "seats": plan.seats(rooftops), "staff": staff})


def _item(subscription: dict[str, Any]) -> dict[str, Any]:
    return ((subscription.get("items") or {}).get("data") or [{}])[0]


def plan_change(group: DealerGroup, *, plan: Plan, interval: str, rooftops: int) -> str:
    """Another plan, interval or number of rooftops; Stripe prorates the difference."""
    limits_check(group, plan, rooftops)
    api = client()
    subscription = as_dict(api.v1.subscriptions.retrieve(group.stripe_subscription_id))
    updated = api.v1.subscriptions.update(group.stripe_subscription_id, params={"items": [{
        "id": _item(subscription).get("id"), "plan": plan.stripe_plan_id(interval), "quantity": rooftops}]})
    subscription_apply(group, as_dict(updated))
    return _("Your subscription is now %(plan)s for %(rooftops)d rooftops.") % {"plan": plan, "rooftops": rooftops}


def cancel_at_period_end(group: DealerGroup, *, cancel: bool) -> str:
    updated = client().v1.subscriptions.update(group.stripe_subscription_id,
                                               params={"cancel_at_period_end": cancel})
    group = subscription_apply(group, as_dict(updated))
    if cancel:
        end = group.trial_ends_at if group.status == DealerGroupStatus.TRIAL else group.current_period_end
        return _("The subscription ends on %(date)s. You can resume it until then.") % {
            "date": end.date().isoformat() if end else "—"}
    return _("The subscription continues.")


def card_setup_intent(group: DealerGroup) -> str:
    intent = client().v1.setup_intents.create(params={"customer": group.stripe_customer_id, "usage": "off_session"})
    return intent.client_secret


def card_attach(customer_id: str, setup_intent_id: str) -> str:
    """Make the card a confirmed SetupIntent saved the customer's default; returns the payment method id."""
    api = client()
    intent = as_dict(api.v1.setup_intents.retrieve(setup_intent_id))
    if intent.get("status") != "succeeded" or intent.get("customer") != customer_id:
        raise ValidationError(_("The card was not confirmed. Please enter it again."))
    method_id = intent["payment_method"]
    method = as_dict(api.v1.payment_methods.retrieve(method_id))
    if method.get("customer") != customer_id:  # Stripe attaches on confirmation; localstripe does not
        api.v1.payment_methods.attach(method_id, params={"customer": customer_id})
    api.v1.customers.update(customer_id, params={"invoice_settings": {"default_payment_method": method_id}})
    return method_id


def card_save(group: DealerGroup, setup_intent_id: str) -> str:
    """The new card becomes the default; an unpaid invoice is paid with it at once."""
    card_attach(group.stripe_customer_id, setup_intent_id)
    api = client()
    if group.stripe_subscription_id and group.status == DealerGroupStatus.PAST_DUE:
        subscription = as_dict(api.v1.subscriptions.retrieve(group.stripe_subscription_id))
        invoice = subscription.get("latest_invoice")
        if invoice:
            api.v1.invoices.pay(invoice if isinstance(invoice, str) else invoice["id"])
        group = subscription_sync(group)
        if group.status == DealerGroupStatus.PAST_DUE:
            return _("The card is saved, but the payment did not go through. Please try another card.")
        return _("The card is saved and the invoice is paid. Thank you.")
    return _("The card is saved.")


@transaction.atomic
def reactivate(group: DealerGroup) -> str:
    """A suspended group subscribes again (no new trial) on its saved card, paid at once.

    The group's row is locked, so a double click makes one subscription; the old one is cancelled
    if Stripe still holds it open; a payment that fails leaves no new subscription and the group
    suspended (its retention period unchanged)."""
    group = DealerGroup.objects.select_for_update(of=("self",)).select_related("plan").get(pk=group.pk)
    if group.status != DealerGroupStatus.SUSPENDED:
        raise ValidationError(_("The subscription is not suspended."))
    plan = group.plan
    if plan is None:
        raise ValidationError(_("Choose a plan first."))
    limits_check(group, plan, group.rooftops_paid)
    api = client()
    if group.stripe_subscription_id:
        old = as_dict(api.v1.subscriptions.retrieve(group.stripe_subscription_id))
        if old.get("status") not in ("canceled", "incomplete_expired"):
            api.v1.subscriptions.cancel(group.stripe_subscription_id)
    created = as_dict(api.v1.subscriptions.create(params={
        "customer": group.stripe_customer_id,
        "items": [{"plan": plan.stripe_plan_id(group.billing_interval), "quantity": group.rooftops_paid}],
        "metadata": {"dealer_group": group.slug}},
        options={"idempotency_key": f"reactivate-{group.pk}-{(group.suspended_at or timezone.now()):%Y%m%d%H%M%S}"}))
    if created.get("status") not in ("active", "trialing"):
        api.v1.subscriptions.cancel(created["id"])
        raise ValidationError(_("The payment did not go through: please save another card, then reactivate."))
    subscription_apply(group, created)
    return _("Welcome back: the subscription is active again.")


@transaction.atomic
def operator_suspend(group: DealerGroup) -> str:
    """The platform's staff suspend a group (fraud, a request, a dispute): its Stripe subscription ends now,
    and the group's status follows from what Stripe says, as for any ended subscription. A group billed
    outside Stripe is marked suspended directly."""
    group = DealerGroup.objects.select_for_update(of=("self",)).get(pk=group.pk)
    if group.is_platform:
        raise ValidationError(_("The platform itself cannot be suspended."))
    if group.status == DealerGroupStatus.SUSPENDED:
        raise ValidationError(_("%(group)s is already suspended.") % {"group": group})
    if group.stripe_subscription_id:
        subscription_apply(group, as_dict(client().v1.subscriptions.cancel(group.stripe_subscription_id)))
    else:
        group.status, group.suspended_at = DealerGroupStatus.SUSPENDED, timezone.now()
        group.save(update_fields=["status", "suspended_at"])
    return _("%(group)s is suspended.") % {"group": group}


def operator_reactivate(group: DealerGroup) -> str:
    """Reactivate a suspended group: through Stripe on its saved card (as the group itself would), or
    directly for a group billed outside Stripe."""
    if group.stripe_customer_id:
        return reactivate(group)
    with transaction.atomic():
        group = DealerGroup.objects.select_for_update(of=("self",)).get(pk=group.pk)
        if group.status != DealerGroupStatus.SUSPENDED:
            raise ValidationError(_("The subscription is not suspended."))
        group.status, group.suspended_at = DealerGroupStatus.ACTIVE, None
        group.save(update_fields=["status", "suspended_at"])
    return _("%(group)s is active again.") % {"group": group}
