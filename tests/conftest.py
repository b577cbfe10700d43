"""The standard cast, built once per session on the real PostgreSQL.

Tenant A ("alpha") has a dealer admin, a salesperson and a car owner; tenant B ("bravo") has a
dealer admin who must see nothing of A. Tests run inside a transaction that is rolled back, so
they may create anything; the cast itself is committed once.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import translation
from django_tenants.utils import schema_context

from accounts.models import StaffRole
from crm.core.services import staff_user_create
from crm.dealerships.models import Rooftop
from tenants.models import DealerGroup
from tenants.services import dealer_group_create

PASSWORD = "correct-horse-battery"
BASE_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Cast:
    a: DealerGroup
    b: DealerGroup
    a_admin: str
    a_salesperson: str
    a_owner: str
    b_admin: str
    password: str = PASSWORD

    def client(self, tenant: DealerGroup) -> Client:
        return Client(HTTP_HOST=tenant.primary_host)

    def signed_in(self, tenant: DealerGroup, email: str) -> Client:
        """A client signed in through the real login form on the tenant's host."""
        client = self.client(tenant)
        response = client.post("/accounts/login/", {"login": email, "password": self.password})
        assert response.status_code == 302, f"{email} could not sign in on {tenant.primary_host}"
        return client


@pytest.fixture(scope="session")
def test_database(django_db_setup: None, django_db_blocker: pytest.FixtureRequest,
                  django_db_keepdb: bool) -> Iterator[None]:
    """The test database, also for a run narrowed to tests that only talk to a server process.

    pytest-django creates it only when a collected test is marked ``django_db``; a run of, say, the
    API's schemathesis file alone has none, yet its server and the cast need the database.
    """
    if settings.DATABASES["default"]["NAME"].startswith("test_"):
        yield
        return
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        created = setup_databases(verbosity=0, interactive=False, aliases={"default"}, keepdb=django_db_keepdb)
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(created, verbosity=0)


@pytest.fixture(scope="session")
def cast(test_database: None, django_db_blocker: pytest.FixtureRequest) -> Cast:
    # Never build the cast anywhere but in the test database.
    database = settings.DATABASES["default"]["NAME"]
    assert database.startswith("test_"), f"refusing to build the test cast in {database!r}"
    with django_db_blocker.unblock():
        call_command("migrate_all", verbosity=0)
        a = dealer_group_create(
            name="Alpha Motors", slug="alpha", country="DE", default_language="en", timezone="Europe/Berlin",
            currency="EUR", admin_email="admin@alpha.test", admin_password=PASSWORD,
        ).dealer_group
        b = dealer_group_create(
            name="Браво Авто", slug="bravo", country="RU", default_language="ru", timezone="Europe/Moscow",
            currency="RUB", admin_email="admin@bravo.test", admin_password=PASSWORD,
        ).dealer_group
        with schema_context(a.schema_name):
            Rooftop.objects.create(name="Alpha Berlin", city="Berlin", timezone="Europe/Berlin")
            Rooftop.objects.create(name="Alpha Hamburg", city="Hamburg", timezone="Europe/Berlin")
            staff_user_create(email="sales@alpha.test", password=PASSWORD, role=StaffRole.SALESPERSON)
            from accounts.models import User

            User.objects.create_user("owner@alpha.test", PASSWORD, first_name="Olga")
        with schema_context(b.schema_name):
            Rooftop.objects.create(name="Браво Москва", city="Москва", timezone="Europe/Moscow")
    return Cast(a=a, b=b, a_admin="admin@alpha.test", a_salesperson="sales@alpha.test",
                a_owner="owner@alpha.test", b_admin="admin@bravo.test")


@pytest.fixture(autouse=True)
def _back_to_public() -> Iterator[None]:
    """A request on a tenant host leaves the connection on that schema, and its language active
    in the thread; every test starts on public, in English."""
    yield
    connection.set_schema_to_public()
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_local_cache() -> Iterator[None]:
    """Login rate-limit counters and cached pages do not carry from one test into the next.

    Only the in-process cache is cleared: a configured Redis may be shared, and its keys carry
    the run's own prefix (config/settings/test.py).
    """
    yield
    if isinstance(caches["default"], LocMemCache):
        caches["default"].clear()


def texted_code(key: str, *, containing: str = "", wait: float = 0.0) -> str:
    """The six-digit code in the SMS sent with ``key`` (the file backend's, keyed like the provider), waiting up to
    ``wait`` seconds for a worker process to send it; ``containing``: text the message must have (a file an earlier
    run left under the same key does not count)."""
    from crm.marketing.sms import FileBackend

    path, deadline = FileBackend.path_for(key), time.monotonic() + wait
    while True:
        if path.exists() and containing in (body := json.loads(path.read_text(encoding="utf-8"))["body"]):
            return re.search(r"\b(\d{6})\b", body).group(1)
        if time.monotonic() >= deadline:
            raise AssertionError(f"no code was texted under {key}")
        time.sleep(0.2)


_STEP = re.compile(r'<details class="danger-zone[^"]*">\s*<summary>\s*(?P<label>.*?)\s*</summary>\s*'
                   r'<form method="post" action="(?P<action>[^"]*)">(?P<form>.*?)</form>', re.DOTALL)
_INPUT = re.compile(r'<(?:input type="hidden"|button type="submit"[^>]*?)\s+name="([^"]+)" value="([^"]*)"')


def confirmed_step(html: str, label: str, action: str = "") -> tuple[str, dict[str, str]]:
    """What a person posts by confirming the step a page offers as ``label`` (the one posting to ``action``, when
    given): (action, fields). Fails unless the step is asked twice — a <details class="danger-zone"> whose summary
    is the label, its form a red button that says what happens."""
    for step in _STEP.finditer(html):
        if step["label"] == label and action in ("", step["action"]):
            assert 'class="danger"' in step["form"] and "<p>" in step["form"], f"{label}: not said in words"
            fields = dict(_INPUT.findall(step["form"]))
            fields.pop("csrfmiddlewaretoken", None)
            return step["action"], fields
    raise AssertionError(f"no step {label!r} that asks twice on the page")


def run_as_the_worker(callbacks: Iterable[Callable[[], object]]) -> None:
    """Run what a request queued on commit here, Celery tasks eagerly, as the worker would: to read what
    they send."""
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        for callback in callbacks:
            callback()
    finally:
        app.conf.task_always_eager = False


def test_process_env(name: str) -> dict[str, str]:
    """The environment of a process the suite starts (worker, server): test settings, the test
    database pytest-django created, and a name ``pg_stat_activity`` shows for its connections."""
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "TEST_WORKER_DATABASE_NAME": settings.DATABASES["default"]["NAME"], "PGAPPNAME": name}


@pytest.fixture(scope="session", autouse=True)
def fake_stripe() -> Iterator[object]:
    """localstripe on a free loopback port for the whole session, with the real stripe-python
    client pointed at it (settings and the environment of processes the suite starts)."""
    from config import localstripe

    fake = localstripe.start()
    overrides = fake.environ()
    previous = {name: getattr(settings, name) for name in overrides}
    os.environ.update(overrides)
    for name, value in overrides.items():
        setattr(settings, name, value)
    try:
        yield fake
    finally:
        for name, value in previous.items():
            setattr(settings, name, value)
        fake.stop()


@pytest.fixture(scope="session")
def stripe_plans(cast: Cast, fake_stripe: object, django_db_blocker: pytest.FixtureRequest) -> None:
    """The plans' products and prices exist in the fake Stripe."""
    from tenants.billing.services import plans_sync

    with django_db_blocker.unblock():
        plans_sync()


@pytest.fixture(scope="session")
def celery_worker(cast: Cast, fake_stripe: object) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process on the configured broker, using the test database."""
    env = test_process_env("test-worker")
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        # Messages a previous, interrupted run left behind would only be noise for this worker.
        for stale in Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).glob("*"):
            stale.unlink(missing_ok=True)
    (BASE_DIR / ".data").mkdir(exist_ok=True)
    log = open(BASE_DIR / ".data" / "test-worker.log", "wb")  # noqa: SIM115 - closed at teardown
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-l", "info",
         "-Q", ",".join(settings.WORKER_QUEUES),
         "--include", "tests.celery_tasks", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    from tests.celery_tasks import probe

    deadline = time.monotonic() + 90
    ready = False
    while not ready and time.monotonic() < deadline:
        try:
            ready = bool(probe.apply_async(headers={"_schema_name": cast.a.schema_name}).get(timeout=5))
        except Exception:  # noqa: BLE001 - not up yet
            if worker.poll() is not None:
                break
    if not ready:
        worker.kill()
        log.close()
        pytest.fail("the Celery worker did not start; see .data/test-worker.log")
    yield worker
    process_stop(worker, log)


def process_stop(process: subprocess.Popen, log: IO) -> None:
    """Stop a process the suite started: politely, then for good after 20 s; close its log."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()



@dataclass(frozen=True)
class Scratch:
    """A dealer group of its own whose data is committed, for tests where another process (the
    Celery worker, the browser's server) must see what the test wrote. Dropped afterwards."""

    tenant: DealerGroup
    admin: str
    password: str = PASSWORD

    def signed_in(self, email: str | None = None) -> Client:
        client = Client(HTTP_HOST=self.tenant.primary_host)
        response = client.post("/accounts/login/", {"login": email or self.admin, "password": self.password})
        assert response.status_code == 302, f"{email or self.admin} could not sign in"
        return client


@pytest.fixture
def scratch(cast: Cast, django_db_blocker: pytest.FixtureRequest) -> Iterator[Scratch]:
    """Use without the django_db mark: the test body runs in autocommit, like a real server."""
    slug = f"scratch{os.getpid()}{int(time.monotonic() * 1000) % 100000}"
    with django_db_blocker.unblock():
        tenant = dealer_group_create(
            name="Scratch Motors", slug=slug, country="DE", default_language="en", timezone="Europe/Berlin",
            currency="EUR", admin_email=f"admin@{slug}.test", admin_password=PASSWORD,
        ).dealer_group
        try:
            yield Scratch(tenant=tenant, admin=f"admin@{slug}.test")
        finally:
            connection.set_schema_to_public()
            tenant.delete(force_drop=True)
            shutil.rmtree(Path(settings.MEDIA_ROOT) / tenant.schema_name, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def server_url(cast: Cast) -> Iterator[str]:
    """``http://{host}:PORT`` of a server process on the test database; format in a tenant host."""
    port = _free_port()
    env = test_process_env("test-server")
    log = open(BASE_DIR / ".data" / "test-server.log", "wb")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    health = urllib.request.Request(f"http://127.0.0.1:{port}/health/", headers={"Host": settings.APP_DOMAIN})
    deadline = time.monotonic() + 60
    up = False
    while not up and time.monotonic() < deadline and server.poll() is None:
        try:
            up = urllib.request.urlopen(health, timeout=2).status == 200  # noqa: S310 - loopback only
        except OSError:
            time.sleep(0.3)
    if not up:
        server.kill()
        server.wait()
        log.close()
        pytest.fail("the test server did not start; see .data/test-server.log")
    yield f"http://{{host}}:{port}"
    server.terminate()
    server.wait(timeout=20)
    log.close()
