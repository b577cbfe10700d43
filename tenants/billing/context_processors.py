from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name

from ..models import DealerGroupStatus
from .access import Access, access_of, read_only_from


def subscription(request: HttpRequest) -> dict[str, object]:
    """The banner a dealer group's staff see while a payment is missing or the trial is ending."""
    group = getattr(request, "tenant", None)
    if group is None or group.schema_name == get_public_schema_name():
        return {}
    banner = None
    if group.status == DealerGroupStatus.PAST_DUE:
        banner = {"kind": "read_only" if access_of(group) == Access.READ_ONLY else "past_due",
                  "read_only_from": read_only_from(group)}
    return {"billing_banner": banner}
