"""Migrate everything a deploy needs: public, the template schema new tenants are cloned from, tenants.

Only the tenant schemas behind the template are migrated: one query reads which migrations every schema has
(each schema's ``django_migrations``, in one ``UNION ALL``) against the template's, which was just migrated.
A deploy with nothing new for tenants costs that query, not a ``migrate`` per schema (about 1.2 s each:
20 minutes at 1,000 dealer groups). ``--all`` migrates every schema as before.

Schemas behind by the same migrations get them by replay (``tenants.migration_replay``): the SQL is written
once and run in every schema over parallel connections, as long as every operation is one whose whole effect
is its SQL (columns, indexes, constraints, ``RunSQL``: the expand/contract kind, docs/migrations.md). A
migration with Python, or one that adds, removes or renames a model (its content types and permissions are
made after ``migrate``), goes through ``migrate`` schema by schema, as does a schema whose replay failed.
"""

import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django_tenants.clone import CloneSchema
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_public_schema_name, schema_exists

from tenants.cloning import constraint_names_align
from tenants.migration_replay import migrations_missing, replay
from tenants.models import DealerGroup, Domain


class Command(BaseCommand):
    help = "Migrate the public schema, the tenant template schema and every tenant schema."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--executor", default="standard", choices=["standard", "multiprocessing"])
        parser.add_argument("--all", action="store_true", dest="everyone",
                            help="migrate every tenant schema, not only those behind the template")
        parser.add_argument("--parallel", type=int, default=4,
                            help="connections replaying migrations in the schemas behind (default 4)")

    def handle(self, *args: Any, executor: str, verbosity: int, everyone: bool = False, parallel: int = 4,
               **options: Any) -> None:
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        self._public_tenant_ensure()
        self._clone_function_ensure()

        template = settings.TENANT_BASE_SCHEMA
        if not schema_exists(template):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{template}"')
        call_command("migrate_schemas", tenant=True, schema_name=template, interactive=False, verbosity=verbosity)

        if everyone:
            call_command("migrate_schemas", tenant=True, executor=executor, interactive=False, verbosity=verbosity)
        else:
            started = time.monotonic()
            tenants = list(DealerGroup.objects.exclude(schema_name=get_public_schema_name())
                           .order_by("pk").values_list("schema_name", flat=True))
            renamed = constraint_names_align(template, tenants)  # schemas cloned before tenants.cloning
            if verbosity and renamed:
                self.stdout.write(f"{renamed} unique constraints renamed as the template names them")
            missing = {schema: lacking for schema, lacking in migrations_missing(template, tenants).items()
                       if lacking != frozenset()}
            behind = list(missing)
            if verbosity:
                self.stdout.write(f"{len(behind)} of {len(tenants)} tenant schemas behind the template "
                                  f"(found in {time.monotonic() - started:.2f} s)")
            if behind:
                started = time.monotonic()
                left = replay(missing, workers=parallel)
                if verbosity and len(left) < len(behind):
                    self.stdout.write(f"{len(behind) - len(left)} schemas migrated by replaying the SQL "
                                      f"in {time.monotonic() - started:.2f} s")
                if left:
                    _migrate(left, executor=executor, verbosity=verbosity)
        connection.set_schema_to_public()

    @transaction.atomic
    def _public_tenant_ensure(self) -> None:
        """The public site is django-tenants' tenant row for the public schema, at APP_DOMAIN.

        When APP_DOMAIN changes, the new name becomes the public site's primary domain; a domain
        that already belongs to a dealer group is refused rather than taken from it.
        """
        public, _ = DealerGroup.objects.get_or_create(
            schema_name=get_public_schema_name(),
            defaults={"name": "DealerCRM", "slug": "public", "country": "US", "status": "active"},
        )
        domain = Domain.objects.filter(domain=settings.APP_DOMAIN).first()
        if domain is not None and domain.tenant_id != public.pk:
            raise CommandError(f"APP_DOMAIN {settings.APP_DOMAIN!r} already belongs to dealer group {domain.tenant}.")
        Domain.objects.filter(tenant=public).exclude(domain=settings.APP_DOMAIN).update(is_primary=False)
        if domain is None:
            Domain.objects.create(domain=settings.APP_DOMAIN, tenant=public, is_primary=True)
        elif not domain.is_primary:
            domain.is_primary = True
            domain.save(update_fields=["is_primary"])

    def _clone_function_ensure(self) -> None:
        """Install django-tenants' clone_schema() in public when it is missing.

        Only then: replacing it on every deploy could race with a provisioning that is using it.
        After upgrading django-tenants, drop the function once so the new version is installed.
        """
        with connection.cursor() as cursor:
            # Not to_regprocedure('…cloneparms[]'): before PostgreSQL 16 it raises when the type is missing.
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                           " WHERE n.nspname = 'public' AND p.proname = 'clone_schema')")
            (installed,) = cursor.fetchone()
        if not installed:
            CloneSchema()._create_clone_schema_function()


def schemas_behind(template: str, schemas: list[str]) -> list[str]:
    """Of ``schemas``, those missing any migration the template has applied (or without a migrations table
    at all), in their order: one query for every schema on the server."""
    return [schema for schema, lacking in migrations_missing(template, schemas).items() if lacking != frozenset()]


def _migrate(schemas: list[str], *, executor: str, verbosity: int) -> None:
    """``migrate_schemas --tenant`` for these schemas only, with django-tenants' own executor (``multiprocessing``
    migrates them in parallel, each process on its own connection)."""
    command = MigrateSchemasCommand()
    options = vars(command.create_parser("manage.py", "migrate_schemas").parse_args(
        ["--tenant", "--noinput", "--executor", executor, "--verbosity", str(verbosity)]))
    get_executor(codename=executor)(args=(), options=options).run_migrations(tenants=schemas)
