"""Writing thousands of rows at the price of ``COPY``: the import's chunks, many merges at once.

Django's ``bulk_create`` compiles one multi-row ``INSERT`` with every value prepared field by field
(a measured third of an import's time on a 10,000-row file). Here the rows go to PostgreSQL as one
``COPY`` stream: straight into the table, or, where a row may already be there (a phone the customer
had, a mileage reading imported before), into a temporary table first and from it with
``INSERT … SELECT … ON CONFLICT DO NOTHING``. Ids of new records are taken from the table's own
sequence beforehand, so the import knows them without ``RETURNING`` and in its own order.

Model instances are still what callers hand in (``derive()`` and the defaults stay the model's), but
nothing of Django's insert compiler runs.
"""

from collections.abc import Iterable
from typing import Any

from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from psycopg import sql
from psycopg.types.json import Jsonb


def ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys from the model's own sequence, in order."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [table, model._meta.pk.column, count])
        return [row[0] for row in cursor.fetchall()]


def _columns(model: type[models.Model], with_pk: bool) -> list[models.Field]:
    return [field for field in model._meta.concrete_fields if with_pk or not field.primary_key]


def _value(field: models.Field, obj: models.Model, adding: bool = True) -> Any:
    if isinstance(field, models.DateTimeField | models.DateField) and (field.auto_now or field.auto_now_add):
        return field.pre_save(obj, add=adding)  # "now" for auto_now; auto_now_add only on the way in
    value = getattr(obj, field.attname)
    if value is None and field.is_relation:
        # A related record saved after it was assigned (as bulk_create does): its id now.
        related = field.get_cached_value(obj, None)
        if related is not None:
            value = related.pk
            setattr(obj, field.attname, value)
    if isinstance(field, models.JSONField) and value is not None:
        return Jsonb(value)
    return value


def copy_create(objs: Iterable[models.Model], *, ignore_conflicts: bool = False) -> int:
    """Insert ``objs`` (all of one model) by ``COPY``. New records get their ids first, set on the
    objects; with ``ignore_conflicts``, rows a unique constraint already holds are left out, and the
    objects get no id (the table's default gives one to those that go in)."""
    objs = list(objs)
    if not objs:
        return 0
    model = type(objs[0])
    if not ignore_conflicts:
        missing = [obj for obj in objs if obj.pk is None]
        for obj, pk in zip(missing, ids_reserve(model, len(missing)), strict=True):
            obj.pk = pk
    fields = _columns(model, with_pk=not ignore_conflicts)
    table, names = model._meta.db_table, [field.column for field in fields]
    column_list = sql.SQL(", ").join(map(sql.Identifier, names))
    with connection.cursor() as cursor:
        target = sql.Identifier(table)
        if ignore_conflicts:
            target = sql.Identifier(f"_copy_{table}")
            cursor.execute(sql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA")
                           .format(target, column_list, sql.Identifier(table)))
        with cursor.cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, column_list)) as copy:
            for obj in objs:
                copy.write_row([_value(field, obj) for field in fields])
        if ignore_conflicts:
            cursor.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING; DROP TABLE {}")
                           .format(sql.Identifier(table), column_list, column_list, target, target))
    if not ignore_conflicts:
        for obj in objs:
            obj._state.adding, obj._state.db = False, connection.alias
    return len(objs)



def copy_update(objs: Iterable[models.Model], field_names: Iterable[str]) -> int:
    """Write ``field_names`` of ``objs`` (all of one model, all saved) to their rows: the values go by ``COPY``
    into a temporary table, then one ``UPDATE … FROM`` it. Django's ``bulk_update`` builds a ``CASE`` per row
    and column (measured: 10 s for the 1,273 survivors of an import's merges, 30 columns each)."""
    objs = list(objs)
    if not objs:
        return 0
    model = type(objs[0])
    fields = [model._meta.pk, *(model._meta.get_field(name) for name in field_names)]
    table, scratch = sql.Identifier(model._meta.db_table), sql.Identifier(f"_update_{model._meta.db_table}")
    columns = [sql.Identifier(field.column) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA")
                       .format(scratch, sql.SQL(", ").join(columns), table))
        column_list = sql.SQL(", ").join(columns)
        with cursor.cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(scratch, column_list)) as copy:
            for obj in objs:
                copy.write_row([_value(field, obj, adding=False) for field in fields])
        cursor.execute(sql.SQL("UPDATE {table} AS t SET {sets} FROM {scratch} AS s WHERE t.{pk} = s.{pk};"
                               " DROP TABLE {scratch}")
                       .format(table=table, scratch=scratch, pk=columns[0],
                               sets=sql.SQL(", ").join(sql.SQL("{} = s.{}").format(column, column)
                                                      for column in columns[1:])))
    return len(objs)

class Writer:
    """``copy_create`` that keeps count of the rows each table received, and refreshes a table's planner
    statistics as soon as it has grown enough to mislead the planner.

    PostgreSQL's autovacuum analyses a table after 10% of it changed, but not inside a long import's
    transaction, and not before the next chunk is planned: a table that went from 300 to 30,000 rows
    in minutes is still planned as 300, and the blocking joins of the duplicate search run as nested
    loops (measured: 82-90 s instead of 2.6 s on 3,276 customers). Here a table is analysed whenever
    the rows written since its statistics were taken exceed a fifth of what they say it holds, plus
    1,000: at any size, a few times per import at most, each an ``ANALYZE`` of a sample.
    """

    THRESHOLD_SHARE, THRESHOLD_ROWS = 0.2, 1000

    def __init__(self) -> None:
        self.written: dict[str, int] = {}

    def create(self, objs: Iterable[models.Model], *, ignore_conflicts: bool = False) -> None:
        objs = list(objs)
        if objs:
            table = objs[0]._meta.db_table
            self.written[table] = self.written.get(table, 0) + copy_create(objs, ignore_conflicts=ignore_conflicts)

    def statistics_refresh(self) -> list[str]:
        """ANALYZE the tables grown past the threshold; their names."""
        tables = sorted(self.written)
        if not tables:
            return []
        with connection.cursor() as cursor:
            cursor.execute("SELECT relname, greatest(reltuples, 0) FROM pg_class WHERE relname = ANY(%s)"
                           " AND relnamespace = to_regnamespace(current_schema())::oid", [tables])
            known = dict(cursor.fetchall())
            stale = [table for table in tables
                     if self.written[table] > self.THRESHOLD_SHARE * known.get(table, 0) + self.THRESHOLD_ROWS]
            if stale:
                cursor.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier, stale))))
        for table in stale:
            self.written[table] = 0
        return stale


def key_in(model: type[models.Model], field_name: str, values: Iterable[str]) -> Q:
    """``field IN values`` for a chunk's worth of keys, planned as a join with the list.

    With a literal list of a thousand phones or VINs, PostgreSQL prices the column's trigram GIN index
    far too cheaply and scans it for every key (measured: 1.8-4.5 s per lookup on a few thousand
    customers, right after the statistics were refreshed); joined with ``unnest`` of the same list, it
    probes the B-tree (or hashes) in milliseconds.
    """
    connection.ensure_connection()
    table = sql.Identifier(model._meta.db_table)
    column = sql.Identifier(model._meta.get_field(field_name).column)
    pk = sql.Identifier(model._meta.pk.column)
    query = sql.SQL("SELECT t.{pk} FROM unnest(%s::text[]) AS k(value) JOIN {table} t ON t.{column} = k.value"
                    " AND t.{column} <> ''").format(pk=pk, table=table, column=column)
    # Identifiers quoted by psycopg from the model's own metadata; the keys travel as one parameter.
    return Q(pk__in=RawSQL(query.as_string(connection.connection), [sorted(set(values))]))  # noqa: S611
