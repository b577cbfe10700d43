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

        from crm.core.checklist import first_step

        from .models import OwnerInvitation

        first_step("owners", label=_("Invite your car owners"), url_name="customers:list", position=50,
                   hint=_("From a customer's page: they book, see their history and join the club."),
                   done=lambda: OwnerInvitation.objects.exists() or CustomerLink.objects.exists())
