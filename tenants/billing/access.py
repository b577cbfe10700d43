"""What a dealer group may do, from its subscription state. Pure functions of the stored state."""

from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.utils import timezone

from ..models import DealerGroup, DealerGroupStatus


class Access(StrEnum):
    FULL = "full"  # trialing, active, or past due within the grace period
    READ_ONLY = "read_only"  # past due beyond the grace period: everything visible, nothing changes
    SUSPENDED = "suspended"  # canceled: a page saying so, and the way back for the dealer admin


def read_only_from(group: DealerGroup) -> datetime | None:
    if group.status != DealerGroupStatus.PAST_DUE or group.past_due_since is None:
        return None
    return group.past_due_since + timedelta(days=settings.BILLING_GRACE_DAYS)


def access_of(group: DealerGroup, now: datetime | None = None) -> Access:
    if group.status == DealerGroupStatus.SUSPENDED:
        return Access.SUSPENDED
    read_only = read_only_from(group)
    if read_only is not None and (now or timezone.now()) >= read_only:
        return Access.READ_ONLY
    return Access.FULL


def data_kept_until(group: DealerGroup) -> datetime | None:
    if group.suspended_at is None:
        return None
    return group.suspended_at + timedelta(days=settings.BILLING_RETENTION_DAYS)
