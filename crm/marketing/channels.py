"""Every marketing message goes through ``message_send``: it asks the consent ledger, keeps quiet hours
in the group's time zone and the weekly cap per customer, merges the template in the customer's
language, sends by e-mail (Django's mail backends; django-anymail for providers; an HTML alternative
tracks opens and clicks, tracking.py) or SMS (sms.py), and records the outcome under the occasion's key,
so a rerun never sends twice."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from crm.customers.models import ConsentChannel, ConsentPurpose, Person
from crm.customers.selectors import consent_allows
from crm.customers.services import tenant_language

from . import sms, tracking
from .models import Message, MessageChannel, MessageTemplate, SendingRules, TemplateText
from .templating import CUSTOMER_FIELDS, merge

UNSUBSCRIBE_SALT = "marketing-unsubscribe"
CONSENT_CHANNEL = {MessageChannel.EMAIL: ConsentChannel.EMAIL, MessageChannel.SMS: ConsentChannel.SMS}


@dataclass(frozen=True)
class Deferred:
    """Not now: quiet hours. Try again at ``until``."""

    until: datetime


def quiet_until(now: datetime, rules: SendingRules) -> datetime | None:
    """When quiet hours end, if ``now`` falls in them (in the current time zone: the group's); else None."""
    local = timezone.localtime(now)
    start, end, clock = rules.quiet_from, rules.quiet_until, local.time()
    overnight = start > end
    quiet = (clock >= start or clock < end) if overnight else (start <= clock < end)
    if not quiet:
        return None
    day = local.date() + timedelta(days=1) if overnight and clock >= start else local.date()
    return timezone.make_aware(datetime.combine(day, end), timezone.get_current_timezone())


def address_of(person: Person, channel: str) -> str:
    if channel == MessageChannel.EMAIL:
        return person.email_address()
    phone = person.phones.order_by("-is_primary", "pk").first()
    return phone.number if phone else ""


def text_for(template: MessageTemplate, language: str) -> TemplateText | None:
    """The text in the customer's language, else the group's, else any."""
    texts = {text.language: text for text in template.texts.all()}
    return texts.get(language) or texts.get(tenant_language()) or next(iter(texts.values()), None)


def unsubscribe_token(person: Person, channel: str, purpose: str) -> str:
    return signing.dumps([connection.schema_name, person.pk, channel, purpose], salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(person: Person, channel: str, purpose: str) -> str:
    return tracking.tenant_url(reverse("unsubscribe", args=[unsubscribe_token(person, channel, purpose)]))


def merge_values(person: Person, channel: str, purpose: str) -> dict[str, str]:
    from crm.customers.models import VehicleLink

    link = (VehicleLink.objects.select_related("vehicle").filter(person=person, ended_on__isnull=True)
            .order_by("-started_on", "-pk").first())
    return {"given_name": person.given_name, "family_name": person.family_name, "name": person.display_name,
            "dealer": getattr(connection.tenant, "name", ""), "rooftop": str(person.rooftop or ""),
            "car": f"{link.vehicle.make} {link.vehicle.model}".strip() if link else "",
            "unsubscribe_url": unsubscribe_url(person, channel, purpose)}


# A message left "sending" this long ago was interrupted (the worker died): it passes the gate again and
# is delivered with the same key, which the SMS providers and the file backend honour as one message.
def stale_sending() -> timedelta:
    return timedelta(seconds=settings.MESSAGE_RESEND_AFTER_SECONDS)


def provider_key(message: Message) -> str:
    """The idempotency key the SMS provider gets: one per group (message keys repeat in every schema), occasion
    and address. A message resumed after its customer's number changed is a new send to the new number, which a
    provider honouring keys must not drop as a repeat of the text it took for the old one."""
    address = hashlib.sha256(message.address.encode()).hexdigest()[:16]
    return f"{connection.schema_name}:{message.key}:{address}"


def _deliver(message: Message, unsubscribe: str, rules: SendingRules) -> Message:
    try:
        if message.channel == MessageChannel.EMAIL:
            email = EmailMultiAlternatives(message.subject, message.body, to=[message.address],
                                           headers={"List-Unsubscribe": f"<{unsubscribe}>",
                                                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
            email.attach_alternative(tracking.email_html(message, track=rules.track_email), "text/html")
            email.send()
        else:
            sms.backend().send(sms.Sms(to=message.address, body=message.body, key=provider_key(message)))
    except sms.SmsError as error:
        message.status, message.error = Message.Status.FAILED, str(error)[:1000]
    except Exception as error:  # noqa: BLE001 - any provider or header error fails this message, not the run
        message.status, message.error = Message.Status.FAILED, f"{type(error).__name__}: {error}"[:1000]
    else:
        message.status, message.sent_at = Message.Status.SENT, timezone.now()
    message.save(update_fields=["status", "error", "sent_at"])
    return message


def _lock_customer(person: Person) -> None:
    """Until the transaction ends, this customer's messages are decided one at a time."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                       [f"message:{connection.schema_name}:{person.pk}"])


def _refusal(person: Person, channel: str, purpose: str, address: str, now: datetime,
             cap: SendingRules | None, resumed: Message | None = None) -> str:
    """Why this message may not go, or "". Without ``cap`` rules, the weekly cap is not asked. A
    ``resumed`` message does not count against itself."""
    if not address:
        return Message.Reason.NO_ADDRESS
    if not consent_allows(person, channel=CONSENT_CHANNEL[channel], purpose=purpose, at=now):
        return Message.Reason.NO_CONSENT
    if cap is not None and purpose == ConsentPurpose.MARKETING and Message.objects.filter(
            person=person, purpose=ConsentPurpose.MARKETING).filter(
            Q(status=Message.Status.SENT, sent_at__gt=now - timedelta(days=7))
            | Q(status=Message.Status.SENDING)).exclude(pk=getattr(resumed, "pk", None)).count() >= cap.weekly_cap:
        return Message.Reason.FREQUENCY_CAP
    return ""


def _resume(message: Message, person: Person, now: datetime, rules: SendingRules, capped: bool) -> Message | Deferred:
    """Finish a message a dead run left "sending", through the same gate as a new one, as things are now:
    the customer may have withdrawn consent or lost the address, the night may have come, other messages
    may have reached the weekly cap since it was recorded. Claimed by one run only (a conditional update
    under the customer's lock); refused with its reason, or deferred until quiet hours end (still
    "sending", so a later run finishes it).

    A message already handed over ``MESSAGE_SEND_ATTEMPTS`` times is marked failed instead: whatever kills
    the worker may come after the provider took it (an SMTP server that never answers, a provider that
    ignores keys), and sending it again every few minutes would message the customer again every time."""
    if (until := quiet_until(now, rules)) is not None:
        return Deferred(until)
    with transaction.atomic():
        _lock_customer(person)
        claimed = Message.objects.filter(pk=message.pk, status=Message.Status.SENDING,
                                         created_at=message.created_at).update(created_at=timezone.now())
        message.refresh_from_db()
        if not claimed:
            return message  # another run took it meanwhile
        if message.attempts >= settings.MESSAGE_SEND_ATTEMPTS:
            message.status = Message.Status.FAILED
            message.error = (f"Interrupted {message.attempts} times; not sent again so the customer is not "
                             f"messaged repeatedly.")
            message.save(update_fields=["status", "error"])
            return message
        message.address = address_of(person, message.channel)
        message.reason = _refusal(person, message.channel, message.purpose, message.address, now,
                                  rules if capped else None, resumed=message)
        if message.reason:
            message.status = Message.Status.REFUSED
        else:
            message.attempts += 1  # the row is ours: claimed, under the customer's lock
        message.save(update_fields=["address", "reason", "status", "attempts"])
    if message.status == Message.Status.REFUSED:
        return message
    return _deliver(message, unsubscribe_url(person, message.channel, message.purpose), rules)


def message_send(*, person: Person, template: MessageTemplate, key: str, now: datetime | None = None,
                 extra: dict[str, str] | None = None, rules: SendingRules | None = None,
                 capped: bool = True) -> Message | Deferred:
    """Send ``template`` to ``person`` once for the occasion ``key``; a second call returns the first
    outcome (or finishes an interrupted one, asking the gate again at that moment). Refusals are recorded
    with their reason; quiet hours return ``Deferred`` and record nothing. A run sending many passes the
    group's ``rules`` read once. ``capped=False`` (automations) sends past the weekly cap, though the
    message still counts towards it."""
    now = now or timezone.now()
    existing = Message.objects.filter(key=key).first()
    if existing is not None:
        if existing.status == Message.Status.SENDING and existing.created_at < timezone.now() - stale_sending():
            return _resume(existing, person, now, rules or SendingRules.current(), capped)
        return existing
    rules = rules or SendingRules.current()
    if (until := quiet_until(now, rules)) is not None:
        return Deferred(until)
    channel, purpose = template.channel, template.purpose
    message = Message(key=key, person=person, template=template, channel=channel, purpose=purpose,
                      address=address_of(person, channel), status=Message.Status.REFUSED)
    with transaction.atomic():
        # One customer's messages are recorded one at a time, whatever sends them (the weekly cap counts
        # messages being sent too, so two campaigns reaching the customer at once cannot overrun it).
        # The row is committed before sending: whoever comes next knows this occasion is taken.
        _lock_customer(person)
        if (taken := Message.objects.filter(key=key).first()) is not None:
            return taken
        unsubscribe = _record(message, person, template, now, rules if capped else None, extra)
    if message.status == Message.Status.REFUSED:
        return message
    return _deliver(message, unsubscribe, rules)


def _record(message: Message, person: Person, template: MessageTemplate, now: datetime,
            cap: SendingRules | None, extra: dict[str, str] | None) -> str:
    """Decide (refused with its reason, or to be sent with its text merged) and save; returns the
    unsubscribe link the e-mail carries."""
    channel, purpose = message.channel, message.purpose
    message.reason = _refusal(person, channel, purpose, message.address, now, cap)
    text = None if message.reason else text_for(template, person.preferred_language)
    if text is None and not message.reason:
        message.reason = Message.Reason.NO_TEXT
    values = {**merge_values(person, channel, purpose), **(extra or {})} if text else {}
    if text is not None:
        message.status, message.attempts = Message.Status.SENDING, 1
        message.subject = " ".join(merge(text.subject, values).split())  # a header: never a line break
        message.body = merge(text.body, values)
        message.links = tracking.links_in(merge(text.body, {**values, **dict.fromkeys(CUSTOMER_FIELDS, "")}))
    message.save()
    return values.get("unsubscribe_url", "")
