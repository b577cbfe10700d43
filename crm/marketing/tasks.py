from celery import shared_task
from django.db import connection


@shared_task(acks_late=True)
def campaign_run(campaign_id: int) -> str:
    """Send a campaign to whoever is left; in quiet hours, come back when they end."""
    from .campaigns import campaign_send
    from .channels import quiet_until
    from .models import SendingRules

    result = campaign_send(campaign_id)
    if result == "deferred":
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
