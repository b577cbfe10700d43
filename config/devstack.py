"""`make run` and `make test` on a machine with nothing but Python: embedded services, one launcher.

    python -m config.devstack run [--port 8000]   # demo: migrate, seed, worker, beat, web
    python -m config.devstack test [pytest args]  # the whole suite
    python -m config.devstack messages            # compile translations (.po -> .mo)

Without ``DATABASE_URL`` an embedded PostgreSQL (pgserver, from PyPI) runs with its data under
``.data/pg``; without ``CELERY_BROKER_URL`` Celery uses kombu's filesystem transport under
``.data/``. With them set, those servers are used instead. Ctrl-C stops everything started here.
This module imports nothing of Django: it prepares the environment Django then reads.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data"
DATABASE_NAME = "dealercrm"


def database_ensure(env: dict[str, str]) -> object | None:
    """Start the embedded PostgreSQL unless ``DATABASE_URL`` is set; return its handle to keep it alive."""
    if env.get("DATABASE_URL"):
        return None
    import warnings

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver

    pgdata = DATA_DIR / "pg"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608 - a constant
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{DATABASE_NAME}";')
    env["DATABASE_URL"] = server.get_uri(DATABASE_NAME)
    return server


def broker_describe(env: dict[str, str]) -> str:
    url = env.get("CELERY_BROKER_URL", "")
    return url.split("@")[-1] if url else f"filesystem queue under {env.get('CELERY_DATA_DIR', DATA_DIR / 'celery')}"


def messages_compile() -> None:
    """Compile every locale/*.po to .mo with polib, so no system gettext is needed."""
    import polib

    for po_path in sorted((BASE_DIR / "locale").glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            polib.pofile(str(po_path)).save_as_mofile(str(mo_path))


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def run(port: int) -> int:
    # A SIGTERM (a supervisor, `timeout`) stops everything like Ctrl-C does, through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    server = database_ensure(env)
    messages_compile()
    print("Migrating (public schema, tenant template, tenants)…", flush=True)
    manage(env, "migrate_all", "-v", "0")
    manage(env, "seed_demo", "--port", str(port))

    celery = [sys.executable, "-m", "celery", "-A", "config"]
    processes = [
        subprocess.Popen([*celery, "worker", "-l", "warning", "--concurrency", "2"], cwd=BASE_DIR, env=env),
        subprocess.Popen([*celery, "beat", "-l", "warning"], cwd=BASE_DIR, env=env),
        subprocess.Popen([sys.executable, "manage.py", "runserver", f"0.0.0.0:{port}"], cwd=BASE_DIR, env=env),
    ]
    database = "embedded PostgreSQL under .data/pg" if server else env["DATABASE_URL"].split("@")[-1]
    print(f"\n  Database: {database}\n  Celery worker and beat on: {broker_describe(env)}\n  Press Ctrl-C to stop.\n",
          flush=True)
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        print("A process stopped on its own; stopping the rest.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        print("Stopped.", flush=True)


def test(pytest_args: list[str]) -> int:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    database_ensure(env)
    messages_compile()
    return subprocess.run([sys.executable, "-m", "pytest", *pytest_args], cwd=BASE_DIR, env=env).returncode


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m config.devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="the demo on http://localhost:PORT/")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    commands.add_parser("test", help="the whole test suite; extra arguments go to pytest")
    commands.add_parser("messages", help="compile translations")
    args, rest = parser.parse_known_args()
    if args.command == "run":
        return run(args.port)
    if args.command == "test":
        return test([arg for arg in rest if arg != "--"])
    messages_compile()
    return 0


if __name__ == "__main__":
    sys.exit(main())
