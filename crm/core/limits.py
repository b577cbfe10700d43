"""What the dealer group's plan allows, asked before the CRM adds a rooftop or a member of staff.

The CRM knows nothing of billing: the current tenant answers ``rooftop_limit`` and ``seat_limit``
(None: no limit), and the messages send the dealer admin to the billing page to change them.
"""

from django.db import connection
from django.utils.translation import gettext as _

from accounts.models import User


def rooftop_limit_reached() -> str | None:
    from crm.dealerships.selectors import rooftop_count

    limit = getattr(connection.tenant, "rooftop_limit", None)
    if limit is not None and rooftop_count() >= limit:
        return _("Your subscription covers %(limit)d rooftops and all are in use. Add rooftops to the "
                 "subscription on the billing page first.") % {"limit": limit}
    return None


def seat_limit_reached() -> str | None:
    limit = getattr(connection.tenant, "seat_limit", None)
    if limit is not None and User.objects.filter(is_active=True).exclude(role="").count() >= limit:
        return _("Your plan has %(limit)d staff seats and all are taken. Switch off someone who has left, or "
                 "choose a larger plan or more rooftops on the billing page.") % {"limit": limit}
    return None
