"""The CRM's modules as the navigation shows them; a module without a URL yet is shown as coming."""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Module:
    key: str
    label: Promise
    url_name: str | None = None


MODULES = (
    Module("dashboard", _("Dashboard"), "crm:dashboard"),
    Module("tasks", _("Tasks"), "tasks:list"),
    Module("customers", _("Customers"), "customers:list"),
    Module("sales", _("Sales"), "sales:my_day"),
    Module("service", _("Service"), "service:visits"),
    Module("marketing", _("Marketing"), "marketing:campaigns"),
    Module("loyalty", _("Owners' club"), "loyalty:members"),
    Module("analytics", _("Analytics"), "analytics:dashboard"),
)
