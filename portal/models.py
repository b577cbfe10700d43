"""What the owner portal keeps about car owners' accounts: which CRM customer an account is, and which
cars its owner has proven are theirs. Both only ever through a contact on file that the owner proved."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.customers.models import Person, Vehicle


class CustomerLink(models.Model):
    """The CRM customer an owner's account is. Made only through proof: a verified e-mail address that is
    on file for exactly one customer, or a code sent to the contact on file for one of their cars."""

    class Proof(models.TextChoices):
        EMAIL = "email", _("verified e-mail address on file")
        VEHICLE_CODE = "vehicle_code", _("code sent to the contact on file for a car")
        INVITATION = "invitation", _("invitation from the dealer to the address on file")
        PHONE = "phone", _("code sent to a mobile number on file")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_link")
    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="owner_account")
    proof = models.CharField(max_length=16, choices=Proof.choices)
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("owner account link")
        verbose_name_plural = _("owner account links")

    def __str__(self) -> str:
        return f"{self.user_id} → {self.person_id}"


class PhoneCheck(models.Model):
    """An owner proving a mobile number by a code sent to it: if the number is on file for exactly one
    customer, the account becomes that customer."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phone_checks",
                             db_index=False)
    number = models.CharField(max_length=20)  # E.164
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("phone check")
        verbose_name_plural = _("phone checks")
        indexes = [models.Index(fields=["user", "created_at"], name="phone_check_by_user"),
                   models.Index(fields=["number", "created_at"], name="phone_check_by_number")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.number}"


class VehicleClaim(models.Model):
    """An owner's claim to a car by its VIN: a one-time code goes to the contact on file for the car, and
    only the right code within its time makes the car theirs in the portal."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vehicle_claims",
                             db_index=False)
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="+", db_index=False)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    sent_to = models.CharField(max_length=120)  # masked, as the owner is shown it
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Whom the car was on file for when the code was confirmed: the claim holds while it still is.
    holder = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("vehicle claim")
        verbose_name_plural = _("vehicle claims")
        constraints = [models.UniqueConstraint(fields=["user", "vehicle"], condition=models.Q(
            confirmed_at__isnull=False), name="vehicle_claimed_once")]
        indexes = [models.Index(fields=["user", "created_at"], name="claim_by_user"),
                   models.Index(fields=["vehicle", "created_at"], name="claim_by_vehicle")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.vehicle_id}"


class DeletionRequest(models.Model):
    """An owner's request that the dealer delete their data; handled by a dealer admin under the group's
    retention rules."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                             related_name="deletion_requests")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(_("reason"), blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("deletion request")
        verbose_name_plural = _("deletion requests")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.requested_at:%Y-%m-%d}"


class OwnerInvitation(models.Model):
    """A single-use link a colleague sends a customer to the address on file: opening it proves the mailbox,
    so the account it makes (or the one signed in with that address) is that customer's."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("owner invitation")
        verbose_name_plural = _("owner invitations")

    def __str__(self) -> str:
        return f"{self.person_id}: {self.email}"


class ReferralCode(models.Model):
    """An owner's personal code for recommending the dealer to friends (in the link they share)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral_code")
    code = models.CharField(max_length=12, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("referral code")
        verbose_name_plural = _("referral codes")

    def __str__(self) -> str:
        return self.code


class GuestBooking(models.Model):
    """A booking by an owner who is not signed in: the car by plate or VIN, proved theirs by a code texted to
    the mobile number on file for it; the time chosen with the code books it. The address of its pages is an
    unguessable token, kept in this dealer group's schema only."""

    token = models.CharField(max_length=43, unique=True)
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="+", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=20)  # E.164, on file for ``person``
    service_type = models.ForeignKey("service.ServiceType", on_delete=models.CASCADE, related_name="+")
    rooftop = models.ForeignKey("dealerships.Rooftop", on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    appointment = models.ForeignKey("service.Appointment", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("guest booking")
        verbose_name_plural = _("guest bookings")
        indexes = [models.Index(fields=["number", "created_at"], name="guest_booking_by_number"),
                   models.Index(fields=["vehicle", "created_at"], name="guest_booking_by_vehicle")]

    def __str__(self) -> str:
        return f"{self.vehicle_id} {self.created_at:%Y-%m-%d}"
