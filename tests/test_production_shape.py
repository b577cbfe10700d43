"""The production shape: Dockerfile, platform/compose.yaml and platform/gunicorn.conf.py, read as files.

Docker does not run here, so these tests check what the files say: every assertion would fail if the
file it reads stopped doing its job. No database is used.
"""

import json
import os
import re
import runpy
import shlex
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

BASE_DIR = Path(__file__).resolve().parent.parent
PLATFORM_DIR = BASE_DIR / "platform"
COMPOSE = PLATFORM_DIR / "compose.yaml"
GUNICORN_CONF = PLATFORM_DIR / "gunicorn.conf.py"
DOCKERFILE = BASE_DIR / "Dockerfile"

APP_SERVICES = ("web", "worker", "beat")
REQUIRED_REFERENCE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*:\?[^}]+\}$")


# --- helpers ----------------------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def service(name: str) -> dict:
    return compose()["services"][name]


def environment(svc: dict) -> dict[str, str | None]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: None if value is None else str(value) for key, value in env.items()}


def argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def healthcheck_argv(test: str | list[str]) -> list[str]:
    """The command of a compose healthcheck, without its CMD / CMD-SHELL marker."""
    parts = argv(test)
    return parts[1:] if parts and parts[0] in ("CMD", "CMD-SHELL") else parts


def named_volume_mounts(svc: dict) -> dict[str, str]:
    """Container path -> named volume (bind mounts, which start with . / or ~, are left out)."""
    mounts = {}
    for volume in svc.get("volumes", []):
        if isinstance(volume, dict):
            source, target = volume.get("source", ""), volume["target"]
            if volume.get("type", "volume") != "volume":
                continue
        else:
            source, target = volume.split(":")[:2]
        if source and not source.startswith((".", "/", "~")):
            mounts[target] = source
    return mounts


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, rest = full.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def healthcheck_code() -> str:
    """The Python the image's HEALTHCHECK runs (exec form, so no shell stands between)."""
    (args,) = [rest for keyword, rest in final_stage() if keyword == "HEALTHCHECK"]
    command = json.loads(args[args.index("CMD") + len("CMD"):].strip())
    assert command[:2] == ["python", "-c"]
    return command[2]


# --- compose ----------------------------------------------------------------------------------------


def test_compose_runs_web_worker_beat_postgres_and_redis():
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(compose()["services"])


def test_compose_web_serves_the_wsgi_app_with_the_gunicorn_config():
    command = argv(service("web")["command"])

    assert command[0] == "gunicorn"
    assert command[command.index("--config") + 1] == "platform/gunicorn.conf.py"
    assert "config.wsgi:application" in command


def test_compose_web_health_check_asks_health_on_the_app_domain():
    check = service("web")["healthcheck"]

    assert not check.get("disable")
    command = " ".join(healthcheck_argv(check["test"]))
    assert "127.0.0.1:8000/health/" in command
    assert "APP_DOMAIN" in command, "an unknown Host is a 404: the check must ask for the public site"


@pytest.mark.parametrize(("name", "role"), [("worker", "worker"), ("beat", "beat")])
def test_compose_worker_and_beat_start_celery_on_the_config_app(name, role):
    command = argv(service(name)["command"])

    assert command[0] == "celery"
    assert command[command.index("-A") + 1] == "config"
    assert role in command


def test_compose_beat_keeps_its_schedule_file_where_the_app_user_may_write():
    command = argv(service("beat")["command"])

    assert command[command.index("-s") + 1].startswith("/tmp/")  # noqa: S108 - what the test is about


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_compose_worker_and_beat_do_not_inherit_the_web_health_check(name):
    check = service(name).get("healthcheck")

    assert check is not None, "without an override the image's HTTP check marks every Celery container unhealthy"
    assert check.get("disable") or "8000" not in " ".join(healthcheck_argv(check["test"]))


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_app_services_wait_for_healthy_postgres_and_redis(name):
    depends_on = service(name)["depends_on"]

    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_app_services_start_after_migrate_all_succeeded(name):
    assert service(name)["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert argv(service("migrate")["command"])[-1] == "migrate_all"


@pytest.mark.parametrize(("name", "probe"), [("postgres", "pg_isready"), ("redis", "redis-cli ping")])
def test_compose_postgres_and_redis_report_health(name, probe):
    assert probe in " ".join(healthcheck_argv(service(name)["healthcheck"]["test"]))


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_app_services_reach_postgres_and_redis_by_service_name(name):
    env = environment(service(name))

    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert re.fullmatch(r"postgres(ql)?://dealercrm:\$\{[^}]+\}@postgres:5432/dealercrm", env["DATABASE_URL"])
    assert env["REDIS_URL"].startswith("redis://redis:6379/")
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert env["APP_DOMAIN"]


def test_compose_hard_codes_no_secret():
    services = compose()["services"]
    for name in (*APP_SERVICES, "migrate"):
        assert REQUIRED_REFERENCE.match(environment(services[name])["DJANGO_SECRET_KEY"]), name
    assert REQUIRED_REFERENCE.match(environment(services["postgres"])["POSTGRES_PASSWORD"])
    for name, svc in services.items():
        for key, value in environment(svc).items():
            if value and re.search(r"SECRET|PASSWORD|TOKEN|API_KEY", key):
                assert value.startswith("${"), f"{name}: {key} is written in the file"


def test_compose_keeps_postgres_data_and_media_on_named_volumes():
    spec = compose()
    declared = set(spec["volumes"])

    postgres_mounts = named_volume_mounts(spec["services"]["postgres"])
    assert postgres_mounts.get("/var/lib/postgresql/data") in declared

    media_volumes = set()
    for name in ("web", "worker"):
        svc = spec["services"][name]
        media_root = environment(svc)["MEDIA_ROOT"]
        mounts = named_volume_mounts(svc)
        assert media_root in mounts, f"{name} must keep uploads on a volume at MEDIA_ROOT"
        media_volumes.add(mounts[media_root])
    assert len(media_volumes) == 1, "web and worker must see the same media"
    assert media_volumes <= declared


# --- Dockerfile -------------------------------------------------------------------------------------


def test_dockerfile_builds_from_python_311_slim():
    bases = [rest.split()[0] for keyword, rest in dockerfile_instructions() if keyword == "FROM"]

    assert bases[-1].startswith("python:3.11") and bases[-1].endswith("-slim")


def test_dockerfile_runs_as_a_non_root_user():
    users = [rest for keyword, rest in final_stage() if keyword == "USER"]

    assert users, "the runtime stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_dockerfile_installs_the_runtime_requirements_only():
    instructions = " ".join(rest for _, rest in dockerfile_instructions())
    installs = [rest for keyword, rest in dockerfile_instructions() if keyword == "RUN" and "pip install" in rest]

    assert any("requirements/base.txt" in rest for rest in installs)
    assert "dev.txt" not in instructions and "dev.in" not in instructions


def test_dockerfile_uses_production_settings_and_bakes_in_no_secret():
    stage = final_stage()
    env_lines = " ".join(rest for keyword, rest in stage if keyword in ("ENV", "ARG"))

    assert "DJANGO_SETTINGS_MODULE=config.settings.production" in env_lines
    assert "DJANGO_SECRET_KEY" not in env_lines and "DATABASE_URL" not in env_lines
    secret_runs = [rest for keyword, rest in stage if keyword == "RUN" and "DJANGO_SECRET_KEY" in rest]
    assert len(secret_runs) == 1 and "collectstatic --noinput" in secret_runs[0]


def test_dockerfile_compiles_translations_and_collects_static_files():
    runs = [rest for keyword, rest in final_stage() if keyword == "RUN"]

    assert any("python -m config.devstack messages" in rest for rest in runs)
    assert any("manage.py collectstatic --noinput" in rest for rest in runs)


def test_dockerfile_serves_gunicorn_with_the_platform_config_on_port_8000():
    stage = final_stage()
    (cmd,) = [rest for keyword, rest in stage if keyword == "CMD"]
    command = json.loads(cmd)

    assert command[0] == "gunicorn"
    assert command[command.index("--config") + 1] == "platform/gunicorn.conf.py"
    assert "config.wsgi:application" in command
    assert any(keyword == "EXPOSE" and "8000" in rest.split() for keyword, rest in stage)


def test_dockerfile_health_check_asks_health_on_the_app_domain():
    code = healthcheck_code()

    assert "http://127.0.0.1:8000/health/" in code
    assert "APP_DOMAIN" in code


class _HealthStub(BaseHTTPRequestHandler):
    status = 200
    hosts: list[str] = []

    def do_GET(self):
        type(self).hosts.append(self.headers["Host"])
        self.send_response(self.status if self.path == "/health/" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_dockerfile_health_check_sends_the_app_domain_and_fails_on_an_error(status, healthy):
    handler = type("Handler", (_HealthStub,), {"status": status, "hosts": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code = healthcheck_code().replace("127.0.0.1:8000", f"127.0.0.1:{server.server_port}")
        env = {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}
        env["APP_DOMAIN"] = "crm.example.test"
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=30)
    finally:
        server.shutdown()
        server.server_close()

    assert (result.returncode == 0) is healthy, result.stderr.decode()
    assert handler.hosts == ["crm.example.test"]


def test_dockerignore_keeps_local_state_and_tests_out_of_the_image():
    patterns = {
        line.strip().strip("/") for line in (BASE_DIR / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }

    assert {".venv", ".data", ".git", "tests", "staticfiles"} <= patterns
    assert not patterns & {"platform", "config", "requirements", "manage.py", "static", "templates"}


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

    settings = {
        name: value for name, value in _gunicorn_config(monkeypatch).items()
        if not name.startswith("_") and name.islower() and not callable(value) and not hasattr(value, "__file__")
    }
    config = Config()
    unknown = set(settings) - set(config.settings)
    assert not unknown
    for name, value in settings.items():
        config.set(name, value)  # runs gunicorn's own validator for each value
    assert config.workers == settings["workers"]
    assert config.address == [("0.0.0.0", 8000)]  # noqa: S104 - inside a container, by design
