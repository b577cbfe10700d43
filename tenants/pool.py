"""The warm pool: schemas cloned from the template ahead of time, so that a sign-up does not wait for
the clone (most of provisioning's time).

A pool schema is named ``pool_<hex>`` and carries, as its PostgreSQL comment, the fingerprint of the
template's migration state it was cloned at. It has no dealer group and no domain, so no host reaches
it; it holds the template's rows and nothing else. Provisioning takes one (``schema_take``) by renaming
it to the new group's schema inside the provisioning transaction: the site, the admin and the domain
are fixed in the same transaction, and a failure renames nothing. A schema is taken once: two
sign-ups at the same moment get two schemas (a transaction-scoped advisory lock per pool schema).

``pool_refill`` (beat, every minute, and after each sign-up) drops pool schemas cloned at an older
migration state (a deploy with a tenant migration makes them stale; until the refill, sign-ups clone as
before) and clones new ones up to ``TENANT_WARM_POOL_SIZE``.
"""

import logging
import secrets

from django.conf import settings
from django.db import connection, transaction

from .cloning import schema_clone

logger = logging.getLogger(__name__)

PREFIX = "pool_"


def template_fingerprint() -> str:
    """The template's migration state, as an md5 of every migration it has applied."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT md5(string_agg(app || '.' || name, ',' ORDER BY app, name)) "  # noqa: S608 - our own schema
            f"FROM {connection.ops.quote_name(settings.TENANT_BASE_SCHEMA)}.django_migrations")
        return cursor.fetchone()[0] or ""


def _pool(fingerprint: str | None = None) -> list[str]:
    """Pool schemas, oldest name first; with a fingerprint, only those cloned at it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s "
            "AND (%s::text IS NULL OR obj_description(oid, 'pg_namespace') = %s) ORDER BY nspname",
            [PREFIX.replace("_", r"\_") + "%", fingerprint, fingerprint])
        return [row[0] for row in cursor.fetchall()]


def schema_take(schema_name: str) -> bool:
    """Rename a ready pool schema to ``schema_name``; False when the pool has none at the template's state.

    Must run inside the provisioning transaction: the rename is undone with it, and the advisory lock
    that keeps a concurrent sign-up off the same schema is held until it ends.
    """
    if not settings.TENANT_WARM_POOL_SIZE:
        return False
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for candidate in _pool(template_fingerprint()):
            cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [f"pool:{candidate}"])
            if not cursor.fetchone()[0]:
                continue  # another sign-up is taking it
            cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [candidate])
            if cursor.fetchone() is None:
                continue  # taken, and committed, just before we locked it
            cursor.execute(f"ALTER SCHEMA {quote(candidate)} RENAME TO {quote(schema_name)}")
            cursor.execute(f"COMMENT ON SCHEMA {quote(schema_name)} IS NULL")
            return True
    return False


def pool_refill(size: int | None = None) -> dict[str, int]:
    """Drop stale pool schemas and clone new ones up to ``size`` (``TENANT_WARM_POOL_SIZE``)."""
    size = settings.TENANT_WARM_POOL_SIZE if size is None else size
    quote = connection.ops.quote_name
    connection.set_schema_to_public()
    fingerprint = template_fingerprint()
    ready = set(_pool(fingerprint))
    dropped = 0
    with connection.cursor() as cursor:
        for stale in sorted(set(_pool()) - ready):
            cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [f"pool:{stale}"])
            if not cursor.fetchone()[0]:
                continue
            try:
                cursor.execute(f"DROP SCHEMA IF EXISTS {quote(stale)} CASCADE")
                dropped += 1
            finally:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [f"pool:{stale}"])
        cloned = 0
        for _ in range(max(size - len(ready), 0)):
            name = PREFIX + secrets.token_hex(8)
            with transaction.atomic():  # cloned and marked together: a half-made schema is never in the pool
                schema_clone(settings.TENANT_BASE_SCHEMA, name)
                cursor.execute(f"COMMENT ON SCHEMA {quote(name)} IS %s", [fingerprint])
            cloned += 1
    if dropped or cloned:
        logger.info("warm pool: %d cloned, %d stale dropped, %d ready", cloned, dropped, len(ready) + cloned)
    return {"cloned": cloned, "dropped": dropped, "ready": len(ready) + cloned}
