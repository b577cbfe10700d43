"""Django's psycopg connection pool, made safe for schema-per-tenant.

django-tenants switches tenants with a session-level ``SET search_path`` and remembers, per Django
connection, which path it set. A pooled server connection outlives the Django connection that used it:
returned to the pool, it still has the last tenant's ``search_path``, and the next thread to take it
(serving another dealer group) starts with it. django-tenants 4.0.1 forgets its remembered path when a
Django connection closes, so it sets the path again before the next query (tests/test_connection_pool.py
proves it under threads). The pool's reset makes that not the only guard: a connection given back has no
schema on its path at all, so anything that reads through it before a tenant is set (a raw connection,
a future code path) fails with "relation does not exist" instead of reading another dealer's rows.
"""

from typing import Any

import psycopg

from config.settings.env import env


def search_path_forget(conn: psycopg.Connection[Any]) -> None:
    """The pool's ``reset``: runs on every connection given back, before anyone can take it again."""
    conn.execute("SET search_path = ''")
    if not conn.autocommit:  # given back inside a transaction the pool rolled back: make the SET stick
        conn.commit()


def database_pool_configure(database: dict[str, Any], *, default: bool) -> None:
    """Turn the pool on (``DATABASE_POOL``, else ``default``) for one ``DATABASES`` entry, sized from the
    environment, or off.

    One pool per process: ``DATABASE_POOL_MAX`` is what one gunicorn worker's threads may hold at once
    (``GUNICORN_THREADS``, 4, by default); a thread beyond it waits up to ``DATABASE_POOL_TIMEOUT`` seconds
    (``DATABASE_CONNECT_TIMEOUT``, 5, by default), then its request fails. Django refuses persistent
    connections with a pool: ``CONN_MAX_AGE`` becomes 0, and a connection goes back to the pool at the end
    of every request.
    """
    options = database.setdefault("OPTIONS", {})
    if not env.bool("DATABASE_POOL", default=default):
        options.pop("pool", None)
        return
    options["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN", default=1),
        "max_size": env.int("DATABASE_POOL_MAX", default=env.int("GUNICORN_THREADS", default=4)),
        # No longer than for a new connection: a database that hangs fails a request (and /health/) as fast.
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=env.float("DATABASE_CONNECT_TIMEOUT", default=5.0)),
        "reset": search_path_forget,
    }
    database["CONN_MAX_AGE"] = 0
