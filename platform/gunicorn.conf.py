"""Gunicorn settings for the web container: ``gunicorn --config platform/gunicorn.conf.py config.wsgi:application``.

Gunicorn loads this file by path. ``platform/`` must never become a Python package: one named
``platform`` would shadow the standard library module that uuid, stripe and celery import.
Every value can be changed from the environment, so one image fits every machine size.
"""

import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cpus() -> int:
    """CPUs this process may run on (a container's cpuset), not the host's count where that is known."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# A container's port is published by the runtime; inside it, listen on every interface.
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# The usual 2 x CPUs + 1, capped: each worker is a full Django + Wagtail process (~150-250 MB) and holds
# its own database connections. Set WEB_CONCURRENCY to size it exactly (Heroku's and gunicorn's name).
workers = _env_int("WEB_CONCURRENCY", min(2 * _cpus() + 1, 8))
# Threads (gthread worker) for requests that wait on the database or Redis. Each thread keeps its own
# persistent connection (CONN_MAX_AGE): connections per container = workers x threads.
threads = _env_int("GUNICORN_THREADS", 4)
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then, staggered, so slow memory growth never accumulates.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# Heartbeat files on tmpfs: on a container's overlay filesystem they can stall workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# Logs to stdout/stderr, where the container runtime collects them.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# The proxies trusted to say a request came over HTTPS (X-Forwarded-Proto): comma-separated addresses or
# networks, "*" only when nothing but the proxy can reach this port.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


# Prometheus' multiprocess mode: every worker writes its counts to files in this folder and /metrics, asked of
# any one worker, adds them all up (config/observability/metrics.py). Set before the workers import the app.
# One folder per gunicorn, never shared with another process group (a Celery worker has its own).
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or f"/tmp/dealercrm-metrics-web-{os.getpid()}"  # noqa: S108
raw_env = [f"PROMETHEUS_MULTIPROC_DIR={_metrics_dir}"]


def on_starting(server: object) -> None:
    """Empty the folder before the workers fork: counts of an earlier start must not be added to this one's."""
    import shutil

    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)
