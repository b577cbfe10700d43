from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealershipsConfig(AppConfig):
    name = "crm.dealerships"
    label = "dealerships"
    verbose_name = _("Dealerships")
