"""Refer a friend: an owner's personal link and code; the friend's form goes through the same duplicate
check and routing as any web enquiry, as a referral with the owner as referrer; the owner follows each
referral's progress. Refused: referring oneself, and friends who are already customers (they are ours
already, and no owner should earn from them)."""

import secrets
from dataclasses import dataclass, replace

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from crm.customers.models import Person
from crm.sales.leads import Enquiry, Received, customer_match, enquiry_receive
from crm.sales.models import Level, Prospect, Source, TestDrive

from .models import CustomerLink, ReferralCode

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread

STATUSES = {"submitted": gettext_lazy("Submitted"), "contacted": gettext_lazy("Contacted"),
            "test_drive": gettext_lazy("Test drive done"), "bought": gettext_lazy("Bought a car"),
            "closed": gettext_lazy("Not this time")}


def referral_code(user: User) -> ReferralCode:
    """The owner's code, made the first time it is asked for."""
    for _attempt in range(5):
        existing = ReferralCode.objects.filter(user=user).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(user=user, code="".join(secrets.choice(ALPHABET)
                                                                           for _ in range(8)))
        except IntegrityError:  # the same code drawn twice, or a second request at once: draw again
            continue
    raise RuntimeError("could not draw a free referral code")


def referrer_for(code: str) -> Person | None:
    """The customer behind a code: only an owner whose account is a customer can refer."""
    link = (CustomerLink.objects.select_related("person")
            .filter(user__referral_code__code=code.upper(), user__is_active=True).first())
    return link.person if link and link.person.merged_into_id is None else None


@transaction.atomic
def referral_receive(*, code: str, enquiry: Enquiry) -> Received:
    """The friend's enquiry, as a referral by the code's owner; refused in words for oneself or an existing
    customer (who is told how to reach us instead)."""
    referrer = referrer_for(code)
    if referrer is None:
        raise ValidationError(_("This recommendation link does not work. Please use our enquiry form."))
    own = {address.lower() for address in referrer.emails.values_list("address", flat=True)}
    own_phones = set(referrer.phones.values_list("number", flat=True))
    if (enquiry.email and enquiry.email.lower() in own) or (enquiry.phone and enquiry.phone in own_phones):
        raise ValidationError(_("You cannot recommend yourself: share the link with a friend."))
    known = customer_match(phone=enquiry.phone, email=enquiry.email, family_name=enquiry.family_name,
                           given_name=enquiry.given_name)
    if known is not None:
        if known.pk == referrer.pk:
            raise ValidationError(_("You cannot recommend yourself: share the link with a friend."))
        raise ValidationError(_("You are already our customer, so this recommendation cannot count. Call us or "
                                "use our enquiry form and we will gladly help."))
    return enquiry_receive(enquiry=replace(enquiry, source=Source.REFERRAL, referrer=referrer,
                                           source_detail=f"referral {code.upper()}"))


@dataclass(frozen=True)
class Referral:
    name: str
    submitted_on: object
    status: str

    @property
    def status_label(self) -> str:
        return str(STATUSES[self.status])


def referrals(user: User) -> list[Referral]:
    """The owner's referrals and how far each got; a friend shows only by given name and initial."""
    link = CustomerLink.objects.filter(user=user).first()
    if link is None:
        return []
    drove = TestDrive.objects.filter(prospect=OuterRef("pk"), status=TestDrive.Status.DONE)
    prospects = (Prospect.objects.filter(referrer_id=link.person_id).select_related("person")
                 .annotate(drove=Exists(drove)).order_by("-created_at"))
    rows = []
    for prospect in prospects:
        if prospect.level == Level.O:
            status = "bought"
        elif prospect.level == Level.F:
            status = "closed"
        elif prospect.drove:
            status = "test_drive"
        elif prospect.first_response_at:
            status = "contacted"
        else:
            status = "submitted"
        friend = prospect.person
        name = " ".join(part for part in (friend.given_name, f"{friend.family_name[:1]}." if friend.family_name
                                          else "") if part) or _("A friend")
        rows.append(Referral(name=name, submitted_on=prospect.registered_on, status=status))
    return rows
