"""Where a line of work runs: tenant schema, user, request id, task. Read by logs, Sentry and metrics alike.

Context variables, not thread locals: gunicorn's threads and Celery's pool each see their own, and a value
set for one request or task is reset when it ends (``bound``), so nothing leaks into the next one.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# The request being served (for its user id) and its id; the task being run (name, id).
request_var: ContextVar[Any] = ContextVar("request", default=None)
request_id_var: ContextVar[str] = ContextVar("request_id", default="")
task_var: ContextVar[tuple[str, str] | None] = ContextVar("task", default=None)


@contextmanager
def bound(var: ContextVar[Any], value: Any) -> Iterator[None]:
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def current_tenant() -> str:
    """The schema this thread's database connection is on ("public" for the platform), or "" before Django runs."""
    from django.apps import apps

    if not apps.ready:
        return ""
    from django.db import connection

    return getattr(connection, "schema_name", "") or ""


def current_user_id() -> int | str | None:
    """The signed-in user's id, never their e-mail; None for anonymous visitors and outside requests.

    Only a user the request has already loaded counts: a log line must not cost a session lookup, nor run
    one while the database is what failed.
    """
    from django.utils.functional import empty

    request = request_var.get()
    user = getattr(request, "user", None) if request is not None else None
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if getattr(user, "is_authenticated", False) else None


def log_context() -> dict[str, Any]:
    """tenant, user_id, request_id and, inside a task, task_name and task_id."""
    context: dict[str, Any] = {"tenant": current_tenant(), "user_id": current_user_id(),
                               "request_id": request_id_var.get() or None}
    task = task_var.get()
    if task is not None:
        context["task_name"], context["task_id"] = task
    return context
