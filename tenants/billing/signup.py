"""Online sign-up: details, card (Stripe SetupIntent), then a tenant provisioned and subscribed in a task.

Nothing exists until it is needed and everything made is undone on failure: the Stripe customer
is made only to hold the card (deleted if the sign-up fails or is abandoned), the tenant only
once the card is confirmed (dropped, schema and all, if the subscription cannot be created).
"""

import hashlib
import logging
import secrets
import time
from datetime import timedelta

import stripe
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from ..models import BillingEmail, DealerGroup, Plan, Signup
from ..services import dealer_group_create, slug_validate
from .account import card_attach
from .services import as_dict, client, email_send_later, subscription_apply

log = logging.getLogger(__name__)

# What a country implies for a new group; the admin changes rooftops' own time zones in Settings.
COUNTRY_DEFAULTS = {
    "DE": ("Europe/Berlin", "EUR"), "AT": ("Europe/Vienna", "EUR"), "CH": ("Europe/Zurich", "CHF"),
    "FR": ("Europe/Paris", "EUR"), "IT": ("Europe/Rome", "EUR"), "ES": ("Europe/Madrid", "EUR"),
    "NL": ("Europe/Amsterdam", "EUR"), "PL": ("Europe/Warsaw", "PLN"), "CZ": ("Europe/Prague", "CZK"),
    "GB": ("Europe/London", "GBP"), "RU": ("Europe/Moscow", "RUB"), "KZ": ("Asia/Almaty", "KZT"),
    "BY": ("Europe/Minsk", "BYN"), "CN": ("Asia/Shanghai", "CNY"), "HK": ("Asia/Hong_Kong", "HKD"),
    "SG": ("Asia/Singapore", "SGD"), "AE": ("Asia/Dubai", "AED"), "US": ("America/New_York", "USD"),
}


def slug_available(slug: str, *, exclude: Signup | None = None) -> str:
    """The normalised subdomain, or ValidationError: malformed, reserved, taken, or being signed up for."""
    slug = slug_validate(slug)
    recent = timezone.now() - timedelta(hours=settings.SIGNUP_ABANDONED_AFTER_HOURS)
    pending = Signup.objects.filter(slug=slug, state__in=[Signup.State.CARD, Signup.State.PROVISIONING],
                                    created_at__gte=recent)
    if exclude is not None:
        pending = pending.exclude(pk=exclude.pk)
    if pending.exists():
        raise ValidationError(_("The subdomain “%(slug)s” is already taken."), params={"slug": slug}, code="taken")
    return slug


def signup_start(*, name: str, country: str, language: str, rooftops: int, slug: str, admin_email: str,
                 password: str, plan: Plan, interval: str) -> Signup:
    """Record the details and make what the card step needs: a Stripe customer and a SetupIntent.

    This talks to Stripe within the request, the one place that must: the card form cannot be
    shown without the SetupIntent's client secret.
    """
    signup = Signup.objects.create(name=name, country=country, language=language, rooftops=rooftops,
                                   slug=slug_available(slug), admin_email=admin_email,
                                   admin_password=make_password(password), plan=plan, interval=interval)
    api = client()
    try:
        customer = api.v1.customers.create(params={"email": admin_email, "name": name, "metadata": {
            "signup": str(signup.pk), "slug": signup.slug, "platform": settings.APP_DOMAIN}})
        signup.stripe_customer_id = customer.id
        signup.save(update_fields=["stripe_customer_id"])
        intent = api.v1.setup_intents.create(params={"customer": customer.id, "usage": "off_session"})
    except stripe.StripeError:
        # The address must not stay held by a sign-up nobody can continue.
        _fail(signup, None, _("The payment provider could not be reached. Please try again."))
        raise
    signup.setup_intent_id = intent.id
    signup.save(update_fields=["setup_intent_id"])
    return signup


def setup_intent_secret(signup: Signup) -> str:
    return client().v1.setup_intents.retrieve(signup.setup_intent_id).client_secret


@transaction.atomic
def signup_submit(signup: Signup) -> Signup:
    """The card is confirmed in the browser: provision in the background."""
    from .tasks import signup_provision

    signup = Signup.objects.select_for_update().get(pk=signup.pk)
    if signup.state == Signup.State.CARD:
        signup.state = Signup.State.PROVISIONING
        signup.message = ""
        signup.save(update_fields=["state", "message", "updated_at"])
        transaction.on_commit(lambda: signup_provision.apply_async(args=[str(signup.pk)],
                                                                   headers={"_schema_name": "public"}))
    return signup


def provision(signup_id: str) -> Signup:
    """Card → tenant → subscription. Safe to run again after a crash (the task is acknowledged late):
    each step finds what an earlier run made. Any failure undoes what was made and says why."""
    connection.set_schema_to_public()
    signup = Signup.objects.select_related("plan", "dealer_group").get(pk=signup_id)
    if signup.state != Signup.State.PROVISIONING:
        return signup
    started = time.perf_counter()
    group = signup.dealer_group or _group_made_for(signup)
    try:
        with translation.override(signup.language):
            card_attach(signup.stripe_customer_id, signup.setup_intent_id)
            if group is None:
                time_zone, currency = COUNTRY_DEFAULTS.get(signup.country, ("UTC", "EUR"))
                group = dealer_group_create(
                    name=signup.name, slug=signup.slug, country=signup.country, default_language=signup.language,
                    timezone=time_zone, currency=currency, admin_email=signup.admin_email, admin_password=None,
                    rooftops=signup.rooftops,
                ).dealer_group
                Signup.objects.filter(pk=signup.pk).update(dealer_group=group)
            with schema_context(group.schema_name):
                from accounts.models import User

                User.objects.filter(email__iexact=signup.admin_email).update(password=signup.admin_password)
            DealerGroup.objects.filter(pk=group.pk).update(
                stripe_customer_id=signup.stripe_customer_id, plan=signup.plan,
                billing_interval=signup.interval, rooftops_paid=signup.rooftops)
            group = DealerGroup.objects.get(pk=group.pk)
            if not group.stripe_subscription_id:
                trial_end = int(time.time()) + signup.plan.trial_days * 86400
                subscription = client().v1.subscriptions.create(params={
                    "customer": signup.stripe_customer_id, "trial_end": trial_end,
                    "items": [{"plan": signup.plan.stripe_plan_id(signup.interval), "quantity": signup.rooftops}],
                    "metadata": {"dealer_group": group.slug, "signup": str(signup.pk)}},
                    options={"idempotency_key": f"signup-{signup.pk}-subscription"})
                group = subscription_apply(group, as_dict(subscription))
            email_send_later(group, BillingEmail.Kind.WELCOME, "signup")
    except (ValidationError, stripe.StripeError) as error:
        message = " ".join(error.messages) if isinstance(error, ValidationError) else (
            error.user_message or _("The payment provider could not be reached. Please try again."))
        return _fail(signup, group, message)
    except Exception:
        log.exception("sign-up %s failed", signup.pk)
        _fail(signup, group, _("Something went wrong on our side; nothing was charged. Please try again."))
        raise
    signup.state, signup.dealer_group = Signup.State.DONE, group
    signup.save(update_fields=["state", "dealer_group", "updated_at"])
    log.info("sign-up %s: %s ready in %.2fs", signup.pk, group.slug, time.perf_counter() - started)
    return signup


def _group_made_for(signup: Signup) -> DealerGroup | None:
    """A group an earlier, interrupted run made for this sign-up: its address, created after the
    sign-up started (no one else could take the address while the sign-up held it)."""
    group = DealerGroup.objects.filter(slug=signup.slug, created_at__gte=signup.created_at,
                                       stripe_customer_id__in=["", signup.stripe_customer_id]).first()
    if group is None:
        return None
    with schema_context(group.schema_name):
        from accounts.models import User

        ours = User.objects.filter(email__iexact=signup.admin_email, role="dealer_admin").exists()
    return group if ours else None


def _fail(signup: Signup, group: DealerGroup | None, message: str) -> Signup:
    """Leave nothing behind: no tenant, no schema, no Stripe customer (its card goes with it)."""
    connection.set_schema_to_public()
    if group is not None:
        group = DealerGroup.objects.filter(pk=group.pk).first()
        if group is not None:
            if group.stripe_subscription_id:
                _quietly(lambda: client().v1.subscriptions.cancel(group.stripe_subscription_id))
            group.delete(force_drop=True)
    if signup.stripe_customer_id:
        _quietly(lambda: client().v1.customers.delete(signup.stripe_customer_id))
    signup.state, signup.message, signup.stripe_customer_id = Signup.State.FAILED, message, ""
    signup.save(update_fields=["state", "message", "stripe_customer_id", "updated_at"])
    return signup


def _quietly(call: object) -> None:
    try:
        call()
    except stripe.StripeError as error:
        log.warning("Stripe clean-up call failed: %s", error)


# Signing in to the new tenant --------------------------------------------------------------------

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_token_issue(signup: Signup) -> str | None:
    """The single-use token for the admin's first sign-in, made once per sign-up and only in the
    minutes after it is ready; None if one was made already (then the admin signs in normally)."""
    if signup.updated_at < timezone.now() - timedelta(seconds=settings.SIGNUP_LOGIN_TOKEN_SECONDS):
        return None
    token = secrets.token_urlsafe(32)
    issued = Signup.objects.filter(pk=signup.pk, state=Signup.State.DONE, login_token_hash="").update(
        login_token_hash=_digest(token),
        login_token_expires_at=timezone.now() + timedelta(seconds=settings.SIGNUP_LOGIN_TOKEN_SECONDS))
    return token if issued else None


@transaction.atomic
def login_token_redeem(token: str, group: DealerGroup) -> str | None:
    """The admin's e-mail if the token is valid for this group (once, before it expires), else None."""
    signup = Signup.objects.select_for_update().filter(
        login_token_hash=_digest(token), dealer_group=group, login_token_used_at__isnull=True,
        login_token_expires_at__gt=timezone.now()).first()
    if signup is None:
        return None
    signup.login_token_used_at = timezone.now()
    signup.save(update_fields=["login_token_used_at"])
    return signup.admin_email


# Clean-up ----------------------------------------------------------------------------------------

def signups_cleanup() -> dict[str, int]:
    """Abandoned and failed sign-ups leave nothing in Stripe: their customers (and cards) are deleted,
    including customers a crash left without a sign-up row to name them."""
    stale = timezone.now() - timedelta(hours=settings.SIGNUP_ABANDONED_AFTER_HOURS)
    abandoned = 0
    for signup in Signup.objects.filter(state=Signup.State.CARD, created_at__lt=stale):
        # Only if it is still at the card step: the browser may submit the card this very moment.
        if not Signup.objects.filter(pk=signup.pk, state=Signup.State.CARD).update(
                state=Signup.State.ABANDONED, stripe_customer_id="", updated_at=timezone.now()):
            continue
        if signup.stripe_customer_id:
            _quietly(lambda s=signup: client().v1.customers.delete(s.stripe_customer_id))
        abandoned += 1
    # A worker that died mid-way leaves a sign-up "setting up" for ever: fail it, undoing what was made.
    for signup in Signup.objects.filter(state=Signup.State.PROVISIONING, updated_at__lt=stale):
        _fail(signup, signup.dealer_group or _group_made_for(signup),
              _("Setting up did not finish; nothing was charged. Please sign up again."))
        abandoned += 1
    orphans = 0
    kept = set(DealerGroup.objects.exclude(stripe_customer_id="").values_list("stripe_customer_id", flat=True)) | set(
        Signup.objects.exclude(stripe_customer_id="").values_list("stripe_customer_id", flat=True))
    for customer in client().v1.customers.list(params={"limit": 100}).auto_paging_iter():
        customer = as_dict(customer)
        metadata = customer.get("metadata") or {}
        # Only this platform's sign-ups: another environment may share the Stripe account.
        made_by_signup = "signup" in metadata and metadata.get("platform") == settings.APP_DOMAIN
        if made_by_signup and customer["id"] not in kept and (customer.get("created") or 0) < stale.timestamp():
            _quietly(lambda c=customer: client().v1.customers.delete(c["id"]))
            orphans += 1
    return {"abandoned": abandoned, "orphans": orphans}
