"""Staff invite a customer to the owner portal: a single-use link to the address on file. Opening it proves
the mailbox, so the account it makes — or the account already signed in with that address — becomes that
customer's; anyone else signed in gets nothing from it."""

import hashlib
import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.mail import email_message_to_dict
from accounts.models import User
from config.celery import enqueue_on_commit
from crm.customers.models import Person
from crm.customers.services import tenant_language
from crm.marketing.tracking import tenant_url

from .models import CustomerLink, OwnerInvitation

VALID = timedelta(days=14)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_send(*, person: Person, by: User) -> OwnerInvitation:
    """E-mail the customer a link to make their portal account; refused in words when they have no address
    on file or already have an account."""
    from accounts.tasks import email_send

    email = person.email_address()
    if not email:
        raise ValidationError(_("This customer has no e-mail address on file to send the invitation to."))
    if CustomerLink.objects.filter(person=person).exists():
        raise ValidationError(_("This customer already has an owner portal account."))
    token = secrets.token_urlsafe(24)
    invitation = OwnerInvitation.objects.create(person=person, email=email, token_hash=_hash(token),
                                                expires_at=timezone.now() + VALID, created_by=by)
    link = tenant_url(reverse("portal:invitation", args=[token]))
    with translation.override(person.preferred_language or tenant_language()):
        subject = _("Your owner account is ready to open")
        body = _("Hello %(name)s,\n\nopen your owner account to book the workshop, see your car's history and "
                 "manage how we contact you:\n\n%(link)s\n\nThe link works once, for 14 days.\n") % {
            "name": person.display_name, "link": link}
    enqueue_on_commit(email_send, email_message_to_dict(EmailMessage(subject, body, to=[email])))
    return invitation


def invitation_for(token: str) -> OwnerInvitation | None:
    """The open invitation this link names, or None (unknown, used or expired: all look the same)."""
    return (OwnerInvitation.objects.select_related("person")
            .filter(token_hash=_hash(token), accepted_at__isnull=True, expires_at__gt=timezone.now()).first())


@transaction.atomic
def invitation_accept(*, invitation: OwnerInvitation, user: User | None, password: str = "") -> User:
    """Use the invitation once: for the account signed in with the invited address, or a new account with it
    (its address verified: the link came to it). Another account signed in gets nothing."""
    invitation = OwnerInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValidationError(_("This invitation has already been used."))
    if user is not None and user.is_authenticated:
        if user.email.lower() != invitation.email.lower():
            raise ValidationError(_("This invitation is for another address. Sign out, then open the link again."))
        owner = user
    else:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ValidationError(_("An account with this address exists: sign in, then open the link again."))
        owner = User.objects.create_user(invitation.email, password)
    EmailAddress.objects.update_or_create(user=owner, email=invitation.email.lower(),
                                          defaults={"verified": True, "primary": True})
    if not CustomerLink.objects.filter(user=owner).exists() and not CustomerLink.objects.filter(
            person=invitation.person).exists():
        CustomerLink.objects.create(user=owner, person=invitation.person, proof=CustomerLink.Proof.INVITATION)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return owner
