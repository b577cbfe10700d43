from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "crm.service"
    label = "service"
    verbose_name = _("Service")

    def ready(self) -> None:
        from crm.customers.merging import follows_merges

        from . import receivers  # noqa: F401 - connects the DMS import's visits
        from .models import Appointment, DeclinedRecommendation, ServiceVisit

        for model in (ServiceVisit, DeclinedRecommendation, Appointment):
            follows_merges(model)

        from accounts.models import StaffRole
        from crm.core.checklist import day_panel

        from .day import service_day
        from .wordings import register

        register()
        day_panel(StaffRole.SERVICE_ADVISOR, StaffRole.SERVICE_MANAGER, template="service/_day_panel.html",
                  context=service_day, position=20)
