"""Prometheus metrics: requests, tasks, queue depth and work per tenant, for the platform's Prometheus alone.

Several processes count: gunicorn's workers and Celery's pool children. With ``PROMETHEUS_MULTIPROC_DIR`` set
(production: a folder of each container's own) every process writes its counts to files there and a scrape
adds them up (prometheus_client's multiprocess mode), so one scrape of ``/metrics`` sees every gunicorn worker
and one of a worker container's port sees every pool child. Without it (development, the tests) a process
counts in memory. Workers serve theirs on ``WORKER_METRICS_PORT`` (``worker``); the web serves ``/metrics`` on
the platform's host with the queue depths read from the broker at scrape time.

Labels are bounded: a route is the URL pattern's name, never the path; a status its class ("2xx"); a method
one of the HTTP verbs; a queue one of ``WORKER_QUEUES``. Per-tenant work is one counter with one label, the
schema: a series per tenant (1,000 groups, 2,000 series for requests and tasks), never tenant x route.
"""

import hmac
import ipaddress
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.utils.cache import add_never_cache_headers
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from accounts.throttle import client_ip

METRICS_PATH = "/metrics"
# A scrape waits on the broker this long at most, as /health/ does: a dead broker is a 0 in broker_up, not a hang.
TIMEOUT_SECONDS = 2
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter("dealercrm_http_requests", "HTTP requests answered.", ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "dealercrm_http_request_duration_seconds", "Time to answer an HTTP request.", ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TENANT_REQUESTS = Counter("dealercrm_tenant_requests", "HTTP requests per tenant schema.", ["tenant"])
TASK_DURATION = Histogram(
    "dealercrm_celery_task_duration_seconds", "Time a Celery task ran, failed or not.", ["task", "queue"],
    buckets=(0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 10800),
)
TASK_FAILURES = Counter("dealercrm_celery_task_failures", "Celery tasks that raised.", ["task", "queue"])
TENANT_TASKS = Counter("dealercrm_tenant_tasks", "Celery tasks run per tenant schema.", ["tenant"])


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def multiprocess_dir_reset() -> None:
    """Empty the folder when the process group starts (gunicorn's master, Celery's main process): counts of
    processes from an earlier start would otherwise be added to this one's."""
    folder = multiprocess_dir()
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def process_registry() -> CollectorRegistry:
    """Every process's counts (multiprocess mode), or this process's."""
    if not multiprocess_dir():
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


# --- requests ----------------------------------------------------------------------------------------


def route_of(request: HttpRequest) -> str:
    """The URL pattern's name ("crm_customer_detail", "wagtail_serve"), never the path itself."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match.route or "unnamed"
    path = request.path_info
    if path == METRICS_PATH:
        return "metrics"
    if path == "/health/":
        return "health"
    if path.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


class MetricsMiddleware:
    """Counts and times every response; placed outermost so redirects, /health/ and static files count too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        labels = (request.method if request.method in _METHODS else "OTHER", route_of(request),
                  f"{response.status_code // 100}xx")
        HTTP_REQUESTS.labels(*labels).inc()
        HTTP_DURATION.labels(*labels).observe(time.perf_counter() - started)
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            TENANT_REQUESTS.labels(tenant.schema_name).inc()
        return response


# --- queue depth, read at scrape time -------------------------------------------------------------------


def queue_depths() -> dict[str, int] | None:
    """Messages waiting in each of ``WORKER_QUEUES`` (not those a worker holds), or None if the broker is away.

    A passive declare asks the broker itself: on Redis kombu answers with LLEN over the queue's priority lists,
    on RabbitMQ the broker's own count. A queue nobody has sent to yet does not exist: 0.
    """
    from kombu import Connection
    from kombu.exceptions import ChannelError, OperationalError

    options = {**getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
               "socket_connect_timeout": TIMEOUT_SECONDS, "socket_timeout": TIMEOUT_SECONDS}
    depths = {}
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=TIMEOUT_SECONDS,
                        transport_options=options) as broker:
            broker.ensure_connection(max_retries=0, timeout=TIMEOUT_SECONDS)
            for queue in settings.WORKER_QUEUES:
                try:
                    with broker.channel() as channel:
                        depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
                except ChannelError:
                    depths[queue] = 0
    except (OperationalError, OSError):
        return None
    return depths


class BrokerCollector:
    def collect(self) -> Iterator[Metric]:
        depths = queue_depths()
        up = GaugeMetricFamily("dealercrm_celery_broker_up", "1 when the broker answered this scrape.")
        up.add_metric([], 0 if depths is None else 1)
        yield up
        length = GaugeMetricFamily("dealercrm_celery_queue_length", "Tasks waiting in a queue.", labels=["queue"])
        for queue, depth in (depths or {}).items():
            length.add_metric([queue], depth)
        yield length


def web_exposition() -> bytes:
    broker = CollectorRegistry(auto_describe=False)
    broker.register(BrokerCollector())
    return generate_latest(process_registry()) + generate_latest(broker)


# --- who may read them ----------------------------------------------------------------------------------


def address_allowed(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    parsed = getattr(parsed, "ipv4_mapped", None) or parsed
    return any(parsed in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_NETWORKS)


def token_accepted(authorization: str) -> bool:
    """No ``METRICS_TOKEN``: the networks alone decide. Set: ``Authorization: Bearer <token>`` as well."""
    expected = settings.METRICS_TOKEN
    if not expected:
        return True
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


def _platform_host(request: HttpRequest) -> bool:
    try:
        host = request.get_host()
    except DisallowedHost:
        return False
    return split_domain_port(host)[0] == settings.APP_DOMAIN.lower()


class MetricsEndpointMiddleware:
    """``/metrics`` on the platform's host (``APP_DOMAIN``), before the tenant is resolved, as /health/ is: a
    scrape costs no database query and still answers (queue depths, error counts) while the database is down.

    Anyone else — a tenant's host, an address outside ``METRICS_ALLOWED_NETWORKS`` (the client's address as
    ``accounts.throttle.client_ip`` reads it behind the platform's proxies) — goes on to the URL map, which has
    no such page: the same 404 as any missing page, nothing to say the endpoint exists. From an allowed network
    without the token ``METRICS_TOKEN`` asks for: 401.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != METRICS_PATH or not _platform_host(request) \
                or not address_allowed(client_ip(request)):
            return self.get_response(request)
        if not token_accepted(request.headers.get("Authorization", "")):
            response = HttpResponse(status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        elif request.method not in ("GET", "HEAD"):
            response = HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
        else:
            response = HttpResponse(web_exposition(), content_type=CONTENT_TYPE_LATEST)
            if request.method == "HEAD":
                response.content = b""
        add_never_cache_headers(response)
        return response


# --- a worker's own endpoint ----------------------------------------------------------------------------


def worker_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The worker's metrics over WSGI, under the same rules as /metrics (its peer's address: no proxy here)."""
    if not address_allowed(environ.get("REMOTE_ADDR", "")):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]
    if not token_accepted(environ.get("HTTP_AUTHORIZATION", "")):
        start_response("401 Unauthorized", [("WWW-Authenticate", 'Bearer realm="metrics"')])
        return [b""]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Cache-Control", "no-store")])
    return [generate_latest(process_registry())]


def worker_metrics_serve(listen: str) -> Any:
    """Serve the worker's metrics at ``[address:]port`` (every interface by default) from a daemon thread."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client.exposition import ThreadingWSGIServer

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Prometheus asks every few seconds: no access log line each time."""

    address, _, port = listen.rpartition(":")
    address = address.strip("[]")
    server = make_server(address or "0.0.0.0", int(port), worker_app, ThreadingWSGIServer,  # noqa: S104
                         handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
