"""Periodic work: one beat entry per job, fanned out as one task per tenant."""

from celery import current_app, shared_task
from django.conf import settings
from django.utils.module_loading import import_string

from .selectors import dealer_groups

DEFAULT_STAGGER_SECONDS = 2.0
# However many tenants, one job's tasks all start within this window (and so well inside the
# broker's visibility timeout, config/settings/celery.py).
FAN_OUT_WINDOW_SECONDS = 1800.0


@shared_task(acks_late=False)
def fan_out(task_name: str, stagger_seconds: float = DEFAULT_STAGGER_SECONDS) -> dict[str, str]:
    """Send ``task_name`` once per dealer group, each in its own schema, spread over time.

    The n-th tenant's task waits ``n * step`` so that a thousand tenants do not hit the database
    in the same second; ``step`` is ``stagger_seconds``, shortened when needed to keep the whole
    job inside ``FAN_OUT_WINDOW_SECONDS``. Acknowledged on receipt: a redelivered fan-out would
    send every tenant's task again, while a lost one is simply sent at the next beat. Jobs must be
    idempotent all the same. Suspended tenants are included: jobs decide for themselves what a
    suspended tenant needs. Returns the id of the task sent to each schema.
    """
    # Only where the job has work, when its module says what that is (one query for every schema). The platform
    # knows the product's answer only through this setting (crm.core.due.schemas_with_work).
    schemas = list(dealer_groups().order_by("pk").values_list("schema_name", flat=True))
    schemas = import_string(settings.FAN_OUT_DUE_WORK)(task_name, schemas)
    step = min(stagger_seconds, FAN_OUT_WINDOW_SECONDS / max(len(schemas), 1))
    return {
        schema: current_app.send_task(task_name, countdown=position * step, headers={"_schema_name": schema}).id
        for position, schema in enumerate(schemas)
    }


@shared_task(acks_late=False)
def warm_pool_refill() -> dict[str, int]:
    """Every minute and after each sign-up: keep ``TENANT_WARM_POOL_SIZE`` schemas cloned ahead (tenants.pool).
    One refill at a time (a second one started meanwhile leaves): two would clone past the size."""
    from django.db import connection

    from .pool import pool_refill

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended('warm-pool-refill', 0))")
        if not cursor.fetchone()[0]:
            return {"cloned": 0, "dropped": 0, "ready": -1}
    try:
        return pool_refill()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended('warm-pool-refill', 0))")
