"""Tasks only the observability tests' own worker loads (``--include tests.observability_tasks``)."""

import logging

from celery import shared_task
from django.db import connection

logger = logging.getLogger(__name__)


@shared_task
def work(customer_email: str = "") -> str:
    """Logs one line and says which schema it ran in."""
    logger.info("work done")
    return connection.schema_name


@shared_task
def fail(customer_email: str = "") -> None:
    """Fails the way real code does: the message names the customer it was about."""
    raise RuntimeError(f"could not reach {customer_email} on +7 912 345-67-89")
