"""Migrate everything a deploy needs: public, the template schema new tenants are cloned from, tenants."""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django_tenants.clone import CloneSchema
from django_tenants.utils import get_public_schema_name, schema_exists

from tenants.models import DealerGroup, Domain


class Command(BaseCommand):
    help = "Migrate the public schema, the tenant template schema and every tenant schema."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--executor", default="standard", choices=["standard", "multiprocessing"])

    def handle(self, *args: Any, executor: str, verbosity: int, **options: Any) -> None:
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        self._public_tenant_ensure()
        self._clone_function_ensure()

        template = settings.TENANT_BASE_SCHEMA
        if not schema_exists(template):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{template}"')
        call_command("migrate_schemas", tenant=True, schema_name=template, interactive=False, verbosity=verbosity)

        call_command("migrate_schemas", tenant=True, executor=executor, interactive=False, verbosity=verbosity)
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
