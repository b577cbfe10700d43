from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext as _


@shared_task(acks_late=True)
def transfer_request_notify(request_id: int) -> int:
    """Tell the sales managers (and dealer admins) that a salesperson asks for a colleague's customer."""
    from accounts.models import User
    from crm.customers.services import tenant_language

    from .models import TransferRequest
    from .services import MANAGERS

    request = (TransferRequest.objects.select_related("prospect__person", "prospect__salesperson", "requested_by")
               .filter(pk=request_id, status=TransferRequest.Status.PENDING).first())
    if request is None:
        return 0
    managers = list(User.objects.filter(role__in=MANAGERS, is_active=True).exclude(pk=request.requested_by_id))
    host = getattr(connection.tenant, "primary_host", "") or settings.APP_DOMAIN
    for manager in managers:
        with translation.override(manager.preferred_language or tenant_language()):
            send_mail(
                _("Transfer request: %(customer)s") % {"customer": request.prospect.person},
                _("%(who)s asks to take over %(customer)s, held by %(holder)s.\n\nWhy: %(reason)s\n\n"
                  "Decide: https://%(host)s/crm/sales/transfers/") % {
                    "who": request.requested_by, "customer": request.prospect.person,
                    "holder": request.prospect.salesperson or "—", "reason": request.reason, "host": host},
                None, [manager.email])
    return len(managers)


@shared_task
def care_surveys_run() -> dict[str, object]:
    """Hourly by fan-out: the delivery satisfaction surveys whose day has come."""
    from .services import care_surveys_send

    return {"schema": connection.schema_name, "sent": care_surveys_send()}
