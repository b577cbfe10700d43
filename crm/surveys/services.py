"""Inviting, answering, and the signals of answers that may not be the customer's own.

Signals, checked when an answer arrives (and kept on it, for managers now and HQ later):
- many answers (3 or more) from one network or one device within 30 days;
- answered within ``TOO_FAST_SECONDS`` of opening the page (faster than a person reads it);
- the customer's phone number on file was changed in the 7 days before the invitation;
- all-maximum answers clustered on one employee: 5 or more answers of theirs in 30 days, 90% or
  more of them the maximum on both questions.
"""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.customers.models import ConsentChannel, ConsentPurpose, Person, Phone
from crm.customers.selectors import consent_allows

from .models import Answer, Invitation

VALID_DAYS = 14
TOO_FAST_SECONDS = 8
SAME_SOURCE_LIMIT = 3
CLUSTER_MIN, CLUSTER_SHARE = 5, 0.9
WINDOW = timedelta(days=30)


def score_measures() -> dict[str, object]:
    """The aggregates every CSI/NPS figure is made of: answers, average satisfaction, promoters (9-10)
    and detractors (0-6)."""
    return {"total": Count("pk"), "csi": Avg("satisfaction"), "promoters": Count("pk", filter=Q(recommend__gte=9)),
            "detractors": Count("pk", filter=Q(recommend__lte=6))}


def nps(row: dict) -> int | None:
    """Promoters minus detractors, in % of the answers; None without answers."""
    return round(100 * (row["promoters"] - row["detractors"]) / row["total"]) if row["total"] else None


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def invite(*, kind: str, person: Person, source_ref: str, rooftop_id: int | None = None,
           employee_id: int | None = None) -> tuple[Invitation, str] | None:
    """An invitation for this occasion, if the customer agreed to surveys and has none for it yet;
    returns it with its token (shown once, in the link), else None."""
    if not consent_allows(person, channel=ConsentChannel.EMAIL, purpose=ConsentPurpose.SURVEYS):
        return None
    token = secrets.token_urlsafe(24)
    invitation, created = Invitation.objects.get_or_create(kind=kind, source_ref=source_ref, defaults={
        "person": person, "rooftop_id": rooftop_id, "employee_id": employee_id, "token_hash": digest(token),
        "expires_at": timezone.now() + timedelta(days=VALID_DAYS)})
    if created:
        return invitation, token
    # Made before but never sent (the mail server failed, the worker died): a fresh token, sent now.
    if invitation.sent_at is None and Invitation.objects.filter(pk=invitation.pk, sent_at__isnull=True).update(
            token_hash=digest(token), expires_at=timezone.now() + timedelta(days=VALID_DAYS)):
        return invitation, token
    return None


def invitation_for(token: str) -> Invitation:
    """The invitation a token opens, or ValidationError: unknown (or altered), expired, answered."""
    invitation = Invitation.objects.filter(token_hash=digest(token or "")).select_related("rooftop").first()
    if invitation is None:
        raise ValidationError(_("This survey link is not valid."), code="unknown")
    if hasattr(invitation, "answer"):
        raise ValidationError(_("This survey has already been answered. Thank you!"), code="answered")
    if invitation.expires_at <= timezone.now():
        raise ValidationError(_("This survey has closed."), code="expired")
    return invitation


def opened(invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(opened_at=timezone.now())


@transaction.atomic
def answer(*, token: str, satisfaction: int, recommend: int, comment: str, address: str, agent: str) -> Answer:
    invitation = invitation_for(token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if Answer.objects.filter(invitation=invitation).exists():
        raise ValidationError(_("This survey has already been answered. Thank you!"), code="answered")
    now = timezone.now()
    seconds = int((now - invitation.opened_at).total_seconds()) if invitation.opened_at else None
    result = Answer.objects.create(invitation=invitation, satisfaction=satisfaction, recommend=recommend,
                                   comment=comment, seconds_to_answer=seconds, network=digest(address),
                                   device=digest(f"{address}|{agent}"))
    result.signals = signals_of(result)
    result.save(update_fields=["signals"])
    return result


def signals_of(answer_: Answer) -> list[str]:
    invitation = answer_.invitation
    since = timezone.now() - WINDOW
    recent = Answer.objects.filter(answered_at__gte=since)
    found = []
    if recent.filter(network=answer_.network).count() >= SAME_SOURCE_LIMIT:
        found.append(Answer.Signal.SAME_NETWORK)
    if recent.filter(device=answer_.device).count() >= SAME_SOURCE_LIMIT:
        found.append(Answer.Signal.SAME_DEVICE)
    if answer_.seconds_to_answer is not None and answer_.seconds_to_answer < TOO_FAST_SECONDS:
        found.append(Answer.Signal.TOO_FAST)
    sent = invitation.sent_at or invitation.created_at
    if Phone.objects.filter(person_id=invitation.person_id, created_at__gte=sent - timedelta(days=7),
                            created_at__lte=sent).exists():
        found.append(Answer.Signal.PHONE_CHANGED)
    if invitation.employee_id:
        theirs = recent.filter(invitation__employee_id=invitation.employee_id).aggregate(
            total=Count("pk"), top=Count("pk", filter=Q(satisfaction=5, recommend=10)))
        if theirs["total"] >= CLUSTER_MIN and theirs["top"] >= CLUSTER_SHARE * theirs["total"]:
            found.append(Answer.Signal.ALL_MAX_CLUSTER)
    return [str(signal) for signal in found]
