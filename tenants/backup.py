"""One dealer group's data out of the database and back in (``manage.py group_export`` / ``group_restore``).

The archive is a tar file of:

- ``manifest.json``: the group, its schema, the schema's ``django_migrations``, the row count of every table and
  the last value of every sequence, the extensions the schema uses, this code's version, and checksums;
- ``schema.pgdump``: ``pg_dump --format=custom`` (compressed) of the group's schema and nothing else;
- ``public.json``: the rows of the public schema that belong to the group (its ``DealerGroup``, ``Domain``s and
  every public model with a foreign key to it, found from the models, so a new one is exported without a change
  here), with the plans and HQ organisations they name;
- ``media/…``: the group's files (``MEDIA_ROOT/<schema>/``), without the data downloads made for its admin.

Counts, migrations and the dump come from one snapshot (``pg_export_snapshot``): the manifest describes exactly
the rows in the dump, even while the group is in use.

Restoring under another schema name: ``pg_dump`` writes the schema's name into every statement (``CREATE TABLE
t_alpha.person``, ``COPY t_alpha.person …``, every index, sequence default and constraint), and rewriting that
text is unsafe however careful (customer data may contain ``t_alpha.``, and a pattern must tell DDL from data
in every construct pg_dump may emit). So the dump is restored as it is into a temporary database on the target
server, the schema is renamed there by PostgreSQL itself (``ALTER SCHEMA … RENAME``: every reference inside the
catalogue is by OID and follows), dumped again and restored into the target database in one transaction. The
data is never parsed; it costs a second restore (a few seconds per group). Restoring under the same name (another
server) restores directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists
from psycopg import sql

from .models import DealerGroup, Domain, HqOrganisation, Plan

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST, PUBLIC_ROWS, SCHEMA_DUMP, MEDIA = "manifest.json", "public.json", "schema.pgdump", "media/"
# What a restored schema may be called: a plain lowercase identifier, never PostgreSQL's or the platform's own.
SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{2,62}$")
# The admins' data downloads (tenants.billing.data_export) are copies of the data, not part of it.
MEDIA_EXCLUDED = ("exports/",)


class BackupError(Exception):
    """Something an operator must fix before the export or restore can run; the message says what."""


# --- talking to PostgreSQL ------------------------------------------------------------------------


def _libpq(database: str | None = None) -> dict[str, str]:
    """The connection parameters of the configured database (or another one on the same server)."""
    db = settings.DATABASES["default"]
    options = db.get("OPTIONS") or {}  # a socket folder given as ?host=… in DATABASE_URL lands here
    params = {"dbname": database or db["NAME"], "user": db.get("USER") or "", "password": db.get("PASSWORD") or "",
              "host": db.get("HOST") or options.get("host") or "",
              "port": str(db.get("PORT") or options.get("port") or "")}
    return {key: value for key, value in params.items() if value}


def connect(database: str | None = None, **options: Any) -> psycopg.Connection:
    return psycopg.connect(**_libpq(database), **options)


def _tool_env(database: str | None = None) -> dict[str, str]:
    """pg_dump's and pg_restore's environment: the password never appears on a command line."""
    names = {"dbname": "PGDATABASE", "user": "PGUSER", "password": "PGPASSWORD", "host": "PGHOST", "port": "PGPORT"}
    return {**os.environ, **{names[key]: value for key, value in _libpq(database).items()}}


def tool(name: str) -> str:
    """``pg_dump``, ``pg_restore``: from ``POSTGRES_BIN_DIR`` when set, else from the PATH."""
    folder = getattr(settings, "POSTGRES_BIN_DIR", "")
    path = str(Path(folder) / name) if folder else shutil.which(name)
    if not path or not Path(path).exists():
        raise BackupError(f"{name} was not found: install the PostgreSQL client of the server's major version "
                          "or set POSTGRES_BIN_DIR to its bin folder.")
    return path


def _tool_major(name: str) -> int:
    output = subprocess.run([tool(name), "--version"], check=True, capture_output=True, text=True).stdout
    found = re.search(r"\)\s*(\d+)", output)  # "pg_dump (PostgreSQL) 15.20 (Debian …)"
    if found is None:
        raise BackupError(f"{name} --version said {output.strip()!r}: not a PostgreSQL client.")
    return int(found.group(1))


def tools_check(conn: psycopg.Connection) -> int:
    """The server's major version, after checking pg_dump can dump it (it refuses a newer server)."""
    server = conn.info.server_version // 10000
    for name in ("pg_dump", "pg_restore"):
        if _tool_major(name) < server:
            raise BackupError(f"{name} {_tool_major(name)} cannot read PostgreSQL {server}: install the version "
                              f"{server} client or set POSTGRES_BIN_DIR to its bin folder.")
    return server


def _run(args: list[str], *, database: str | None = None) -> None:
    result = subprocess.run(args, env=_tool_env(database), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {result.stderr.strip()[-2000:]}")


# --- reading a schema -----------------------------------------------------------------------------


def tables(cursor: psycopg.Cursor, schema: str) -> list[str]:
    cursor.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                   " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname", [schema])
    return [row[0] for row in cursor.fetchall()]


def row_counts(cursor: psycopg.Cursor, schema: str) -> dict[str, int]:
    counts = {}
    for table in tables(cursor, schema):
        cursor.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
        counts[table] = cursor.fetchone()[0]
    return counts


def sequence_values(cursor: psycopg.Cursor, schema: str) -> dict[str, int | None]:
    cursor.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = %s ORDER BY 1", [schema])
    return dict(cursor.fetchall())


def _migrations(cursor: psycopg.Cursor, schema: str) -> list[list[str]]:
    cursor.execute(sql.SQL("SELECT app, name FROM {}.django_migrations ORDER BY id").format(sql.Identifier(schema)))
    return [list(row) for row in cursor.fetchall()]


def _extensions(cursor: psycopg.Cursor) -> list[str]:
    """The database's extensions: the schema's indexes use their operator classes (pg_trgm, btree_gist), which
    live in public, outside the dump."""
    cursor.execute("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1")
    return [row[0] for row in cursor.fetchall()]


def app_version() -> str:
    with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as file:
        return str(tomllib.load(file)["project"]["version"])


# --- export ---------------------------------------------------------------------------------------


def public_models() -> list[type]:
    """Every public-schema model with a foreign key to the dealer group, besides the group itself."""
    shared_only = {app.split(".")[-1] for app in settings.SHARED_APPS} - {
        app.split(".")[-1] for app in settings.TENANT_APPS}
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in shared_only or model is DealerGroup:
            continue
        if any(field.is_relation and field.many_to_one and field.related_model is DealerGroup
               for field in model._meta.get_fields()):
            found.append(model)
    return sorted(found, key=lambda model: model._meta.label)


def _public_rows(group: DealerGroup) -> list[dict[str, Any]]:
    objects: list[Any] = [group]
    if group.plan_id:
        objects.append(Plan.objects.get(pk=group.plan_id))
    for model in public_models():
        fields = [f.name for f in model._meta.get_fields()
                  if f.is_relation and f.many_to_one and f.related_model is DealerGroup]
        rows = list(model.objects.filter(**{fields[0]: group}).order_by("pk"))
        objects.extend(rows)
        organisations = {row.organisation_id for row in rows if hasattr(row, "organisation_id")}
        objects.extend(HqOrganisation.objects.filter(pk__in=organisations).order_by("pk"))
    return json.loads(serializers.serialize("json", objects))


def _media_files(schema: str) -> Iterator[tuple[Path, str]]:
    root = Path(settings.MEDIA_ROOT) / schema
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not path.is_symlink() and not relative.startswith(MEDIA_EXCLUDED):
            yield path, relative


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(timezone.now().timestamp()), 0o600
    archive.addfile(info, io.BytesIO(data))


def group_export(group: DealerGroup, out: Path) -> dict[str, Any]:
    """Write the group's archive to ``out`` (created whole or not at all) and return its manifest."""
    schema = group.schema_name
    if group.is_platform or not schema_exists(schema):
        raise BackupError(f"Dealer group {group.slug!r} has no schema to export.")
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="group-export-") as work:
        dump = Path(work) / SCHEMA_DUMP
        with connect(autocommit=True) as conn, conn.cursor() as cursor:
            server = tools_check(conn)
            # One snapshot for the counts, the migrations and pg_dump: the manifest describes the dump exactly.
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            manifest: dict[str, Any] = {
                "format": FORMAT, "app_version": app_version(), "created_at": timezone.now().isoformat(),
                "group": {"slug": group.slug, "name": group.name, "schema": schema,
                          "primary_host": group.primary_host},
                "postgres_server_major": server,
                "migrations": _migrations(cursor, schema),
                "row_counts": row_counts(cursor, schema),
                "sequences": sequence_values(cursor, schema),
                "extensions": _extensions(cursor),
            }
            _run([tool("pg_dump"), "--format=custom", "--compress=6", f"--schema={schema}", f"--snapshot={snapshot}",
                  "--no-owner", "--no-privileges", f"--file={dump}"])
            cursor.execute("COMMIT")
        public = json.dumps(_public_rows(group), ensure_ascii=False, indent=1).encode()
        media = list(_media_files(schema))
        manifest["files"] = {SCHEMA_DUMP: _sha256(dump), PUBLIC_ROWS: hashlib.sha256(public).hexdigest()}
        manifest["media_files"] = len(media)
        partial = out.with_name(out.name + ".part")
        with tarfile.open(partial, "w") as archive:
            _add_bytes(archive, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode())
            _add_bytes(archive, PUBLIC_ROWS, public)
            archive.add(dump, SCHEMA_DUMP)
            for path, relative in media:
                archive.add(path, MEDIA + relative)
        partial.chmod(0o600)
        partial.replace(out)
    log.info("exported dealer group %s (%s) to %s", group.slug, schema, out)
    return manifest


# --- restore --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    dealer_group: DealerGroup
    tables: int
    rows: int
    migrated: bool


def read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.extractfile(MANIFEST).read())
    except (KeyError, AttributeError, ValueError) as error:
        raise BackupError("This is not a dealer group archive (no readable manifest.json).") from error
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Archive format {manifest.get('format')!r} is not one this version reads ({FORMAT}).")
    return manifest


def migrations_check(manifest: dict[str, Any]) -> bool:
    """Refuse a dump made by newer code (a migration this code does not have); True if the restored schema will
    need migrating up to this code."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(migration.replaces)
    dumped = {tuple(row) for row in manifest["migrations"]}
    ahead = sorted(dumped - known)
    if ahead:
        listed = ", ".join(f"{app}.{name}" for app, name in ahead[:5])
        raise BackupError(f"The dump was made by a newer version of DealerCRM (it has migrations this code does not: "
                          f"{listed}). Restore it with that version or later.")
    tenant_apps = {app.split(".")[-1] for app in settings.TENANT_APPS}
    wanted = {key for key in loader.disk_migrations if key[0] in tenant_apps}
    return bool(wanted - dumped)


def schema_name_check(schema: str) -> None:
    if not SCHEMA_NAME.fullmatch(schema or "") or schema in (get_public_schema_name(), settings.TENANT_BASE_SCHEMA) \
            or schema.startswith("pg_"):
        raise BackupError(f"{schema!r} cannot be a schema name: use 3 to 63 lowercase letters, digits and "
                          "underscores, starting with a letter.")
    if schema_exists(schema) or DealerGroup.objects.filter(schema_name=schema).exists():
        raise BackupError(f"The schema {schema!r} exists already: a restore never overwrites one. "
                          "Choose another name.")


@contextlib.contextmanager
def _scratch_database() -> Iterator[str]:
    """A database of its own on the target server, dropped afterwards whatever happens."""
    name = f"dealercrm_restore_{secrets.token_hex(6)}"
    with connect(autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with connect(autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _renamed_dump(dump: Path, *, old: str, new: str, extensions: list[str], work: Path) -> Path:
    """The dump with its schema renamed by PostgreSQL (see the module's docstring), as a new custom-format file."""
    renamed = work / "renamed.pgdump"
    with _scratch_database() as scratch:
        with connect(scratch, autocommit=True) as conn:
            for extension in extensions:
                conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {} SCHEMA public").format(
                    sql.Identifier(extension)))
        _run([tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--dbname={scratch}", str(dump)], database=scratch)
        with connect(scratch, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(old), sql.Identifier(new)))
        _run([tool("pg_dump"), "--format=custom", "--compress=1", f"--schema={new}", "--no-owner", "--no-privileges",
              f"--file={renamed}"], database=scratch)
    return renamed


def _objects(rows: list[dict[str, Any]], label: str) -> list[Any]:
    return [item.object for item in serializers.deserialize("json", json.dumps(rows))
            if item.object._meta.label_lower == label]


def _public_rows_restore(rows: list[dict[str, Any]], *, schema: str, slug: str, domains: list[str],
                         same_group: bool) -> DealerGroup:
    """The group's row and domains; when it is the same group moved (same slug), its history too."""
    original = _objects(rows, "tenants.dealergroup")[0]
    plans = {row["pk"]: row["fields"]["code"] for row in rows if row["model"] == "tenants.plan"}
    group = DealerGroup(**{field.attname: getattr(original, field.attname)
                           for field in DealerGroup._meta.concrete_fields if not field.primary_key})
    group.slug, group.schema_name = slug, schema
    group.plan = Plan.objects.filter(code=plans.get(original.plan_id)).first() if original.plan_id else None
    if not same_group:
        # A copy beside the original: the subscription is the original's, never billed or synced twice.
        group.stripe_customer_id = group.stripe_subscription_id = group.subscription_status = ""
    group.save()
    for index, domain in enumerate(domains):
        Domain.objects.create(domain=domain, tenant=group, is_primary=index == 0)
    if same_group:
        organisations = {row["pk"]: row["fields"]["name"] for row in rows if row["model"] == "tenants.hqorganisation"}
        for label in ("tenants.billingemail", "tenants.kpisnapshot", "tenants.hqshare"):
            for row in _objects(rows, label):
                row.pk, row.dealer_group_id = None, group.pk
                if label == "tenants.hqshare":
                    organisation = HqOrganisation.objects.filter(name=organisations.get(row.organisation_id)).first()
                    if organisation is None:
                        continue
                    row.organisation = organisation
                row.save()
    return group


def _site_host_move(schema: str, old_host: str, new_host: str) -> None:
    """The dealer site's Wagtail Site answers on the restored group's own host (links it builds name it)."""
    from wagtail.models import Site

    with schema_context(schema):
        Site.objects.filter(hostname=old_host).update(hostname=new_host)


def _media_restore(archive: tarfile.TarFile, schema: str) -> int:
    members = [member for member in archive.getmembers() if member.name.startswith(MEDIA) and member.isfile()]
    target = Path(settings.MEDIA_ROOT) / schema
    for member in members:
        member.name = member.name.removeprefix(MEDIA)
    if members:
        target.mkdir(parents=True, exist_ok=True)
        archive.extractall(target, members=members, filter="data")  # refuses absolute paths and ".."
    return len(members)


def group_restore(path: Path, *, schema: str, slug: str | None = None, domains: list[str] | tuple[str, ...] = (),
                  ) -> Restored:
    """Restore an archive as a new dealer group in schema ``schema`` of the configured database.

    The original group, if it lives here, is not touched; an existing schema, slug or domain is refused before
    anything is written. The schema is restored in one transaction and checked table by table against the
    manifest's counts; if that or the public rows fail, the new schema is dropped again.
    """
    from .services import slug_validate

    try:
        archive = tarfile.open(path, "r")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"{path} is not a dealer group archive ({error}).") from error
    with archive, tempfile.TemporaryDirectory(prefix="group-restore-") as work:
        manifest = read_manifest(archive)
        behind = migrations_check(manifest)
        schema_name_check(schema)
        original = manifest["group"]
        slug = slug or original["slug"]
        try:
            slug = slug_validate(slug)
        except ValidationError as error:
            raise BackupError(" ".join(error.messages)) from error
        hosts = list(dict.fromkeys([f"{slug}.{settings.APP_DOMAIN}", *domains]))
        taken = list(Domain.objects.filter(domain__in=hosts).values_list("domain", flat=True))
        if taken:
            raise BackupError(f"The domain {taken[0]!r} belongs to another dealer group already.")
        archive.extract(SCHEMA_DUMP, work, filter="data")
        rows = json.loads(archive.extractfile(PUBLIC_ROWS).read())
        dump = Path(work) / SCHEMA_DUMP
        if _sha256(dump) != manifest["files"][SCHEMA_DUMP]:
            raise BackupError("schema.pgdump does not match the manifest's checksum: the archive is damaged.")

        with connect() as conn:
            tools_check(conn)
        if original["schema"] != schema:
            dump = _renamed_dump(dump, old=original["schema"], new=schema, extensions=manifest["extensions"],
                                 work=Path(work))
        _run([tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--dbname={settings.DATABASES['default']['NAME']}", str(dump)])
        try:
            with connect() as conn, conn.cursor() as cursor:
                counts = row_counts(cursor, schema)
            if counts != manifest["row_counts"]:
                differ = sorted(t for t in set(counts) | set(manifest["row_counts"])
                                if counts.get(t) != manifest["row_counts"].get(t))
                raise BackupError(f"The restored schema does not match the manifest (tables {', '.join(differ[:5])}).")
            with transaction.atomic():
                connection.set_schema_to_public()
                group = _public_rows_restore(rows, schema=schema, slug=slug, domains=hosts,
                                             same_group=slug == original["slug"])
        except BaseException:
            _schema_drop(schema)
            raise
        if group.primary_host != original["primary_host"]:
            _site_host_move(schema, original["primary_host"], group.primary_host)
        if behind:
            from django.core.management import call_command

            call_command("migrate_schemas", tenant=True, schema_name=schema, interactive=False, verbosity=0)
        _media_restore(archive, schema)
        connection.set_schema_to_public()
    log.info("restored dealer group %s from %s into schema %s", slug, path, schema)
    return Restored(dealer_group=group, tables=len(counts), rows=sum(counts.values()), migrated=behind)


def _schema_drop(schema: str) -> None:
    with connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
