"""Restore a group_export archive as a new dealer group: a new schema in this database, never over one."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.backup import BackupError, group_restore


class Command(BaseCommand):
    help = ("Restore a dealer group archive into a new schema of this database (DATABASE_URL), with its own "
            "dealer group row and domains. Refuses an existing schema, subdomain or domain, and an archive "
            "made by a newer version.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="a file written by group_export")
        parser.add_argument("--schema", required=True, help="the new schema's name, e.g. t_alpha_restored")
        parser.add_argument("--slug", help="the restored group's subdomain (default: the archive's; on the same "
                                           "server that one is taken, so give a new one)")
        parser.add_argument("--domain", action="append", default=[], dest="domains",
                            help="another domain of the restored group (repeatable)")

    def handle(self, *args: Any, archive: Path, schema: str, slug: str | None, domains: list[str],
               **options: Any) -> None:
        if not archive.is_file():
            raise CommandError(f"{archive} is not a file.")
        try:
            restored = group_restore(archive, schema=schema, slug=slug, domains=domains)
        except BackupError as error:
            raise CommandError(str(error)) from error
        group = restored.dealer_group
        self.stdout.write(self.style.SUCCESS(
            f"{group.slug} restored into {group.schema_name}: {restored.tables} tables, {restored.rows} rows"
            f"{', migrated to this version' if restored.migrated else ''}; https://{group.primary_host}/"))
