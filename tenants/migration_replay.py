"""Migrate many tenant schemas at the price of their DDL: the SQL is written once, then run in each schema.

``migrate`` per schema costs about a second before it runs any SQL (loading the migration graph, rendering
model states, introspection): 1,000 dealer groups would take most of an hour for an index. All tenant schemas
are clones of one template and were migrated by the same migrations, so a migration's SQL is the same in each
of them; only ``search_path`` differs. ``replay`` writes that SQL once, introspecting one of the schemas
behind (so that what Django reads from the database, such as constraint names, is the state the SQL starts
from), and runs it in every schema behind over parallel connections: each migration in one transaction with
its ``django_migrations`` row, or, for a non-atomic one (``CREATE INDEX CONCURRENTLY``), statement by statement
and its row last, so a schema interrupted half-way is still behind and is migrated again.

Only operations whose whole effect is their SQL are replayed. Python (``RunPython``) and the creation, removal
or renaming of a model (content types and permissions follow them in ``post_migrate``) go through ``migrate``;
so does any schema whose replay failed. Returns the schemas left for ``migrate``.
"""

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import psycopg
from django.db import connection
from django.db.migrations import Migration
from django.db.migrations import operations as ops
from django.db.migrations.executor import MigrationExecutor
from psycopg import sql

logger = logging.getLogger(__name__)

# Operations that are nothing but their SQL (nothing happens for them after ``migrate``).
REPLAYABLE = (
    ops.AddField, ops.RemoveField, ops.AlterField, ops.RenameField, ops.AddIndex, ops.RemoveIndex, ops.RenameIndex,
    ops.AddConstraint, ops.RemoveConstraint, ops.AlterConstraint, ops.AlterUniqueTogether, ops.AlterIndexTogether,
    ops.AlterModelManagers, ops.AlterModelTableComment, ops.RunSQL,
)
Step = tuple[str, str, bool, list[str]]  # app, migration name, atomic, statements


def migrations_missing(template: str, schemas: list[str]) -> dict[str, frozenset[tuple[str, str]] | None]:
    """Each of ``schemas`` (in their order) with the template's migrations it lacks, or None when it has no
    migrations table at all: one query for every schema on the server."""
    if not schemas:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                       " WHERE c.relname = 'django_migrations' AND n.nspname = ANY(%s)", [schemas])
        with_table = sorted(row[0] for row in cursor.fetchall())
        lacking: dict[str, set[tuple[str, str]]] = defaultdict(set)
        if with_table:
            applied = sql.SQL(" UNION ALL ").join(
                sql.SQL("SELECT {} AS schema, app, name FROM {}.django_migrations").format(sql.Literal(schema),
                                                                                           sql.Identifier(schema))
                for schema in with_table)
            cursor.execute(sql.SQL(
                "SELECT s.schema, t.app, t.name FROM unnest(%s::text[]) AS s (schema)"
                " CROSS JOIN {}.django_migrations t WHERE NOT EXISTS"
                " (SELECT 1 FROM ({}) a WHERE a.schema = s.schema AND a.app = t.app AND a.name = t.name)"
            ).format(sql.Identifier(template), applied), [with_table])
            for schema, app, name in cursor.fetchall():
                lacking[schema].add((app, name))
    return {schema: frozenset(lacking[schema]) if schema in with_table else None for schema in schemas}


def _operation_replayable(operation: object) -> bool:
    """Nothing but SQL: one of ``REPLAYABLE``, or a state change whose database side is (a foreign key's index
    dropped concurrently while the field's state says ``db_index=False``)."""
    if isinstance(operation, ops.SeparateDatabaseAndState):
        return all(_operation_replayable(inner) for inner in operation.database_operations)
    return isinstance(operation, REPLAYABLE)


def _replayable(migration: Migration) -> bool:
    return all(_operation_replayable(operation) for operation in migration.operations)


def steps_write(schema: str, lacking: frozenset[tuple[str, str]]) -> list[Step] | None:
    """The SQL of the migrations ``schema`` lacks, in order, written against ``schema``; None if any of them
    cannot be replayed (or the plan is not exactly what the template has and the schema lacks)."""
    connection.set_schema(schema)
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if any(backwards for _, backwards in plan) or {(m.app_label, m.name) for m, _ in plan} != set(lacking):
            return None
        if not all(_replayable(migration) for migration, _ in plan):
            return None
        steps: list[Step] = []
        state = None
        for migration, _ in plan:
            with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
                if state is None:
                    state = executor.loader.project_state((migration.app_label, migration.name), at_end=False)
                state = migration.apply(state, editor, collect_sql=True)
            statements = [statement for statement in editor.collected_sql if not statement.lstrip().startswith("--")]
            steps.append((migration.app_label, migration.name, migration.atomic, statements))
        return steps
    finally:
        connection.set_schema_to_public()


def _run(params: dict, schema: str, steps: list[Step]) -> bool:
    """Replay ``steps`` in ``schema`` on a connection of its own; False (and the schema still behind) on error."""
    try:
        with psycopg.connect(**params, autocommit=True) as conn:
            conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
            record = "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, now())"
            for app, name, atomic, statements in steps:
                if atomic:
                    with conn.transaction():
                        for statement in statements:
                            conn.execute(statement)
                        conn.execute(record, [app, name])
                else:
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute(record, [app, name])
        return True
    except psycopg.Error:
        logger.exception("replaying migrations in %s failed; it is migrated the usual way", schema)
        return False


def replay(missing: dict[str, frozenset[tuple[str, str]] | None], *, workers: int = 4) -> list[str]:
    """Bring the schemas of ``missing`` (``migrations_missing``'s answer for those behind) to the template's
    migrations by replay where possible; returns, in their order, those left for ``migrate``."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    groups: dict[frozenset[tuple[str, str]] | None, list[str]] = defaultdict(list)
    for schema, lacking in missing.items():
        groups[lacking].append(schema)
    left: set[str] = set()
    for lacking, group in groups.items():
        steps = steps_write(group[0], lacking) if lacking else None  # nothing to write onto without a table
        if steps is None:
            left.update(group)
            continue
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            done = list(pool.map(lambda schema: _run(params, schema, steps), group))  # noqa: B023 - used at once
        left.update(schema for schema, ok in zip(group, done, strict=True) if not ok)
    return [schema for schema in missing if schema in left]
