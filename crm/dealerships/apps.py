from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealershipsConfig(AppConfig):
    name = "crm.dealerships"
    label = "dealerships"
    verbose_name = _("Dealerships")

    def ready(self) -> None:
        from accounts.models import StaffRole, User
        from crm.core.checklist import first_step

        from .models import Rooftop

        first_step("opening_hours", label=_("Set your opening hours"), url_name="settings:rooftops", position=10,
                   hint=_("Owners book online only when a workshop is open."),
                   done=lambda: Rooftop.objects.filter(is_active=True).exists() and not Rooftop.objects.filter(
                       is_active=True, opening_hours__isnull=True).exists())
        first_step("staff", label=_("Add your staff"), url_name="settings:staff", position=20,
                   hint=_("Salespeople, advisors and managers each sign in as themselves."),
                   done=lambda: User.objects.filter(is_active=True).exclude(role="").exclude(
                       role=StaffRole.DEALER_ADMIN).exists())
