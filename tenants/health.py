"""``/health/`` for load balancers and container health checks: the database, the cache and the broker.

A middleware, placed before the tenant is resolved: resolving it reads the database, so a view
behind it could only fail with a 500 when the database is down, instead of saying so. It answers on
any host (a Kubernetes probe sends the pod's address as Host) and tells nothing but which check
failed. Each check is bounded by a short timeout, so a dead server gives a 503 in seconds, not a hang.
"""

import logging
import secrets
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from kombu import Connection

logger = logging.getLogger(__name__)

HEALTH_PATH = "/health/"
TIMEOUT_SECONDS = 2


def database_check() -> None:
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def cache_check() -> None:
    token = secrets.token_hex(8)
    cache.set("health:probe", token, timeout=10)
    if cache.get("health:probe") != token:
        raise RuntimeError("the cache did not keep a value")


def broker_check() -> None:
    """Connect to the broker Celery uses and back, with no retries: a dead broker fails at once."""
    options = {**getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
               "socket_connect_timeout": TIMEOUT_SECONDS, "socket_timeout": TIMEOUT_SECONDS}
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=TIMEOUT_SECONDS,
                    transport_options=options) as broker:
        broker.ensure_connection(max_retries=0, timeout=TIMEOUT_SECONDS)


CHECKS: dict[str, Callable[[], None]] = {"database": database_check, "cache": cache_check, "broker": broker_check}


def health_report() -> tuple[int, dict[str, str]]:
    """(HTTP status, {check: "ok" | "unavailable"}): 200 only when every check passed."""
    report = {}
    for name, check in CHECKS.items():
        try:
            check()
            report[name] = "ok"
        except Exception:  # any failure means unhealthy, and is reported as such
            logger.warning("health check %s failed", name, exc_info=True)
            report[name] = "unavailable"
    healthy = all(result == "ok" for result in report.values())
    return (200 if healthy else 503), {"status": "ok" if healthy else "error", **report}


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != HEALTH_PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
        else:
            status, report = health_report()
            response = JsonResponse(report, status=status)
            if request.method == "HEAD":
                response.content = b""
        add_never_cache_headers(response)
        return response
