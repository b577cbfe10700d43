"""Export one dealer group: its schema (pg_dump), its public rows and files, and a manifest (tenants.backup)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.backup import BackupError, group_export
from tenants.selectors import dealer_groups


class Command(BaseCommand):
    help = "Export one dealer group's schema, public rows and files to an archive that group_restore reads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the dealer group's subdomain")
        parser.add_argument("--out", required=True, type=Path, help="the archive to write (a .tar file)")

    def handle(self, *args: Any, slug: str, out: Path, **options: Any) -> None:
        group = dealer_groups().filter(slug=slug).first()
        if group is None:
            raise CommandError(f"No dealer group with the subdomain {slug!r}.")
        if out.exists():
            raise CommandError(f"{out} exists already: choose another file.")
        if not out.parent.is_dir():
            raise CommandError(f"The folder {out.parent} does not exist.")
        try:
            manifest = group_export(group, out)
        except BackupError as error:
            raise CommandError(str(error)) from error
        rows = sum(manifest["row_counts"].values())
        self.stdout.write(self.style.SUCCESS(
            f"{group.slug} ({group.schema_name}): {len(manifest['row_counts'])} tables, {rows} rows, "
            f"{manifest['media_files']} files -> {out} ({out.stat().st_size} bytes)"))
