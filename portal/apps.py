from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    label = "portal"
    verbose_name = _("Owner portal")

    def ready(self) -> None:
        from allauth.account.signals import email_confirmed

        from crm.customers.merging import follows_merges

        from .models import CustomerLink
        from .services import customer_link_refusal, on_email_confirmed

        email_confirmed.connect(on_email_confirmed, dispatch_uid="portal-link-by-email")
        follows_merges(CustomerLink, customer_link_refusal)
