from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext as _


@shared_task(acks_late=True)
def survey_invite_send(kind: str, person_id: int, source_ref: str, rooftop_id: int | None = None,
                       employee_id: int | None = None) -> bool:
    """Invite the customer (if they agreed to surveys and were not invited for this occasion) by e-mail."""
    from crm.customers.models import Person
    from crm.customers.services import tenant_language

    from .services import invite

    person = Person.objects.active().filter(pk=person_id).first()
    address = person.email_address() if person else ""
    if not address:
        return False
    made = invite(kind=kind, person=person, source_ref=source_ref, rooftop_id=rooftop_id, employee_id=employee_id)
    if made is None:
        return False
    invitation, token = made
    host = getattr(connection.tenant, "primary_host", "") or settings.APP_DOMAIN
    with translation.override(person.preferred_language or tenant_language()):
        subject = _("How did we do?")
        if kind == "csi_delivery":
            body = _("Congratulations on your new car! How was buying it from us? Two questions, one minute: "
                     "%(link)s\n\nThe link works for 14 days.") % {"link": f"https://{host}/survey/{token}/"}
        else:
            body = _("Thank you for your visit. Two questions, one minute: %(link)s\n\nThe link works for 14 days."
                     ) % {"link": f"https://{host}/survey/{token}/"}
    EmailMessage(subject, body, to=[address]).send()
    from django.utils import timezone

    type(invitation).objects.filter(pk=invitation.pk).update(sent_at=timezone.now())
    return True
