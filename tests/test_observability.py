"""What operators see: the request id, JSON log lines, errors in Sentry, Prometheus metrics.

Sentry is outside, so a real HTTP server on loopback stands in for it and receives the SDK's envelopes (the
protocol itself). Task metrics, the worker's logs and a failing task's event come from a real prefork worker
of this module's own, in Prometheus' multiprocess mode as in production. Queue depths are read from a real Redis.
"""

import contextlib
import gzip
import http.server
import io
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.test import Client, override_settings
from django_tenants.utils import schema_context
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import User
from config.observability import sentry
from config.observability.logs import JsonFormatter
from tests import conftest
from tests.conftest import BASE_DIR, _free_port, process_stop
from tests.observability_tasks import fail, work
from tests.observability_urls import QUEUE
from tests.test_settings import PRODUCTION_ENV, run_manage

TENANT_URLS = "tests.observability_urls"
CUSTOMER = {"first_name": "Ivan", "last_name": "Petrovsky", "email": "ivan.petrovsky@customer.test",
            "phone": "+7 912 345-67-89"}
WORKER_TOKEN = "worker-metrics-token-for-the-tests"


# --- a Sentry that receives envelopes on loopback ------------------------------------------------------


@dataclass
class SentryServer:
    dsn: str
    payloads: list[bytes] = field(default_factory=list)

    def events(self) -> list[dict]:
        """Every error event received: envelopes are a header line, then per item a header line and a payload."""
        events = []
        for payload in self.payloads:
            lines = payload.split(b"\n")
            for header, body in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    events.append(json.loads(body))
        return events

    def wait_for(self, condition, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events():
                if condition(event):
                    return event
            time.sleep(0.1)
        raise AssertionError(f"no such event reached Sentry; received {len(self.payloads)} envelope(s)")


@pytest.fixture(scope="module")
def sentry_server() -> Iterator[SentryServer]:
    received: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            elif encoding:
                raise AssertionError(f"unexpected Content-Encoding {encoding}")
            received.append(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield SentryServer(dsn=f"http://publickey@127.0.0.1:{server.server_address[1]}/1", payloads=received)
    server.shutdown()


@pytest.fixture
def sentry_on(sentry_server: SentryServer) -> Iterator[SentryServer]:
    """Sentry initialised in this process as production does it, for one test."""
    import sentry_sdk

    sentry_server.payloads.clear()
    sentry.sentry_init(sentry_server.dsn, release="dealercrm@test", environment="test")
    yield sentry_server
    sentry_sdk.get_client().close(timeout=2)
    sentry_sdk.get_global_scope().set_client(None)


# --- this module's worker --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Worker:
    metrics_url: str
    log: Path

    def metrics(self, token: str = WORKER_TOKEN) -> dict[tuple[str, tuple], float]:
        request = urllib.request.Request(self.metrics_url,  # noqa: S310 - loopback
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            return samples(response.read().decode())

    def log_lines(self) -> list[dict]:
        lines = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines


@pytest.fixture(scope="module")
def obs_worker(cast, sentry_server: SentryServer) -> Iterator[Worker]:
    """A Celery worker as production runs it: prefork (one child), multiprocess metrics on a port with a token,
    JSON logs, Sentry on; on a queue of its own so the suite's worker never takes its tasks."""
    port = _free_port()
    multiproc = tempfile.mkdtemp(prefix="dealercrm-test-metrics-")
    env = {**conftest.test_process_env("test-obs-worker"), "SENTRY_DSN": sentry_server.dsn, "LOG_FORMAT": "json",
           "WORKER_METRICS_PORT": f"127.0.0.1:{port}", "METRICS_TOKEN": WORKER_TOKEN,
           "PROMETHEUS_MULTIPROC_DIR": multiproc, "APP_RELEASE": "dealercrm@test"}
    log_path = BASE_DIR / ".data" / "test-obs-worker.log"
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "prefork", "-c", "1", "-l", "info",
         "-Q", QUEUE, "--include", "tests.observability_tasks",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    ready, deadline = False, time.monotonic() + 90
    while not ready and time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(Exception):  # not up yet
            ready = work.apply_async(queue=QUEUE, headers={"_schema_name": "public"}).get(timeout=5) == "public"
    if not ready:
        process.kill()
        log.close()
        pytest.fail(f"the observability worker did not start; see {log_path}")
    yield Worker(metrics_url=f"http://127.0.0.1:{port}/metrics", log=log_path)
    process_stop(process, log)


# --- reading metrics -------------------------------------------------------------------------------------


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of an exposition."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(scraped: dict[tuple[str, tuple], float], name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client: Client | None = None, **extra: str) -> dict[tuple[str, tuple], float]:
    response = (client or Client(HTTP_HOST=settings.APP_DOMAIN)).get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


# --- the request id ---------------------------------------------------------------------------------------

PROXY = {"CLIENT_IP_HEADER": "X-Forwarded-For", "TRUSTED_PROXY_COUNT": 1}


@pytest.mark.django_db
def test_every_response_carries_a_new_request_id_unless_a_trusted_proxy_gave_a_valid_one(cast):
    # given a dealer's host, and a proxy in front that the platform knows of
    client = cast.client(cast.a)

    # when requests come without an id, with the proxy's, with a forged or malformed one
    made = client.get("/health/")["X-Request-ID"]
    with override_settings(**PROXY):
        from_proxy = client.get("/health/", HTTP_X_REQUEST_ID="edge-4f2a9c1e-77")["X-Request-ID"]
        malformed = client.get("/health/", HTTP_X_REQUEST_ID="id with spaces\nand a line")["X-Request-ID"]
        too_long = client.get("/health/", HTTP_X_REQUEST_ID="a" * 65)["X-Request-ID"]
        direct = client.get("/health/", HTTP_X_REQUEST_ID="edge-4f2a9c1e-77",
                            REMOTE_ADDR="203.0.113.9")["X-Request-ID"]
    unknown_proxy = client.get("/health/", HTTP_X_REQUEST_ID="edge-4f2a9c1e-77")["X-Request-ID"]

    # then the proxy's valid id is kept; otherwise each response gets a fresh random one
    assert from_proxy == "edge-4f2a9c1e-77"
    for generated in (made, malformed, too_long, direct, unknown_proxy):
        assert len(generated) == 32 and int(generated, 16) >= 0
    assert len({made, malformed, too_long, direct, unknown_proxy}) == 5


# --- JSON log lines ---------------------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The production formatter on a handler of the root logger, as LOGGING installs it with LOG_FORMAT=json."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


@pytest.mark.django_db
def test_a_request_log_line_is_json_with_tenant_user_id_and_request_id_and_no_email(cast, json_log):
    # given a dealer admin signed in on their dealer's host
    client = cast.signed_in(cast.a, cast.a_admin)
    with schema_context(cast.a.schema_name):
        admin_id = User.objects.get(email=cast.a_admin).pk
    json_log.truncate(0)

    # when a page they open logs a line
    with override_settings(ROOT_URLCONF=TENANT_URLS):
        response = client.get("/obs/looked-up/")

    # then the line is one JSON object saying when, what, where, who (by id) and which request
    lines = [json.loads(line) for line in json_log.getvalue().splitlines() if line]
    line = next(line for line in lines if line["message"] == "customer card opened")
    assert line["level"] == "WARNING" and line["logger"] == "crm.test"
    assert line["tenant"] == cast.a.schema_name
    assert line["user_id"] == admin_id
    assert line["request_id"] == response["X-Request-ID"]
    assert line["timestamp"].endswith("+00:00")
    assert cast.a_admin not in json_log.getvalue()


def test_production_logs_json_by_default_and_the_rest_plain_unless_log_format_says():
    code = "from django.conf import settings; print(settings.LOGGING['handlers']['console']['formatter'])"

    production = run_manage("shell", "--command", code, env=PRODUCTION_ENV)
    production_plain = run_manage("shell", "--command", code, env={**PRODUCTION_ENV, "LOG_FORMAT": "plain"})
    wrong = run_manage("check", env={**PRODUCTION_ENV, "LOG_FORMAT": "xml"})

    assert production.stdout.strip().splitlines()[-1] == "json", production.stderr
    assert production_plain.stdout.strip().splitlines()[-1] == "plain", production_plain.stderr
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "plain"  # the tests, like development
    assert wrong.returncode != 0 and "LOG_FORMAT must be one of plain, json, not 'xml'" in wrong.stderr


# --- Sentry -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_view_that_raises_reaches_sentry_tagged_with_tenant_and_request_and_without_the_customer(
        cast, sentry_on):
    # given Sentry on, and a form on a dealer's host posting a customer's name, e-mail and phone
    client = Client(HTTP_HOST=cast.a.primary_host, raise_request_exception=False)

    # when the view fails with the customer's e-mail in the error
    with override_settings(ROOT_URLCONF=TENANT_URLS):
        response = client.post("/obs/customer/?email=ivan.petrovsky%40customer.test", CUSTOMER)

    # then Sentry gets the error, tagged with the tenant's schema, the request's id, the release and environment
    assert response.status_code == 500
    event = sentry_on.wait_for(lambda event: event.get("exception"))
    assert event["exception"]["values"][-1]["type"] == "IntegrityError"
    assert event["tags"]["tenant"] == cast.a.schema_name
    assert event["tags"]["request_id"] == response["X-Request-ID"]
    assert (event["release"], event["environment"]) == ("dealercrm@test", "test")
    # and nothing of the customer left the building: not in the body, the query, the message or the frames
    everything = b"".join(sentry_on.payloads).decode()
    assert "duplicate key value violates unique constraint" in everything
    for personal in ("ivan.petrovsky", "Ivan", "Petrovsky", "912 345", "%40customer"):
        assert personal not in everything, personal


@pytest.mark.worker
@pytest.mark.django_db
def test_a_failing_task_in_a_tenant_schema_reaches_sentry_tagged_with_that_schema(cast, obs_worker, sentry_server):
    # given a task sent to dealer group B's schema, about a customer
    sentry_server.payloads.clear()

    # when it fails in the worker
    result = fail.apply_async(args=["olga@customer.test"], queue=QUEUE,
                              headers={"_schema_name": cast.b.schema_name})
    with pytest.raises(RuntimeError):
        result.get(timeout=30)

    # then Sentry is told, tagged with B's schema, and neither the customer's address nor phone goes with it
    event = sentry_server.wait_for(lambda event: event.get("exception")
                                   and event["exception"]["values"][-1]["type"] == "RuntimeError")
    assert event["tags"]["tenant"] == cast.b.schema_name
    assert event["tags"]["celery_task_id"] == result.id
    everything = b"".join(sentry_server.payloads).decode()
    assert "could not reach" in everything
    assert "olga@customer.test" not in everything and "912 345" not in everything


# --- a task carries the request that sent it ----------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db
def test_a_task_logs_in_json_with_the_request_id_of_the_request_that_enqueued_it(cast, obs_worker):
    # given a page on dealer group A's host that sends a task
    client = cast.client(cast.a)

    # when it is asked, and the worker runs the task
    with override_settings(ROOT_URLCONF=TENANT_URLS):
        response = client.get("/obs/enqueue/")
    task_id = response.content.decode()
    work.AsyncResult(task_id).get(timeout=30)

    # then the task's log line names the task, A's schema, and the request that caused it
    line = next(line for line in obs_worker.log_lines() if line.get("task_id") == task_id
                and line["message"] == "work done")
    assert line["task_name"] == "tests.observability_tasks.work"
    assert line["tenant"] == cast.a.schema_name
    assert line["request_id"] == response["X-Request-ID"]
    assert line["level"] == "INFO" and "timestamp" in line


# --- Prometheus ---------------------------------------------------------------------------------------------


def not_there(response) -> bool:
    """What any missing page answers (after the trailing-slash redirect): a 404 with no metric in it."""
    return response.status_code == 404 and b"dealercrm_" not in response.content


@pytest.mark.django_db
def test_metrics_are_not_on_a_tenants_host(cast):
    assert not_there(cast.client(cast.a).get("/metrics", follow=True))
    assert not_there(cast.client(cast.b).get("/metrics", HTTP_AUTHORIZATION="Bearer anything", follow=True))


@pytest.mark.django_db
def test_metrics_are_a_404_from_a_public_address_whatever_it_claims(cast):
    platform = Client(HTTP_HOST=settings.APP_DOMAIN)

    # a public address connecting directly, one claiming a private address, one seen through the proxy
    direct = platform.get("/metrics", REMOTE_ADDR="203.0.113.7", follow=True)
    forged = platform.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="10.0.0.5", follow=True)
    with override_settings(**PROXY):
        through_proxy = platform.get("/metrics", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7",
                                     follow=True)
        forged_behind_proxy = platform.get("/metrics", REMOTE_ADDR="203.0.113.7",
                                           HTTP_X_FORWARDED_FOR="10.0.0.5", follow=True)

    for response in (direct, forged, through_proxy, forged_behind_proxy):
        assert not_there(response)


@pytest.mark.django_db
def test_metrics_from_an_allowed_network_count_a_real_request_under_its_route_and_tenant(cast):
    # given the platform's Prometheus on a private network behind the proxy
    prometheus = Client(HTTP_HOST=settings.APP_DOMAIN, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="10.1.2.3")
    with override_settings(**PROXY):
        before = scrape(prometheus)

        # when a visitor opens dealer group A's home page
        assert cast.client(cast.a).get("/").status_code == 200
        after = scrape(prometheus)

    # then the request is counted by method, route name and status class, and as A's work, not B's
    requests = {"method": "GET", "route": "wagtail_serve", "status": "2xx"}
    assert value(after, "dealercrm_http_requests_total", **requests) == \
        value(before, "dealercrm_http_requests_total", **requests) + 1
    assert value(after, "dealercrm_http_request_duration_seconds_count", **requests) == \
        value(before, "dealercrm_http_request_duration_seconds_count", **requests) + 1
    assert value(after, "dealercrm_tenant_requests_total", tenant=cast.a.schema_name) == \
        value(before, "dealercrm_tenant_requests_total", tenant=cast.a.schema_name) + 1
    assert value(after, "dealercrm_tenant_requests_total", tenant=cast.b.schema_name) == \
        value(before, "dealercrm_tenant_requests_total", tenant=cast.b.schema_name)
    # and no label is a raw path
    assert not any(dict(labels).get("route", "").startswith("/") for _, labels in after)


@pytest.mark.django_db
def test_metrics_need_the_bearer_token_when_one_is_set():
    platform = Client(HTTP_HOST=settings.APP_DOMAIN)

    with override_settings(METRICS_TOKEN="s3cret-scrape-token"):
        missing = platform.get("/metrics")
        wrong = platform.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
        right = platform.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")

    assert missing.status_code == 401 and wrong.status_code == 401
    assert right.status_code == 200 and b"dealercrm_celery_broker_up" in right.content


@pytest.fixture
def redis_broker() -> Iterator[tuple[str, tuple[str, ...]]]:
    """Redis database 12 as the broker, three queues named for this run; their keys deleted afterwards."""
    url, run = "redis://127.0.0.1:6379/12", uuid.uuid4().hex[:8]
    queues = (f"obs-{run}-celery", f"obs-{run}-bulk", f"obs-{run}-billing")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    try:
        yield url, queues
    finally:
        keys = [key for key in client.scan_iter() if run.encode() in key]
        if keys:
            client.delete(*keys)
        client.close()


@pytest.mark.django_db
def test_queue_depth_is_what_waits_in_each_redis_queue(redis_broker):
    # given tasks pushed to two of three queues on a real Redis broker, and no worker taking them
    url, (default, bulk, billing) = redis_broker
    with Connection(url) as broker:
        for _ in range(3):
            work.apply_async(queue=default, connection=broker)
        work.apply_async(queue=bulk, connection=broker)

    # when Prometheus scrapes
    with override_settings(CELERY_BROKER_URL=url, CELERY_BROKER_TRANSPORT_OPTIONS={},
                           WORKER_QUEUES=(default, bulk, billing)):
        scraped = scrape()

    # then each queue's depth is what was pushed to it, read from the broker now
    assert value(scraped, "dealercrm_celery_broker_up") == 1
    assert value(scraped, "dealercrm_celery_queue_length", queue=default) == 3
    assert value(scraped, "dealercrm_celery_queue_length", queue=bulk) == 1
    assert value(scraped, "dealercrm_celery_queue_length", queue=billing) == 0
    assert redis.Redis.from_url(url).llen(default) == 3


@pytest.mark.django_db
def test_a_broker_that_is_down_is_a_zero_in_the_metrics_not_a_failed_scrape():
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{_free_port()}/0", CELERY_BROKER_TRANSPORT_OPTIONS={}):
        scraped = scrape()

    assert value(scraped, "dealercrm_celery_broker_up") == 0


@pytest.mark.worker
@pytest.mark.django_db
def test_a_workers_metrics_count_task_runs_failures_and_work_per_tenant(cast, obs_worker):
    # given the worker's metrics now
    before = obs_worker.metrics()

    # when a task runs in A's schema and one fails in B's (in the pool's child process)
    assert work.apply_async(queue=QUEUE, headers={"_schema_name": cast.a.schema_name}).get(timeout=30) == \
        cast.a.schema_name
    with pytest.raises(RuntimeError):
        fail.apply_async(args=["x"], queue=QUEUE, headers={"_schema_name": cast.b.schema_name}).get(timeout=30)
    after = obs_worker.metrics()

    # then its port shows their runtimes and the failure by task and queue, and each tenant's work
    work_labels = {"task": "tests.observability_tasks.work", "queue": QUEUE}
    fail_labels = {"task": "tests.observability_tasks.fail", "queue": QUEUE}
    runs = "dealercrm_celery_task_duration_seconds_count"
    assert value(after, runs, **work_labels) == value(before, runs, **work_labels) + 1
    assert value(after, runs, **fail_labels) == value(before, runs, **fail_labels) + 1
    failures = "dealercrm_celery_task_failures_total"
    assert value(after, failures, **fail_labels) == value(before, failures, **fail_labels) + 1
    assert value(after, failures, **work_labels) == value(before, failures, **work_labels)
    for tenant in (cast.a.schema_name, cast.b.schema_name):
        assert value(after, "dealercrm_tenant_tasks_total", tenant=tenant) == \
            value(before, "dealercrm_tenant_tasks_total", tenant=tenant) + 1


@pytest.mark.worker
def test_a_workers_metrics_port_wants_the_token(obs_worker):
    with pytest.raises(urllib.error.HTTPError) as refused:
        obs_worker.metrics(token="wrong")

    assert refused.value.code == 401


def test_any_gunicorn_worker_answers_metrics_with_every_workers_requests(test_database):
    # given gunicorn as production runs it (its config file), three workers, one thread each
    port = _free_port()
    env = {**conftest.test_process_env("test-obs-gunicorn"), "WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "1",
           "GUNICORN_BIND": f"127.0.0.1:{port}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "platform/gunicorn.conf.py",
                                "config.wsgi:application"], cwd=BASE_DIR, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = Path(f"/tmp/dealercrm-metrics-web-{process.pid}")  # noqa: S108 - gunicorn.conf.py's default

    def get(path: str) -> bytes:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                         headers={"Host": settings.APP_DOMAIN, "Connection": "close"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.read()

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get("/health/")
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "gunicorn did not start"
                time.sleep(0.3)

        health = {"method": "GET", "route": "health", "status": "2xx"}
        before = value(samples(get("/metrics").decode()), "dealercrm_http_requests_total", **health)

        # when visitors make requests, each on a connection of its own, until more than one worker has answered
        sent = 0
        while sent < 24 or len({path.stem.rsplit("_", 1)[1] for path in folder.glob("counter_*.db")}) < 2:
            assert sent < 500, "the requests all went to one worker"
            get("/health/")
            sent += 1

        # then every scrape, whichever worker answers it, counts all of them
        for _ in range(6):
            assert value(samples(get("/metrics").decode()), "dealercrm_http_requests_total", **health) == \
                before + sent
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)
