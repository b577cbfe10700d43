"""Migrate everything a deploy needs: public, the template schema new tenants are cloned from, tenants."""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
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

        # clone_schema() is installed once here rather than at every provisioning (see tenants.services).
        CloneSchema()._create_clone_schema_function()

        template = settings.TENANT_BASE_SCHEMA
        if not schema_exists(template):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{template}"')
        call_command("migrate_schemas", tenant=True, schema_name=template, interactive=False, verbosity=verbosity)

        call_command("migrate_schemas", tenant=True, executor=executor, interactive=False, verbosity=verbosity)
        connection.set_schema_to_public()

    def _public_tenant_ensure(self) -> None:
        """The public site is django-tenants' tenant row for the public schema, at APP_DOMAIN."""
        public, _ = DealerGroup.objects.get_or_create(
            schema_name=get_public_schema_name(),
            defaults={"name": "DealerCRM", "slug": "public", "country": "US", "status": "active"},
        )
        Domain.objects.get_or_create(domain=settings.APP_DOMAIN, defaults={"tenant": public, "is_primary": True})
