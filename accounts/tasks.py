from celery import shared_task
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone


@shared_task
def clear_expired_sessions() -> dict[str, object]:
    """Delete the current schema's expired sessions. Idempotent: a second run finds none."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return {"schema": connection.schema_name, "deleted": deleted}
