"""The sales day on the dashboard (``crm.core.checklist.day_panel``): follow-ups due, new leads, test drives."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import StaffRole, User

from .selectors import my_day, prospects_for, sees_all


def sales_day(user: User) -> dict:
    day = my_day(user)
    new_leads = prospects_for(user).filter(created_at__gte=timezone.now() - timedelta(days=1),
                                           closed_on__isnull=True)
    # A manager's new leads are those nobody holds yet; a salesperson's, their own.
    new_leads = new_leads.filter(salesperson__isnull=True) if sees_all(user) else new_leads.filter(salesperson=user)
    return {"due": len(day.contacts), "overdue": day.overdue, "test_drives": len(day.test_drives),
            "care": len(day.care), "call_backs": len(day.call_backs), "new_leads": new_leads.count(),
            "unassigned": sees_all(user), "manager": user.role == StaffRole.SALES_MANAGER}
