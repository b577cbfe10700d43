from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    name = "crm.marketing"
    label = "marketing"
    verbose_name = _("Marketing")

    def ready(self) -> None:
        from crm.customers.merging import follows_merges

        from .models import EventInvitation, SegmentMember

        # A customer is on a fixed list once: merged records leave the survivor one place on each list.
        follows_merges(SegmentMember, once_per=("segment",))
        # Invitations follow too (a club member's check-ins earn points on the record that survives).
        follows_merges(EventInvitation, once_per=("event",))

        from accounts.models import StaffRole
        from crm.core.checklist import day_panel

        from .day import marketing_day
        from .wordings import register

        register()
        from crm.core.due import due_work

        from .campaigns import campaigns_due_condition
        from .models import Campaign

        due_work("crm.marketing.tasks.campaigns_resume", Campaign, campaigns_due_condition)
        day_panel(StaffRole.MARKETING, template="marketing/_day_panel.html", context=marketing_day, position=30)
