from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "crm.loyalty"
    label = "loyalty"
    verbose_name = _("Owners' club")

    def ready(self) -> None:
        from crm.customers.merging import follows_merges, refuses_undo

        from .models import Membership, PointsEntry, Voucher
        from .services import membership_merge_refusal, merge_undo_refusal

        follows_merges(Membership, membership_merge_refusal)
        refuses_undo(merge_undo_refusal)
        follows_merges(PointsEntry)
        follows_merges(Voucher)

        from .wordings import register

        register()
