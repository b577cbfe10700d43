"""Indexes earn their keep: every one taxes every write of its table (an import writes 7–8 rows a file row).

Checked on a dealer group's schema as migrations built it:

- no index of ours is redundant: an index whose columns (with their operator classes, same access method, no
  condition or expression) are the leading columns of another index of the table, or the same columns as one
  that is unique, answers nothing the other does not (Django's automatic foreign-key index under a composite
  or unique index that starts with the key was the common case: 46 of them, and two exact twins);
- every foreign key of ours still leads some index: deleting a customer cascades through its phones, visits,
  messages…, and an unindexed key makes each cascade a scan of the whole table.

Third-party tables (Django's auth, Wagtail, taggit, allauth) and the join tables Django creates for
many-to-many fields are theirs to index.
"""

import pytest
from django.apps import apps
from django.db import connection, models
from django_tenants.utils import schema_context

OURS = ("crm.", "portal.", "cms.", "tenants.", "accounts.", "hq.")

REDUNDANT = """
WITH idx AS (
    SELECT i.indexrelid, i.indrelid, c.relname AS table_name, ic.relname AS index_name, i.indisunique AS is_unique,
           string_to_array(i.indkey::text, ' ')::int[] AS columns,
           string_to_array(i.indclass::text, ' ')::oid[] AS opclasses,
           i.indpred IS NULL AND i.indexprs IS NULL AS plain, ic.relam AS method
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
    WHERE c.relnamespace = %(schema)s::regnamespace
)
SELECT a.table_name, a.index_name, b.index_name
FROM idx a JOIN idx b ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid
WHERE a.plain AND b.plain AND NOT a.is_unique AND a.method = b.method
  AND a.columns = b.columns[1:cardinality(a.columns)] AND a.opclasses = b.opclasses[1:cardinality(a.opclasses)]
  AND (cardinality(a.columns) < cardinality(b.columns) OR b.is_unique OR a.indexrelid > b.indexrelid)
ORDER BY 1, 2, 3
"""

LEADING = """
SELECT c.relname, a.attname
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_attribute a ON a.attrelid = i.indrelid
    AND a.attnum = i.indkey[0]
WHERE c.relnamespace = %(schema)s::regnamespace AND i.indpred IS NULL
"""


def _our_tables() -> dict[str, type[models.Model]]:
    return {model._meta.db_table: model for model in apps.get_models()
            if model.__module__.startswith(OURS) and not model._meta.auto_created and model._meta.managed}


@pytest.mark.django_db
def test_no_index_of_ours_repeats_the_leading_columns_of_another(cast):
    ours = _our_tables()
    with schema_context(cast.a.schema_name), connection.cursor() as cursor:
        cursor.execute(REDUNDANT, {"schema": cast.a.schema_name})
        redundant = [f"{table}.{index} (covered by {cover})" for table, index, cover in cursor.fetchall()
                     if table in ours]
    assert len(ours) > 60  # the apps were found
    assert redundant == []


@pytest.mark.django_db
def test_every_foreign_key_of_ours_leads_an_index(cast):
    with schema_context(cast.a.schema_name), connection.cursor() as cursor:
        cursor.execute(LEADING, {"schema": cast.a.schema_name})
        leading = set(cursor.fetchall())
        tables = set(connection.introspection.table_names(cursor))  # a group's own; the platform's are public
    keys = {(table, field.column) for table, model in _our_tables().items() if table in tables
            for field in model._meta.local_concrete_fields if field.many_to_one or field.one_to_one}
    assert len(keys) > 100
    assert sorted(keys - leading) == []
