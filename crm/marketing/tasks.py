from celery import Task, shared_task
from django.db import connection


@shared_task(bind=True, acks_late=True)
def campaign_run(self: Task, campaign_id: int) -> str:
    """Send the next chunk of a campaign and queue the one after it (any worker takes it, after whatever
    else was waiting); in quiet hours, come back when they end."""
    from .campaigns import campaign_send, chunk_size
    from .channels import quiet_until
    from .models import Campaign, SendingRules

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return "not sending"
    result = campaign_send(campaign_id, chunk=chunk_size(campaign))
    if result == "more":  # the next chunk, on the queue this one came from
        queue = (self.request.delivery_info or {}).get("routing_key")
        campaign_run.apply_async(args=[campaign_id], headers={"_schema_name": connection.schema_name},
                                 **({"queue": queue} if queue else {}))
    elif result == "deferred":
        from django.utils import timezone

        until = quiet_until(timezone.now(), SendingRules.current()) or timezone.now()
        campaign_run.apply_async(args=[campaign_id], eta=until, headers={"_schema_name": connection.schema_name})
    return result


@shared_task
def campaigns_resume() -> dict[str, object]:
    """Every few minutes by fan-out: start scheduled campaigns and restart any whose worker died."""
    from .campaigns import campaigns_due

    due = campaigns_due()
    for campaign_id in due:
        campaign_run.apply_async(args=[campaign_id], headers={"_schema_name": connection.schema_name})
    return {"schema": connection.schema_name, "restarted": due}


@shared_task
def automations_run() -> dict[str, object]:
    """Hourly by fan-out: collect each active automation's occasions and act on those due."""
    from .automations import automations_run as run

    return {"schema": connection.schema_name, **run()}
