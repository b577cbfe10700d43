"""Which dealer groups have work for a periodic job, so that the fan-out sends it only there.

A periodic job that polls (start scheduled campaigns, resend overdue webhooks) runs every few minutes; sent to
every schema it is most of the platform's tasks (at 1,000 groups, a campaign poll every 3 minutes is 480,000 tasks
a day, nearly all of them finding nothing). The module that owns a job registers what "due" means for it
(``due_work``): a model and a condition on it, the same condition the job itself acts on. The fan-out asks every
schema at once (``schemas_with_work``: one query, an ``EXISTS`` per schema over an index the condition uses) and
sends the job only where the answer is yes. A job nobody registered goes to every schema, as before.
"""

from collections.abc import Callable

from django.db import connection, models
from django.db.models import Q
from psycopg import sql

_due: dict[str, tuple[type[models.Model], Callable[[], Q]]] = {}


def due_work(task_name: str, model: type[models.Model], condition: Callable[[], Q]) -> None:
    """Register that ``task_name`` has work in a schema where a ``model`` row meets ``condition()`` (a Q built at
    each asking, so that it may read the clock). The condition must stay on the model's own table: no joins."""
    _due[task_name] = (model, condition)


def schemas_with_work(task_name: str, schemas: list[str]) -> list[str]:
    """Of ``schemas`` (in their order), those where ``task_name`` has work; all of them when it registered nothing."""
    if task_name not in _due or not schemas:
        return list(schemas)
    model, condition = _due[task_name]
    query, params = model.objects.filter(condition()).values("pk").order_by()[:1].query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    if query.count(f"FROM {table}") != 1 or " JOIN " in query:
        raise ValueError(f"{task_name}: a due-work condition must read {table} alone")
    head, tail = query.split(f"FROM {table}")
    union = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {} WHERE EXISTS ({})").format(
            sql.Literal(schema), sql.SQL(head + "FROM {}." + table + tail).format(sql.Identifier(schema)))
        for schema in schemas)
    with connection.cursor() as cursor:
        cursor.execute(union, list(params) * len(schemas))
        found = {row[0] for row in cursor.fetchall()}
    return [schema for schema in schemas if schema in found]
