from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "crm.loyalty"
    label = "loyalty"
    verbose_name = _("Owners' club")

    def ready(self) -> None:
        from crm.customers.merging import follows_merges

        from .models import Membership, PointsEntry, Voucher
        from .services import membership_merge_refusal

        follows_merges(Membership, membership_merge_refusal)
        follows_merges(PointsEntry)
        follows_merges(Voucher)
