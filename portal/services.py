"""Owner accounts and their cars: linking an account to its CRM customer, claiming a car by VIN.

Nothing is shown to an owner that they have not proven: an account becomes a CRM customer only
through a verified e-mail address that is on file for exactly one customer, or through a code sent to
the contact on file for one of that customer's cars; a car joins an owner's garage only with the code
sent to the contact on file for that car (whoever typed its VIN)."""

import secrets
from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Case, F, Q, When
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from accounts import tenant_signing
from accounts.mail import email_message_to_dict
from accounts.models import User
from config.celery import enqueue_on_commit
from crm.customers.models import Person, Phone, Vehicle, VehicleLink
from crm.customers.normalize import phone_e164, vin_normalize
from crm.customers.services import tenant_language, tenant_regions

from .models import CustomerLink, PhoneCheck, VehicleClaim

CODE_VALID = timedelta(minutes=15)
MAX_ATTEMPTS = 5
CLAIMS_PER_HOUR = 5
# Codes for one car, whoever asks: its holder is not flooded, and guessing across accounts stays hopeless.
CODES_PER_CAR_HOUR, CODES_PER_CAR_DAY = 3, 6


# --- Account ↔ customer ----------------------------------------------------------------------------------

def link_by_verified_email(user: User) -> CustomerLink | None:
    """Link the account to the one active customer who has one of its verified addresses on file; nothing
    when none or several do, or when that customer already has an account."""
    if hasattr(user, "customer_link"):
        return user.customer_link
    addresses = [address.lower() for address in EmailAddress.objects.filter(user=user, verified=True)
                 .values_list("email", flat=True)]
    if not addresses:
        return None
    people = list(Person.objects.active().filter(emails__address__in=addresses).distinct()[:2])
    if len(people) != 1 or CustomerLink.objects.filter(person=people[0]).exists():
        return None
    return CustomerLink.objects.create(user=user, person=people[0], proof=CustomerLink.Proof.EMAIL)


def on_email_confirmed(request: Any, email_address: EmailAddress, **kwargs: Any) -> None:
    """An address proven by someone who is not signed in to this account (a sign-in code, a link opened
    elsewhere) says nothing about who chose the account's password: it stops working, which also ends
    every session made with it, so an account someone opened in another's name is not theirs to keep."""
    user = email_address.user
    signed_in_as_owner = request is not None and getattr(request, "user", None) is not None and \
        request.user.is_authenticated and request.user.pk == user.pk
    if not signed_in_as_owner and user.has_usable_password() and not user.role:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    link_by_verified_email(user)


def customer_link_refusal(person_ids: list[int]) -> str:
    """For ``follows_merges``: two records that each have an owner account cannot become one customer."""
    if CustomerLink.objects.filter(person_id__in=person_ids).count() > 1:
        return _("More than one of these records has its own owner portal account; they cannot be merged.")
    return ""


# --- Account ↔ customer by a mobile number -------------------------------------------------------------------

PHONE_CODES_PER_USER_HOUR = 3
PHONE_CODES_PER_NUMBER_DAY = 5


def _phone_code_hash(user_id: int, number: str, code: str) -> str:
    return tenant_signing.keyed_hash("portal.phone-check", f"{user_id}:{number}:{code}")


@transaction.atomic
def phone_check_start(*, user: User, raw_number: str) -> PhoneCheck:
    """Text a six-digit code to the number the owner typed, so they can prove it is theirs. Refused in
    words for an unreadable number, an account already linked, or too many codes (per account an hour,
    per number a day: nobody's phone is flooded)."""
    from .tasks import claim_code_sms

    if hasattr(user, "customer_link"):
        raise ValidationError(_("Your account is already linked to your customer record."))
    number = phone_e164(raw_number, tenant_regions())  # as numbers on file are kept; says what is wrong
    now = timezone.now()
    User.objects.select_for_update().get(pk=user.pk)
    if PhoneCheck.objects.filter(user=user, created_at__gt=now - timedelta(hours=1)).count() \
            >= PHONE_CODES_PER_USER_HOUR:
        raise ValidationError(_("Too many codes in the last hour. Please try again later."))
    if PhoneCheck.objects.filter(number=number, created_at__gt=now - timedelta(days=1)).count() \
            >= PHONE_CODES_PER_NUMBER_DAY:
        raise ValidationError(_("We have sent enough codes to this number today. Please try again tomorrow."))
    code = f"{secrets.randbelow(10**6):06d}"
    check = PhoneCheck.objects.create(user=user, number=number, code_hash=_phone_code_hash(user.pk, number, code),
                                      expires_at=now + CODE_VALID)
    with translation.override(user.preferred_language or tenant_language()):
        text = _("Your code to confirm this number: %(code)s. It is valid for 15 minutes. If you did not ask for "
                 "it, ignore this message.") % {"code": code}
    # The provider's idempotency key names the schema: check ids repeat in every dealer group.
    enqueue_on_commit(claim_code_sms, number, text, f"phone:{connection.schema_name}:{check.pk}")
    return check


def phone_check_confirm(*, check: PhoneCheck, code: str) -> CustomerLink | None:
    """The right code in time proves the number. The account becomes the customer only when exactly one
    active customer has it on file and has no account yet; otherwise the owner adds a car by VIN."""
    with transaction.atomic():
        check = PhoneCheck.objects.select_for_update().get(pk=check.pk)
        if check.confirmed_at is None:
            if check.expires_at <= timezone.now():
                raise ValidationError(_("This code has expired. Ask for a new one."))
            if check.attempts >= MAX_ATTEMPTS:
                raise ValidationError(_("Too many wrong codes. Ask for a new one."))
            right = constant_time_compare(_phone_code_hash(check.user_id, check.number, code.strip()),
                                          check.code_hash)
            if right:
                check.confirmed_at = timezone.now()
                check.save(update_fields=["confirmed_at"])
            else:  # counted, and kept: the refusal is raised after this block commits
                PhoneCheck.objects.filter(pk=check.pk).update(attempts=check.attempts + 1)
        if check.confirmed_at is not None:
            return _link_by_phone(check)
    left = MAX_ATTEMPTS - check.attempts - 1
    raise ValidationError(_("That is not the code we sent. Attempts left: %(left)s.") % {"left": left}
                          if left else _("Too many wrong codes. Ask for a new one."))


def _link_by_phone(check: PhoneCheck) -> CustomerLink | None:
    if (existing := CustomerLink.objects.filter(user_id=check.user_id).first()) is not None:
        return existing
    people = list(Person.objects.active().filter(phones__number=check.number).distinct()[:2])
    if len(people) != 1 or CustomerLink.objects.filter(person=people[0]).exists():
        return None
    return CustomerLink.objects.create(user_id=check.user_id, person=people[0], proof=CustomerLink.Proof.PHONE)


# --- Claiming a car ------------------------------------------------------------------------------------------

def _code_hash(claim_user_id: int, vehicle_id: int, code: str) -> str:
    return tenant_signing.keyed_hash("portal.vehicle-claim", f"{claim_user_id}:{vehicle_id}:{code}")


def _masked_email(address: str) -> str:
    name, _sep, domain = address.partition("@")
    return f"{name[:1]}•••@{domain}"


def masked_phone(number: str) -> str:
    return f"•••{number[-3:]}"


def vehicle_holder(vehicle: Vehicle) -> Person | None:
    """Whom the car is on file for now: its current owner, else its current user (a company car)."""
    link = (VehicleLink.objects.select_related("person")
            .filter(vehicle=vehicle, ended_on__isnull=True, person__isnull=False,
                    person__archived_at__isnull=True, person__merged_into__isnull=True)
            .order_by(Case(When(kind=VehicleLink.Kind.OWNER, then=0), default=1),
                      F("started_on").desc(nulls_last=True), "-pk").first())
    return link.person if link else None


@transaction.atomic
def claim_start(*, user: User, vin: str) -> VehicleClaim:
    """Start claiming the car with this VIN: a six-digit code goes to the contact on file for it (its
    holder's e-mail, else their phone by SMS). Refused in words for an unknown VIN, a car already in the
    garage, no contact on file, or too many claims this hour."""
    from .tasks import claim_code_sms

    vin = vin_normalize(vin)
    now = timezone.now()
    User.objects.select_for_update().get(pk=user.pk)  # one claim at a time per owner: the hourly limit holds
    if VehicleClaim.objects.filter(user=user, created_at__gt=now - timedelta(hours=1)).count() >= CLAIMS_PER_HOUR:
        raise ValidationError(_("Too many cars claimed in the last hour. Please try again later."))
    vehicle = Vehicle.objects.filter(vin=vin).first()
    if vehicle is None:
        raise ValidationError(_("We have no car with this VIN on file. Check it on your registration "
                                "document, or call us and we will add it."))
    if VehicleClaim.objects.filter(user=user, vehicle=vehicle, confirmed_at__isnull=False).exists():
        raise ValidationError(_("This car is already in your garage."))
    Vehicle.objects.select_for_update().get(pk=vehicle.pk)  # the per-car limits hold under concurrent claims
    sent = VehicleClaim.objects.filter(vehicle=vehicle, created_at__gt=now - timedelta(days=1))
    if (sent.filter(created_at__gt=now - timedelta(hours=1)).count() >= CODES_PER_CAR_HOUR
            or sent.count() >= CODES_PER_CAR_DAY):
        raise ValidationError(_("We have sent enough codes for this car for now. Please try again later, or call "
                                "us."))
    holder = vehicle_holder(vehicle)
    email = holder.email_address() if holder else ""
    phone = Phone.objects.filter(person=holder).order_by("-is_primary", "pk").first() if holder else None
    if not email and phone is None:
        raise ValidationError(_("We have no contact on file for this car to send a code to. Please call us."))
    code = f"{secrets.randbelow(10**6):06d}"
    claim = VehicleClaim.objects.create(
        user=user, vehicle=vehicle, channel=VehicleClaim.Channel.EMAIL if email else VehicleClaim.Channel.SMS,
        sent_to=_masked_email(email) if email else masked_phone(phone.number),
        code_hash=_code_hash(user.pk, vehicle.pk, code), expires_at=now + CODE_VALID)
    with translation.override(holder.preferred_language or tenant_language()):
        text = _("Your code to add the car %(vin)s to your garage: %(code)s. It is valid for 15 minutes. If you "
                 "did not ask for it, ignore this message.") % {"vin": vin, "code": code}
        subject = _("Your code to add your car")
    if email:
        from accounts.tasks import email_send

        enqueue_on_commit(email_send, email_message_to_dict(EmailMessage(subject, text, to=[email])))
    else:
        enqueue_on_commit(claim_code_sms, phone.number, text, f"claim:{connection.schema_name}:{claim.pk}")
    return claim


def claim_confirm(*, claim: VehicleClaim, code: str) -> VehicleClaim:
    """The code for a claim: right and in time, the car joins the owner's garage (and, if the account is
    not yet a customer, it becomes the car's holder: the code proved their contact). Each wrong code
    counts; after five, or when the time is up, a new code is needed."""
    with transaction.atomic():
        claim = VehicleClaim.objects.select_for_update().get(pk=claim.pk)
        if claim.confirmed_at is not None:
            return claim
        if VehicleClaim.objects.filter(user_id=claim.user_id, vehicle_id=claim.vehicle_id,
                                       confirmed_at__isnull=False).exists():
            raise ValidationError(_("This car is already in your garage."))
        if claim.expires_at <= timezone.now():
            raise ValidationError(_("This code has expired. Ask for a new one."))
        if claim.attempts >= MAX_ATTEMPTS:
            raise ValidationError(_("Too many wrong codes. Ask for a new one."))
        right = constant_time_compare(_code_hash(claim.user_id, claim.vehicle_id, code.strip()), claim.code_hash)
        if right:
            holder = vehicle_holder(claim.vehicle)
            claim.confirmed_at, claim.holder = timezone.now(), holder
            claim.save(update_fields=["confirmed_at", "holder"])
            if (holder is not None and not CustomerLink.objects.filter(Q(user_id=claim.user_id) | Q(person=holder))
                    .exists()):
                CustomerLink.objects.create(user_id=claim.user_id, person=holder, proof=CustomerLink.Proof.VEHICLE_CODE)
            return claim
        # A wrong code counts, even though the refusal below is an error: recorded outside the rollback.
        VehicleClaim.objects.filter(pk=claim.pk).update(attempts=claim.attempts + 1)
    left = MAX_ATTEMPTS - claim.attempts - 1
    raise ValidationError(_("That is not the code we sent. Attempts left: %(left)s.") % {"left": left}
                          if left else _("Too many wrong codes. Ask for a new one."))
