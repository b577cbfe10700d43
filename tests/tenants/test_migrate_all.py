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
