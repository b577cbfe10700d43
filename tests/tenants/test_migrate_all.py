"""A deploy migrates only the tenant schemas behind the template: found in one query, the rest left alone."""

from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import schema_context

from tenants.management.commands.migrate_all import schemas_behind

TEMPLATE_LAST = ("portal", "0007_guest_booking")


def _applied(schema: str) -> bool:
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM django_migrations WHERE app = %s AND name = %s)", TEMPLATE_LAST)
        return cursor.fetchone()[0]


def test_a_deploy_migrates_only_the_schemas_behind_the_template(cast, scratch, capsys, django_db_blocker,
                                                                 settings):
    tenants = [cast.a.schema_name, cast.b.schema_name, scratch.tenant.schema_name]
    with django_db_blocker.unblock():
        assert schemas_behind(settings.TENANT_BASE_SCHEMA, tenants) == []
        call_command("migrate_all")
        assert "0 of " in capsys.readouterr().out  # nothing for tenants: no migrate in any schema

        # One group is a migration behind (a deploy that stopped half-way, a restored backup).
        with schema_context(scratch.tenant.schema_name):
            MigrationExecutor(connection).migrate([("portal", "0006_phone_check")])
        assert not _applied(scratch.tenant.schema_name)
        assert schemas_behind(settings.TENANT_BASE_SCHEMA, tenants) == [scratch.tenant.schema_name]

        call_command("migrate_all")
        printed = capsys.readouterr().out
        assert "1 of " in printed and scratch.tenant.schema_name in printed  # it alone was migrated
        assert cast.a.schema_name not in printed and cast.b.schema_name not in printed
        assert _applied(scratch.tenant.schema_name) and schemas_behind(settings.TENANT_BASE_SCHEMA, tenants) == []
        # A schema whose migrations never ran (no table at all) is behind too.
        with connection.cursor() as cursor:
            cursor.execute('CREATE SCHEMA "t_never_migrated"')
        try:
            assert schemas_behind(settings.TENANT_BASE_SCHEMA, ["t_never_migrated", *tenants]) == ["t_never_migrated"]
        finally:
            with connection.cursor() as cursor:
                cursor.execute('DROP SCHEMA "t_never_migrated" CASCADE')


def _structure(schema: str) -> dict[str, list[tuple]]:
    """What a migration makes: columns, constraints and indexes, with the schema's own name taken out."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, column_name, data_type, is_nullable, column_default"
                       " FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2", [schema])
        columns = cursor.fetchall()
        cursor.execute("SELECT conrelid::regclass::text, conname, replace(pg_get_constraintdef(oid), %s, '')"
                       " FROM pg_constraint WHERE connamespace = %s::regnamespace ORDER BY 2, 1",
                       [f"{schema}.", schema])
        constraints = [(table.split(".")[-1], name, definition) for table, name, definition in cursor.fetchall()]
        cursor.execute("SELECT indexname, replace(indexdef, %s, 'S') FROM pg_indexes WHERE schemaname = %s"
                       " ORDER BY 1", [f"{schema}.", schema])
        indexes = cursor.fetchall()
    return {"columns": columns, "constraints": constraints, "indexes": indexes}


def test_schemas_behind_by_sql_only_migrations_get_them_by_replay_exactly_as_migrate_makes_them(
        cast, scratch, capsys, django_db_blocker, settings):
    schema = scratch.tenant.schema_name
    last = ("marketing", "0010_message_attempts")  # a column, and SQL filling it
    with django_db_blocker.unblock():
        with schema_context(schema):
            MigrationExecutor(connection).migrate([("marketing", "0009_tracking_links")])
        assert _structure(schema) != _structure(settings.TENANT_BASE_SCHEMA)
        assert schemas_behind(settings.TENANT_BASE_SCHEMA, [cast.a.schema_name, schema]) == [schema]

        call_command("migrate_all")
        printed = capsys.readouterr().out
        assert "1 schemas migrated by replaying the SQL" in printed
        assert schema not in printed  # not through migrate, which names each schema it migrates
        assert _structure(schema) == _structure(settings.TENANT_BASE_SCHEMA)
        with schema_context(schema), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM django_migrations WHERE app = %s AND name = %s", last)
            assert cursor.fetchone()[0] == 1
        assert schemas_behind(settings.TENANT_BASE_SCHEMA, [cast.a.schema_name, schema]) == []


def test_a_cloned_schema_names_its_constraints_as_the_template_and_migrate_all_renames_older_clones(
        cast, scratch, capsys, django_db_blocker, settings):
    """clone_schema() gives unique constraints PostgreSQL's default names; a migration dropping one by its
    name (``RemoveConstraint``) would fail in every clone at deploy time."""
    schema = scratch.tenant.schema_name
    with django_db_blocker.unblock():
        assert _structure(schema) == _structure(settings.TENANT_BASE_SCHEMA)
        assert _structure(cast.a.schema_name)["constraints"] == _structure(settings.TENANT_BASE_SCHEMA)["constraints"]
        with connection.cursor() as cursor:  # as clone_schema() left it before the names were aligned
            cursor.execute(f'ALTER TABLE "{schema}".service_jobline RENAME CONSTRAINT job_line_source_once'
                           " TO service_jobline_visit_id_source_key_key")
        assert _structure(schema) != _structure(settings.TENANT_BASE_SCHEMA)

        call_command("migrate_all")
        assert "1 unique constraints renamed" in capsys.readouterr().out
        assert _structure(schema) == _structure(settings.TENANT_BASE_SCHEMA)
