from celery import shared_task
from django.db import connection

from .identity import review_queue_refresh


@shared_task
def duplicates_refresh() -> dict[str, object]:
    """Refresh the current tenant's duplicate review queue. Idempotent; run nightly by fan-out."""
    return {"schema": connection.schema_name, "queued": review_queue_refresh()}
