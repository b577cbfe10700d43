"""What operators see (config/observability/): Sentry, the log format, who may read the Prometheus metrics."""

import ipaddress

from django.core.exceptions import ImproperlyConfigured

from .env import env

# Errors go to Sentry only when a DSN is set, in any environment; tagged with the release deployed.
SENTRY_DSN = env("SENTRY_DSN", default="")
APP_RELEASE = env("APP_RELEASE", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="development")

LOG_FORMATS = ("plain", "json")


def log_format(default: str) -> str:
    """``LOG_FORMAT``: "json" (one object per line, production's default) or "plain" (development's)."""
    value = env("LOG_FORMAT", default="") or default
    if value not in LOG_FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {value!r}.")
    return value


# /metrics (on the platform's host) and a worker's metrics port answer only these networks, as the client's
# address is read behind the platform's proxies; with METRICS_TOKEN set, only a request bearing it as well.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[
    "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"])
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _error:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_network!r} is not a network ({_error}).") from None
# "[address:]port" a Celery worker serves its metrics on (every interface by default); unset, no port opens.
WORKER_METRICS_PORT = env("WORKER_METRICS_PORT", default="")
if WORKER_METRICS_PORT and not WORKER_METRICS_PORT.rpartition(":")[2].isdigit():
    raise ImproperlyConfigured(f"WORKER_METRICS_PORT must be a port or address:port, not {WORKER_METRICS_PORT!r}.")
