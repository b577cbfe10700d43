"""Marketing's day on the dashboard (``crm.core.checklist.day_panel``): campaigns running, call lists open."""

from accounts.models import User

from .models import Campaign


def marketing_day(user: User) -> dict:
    counts = dict.fromkeys((Campaign.Status.SCHEDULED, Campaign.Status.SENDING), 0)
    for status in Campaign.objects.filter(status__in=list(counts)).values_list("status", flat=True):
        counts[status] += 1
    return {"sending": counts[Campaign.Status.SENDING], "scheduled": counts[Campaign.Status.SCHEDULED]}
