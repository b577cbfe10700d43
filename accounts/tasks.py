from smtplib import SMTPException
from typing import Any

from celery import shared_task
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from .mail import email_message_from_dict


@shared_task
def clear_expired_sessions() -> dict[str, object]:
    """Delete the current schema's expired sessions. Idempotent: a second run finds none."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return {"schema": connection.schema_name, "deleted": deleted}


@shared_task(autoretry_for=(SMTPException, ConnectionError, TimeoutError), retry_backoff=30, max_retries=6,
             acks_late=False)
def email_send(message: dict[str, Any]) -> None:
    """Send a rendered account e-mail (sign-in codes, password reset).

    Retried with back-off while the mail server is unreachable; acknowledged on receipt, so a
    worker lost after handing the message to SMTP does not send it a second time.
    """
    email_message_from_dict(message).send()
