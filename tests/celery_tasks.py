"""Tasks only the test suite's worker loads (``--include tests.celery_tasks``)."""

import json
from pathlib import Path

from celery import shared_task
from django.db import connection
from wagtail.models import Site


@shared_task
def probe(report_path: str | None = None) -> dict[str, str]:
    """Report which schema the task ran in and what that schema's own data says."""
    report = {"schema": connection.schema_name, "site": Site.objects.get(is_default_site=True).hostname}
    if report_path:
        Path(report_path).write_text(json.dumps(report))
    return report
