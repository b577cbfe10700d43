from datetime import timedelta

from celery import shared_task
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .models import IdempotentRequest, WebhookDelivery

# How long the delivery log keeps what was sent.
DELIVERIES_KEPT = timedelta(days=90)


# While an attempt runs, its delivery is not due: a duplicate message or the sweep leaves it alone.
LEASE = timedelta(minutes=2)


@shared_task(acks_late=True)
def webhook_deliver(delivery_id: int, *, replay: bool = False) -> str:
    """One attempt at a delivery; a failed one is sent again after its backoff by Celery's countdown.
    Idempotent: a delivery already delivered, or not due (unless replayed), or being tried is left alone;
    one whose webhook is paused is marked failed (a dealer admin can send it again)."""
    from .webhooks import attempt

    now = timezone.now()
    with transaction.atomic():  # claim it: a short lease, committed before the post
        delivery = (WebhookDelivery.objects.select_for_update(skip_locked=True).select_related("endpoint")
                    .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING).first())
        if delivery is None:
            return "not pending"
        if not replay and delivery.next_attempt_at and delivery.next_attempt_at > now:
            return "not due"
        if not delivery.endpoint.is_active:
            delivery.status, delivery.last_error, delivery.next_attempt_at = (
                WebhookDelivery.Status.FAILED, "webhook paused", None)
            delivery.save(update_fields=["status", "last_error", "next_attempt_at"])
            return delivery.status
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now + LEASE)
    delivered = attempt(delivery)
    if not delivered and delivery.status == WebhookDelivery.Status.PENDING:
        countdown = max((delivery.next_attempt_at - timezone.now()).total_seconds(), 0)
        webhook_deliver.apply_async(args=[delivery.pk], countdown=countdown,
                                    headers={"_schema_name": connection.schema_name})
    return delivery.status


def overdue_condition() -> Q:
    """Deliveries whose retry is overdue by minutes (the fan-out sends the resend job only where there are some)."""
    return Q(status=WebhookDelivery.Status.PENDING, next_attempt_at__lt=timezone.now() - timedelta(minutes=5))


@shared_task
def webhooks_resend_due() -> int:
    """A safety net for retries whose message was lost (a broker restart): send what is overdue by minutes."""
    overdue = WebhookDelivery.objects.filter(overdue_condition())
    ids = list(overdue.values_list("pk", flat=True)[:500])
    for pk in ids:
        webhook_deliver.apply_async(args=[pk], headers={"_schema_name": connection.schema_name})
    return len(ids)


@shared_task
def integrations_purge() -> dict[str, int]:
    """Daily: idempotency records past their 24 hours, and delivery log entries past 90 days."""
    from .idempotency import KEPT_FOR

    now = timezone.now()
    requests, _ = IdempotentRequest.objects.filter(created_at__lt=now - KEPT_FOR).delete()
    deliveries, _ = WebhookDelivery.objects.filter(created_at__lt=now - DELIVERIES_KEPT).exclude(
        status=WebhookDelivery.Status.PENDING).delete()
    return {"idempotency_records": requests, "deliveries": deliveries}
