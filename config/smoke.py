"""The production shape, run for real on this machine: what the image and platform/compose.yaml do.

    .venv/bin/python -m config.smoke [--keep]

1. The project as the image gets it (``.dockerignore`` applied) in a temporary folder, and a fresh
   virtualenv from ``requirements/base.txt`` alone: nothing of the development set can hide a
   missing runtime dependency.
2. The image's build steps (``platform/build.sh``): translations and ``collectstatic`` with the
   production settings and no runtime secret.
3. ``migrate_all`` on a throwaway database, one dealer group provisioned.
4. Compose's commands: gunicorn with ``platform/gunicorn.conf.py``, a Celery worker and beat with
   Redis as broker, all with ``config.settings.production``.
5. Checks: ``/health/`` (GET and HEAD) on the platform host, a tenant's pages on its host behind
   the TLS proxy's header, a static file, the worker's compose health check, a task round-trip
   through the broker into the tenant's schema and back, beat still running.

Where a Docker daemon answers, the image is built too. Needs PostgreSQL (``SMOKE_DATABASE_URL``,
default ``postgres://postgres@localhost:5432/postgres``, a role that may create databases) and
Redis (``SMOKE_REDIS_URL``, default ``redis://127.0.0.1:6379``): it creates a database and takes
two empty Redis databases of its own, and drops and empties them at the end, with everything it
started. Prints one line per check and closes with ``smoke: N passed, N failed``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from config.localstripe import free_port

BASE_DIR = Path(__file__).resolve().parent.parent
APP_DOMAIN = "dealercrm.test"
TENANT_SLUG = "smoke"
# What the processes started here may find in the environment of whoever runs this: none of it.
OURS = ("DJANGO_", "DATABASE_URL", "REDIS_URL", "CELERY_", "STRIPE_", "APP_DOMAIN", "MEDIA_ROOT",
        "GUNICORN_", "WEB_CONCURRENCY", "CLIENT_IP_", "TRUSTED_PROXY_", "PYTHON", "VIRTUAL_ENV")


# --- the project as the image gets it ---------------------------------------------------------------


def dockerignore_patterns() -> list[str]:
    lines = (BASE_DIR / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def project_copy(target: Path) -> None:
    """Copy the build context the way Docker filters it: patterns from the root, ``**/`` at any depth.

    ``.dockerignore`` here uses only those two forms (and plain names), which this reproduces.
    """
    patterns = dockerignore_patterns()

    def ignored(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).resolve().relative_to(BASE_DIR)
        skipped = set()
        for name in names:
            path = (relative / name).as_posix()
            for pattern in patterns:
                if pattern.startswith("**/"):
                    hit = fnmatch.fnmatch(name, pattern[3:])
                else:
                    hit = fnmatch.fnmatch(path.removeprefix("./"), pattern.lstrip("/"))
                if hit:
                    skipped.add(name)
                    break
        return skipped

    shutil.copytree(BASE_DIR, target, ignore=ignored, symlinks=True)


# --- processes, servers and checks -------------------------------------------------------------------


@dataclass
class Run:
    work: Path
    env: dict[str, str] = field(default_factory=dict)
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    processes: dict[str, tuple[subprocess.Popen[bytes], Path]] = field(default_factory=dict)

    @property
    def app(self) -> Path:
        return self.work / "app"

    @property
    def bin(self) -> Path:
        return self.work / "venv" / "bin"

    def check(self, name: str, test: Callable[[], str | None]) -> bool:
        started = time.monotonic()
        try:
            detail = test()
        except Exception as error:  # noqa: BLE001 - a failed check is reported; the run goes on
            self.failed.append(name)
            print(f"FAIL {name} ({time.monotonic() - started:.1f} s): {error}", flush=True)
            return False
        self.passed.append(name)
        print(f"ok   {name} ({time.monotonic() - started:.1f} s){f': {detail}' if detail else ''}", flush=True)
        return True

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
        """Run a command in the app folder; its output on success, an error with its tail otherwise."""
        result = subprocess.run(args, cwd=self.app, env=env or self.env, capture_output=True, text=True,
                                timeout=timeout, check=False)
        if result.returncode != 0:
            output = _tail(result.stdout + result.stderr)
            raise RuntimeError(f"{' '.join(args[:4])} exited {result.returncode}:\n{output}")
        return result.stdout

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.work / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(args, cwd=self.app, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.processes[name] = (process, log)
        return process

    def log(self, name: str) -> str:
        return self.processes[name][1].read_text(errors="replace")

    def alive(self, name: str) -> None:
        process, _ = self.processes[name]
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited {process.returncode}:\n{_tail(self.log(name))}")

    def stop_all(self) -> None:
        for process, _ in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, (process, _) in self.processes.items():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop on SIGTERM; killing it", flush=True)
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def quiet(output: str) -> None:
    """A check that passed says nothing more; its command's output is in the failure message otherwise."""


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def request(port: int, path: str, *, host: str, method: str = "GET", https: bool = True) -> Answer:
    """Ask the web process on loopback as the TLS-terminating proxy would (X-Forwarded-Proto)."""
    headers = {"Host": host, **({"X-Forwarded-Proto": "https"} if https else {})}
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers, method=method),
                         timeout=30) as response:
            return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def wait_for(condition: Callable[[], bool], *, seconds: float, what: str, alive: Callable[[], None]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive()
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what}: not within {seconds:.0f} s")


@contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    import psycopg

    name = f"dealercrm_smoke_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def empty_redis_databases(url: str, count: int) -> Iterator[list[str]]:
    """``count`` Redis databases nobody uses (empty, from the highest number down), emptied afterwards."""
    import redis

    taken = []
    for number in range(15, -1, -1):
        client = redis.Redis.from_url(f"{url.rstrip('/')}/{number}")
        try:
            empty = client.dbsize() == 0
        except redis.ResponseError:  # a server configured with fewer databases
            continue
        if empty:
            client.set("dealercrm-smoke", os.getpid())  # claims it against a second run starting now
            taken.append(client)
            if len(taken) == count:
                break
    if len(taken) < count:
        raise RuntimeError(f"{count} empty Redis databases needed at {url}")
    try:
        yield [f"{url.rstrip('/')}/{client.connection_pool.connection_kwargs['db']}" for client in taken]
    finally:
        for client in taken:
            client.flushdb()


# --- the run -----------------------------------------------------------------------------------------


def smoke(run: Run, *, database_url: str, cache_url: str, broker_url: str) -> None:
    base_env = {name: value for name, value in os.environ.items() if not name.startswith(OURS)}
    base_env["PATH"] = f"{run.bin}{os.pathsep}{base_env.get('PATH', '')}"

    if not run.check("image context copied (.dockerignore applied)", lambda: project_copy(run.app)):
        return

    def venv() -> str:
        subprocess.run([sys.executable, "-m", "venv", str(run.work / "venv")], check=True, capture_output=True)
        run.run(str(run.bin / "pip"), "install", "--disable-pip-version-check", "--quiet",
                "-r", "requirements/base.txt", env=base_env, timeout=900)
        return "requirements/base.txt only"

    if not run.check("fresh virtualenv from requirements/base.txt", venv):
        return

    def locked() -> str:
        # base.txt is the lock: a package pip had to add (a dependency pinned nowhere) or a version it
        # changed would make the image differ from what was tested.
        def normal(line: str) -> str:
            return line.strip().lower().replace("_", "-")

        wanted = {normal(line) for line in (run.app / "requirements" / "base.txt").read_text().splitlines()
                  if line.strip() and not line.startswith("#")}
        frozen = {normal(line) for line in run.run(str(run.bin / "pip"), "freeze", env=base_env).splitlines()}
        assert frozen == wanted, f"not in base.txt: {sorted(frozen - wanted)}; not installed: {sorted(wanted - frozen)}"
        run.run(str(run.bin / "pip"), "check", env=base_env)
        return f"{len(frozen)} packages, exactly base.txt"

    run.check("the virtualenv is exactly requirements/base.txt (pip freeze, pip check)", locked)
    if not run.check("build steps: translations, collectstatic with production settings, no runtime secret",
                     lambda: quiet(run.run("sh", "platform/build.sh", env=base_env))):
        return

    run.env = {
        **base_env,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "REDIS_URL": cache_url,
        "CELERY_BROKER_URL": broker_url,
        "APP_DOMAIN": APP_DOMAIN,
        "MEDIA_ROOT": str(run.work / "media"),
        # Placeholders: nothing here calls Stripe; production only insists that they are set.
        "STRIPE_SECRET_KEY": "sk_test_smoke",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_smoke",
        "STRIPE_WEBHOOK_SECRET": "whsec_smoke",
        # compose's defaults: one TLS-terminating proxy in front, on loopback here.
        "CLIENT_IP_HEADER": "X-Forwarded-For",
        "TRUSTED_PROXY_COUNT": "1",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    if not run.check("migrate_all on a fresh database", lambda: quiet(run.run(
            str(run.bin / "python"), "manage.py", "migrate_all", "--verbosity", "0"))):
        return
    provision = (
        "from tenants.services import dealer_group_create; "
        f"dealer_group_create(name='Smoke Motors', slug='{TENANT_SLUG}', country='DE', admin_email='admin@smoke.test', "
        "admin_password=None)"
    )
    if not run.check("a dealer group provisioned", lambda: quiet(run.run(
            str(run.bin / "python"), "manage.py", "shell", "--command", provision))):
        return

    port = free_port()
    run.env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    run.start("web", str(run.bin / "gunicorn"), "--config", "platform/gunicorn.conf.py", "config.wsgi:application")
    run.start("worker", str(run.bin / "celery"), "-A", "config", "worker", "-l", "info", "-Q", "celery,bulk,billing")
    run.start("beat", str(run.bin / "celery"), "-A", "config", "beat", "-l", "info", "-s",
              str(run.work / "celerybeat-schedule"))
    tenant_host = f"{TENANT_SLUG}.{APP_DOMAIN}"

    def web_up() -> str:
        wait_for(lambda: request(port, "/health/", host=APP_DOMAIN, https=False).status == 200, seconds=90,
                 what="gunicorn answering /health/", alive=lambda: run.alive("web"))
        return f"127.0.0.1:{port}"

    if not run.check("gunicorn serves the production settings", web_up):
        return

    def health() -> str:
        answer = request(port, "/health/", host=APP_DOMAIN, https=False)
        report = json.loads(answer.body)
        assert answer.status == 200, (answer.status, report)
        assert report == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}, report
        head = request(port, "/health/", host=APP_DOMAIN, method="HEAD", https=False)
        assert head.status == 200 and head.body == b"", (head.status, head.body)
        return json.dumps(report)

    run.check("/health/ GET and HEAD: database, cache and broker answer", health)

    def tenant_pages() -> str:
        plain = request(port, "/accounts/login/", host=tenant_host, https=False)
        assert plain.status == 301 and plain.headers["location"].startswith("https://"), plain.status
        login = request(port, "/accounts/login/", host=tenant_host)
        assert login.status == 200, login.status
        for header in ("content-security-policy", "permissions-policy", "referrer-policy",
                       "strict-transport-security"):
            assert header in login.headers, f"no {header}"
        home = request(port, "/", host=tenant_host)
        assert home.status in (200, 302), home.status
        return f"login {login.status}, home {home.status}"

    run.check(f"a tenant's pages on {tenant_host} (HTTPS through the proxy header)", tenant_pages)

    def static_file() -> str:
        page = request(port, "/accounts/login/", host=tenant_host).body.decode()
        start = page.index("/static/css/app.")
        path = page[start:page.index('"', start)]
        answer = request(port, path, host=tenant_host)
        assert answer.status == 200 and b"{" in answer.body, answer.status
        assert "immutable" in answer.headers.get("cache-control", ""), answer.headers.get("cache-control")
        return path

    run.check("a hashed static file served by whitenoise", static_file)

    def worker_ping() -> str:
        # platform/compose.yaml's health check of the worker, as it runs there.
        wait_for(lambda: "ready." in run.log("worker"), seconds=90, what="worker ready",
                 alive=lambda: run.alive("worker"))
        output = run.run(str(run.bin / "celery"), "-A", "config", "inspect", "ping", "--destination",
                         f"celery@{socket.gethostname()}", "--timeout", "10")
        assert "pong" in output, output
        return "pong"

    run.check("the worker answers compose's health check (inspect ping)", worker_ping)

    round_trip = (
        "import json; from config.celery import app; "
        "sent = app.send_task('tenants.tasks.fan_out', args=['accounts.tasks.clear_expired_sessions']); "
        "ids = sent.get(timeout=60); "
        "print(json.dumps({schema: app.AsyncResult(i).get(timeout=60) for schema, i in ids.items()}))"
    )

    def task_round_trip() -> str:
        output = run.run(str(run.bin / "python"), "manage.py", "shell", "--command", round_trip, timeout=180)
        results = json.loads(output.strip().splitlines()[-1])
        schemas = [result["schema"] for result in results.values()]
        assert results and all(schema == result["schema"] for schema, result in results.items()), results
        return f"fan_out -> clear_expired_sessions in {', '.join(schemas)}"

    run.check("a task round-trip through Redis: fan_out in public, the tenant's task in its schema, results back",
              task_round_trip)

    def beat_running() -> str:
        wait_for(lambda: "beat: Starting..." in run.log("beat"), seconds=30, what="beat started",
                 alive=lambda: run.alive("beat"))
        time.sleep(3)
        run.alive("beat")
        return "running"

    run.check("beat started on the broker and keeps running", beat_running)
    def still_running() -> None:
        for name in ("web", "worker"):
            run.alive(name)

    run.check("web and worker still running", still_running)


def docker_build(run: Run) -> None:
    """The image itself, where a Docker daemon answers (none on the development machines today)."""
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "info"], capture_output=True, check=False).returncode != 0:
        print("skip docker build: no Docker daemon answers `docker info`", flush=True)
        return
    run.check("docker build", lambda: quiet(run.run(docker, "build", "--tag", "dealercrm:smoke", str(BASE_DIR),
                                                    env=dict(os.environ), timeout=1800)))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and its logs")
    options = parser.parse_args(argv)
    admin_url = os.environ.get("SMOKE_DATABASE_URL", "postgres://postgres@localhost:5432/postgres")
    redis_url = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379")

    # A CI time-out's SIGTERM still stops the processes and drops the database (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="dealercrm-smoke-"))
    run = Run(work=work)
    print(f"Production shape smoke run in {work}", flush=True)
    try:
        with throwaway_database(admin_url) as database_url, \
                empty_redis_databases(redis_url, 2) as (cache_url, broker_url):
            try:
                smoke(run, database_url=database_url, cache_url=cache_url, broker_url=broker_url)
            finally:
                run.stop_all()
                for name in run.processes:
                    if run.failed:
                        print(f"--- {name} log (last lines)\n{_tail(run.log(name), 40)}", flush=True)
        docker_build(run)
    finally:
        if options.keep or run.failed:
            print(f"Logs kept in {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"Took {time.monotonic() - started:.0f} s", flush=True)
    print(f"smoke: {len(run.passed)} passed, {len(run.failed)} failed", flush=True)
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
