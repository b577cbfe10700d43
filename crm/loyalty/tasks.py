from celery import shared_task
from django.db import connection


@shared_task
def points_accrue() -> dict[str, object]:
    """Hourly by fan-out: credit club points and referral rewards earned since the last run."""
    from .accrual import points_accrue as accrue

    return {"schema": connection.schema_name, **accrue()}
