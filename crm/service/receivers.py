from typing import Any

from django.dispatch import receiver

from crm.customers.signals import visits_imported


@receiver(visits_imported)
def repair_orders_from_import(sender: object, rows: list[dict[str, Any]], **kwargs: Any) -> None:
    from .dms import visits_from_import

    visits_from_import(rows)
