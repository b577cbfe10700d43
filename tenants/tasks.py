"""Periodic work: one beat entry per job, fanned out as one task per tenant."""

from celery import current_app, shared_task

from .selectors import dealer_groups

DEFAULT_STAGGER_SECONDS = 2.0


@shared_task
def fan_out(task_name: str, stagger_seconds: float = DEFAULT_STAGGER_SECONDS) -> dict[str, str]:
    """Send ``task_name`` once per dealer group, each in its own schema, spread over time.

    The n-th tenant's task waits ``n * stagger_seconds`` so that a thousand tenants do not hit
    the database in the same second. Suspended tenants are included: jobs decide for themselves
    what a suspended tenant needs. Returns the id of the task sent to each schema.
    """
    schemas = dealer_groups().order_by("pk").values_list("schema_name", flat=True)
    return {
        schema: current_app.send_task(
            task_name, countdown=position * stagger_seconds, headers={"_schema_name": schema}
        ).id
        for position, schema in enumerate(schemas)
    }
