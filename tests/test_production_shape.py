"""The production shape: /health/, the image's build steps, what processes demand when they start, gunicorn.

The whole shape runs for real in CI, after the suite (``python -m config.smoke``, called by .ci/run):
a fresh virtualenv from requirements/base.txt alone, the image's build steps, migrate_all, gunicorn,
a Celery worker and beat on Redis, a task round-trip, and the image build where Docker runs.
"""

import json
import os
import runpy
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client, override_settings

from tests.test_settings import OURS, PRODUCTION_ENV

BASE_DIR = Path(__file__).resolve().parent.parent
PLATFORM_DIR = BASE_DIR / "platform"
GUNICORN_CONF = PLATFORM_DIR / "gunicorn.conf.py"

# What production needs at run time, none of which the image's build may see; its servers at closed ports.
RUNTIME_ENV = {**PRODUCTION_ENV, "DATABASE_URL": "postgres://dealercrm@127.0.0.1:1/dealercrm",
               "REDIS_URL": "redis://127.0.0.1:1/0", "CELERY_BROKER_URL": "redis://127.0.0.1:1/1"}
# platform/build.sh's placeholders: the two values Django cannot import its settings without.
BUILD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "build-only-not-a-secret",
    "DATABASE_URL": "postgres://build@build.invalid/build",
    "CELERY_BROKER_URL": "memory://",
}


def clean_env(**env: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(OURS)}, **env}


def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never answers: a server that hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def health(host: str = "localhost", method: str = "get") -> tuple[int, dict[str, str] | bytes]:
    response = getattr(Client(HTTP_HOST=host), method)("/health/")
    return response.status_code, (json.loads(response.content) if response.content else response.content)


# --- /health/ ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_health_answers_get_and_head_on_any_host_when_database_cache_and_broker_answer():
    # given the database, the cache and the broker this process is configured with
    # when a load balancer asks, with GET or HEAD, on the platform's host or by address as a probe does
    # then all three are reported as answering, and HEAD gets the status without a body
    assert health() == (200, {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"})
    assert health("10.0.0.7:8000") == (200, {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"})
    assert health(method="head") == (200, b"")
    assert Client(HTTP_HOST="localhost").post("/health/").status_code == 405


@pytest.mark.django_db
def test_health_is_503_naming_the_cache_when_the_cache_cannot_be_reached():
    # given a cache at an address where nothing listens
    unreachable = {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                   "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
                   "KEY_FUNCTION": "django_tenants.cache.make_key"}

    # when a load balancer asks
    with override_settings(CACHES={"default": unreachable}):
        status, report = health()
        head_status, _ = health(method="head")

    # then it is told the cache is down, and that only the cache is
    assert (status, report) == (503, {"status": "error", "database": "ok", "cache": "unavailable", "broker": "ok"})
    assert head_status == 503


@pytest.mark.parametrize("broker", ["refused", "silent"])
@pytest.mark.django_db
def test_health_is_503_naming_the_broker_within_seconds_when_the_broker_is_down_or_hangs(broker, silent_server):
    # given a broker that refuses connections, or one that accepts them and never answers
    port = closed_port() if broker == "refused" else silent_server

    # when a load balancer asks
    started = time.monotonic()
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0"):
        status, report = health()

    # then it is told the broker is down, in seconds rather than when its own probe times out
    assert (status, report) == (503, {"status": "error", "database": "ok", "cache": "ok", "broker": "unavailable"})
    assert time.monotonic() - started < 5


def test_health_is_503_naming_the_database_when_the_database_cannot_be_reached():
    # given a process whose database is at an address where nothing listens (a process of its own:
    # this one's connection is the test database's)
    code = ("from django.test import Client; r = Client(HTTP_HOST='localhost').get('/health/'); "
            "print(r.status_code, r.content.decode())")
    env = clean_env(DJANGO_SETTINGS_MODULE="config.settings.test",
                    DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/nowhere")

    # when a load balancer asks
    result = subprocess.run([sys.executable, "manage.py", "shell", "--command", code], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)

    # then it gets a 503 that names the database, not a 500 from resolving the tenant
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert (int(status), json.loads(body)) == (
        503, {"status": "error", "database": "unavailable", "cache": "ok", "broker": "ok"})


def test_health_is_503_within_seconds_in_production_when_the_database_hangs(silent_server):
    # given the production settings with a database that accepts connections and never answers (and the
    # cache and the broker at closed ports)
    code = ("import time; from tenants.health import health_report; started = time.monotonic(); "
            "print(health_report(), round(time.monotonic() - started))")
    env = clean_env(**{**RUNTIME_ENV, "DATABASE_URL": f"postgres://dealercrm@127.0.0.1:{silent_server}/dealercrm",
                       "DATABASE_CONNECT_TIMEOUT": "2"})
    # This measures seconds, not dates: on the machine's own clock. Under the suite's moved clock (TEST_CLOCK)
    # libfaketime moves the monotonic clock too but not glibc's sem_clockwait, so the pool's "wait at most 2 s"
    # would wait for the offset.
    for name in ("LD_PRELOAD", "FAKETIME"):
        env.pop(name, None)

    # when a load balancer asks
    result = subprocess.run([sys.executable, "manage.py", "shell", "--command", code], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)

    # then the database is reported down within seconds, not when the kernel gives up on the connection
    assert result.returncode == 0, result.stderr
    report, seconds = result.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    assert "'database': 'unavailable'" in report and int(seconds) < 10


# --- the image's build steps and what a process demands when it starts ------------------------------


def test_the_image_build_steps_run_the_production_settings_without_any_runtime_secret():
    # given the production settings with only platform/build.sh's placeholders: no Stripe key, no Redis
    env = clean_env(**BUILD_ENV)

    # when collectstatic runs as in the image's build (a dry run: nothing is written)
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--dry-run"],
                            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300)

    # then it succeeds
    assert result.returncode == 0, result.stderr[-3000:]
    assert "static files copied" in result.stdout


@pytest.mark.parametrize("process", ["web", "worker"])
def test_production_processes_refuse_to_start_without_the_stripe_keys(process):
    # given the production environment without Stripe's keys
    env = clean_env(**{k: v for k, v in RUNTIME_ENV.items() if not k.startswith("STRIPE_")})
    command = {
        "web": [sys.executable, "-c", "import config.wsgi"],
        "worker": [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "--without-mingle",
                   "--without-gossip"],
    }[process]

    # when the web process (what gunicorn imports) or the Celery worker starts
    result = subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)

    # then it refuses, naming every missing key
    assert result.returncode != 0
    for name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET"):
        assert name in result.stderr


# --- platform/ and gunicorn -------------------------------------------------------------------------


def test_platform_holds_no_python_package():
    python_files = {path.relative_to(PLATFORM_DIR).as_posix() for path in PLATFORM_DIR.rglob("*.py")}

    assert python_files == {"gunicorn.conf.py"}, "a package named platform shadows the standard library"
    assert not list(PLATFORM_DIR.rglob("__init__.py"))


def test_platform_folder_does_not_shadow_the_stdlib_platform_module():
    code = "import platform, uuid; print(platform.__file__); platform.system(); uuid.uuid4()"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, capture_output=True, text=True, timeout=60, check=True,
    )

    assert not Path(result.stdout.strip()).resolve().is_relative_to(PLATFORM_DIR)


def _gunicorn_config(monkeypatch, **env: str) -> dict:
    for name in ("WEB_CONCURRENCY", "GUNICORN_BIND", "GUNICORN_THREADS", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF), init_globals={}, run_name="__config__")


def test_gunicorn_config_binds_every_interface_on_8000_and_sizes_workers_from_the_cpus(monkeypatch):
    config = _gunicorn_config(monkeypatch)

    assert config["bind"] == "0.0.0.0:8000"
    assert 1 <= config["workers"] <= 2 * (os.cpu_count() or 1) + 1
    assert config["accesslog"] == "-"


def test_gunicorn_config_takes_workers_and_trusted_proxies_from_the_environment(monkeypatch):
    config = _gunicorn_config(monkeypatch, WEB_CONCURRENCY="3", FORWARDED_ALLOW_IPS="10.0.0.0/8")

    assert config["workers"] == 3
    assert config["forwarded_allow_ips"] == "10.0.0.0/8"


def test_gunicorn_accepts_every_setting_the_config_file_makes(monkeypatch):
    """Gunicorn ignores unknown names silently, so a misspelt setting would just not apply."""
    from gunicorn.config import Config

    settings_made = {
        name: value for name, value in _gunicorn_config(monkeypatch).items()
        if not name.startswith("_") and name.islower() and not callable(value) and not hasattr(value, "__file__")
    }
    config = Config()
    unknown = set(settings_made) - set(config.settings)
    assert not unknown
    for name, value in settings_made.items():
        config.set(name, value)  # runs gunicorn's own validator for each value
    assert config.workers == settings_made["workers"]
    assert config.address == [("0.0.0.0", 8000)]  # noqa: S104 - inside a container, by design
