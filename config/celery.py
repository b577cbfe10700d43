"""The Celery app. Each task runs in the schema it was sent from (tenant-schemas-celery).

Rule for enqueuing: inside a transaction, use :func:`enqueue_on_commit`. It captures the schema
*now* and passes it explicitly at commit, because ``delay_on_commit()`` inside ``schema_context()``
within an outer ``atomic()`` was sent to the public schema.
"""

import os
from typing import Any

from celery import Task
from celery.signals import beat_init, task_postrun, task_prerun, worker_init
from tenant_schemas_celery.app import CeleryApp

from .checks import production_environment_verify
from .observability import worker as _observability  # noqa: F401 - connects the request id, task metrics, logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = CeleryApp("dealercrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["tenants.billing"])  # a package inside an app: not found by the call above
# The nightly KPI snapshots' task lives in a module of its own: without this, only a process that happened to
# import it knew it, and the worker refused the beat's fan-out as an unregistered task.
app.autodiscover_tasks(["tenants"], related_name="kpi_snapshots")


def enqueue_on_commit(task: Task, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Send ``task`` when the current transaction commits, in the schema that is current now.

    Nothing is sent if the transaction rolls back. Outside a transaction it is sent at once.
    """
    from django.db import connection, transaction

    schema = connection.schema_name
    transaction.on_commit(
        lambda: task.apply_async(
            args=args, kwargs=kwargs, countdown=countdown, headers={"_schema_name": schema}
        )
    )


@worker_init.connect
@beat_init.connect
def _environment_verify(**_: Any) -> None:
    """Worker and beat refuse to start on an incomplete production environment, as the web process
    does. SystemExit, because Celery logs and ignores any Exception a signal handler raises."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        production_environment_verify()
    except ImproperlyConfigured as error:
        raise SystemExit(f"ImproperlyConfigured: {error}") from error


@task_prerun.connect
def _tenant_timezone(**_: Any) -> None:
    """A task runs in its dealer group's time zone, as a request on the group's host does: "today"
    for the day's reminders and surveys is the group's today."""
    from django.db import connection

    from accounts.middleware import tenant_timezone_activate

    tenant_timezone_activate(getattr(connection, "tenant", None))


@task_postrun.connect
def _timezone_reset(**_: Any) -> None:
    from django.utils import timezone

    timezone.deactivate()
