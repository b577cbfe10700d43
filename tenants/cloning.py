"""Cloning the template schema, with the names Django gave its constraints.

django-tenants' ``clone_schema()`` re-creates unique constraints under PostgreSQL's default names
(``service_jobline_visit_id_source_key_key``) instead of the names the migrations gave them
(``job_line_source_once``, ``…_uniq``). A later migration that removes or alters such a constraint by its name
would then fail in every cloned schema, at deploy time. ``schema_clone`` renames them back at once, and
``constraint_names_align`` does the same for schemas cloned before (``migrate_all`` runs it: one query finds
every schema with a misnamed constraint).
"""

from django.db import connection
from psycopg import sql

# Unique constraints of ``schemas`` whose definition on the same table matches one of the template's under
# another name: (schema, table, name now, the template's name).
_MISNAMED = """
WITH template AS (
    SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) AS definition
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
    WHERE k.connamespace = %(template)s::regnamespace AND k.contype = 'u'
)
SELECT n.nspname, c.relname, k.conname, t.conname
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = k.connamespace
JOIN template t ON t.relname = c.relname AND t.definition = pg_get_constraintdef(k.oid)
WHERE n.nspname = ANY(%(schemas)s) AND k.contype = 'u' AND k.conname <> t.conname
ORDER BY 1, 2, 3
"""


def constraint_names_align(template: str, schemas: list[str]) -> int:
    """Give the unique constraints of ``schemas`` the template's names; returns how many were renamed."""
    if not schemas:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_MISNAMED, {"template": template, "schemas": schemas})
        misnamed = cursor.fetchall()
        for schema, table, name, wanted in misnamed:
            cursor.execute(sql.SQL("ALTER TABLE {}.{} RENAME CONSTRAINT {} TO {}").format(
                sql.Identifier(schema), sql.Identifier(table), sql.Identifier(name), sql.Identifier(wanted)))
    return len(misnamed)


def schema_clone(template: str, schema_name: str) -> None:
    """Copy the template schema, data included, under ``schema_name``, its constraints named as the template's."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.clone_schema(%s, %s, 'DATA')", [template, schema_name])
    constraint_names_align(template, [schema_name])
