"""Billing work in the background: webhook events, e-mails, the nightly reconciliation, clean-up."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from ..models import BillingEmail, StripeEvent
from . import services

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def stripe_event_process(event_id: str) -> str:
    """Apply a webhook event: re-read the subscription from Stripe, in one transaction with the
    event's processed mark. Delivered ten times, it has the effect of once."""
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update(of=("self",)).select_related("dealer_group").get(pk=event_id)
        if event.processed_at is not None:
            return "already processed"
        group = event.dealer_group
        if group is not None:
            group = services.subscription_sync(group)
            if event.type == "customer.subscription.trial_will_end" and group.trial_ends_at:
                services.email_send_later(group, BillingEmail.Kind.TRIAL_ENDING, group.trial_ends_at.date().isoformat())
        event.processed_at = timezone.now()
        event.save(update_fields=["processed_at"])
    return "processed"


@shared_task
def billing_sync() -> dict[str, str]:
    """Reconcile every subscribed dealer group with Stripe (events can be missed), and apply
    events recorded but never processed."""
    from ..selectors import dealer_groups

    results = {}
    for group in dealer_groups().exclude(stripe_subscription_id=""):
        try:
            results[group.slug] = services.subscription_sync(group).status
        except Exception:
            log.exception("billing sync of %s failed", group.slug)
            results[group.slug] = "error"
    for event_id in StripeEvent.objects.filter(processed_at__isnull=True).values_list("pk", flat=True):
        try:
            stripe_event_process(event_id)
        except Exception:
            log.exception("Stripe event %s could not be applied", event_id)
    return results


@shared_task(acks_late=True)
def billing_email_send(email_id: int) -> bool:
    """Send a recorded billing e-mail to the group's dealer admins, in the group's language, once."""
    with transaction.atomic():
        email = BillingEmail.objects.select_for_update(of=("self",)).select_related("dealer_group").filter(
            pk=email_id).first()
        if email is None or email.sent_at is not None:  # gone with its group, or sent already
            return False
        group = email.dealer_group
        with schema_context(group.schema_name):
            from accounts.models import StaffRole, User

            admins = list(User.objects.filter(role=StaffRole.DEALER_ADMIN, is_active=True)
                          .values_list("email", flat=True))
        with translation.override(group.default_language):
            from .access import data_kept_until

            context = {"group": group, "billing_url": f"https://{group.primary_host}/billing/",
                       "retention_days": settings.BILLING_RETENTION_DAYS, "grace_days": settings.BILLING_GRACE_DAYS,
                       "data_kept_until": data_kept_until(group)}
            subject = render_to_string(f"billing/email/{email.kind}_subject.txt", context).strip()
            body = render_to_string(f"billing/email/{email.kind}.txt", context)
        if admins:
            EmailMultiAlternatives(subject, body, to=admins).send()
        email.sent_at = timezone.now()
        email.save(update_fields=["sent_at"])
    return True


@shared_task(acks_late=True)
def signup_provision(signup_id: str) -> str:
    """Make the signed-up dealer group: card, tenant, subscription (or undo it all and say why)."""
    from .signup import provision

    return provision(signup_id).state


@shared_task
def signups_cleanup() -> dict[str, int]:
    from .signup import signups_cleanup as cleanup

    return cleanup()


@shared_task(acks_late=True)
def data_export_build(export_id: int) -> str:
    """Build a dealer admin's data download (tenants.billing.data_export), in the group's schema."""
    from .data_export import build

    return build(export_id)


@shared_task
def suspended_groups_purge() -> list[str]:
    """Delete the dealer groups whose subscription ended more than BILLING_RETENTION_DAYS ago,
    schema and files included, as the suspended page and e-mail said. Stripe is asked once more
    first: a group reactivated meanwhile is kept. Groups within BILLING_PURGE_WARNING_DAYS of it are
    told once by e-mail (their admins can still download their data)."""
    import shutil
    from datetime import timedelta
    from pathlib import Path

    from ..models import DealerGroup, DealerGroupStatus

    cutoff = timezone.now() - timedelta(days=settings.BILLING_RETENTION_DAYS)
    warn_from = cutoff + timedelta(days=settings.BILLING_PURGE_WARNING_DAYS)
    for group in DealerGroup.objects.filter(status=DealerGroupStatus.SUSPENDED, suspended_at__gte=cutoff,
                                            suspended_at__lt=warn_from):
        with transaction.atomic():
            services.email_send_later(group, BillingEmail.Kind.PURGE_WARNING, group.suspended_at.date().isoformat())
    purged = []
    for group in DealerGroup.objects.filter(status=DealerGroupStatus.SUSPENDED, suspended_at__lt=cutoff):
        group = services.subscription_sync(group)
        if group.status != DealerGroupStatus.SUSPENDED or group.suspended_at >= cutoff:
            continue
        log.warning("purging dealer group %s: suspended since %s", group.slug, group.suspended_at)
        group.delete(force_drop=True)
        shutil.rmtree(Path(settings.MEDIA_ROOT) / group.schema_name, ignore_errors=True)
        purged.append(group.slug)
    return purged
