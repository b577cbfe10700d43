from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "crm.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from crm.customers.merging import follows_merges
        from crm.customers.timeline import restricted_readers

        from .models import CareTask, Prospect
        from .selectors import prospect_notes_sealed
        from .services import merge_refusal

        follows_merges(Prospect, merge_refusal)
        follows_merges(CareTask)
        restricted_readers("prospect", prospect_notes_sealed)

        from accounts.models import StaffRole
        from crm.core.checklist import day_panel

        from .day import sales_day
        from .wordings import register

        register()
        day_panel(StaffRole.SALESPERSON, StaffRole.SALES_MANAGER, template="sales/_day_panel.html", context=sales_day,
                  position=10)
