"""The owner's own data: contact details they confirm (the CRM keeps them as verified now: this is how its
data stays fresh), communication preferences written to the consent ledger, a download of everything
the dealer holds about them, and a request to be deleted."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import StaffRole, User
from crm.customers.models import ConsentChannel, ConsentPurpose, Person, Phone, TimelineEntry
from crm.customers.normalize import phone_e164
from crm.customers.selectors import consent_allows
from crm.customers.services import consent_record, person_update, tenant_regions
from crm.customers.timeline import entry_words, timeline_event

from .models import CustomerLink, DeletionRequest
from .referrals import referrals
from .selectors import owner_vehicles

# What an owner chooses in the portal: these channels for these purposes.
PREFERENCES = [(channel, purpose) for channel in (ConsentChannel.EMAIL, ConsentChannel.SMS)
               for purpose in (ConsentPurpose.SERVICE_REMINDERS, ConsentPurpose.MARKETING, ConsentPurpose.SURVEYS)]


def customer_of(user: User) -> Person | None:
    link = CustomerLink.objects.filter(user=user).select_related("person").first()
    return link.person if link else None


def preferences(person: Person) -> dict[str, bool]:
    now = timezone.now()
    return {f"{channel}_{purpose}": consent_allows(person, channel=channel, purpose=purpose, at=now)
            for channel, purpose in PREFERENCES}


@transaction.atomic
def profile_save(*, user: User, person: Person, fields: dict[str, Any], phone: str,
                 wanted: dict[str, bool]) -> list[str]:
    """Save what the owner confirmed: their names, address and language (audited as theirs), their
    phone as the primary one, all marked verified now; and each preference they changed as a consent
    ledger entry from the portal. Returns the preferences changed."""
    now = timezone.now()
    person = person_update(person=person, by=user, fields=fields)
    Person.objects.filter(pk=person.pk).update(address_verified_at=now if person.address else None)
    if phone:
        number = phone_e164(phone, tenant_regions())
        Phone.objects.filter(person=person).update(is_primary=False)
        Phone.objects.update_or_create(person=person, number=number,
                                       defaults={"is_primary": True, "verified_at": now})
    person.emails.filter(address__iexact=user.email).update(verified_at=now)
    changed = []
    current = preferences(person)
    for channel, purpose in PREFERENCES:
        key = f"{channel}_{purpose}"
        if wanted.get(key, False) != current[key]:
            consent_record(person=person, by=user, channel=channel, purpose=purpose, granted=wanted.get(key, False),
                           source="portal", proof=_("Changed by the customer in the owner portal"))
            changed.append(key)
    return changed


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(queryset: Any, *fields: str) -> list[dict[str, Any]]:
    return [{name: _plain(value) for name, value in row.items()} for row in queryset.values(*fields)]


def data_export(user: User) -> dict[str, Any]:
    """Everything the dealer holds about this owner, and nothing about anyone else: their customer
    record, contacts, consent ledger, their proven cars, their own visits and appointments, messages sent
    to them, event invitations, sales enquiries, club membership, points and vouchers, friends they
    recommended (by first name, as the portal shows them) and their timeline; and the account itself."""
    from crm.loyalty.models import Membership, PointsEntry, Voucher
    from crm.marketing.models import EventInvitation, Message
    from crm.sales.models import Prospect
    from crm.service.models import Appointment, ServiceVisit

    export: dict[str, Any] = {"account": {"email": user.email, "joined": _plain(user.date_joined)},
                              "exported_at": _plain(timezone.now())}
    export["cars"] = _rows(owner_vehicles(user), "vin", "make", "model", "year", "plate", "purchase_date",
                           "warranty_end", "insurance_expiry", "inspection_due")
    person = customer_of(user)
    if person is None:
        return export
    export["customer"] = {name: _plain(value) for name, value in Person.objects.filter(pk=person.pk).values(
        "family_name", "given_name", "middle_name", "gender", "birth_date", "address", "preferred_language",
        "created_at").get().items()}
    export["phones"] = _rows(person.phones.all(), "number", "is_primary", "verified_at")
    export["emails"] = _rows(person.emails.all(), "address", "is_primary", "verified_at")
    export["consents"] = _rows(person.consents.order_by("recorded_at"), "channel", "purpose", "granted", "source",
                               "recorded_at", "expires_at")
    export["visits"] = _rows(ServiceVisit.objects.filter(person=person).order_by("opened_on"), "opened_on",
                             "closed_on", "vehicle__vin", "mileage", "order_number", "total_amount")
    export["appointments"] = _rows(Appointment.objects.filter(person=person).order_by("slot__starts_at"),
                                   "slot__starts_at", "service_type__name", "vehicle__vin", "status", "comment")
    export["messages"] = _rows(Message.objects.filter(person=person, status=Message.Status.SENT).order_by("sent_at"),
                               "channel", "purpose", "subject", "sent_at")
    export["events"] = _rows(EventInvitation.objects.filter(person=person), "event__name", "event__starts_at",
                             "status", "guests", "checked_in_at")
    export["enquiries"] = _rows(Prospect.objects.filter(person=person).order_by("registered_on"), "registered_on",
                                "source", "model_interest", "closed_on")
    export["club"] = _rows(Membership.objects.filter(person=person), "number", "joined_at", "terms_version",
                           "left_at")
    export["points"] = _rows(PointsEntry.objects.filter(person=person).order_by("created_at", "pk"), "created_at",
                             "kind", "points", "note")
    export["vouchers"] = _rows(Voucher.objects.filter(person=person).order_by("issued_at"), "code", "description",
                               "issued_at", "valid_until", "redeemed_at", "cancelled_at")
    export["recommended"] = [{"friend": referral.name, "since": _plain(referral.submitted_on),
                              "status": referral.status} for referral in referrals(user)]
    export["timeline"] = [{"occurred_at": _plain(entry.occurred_at), "kind": entry.kind,
                           "summary": entry_words(entry)[0]}  # in the owner's language, as the portal speaks
                          for entry in TimelineEntry.objects.filter(person=person).order_by("occurred_at")]
    return export


@transaction.atomic
def deletion_request(*, user: User, reason: str) -> DeletionRequest:
    """Ask the dealer to delete the owner's data: recorded once (a second request returns the first), put on
    the customer's timeline, and announced to the dealer admins, who apply the group's retention rules
    (what the law makes them keep, such as invoices, stays)."""
    from django.core.mail import EmailMessage

    from accounts.mail import email_message_to_dict
    from accounts.tasks import email_send
    from config.celery import enqueue_on_commit

    if (open_request := DeletionRequest.objects.filter(user=user, handled_at__isnull=True).first()) is not None:
        return open_request
    person = customer_of(user)
    request = DeletionRequest.objects.create(user=user, person=person, reason=reason.strip()[:1000])
    if person is not None:
        timeline_event("deletion_asked", person=person, author=user).save()
    admins = list(User.objects.filter(role=StaffRole.DEALER_ADMIN, is_active=True).values_list("email", flat=True))
    if admins:
        subject = _("A customer asks for their data to be deleted")
        body = _("%(account)s asked on %(when)s for their data to be deleted (customer: %(customer)s). Reason: "
                 "%(reason)s\n\nApply your retention rules and answer them within a month.") % {
            "account": user.email, "when": timezone.localtime(request.requested_at).strftime("%Y-%m-%d %H:%M"),
            "customer": person or "—", "reason": request.reason or "—"}
        enqueue_on_commit(email_send, email_message_to_dict(EmailMessage(subject, body, to=admins)))
    return request


def phone_check(raw: str) -> str:
    """The phone as the CRM keeps it (E.164), or a ValidationError in words."""
    try:
        return phone_e164(raw, tenant_regions())
    except ValidationError:
        raise ValidationError(_("This does not look like a phone number.")) from None
