"""Celery's side: the request id travels with a task, a task's log lines say which task, its runs are counted,
and the worker logs with the project's LOGGING (JSON in production) rather than Celery's own format.

Connected when ``config.celery`` imports this module, after tenant-schemas-celery's own handlers: at
``task_prerun`` the task's schema is already set (and at ``task_postrun`` already reset, hence the tenant is
read at the start).
"""

import logging
import logging.config
import time
from typing import Any

from celery import Task
from celery.signals import (
    before_task_publish,
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    worker_init,
)

from . import metrics
from .context import current_tenant, request_id_var, task_var

REQUEST_ID_HEADER = "request_id"
# task id -> (started, tenant, queue): a task's prerun, run and postrun happen in one process.
_running: dict[str, tuple[float, str, str]] = {}


@before_task_publish.connect
def _request_id_forward(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """A task sent while serving a request (or running a task that had one) carries that request's id."""
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


def _queue_of(task: Task) -> str:
    """The queue the task came from: one this worker knows (its ``-Q`` list and the configured ones), so a label
    value never comes from elsewhere; "eager" when run in the caller's process."""
    if task.request.is_eager:
        return "eager"
    queue = (task.request.delivery_info or {}).get("routing_key") or ""
    return queue if queue in task.app.amqp.queues else "other"


@task_prerun.connect
def _task_started(task_id: str = "", task: Task | None = None, **_: Any) -> None:
    if task is None:
        return
    headers = task.request.headers or {}
    request_id_var.set(headers.get(REQUEST_ID_HEADER) or task.request.get(REQUEST_ID_HEADER) or "")
    task_var.set((task.name, task_id))
    _running[task_id] = (time.perf_counter(), current_tenant(), _queue_of(task))


@task_postrun.connect
def _task_finished(task_id: str = "", task: Task | None = None, **_: Any) -> None:
    started = _running.pop(task_id, None)
    request_id_var.set("")
    task_var.set(None)
    if task is None or started is None:
        return
    began, tenant, queue = started
    metrics.TASK_DURATION.labels(task.name, queue).observe(time.perf_counter() - began)
    if tenant:
        metrics.TENANT_TASKS.labels(tenant).inc()


@task_failure.connect
def _task_failed(sender: Task | None = None, task_id: str = "", **_: Any) -> None:
    if sender is None:
        return
    queue = _running.get(task_id, (0.0, "", _queue_of(sender)))[2]
    metrics.TASK_FAILURES.labels(sender.name, queue).inc()


@setup_logging.connect
def _logging_configure(loglevel: int | str | None = None, **_: Any) -> None:
    """The project's LOGGING in the worker and beat too: connecting here stops Celery from installing its own
    handler and format on the root logger. ``-l`` still sets the level."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


@worker_init.connect
def _worker_metrics_start(sender: Any = None, **_: Any) -> None:
    """In the worker's main process, before the pool forks: fresh multiprocess files, and the metrics port.

    With the prefork pool the tasks run, and are counted, in the pool's processes: without the multiprocess
    folder the port would show the main process's empty counts, so the worker refuses to start (SystemExit:
    Celery logs and ignores any other exception a signal handler raises)."""
    from django.conf import settings

    metrics.multiprocess_dir_reset()  # the pool's processes write there whether or not a port serves it
    if not settings.WORKER_METRICS_PORT:
        return
    in_process = any(pool in str(getattr(sender, "pool_cls", "")) for pool in ("solo", "threads"))
    if not metrics.multiprocess_dir() and not in_process:
        raise SystemExit("WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR (a folder of this worker's own): "
                         "the pool's processes count the tasks.")
    metrics.worker_metrics_serve(settings.WORKER_METRICS_PORT)
