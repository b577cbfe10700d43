"""Migrations follow docs/migrations.md (expand, then contract): django-migration-linter reads every migration of
our apps written since, and fails the suite on one that would lock a table or break the code still running."""

from pathlib import Path

import pytest
from django.apps import apps
from django_migration_linter import MigrationLinter

pytestmark = pytest.mark.django_db

OURS = sorted({"tenants", "accounts", "cms", "portal",
               *(config.label for config in apps.get_app_configs() if config.name.startswith("crm."))})
BEFORE = {tuple(line.split()) for line in (Path(__file__).parent / "migrations_before_the_rules.txt").read_text()
          .splitlines() if line and not line.startswith("#")}


class Linter(MigrationLinter):
    """The linter with warnings as errors (an index built without CONCURRENTLY locks the table), skipping
    ``skip``: (app, name) pairs."""

    def __init__(self, skip: set[tuple[str, ...]], **options: object) -> None:
        super().__init__(include_apps=OURS, no_cache=True, analyser_string="postgresql", all_warnings_as_errors=True,
                         **options)
        self.skip = skip

    def should_ignore_migration(self, app_label: str, migration_name: str, *args: object, **kwargs: object) -> bool:
        return (app_label, migration_name) in self.skip or super().should_ignore_migration(
            app_label, migration_name, *args, **kwargs)


def test_every_migration_since_the_rules_is_safe_to_run_under_live_traffic(capsys):
    linter = Linter(BEFORE)
    linter.lint_all_migrations()

    assert not linter.has_errors, capsys.readouterr().out
    assert linter.nb_total >= len(BEFORE)  # it read them all, and skipped only the listed ones


def test_the_linter_refuses_a_not_null_column_added_in_one_step(capsys):
    # tenants 0010 (before the rules) added a NOT NULL column without a database default: refused if new.
    linter = Linter(BEFORE - {("tenants", "0010_dealergroup_customer_countries")})
    linter.lint_all_migrations()

    assert linter.has_errors and linter.nb_erroneous == 1
    assert "NOT NULL" in capsys.readouterr().out
