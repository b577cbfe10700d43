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


def on_starting(server: object) -> None:
    """Prometheus' multiprocess folder (PROMETHEUS_MULTIPROC_DIR), emptied before the workers fork: every worker
    writes its counts there and /metrics adds them up; counts of an earlier start must not be added in."""
    import shutil

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)
