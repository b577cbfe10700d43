from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "crm.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from crm.core.due import due_work

        from .models import WebhookDelivery
        from .tasks import overdue_condition

        due_work("crm.integrations.tasks.webhooks_resend_due", WebhookDelivery, overdue_condition)
