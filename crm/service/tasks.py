from celery import shared_task
from django.db import connection


@shared_task(acks_late=True)
def appointment_confirmation_send(appointment_id: int) -> bool:
    from .notify import confirmation_send

    return confirmation_send(appointment_id)


@shared_task
def appointment_reminders_send() -> dict[str, object]:
    """Run hourly by fan-out: each tenant reminds tomorrow's customers in daytime, once."""
    from .notify import reminders_send

    return {"schema": connection.schema_name, "sent": reminders_send()}


@shared_task
def reminders_run() -> dict[str, object]:
    """Hourly by fan-out: create what is due (once per reason and period), then send in daytime."""
    from .reminders import reminders_create, reminders_send

    return {"schema": connection.schema_name, "created": reminders_create(), **reminders_send()}


@shared_task
def slots_extend() -> dict[str, object]:
    """Nightly by fan-out: each tenant's reception slots kept SLOT_HORIZON_DAYS ahead."""
    from .booking import slots_extend as extend

    return {"schema": connection.schema_name, "slots": extend()}
