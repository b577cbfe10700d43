"""A dealer group's choice of the HQs that see its KPIs: granted and withdrawn by its admins."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenants.models import DealerGroup, HqOrganisation, HqShare


def share_grant(*, dealer_group: DealerGroup, organisation: HqOrganisation, by_email: str) -> HqShare:
    """Share from now on (the HQ sees the periods already snapshotted too, as with any new share)."""
    try:
        with transaction.atomic():
            return HqShare.objects.create(dealer_group=dealer_group, organisation=organisation,
                                          granted_at=timezone.now(), granted_by=by_email)
    except IntegrityError:
        raise ValidationError(_("You already share your figures with %(hq)s.") % {"hq": organisation}) from None


def share_withdraw(*, share: HqShare, by_email: str) -> HqShare:
    """Stop sharing: the HQ keeps only the periods that ended before today."""
    if share.withdrawn_at is None:
        share.withdrawn_at, share.withdrawn_by = timezone.now(), by_email
        share.save(update_fields=["withdrawn_at", "withdrawn_by"])
    return share
