from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "crm.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from crm.core.checklist import first_step

        from .models import ImportJob
        from .wordings import register

        register()
        first_step("import", label=_("Import your customers"), url_name="customers:imports", position=30,
                   hint=_("Your DMS's sales and service exports: every customer kept, duplicates found."),
                   done=lambda: ImportJob.objects.filter(status=ImportJob.Status.DONE, dry_run=False).exists())
