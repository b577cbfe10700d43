from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = _("Dealer site")

    def ready(self) -> None:
        from wagtail.models import Revision

        from crm.core.checklist import first_step

        # Provisioning publishes the home page without a user: a revision by someone is the dealer's own.
        first_step("site", label=_("Make the dealer site yours"), url_name="wagtailadmin_home", position=40,
                   hint=_("Your logo, photos and offers on the site your owners book from."),
                   done=lambda: Revision.objects.filter(user__isnull=False).exists())
