from celery import shared_task
from django.db import connection


@shared_task
def segments_recompute() -> dict[str, object]:
    """Nightly by fan-out, and on demand from the segments page: the tenant's segments, set-based."""
    from .segments import segments_recompute as recompute

    return {"schema": connection.schema_name, "customers": recompute()}
