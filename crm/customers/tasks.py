from celery import shared_task
from django.db import connection

from .identity import review_queue_refresh


@shared_task
def duplicates_refresh() -> dict[str, object]:
    """Refresh the current tenant's duplicate review queue. Idempotent; run nightly by fan-out."""
    return {"schema": connection.schema_name, "queued": review_queue_refresh()}


@shared_task(acks_late=False)
def import_run(job_id: int, *, resume: bool = False) -> dict[str, object]:
    """Run an import job in the tenant it was sent from. A run that dies half-way is resumed by
    sending this again with ``resume=True``: chunks already committed are skipped."""
    from .importing.pipeline import job_run
    from .models import ImportJob

    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    job_run(job, resume=resume)
    return {"schema": connection.schema_name, "job": job.pk, "status": job.status, "counts": job.counts}


@shared_task
def customers_archive_stale() -> dict[str, object]:
    """Archive the current tenant's customers without contact for the years its rules say. Idempotent."""
    from .quality import customers_archive_stale as archive

    return {"schema": connection.schema_name, "archived": archive()}
