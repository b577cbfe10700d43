"""Every marketing message goes through ``message_send``: it asks the consent ledger, keeps quiet hours
in the group's time zone and the weekly cap per customer, merges the template in the customer's
language, sends by e-mail (Django's mail backends; django-anymail for providers; an HTML alternative
tracks opens and clicks, tracking.py) or SMS (sms.py), and records the outcome under the occasion's key,
so a rerun never sends twice."""

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from crm.core.bulk import copy_create
from crm.customers.models import ConsentChannel, ConsentPurpose, Email, Person, Phone, VehicleLink
from crm.customers.selectors import consent_allows, consent_allows_among
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
    return text_among(texts_of(template), language, tenant_language())


def unsubscribe_token(person: Person, channel: str, purpose: str) -> str:
    return signing.dumps([connection.schema_name, person.pk, channel, purpose], salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(person: Person, channel: str, purpose: str) -> str:
    return tracking.tenant_url(tracking.route("unsubscribe", unsubscribe_token(person, channel, purpose)))


def merge_values(person: Person, channel: str, purpose: str) -> dict[str, str]:
    from crm.customers.models import VehicleLink

    link = (VehicleLink.objects.select_related("vehicle").filter(person=person, ended_on__isnull=True)
            .order_by("-started_on", "-pk").first())
    return _fields(person, dealer=getattr(connection.tenant, "name", ""),
                   car=f"{link.vehicle.make} {link.vehicle.model}".strip() if link else "",
                   unsubscribe=unsubscribe_url(person, channel, purpose))


def _fields(person: Person, *, dealer: str, car: str, unsubscribe: str) -> dict[str, str]:
    """The merge fields of one customer's message (``templating.MERGE_FIELDS``)."""
    return {"given_name": person.given_name, "family_name": person.family_name, "name": person.display_name,
            "dealer": dealer, "rooftop": str(person.rooftop or ""), "car": car, "unsubscribe_url": unsubscribe}


def _compose(message: Message, text: TemplateText, values: dict[str, str]) -> None:
    """The message to be sent: its subject, body and links merged from ``text`` with the customer's ``values``."""
    message.status, message.attempts = Message.Status.SENDING, 1
    message.subject = " ".join(merge(text.subject, values).split())  # a header: never a line break
    message.body = merge(text.body, values)
    message.links = tracking.links_in(merge(text.body, {**values, **dict.fromkeys(CUSTOMER_FIELDS, "")}))


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


def _hand_over(message: Message, unsubscribe: str, rules: SendingRules, mail: BaseEmailBackend | None = None) -> None:
    """Give the message to its channel and note the outcome on it (not saved). E-mail goes through ``mail``, an
    open connection a batch shares, when given."""
    try:
        if message.channel == MessageChannel.EMAIL:
            email = EmailMultiAlternatives(message.subject, message.body, to=[message.address], connection=mail,
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
        if mail is not None:
            mail.close()  # a broken SMTP session: the next message opens a new one
    else:
        message.status, message.sent_at = Message.Status.SENT, timezone.now()


def _deliver(message: Message, unsubscribe: str, rules: SendingRules) -> Message:
    _hand_over(message, unsubscribe, rules)
    message.save(update_fields=["status", "error", "sent_at"])
    return message


def _lock_customer(person: Person) -> None:
    """Until the transaction ends, this customer's messages are decided one at a time."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                       [f"message:{connection.schema_name}:{person.pk}"])


def _capped_by(now: datetime) -> Q:
    """The messages the weekly cap counts: marketing sent in the last seven days, or being sent."""
    return Q(purpose=ConsentPurpose.MARKETING) & (Q(status=Message.Status.SENT, sent_at__gt=now - timedelta(days=7))
                                                  | Q(status=Message.Status.SENDING))


def _refusal(person: Person, channel: str, purpose: str, address: str, now: datetime,
             cap: SendingRules | None, resumed: Message | None = None) -> str:
    """Why this message may not go, or "". Without ``cap`` rules, the weekly cap is not asked. A
    ``resumed`` message does not count against itself."""
    if not address:
        return Message.Reason.NO_ADDRESS
    if not consent_allows(person, channel=CONSENT_CHANNEL[channel], purpose=purpose, at=now):
        return Message.Reason.NO_CONSENT
    if cap is not None and purpose == ConsentPurpose.MARKETING and Message.objects.filter(
            _capped_by(now), person=person).exclude(pk=getattr(resumed, "pk", None)).count() >= cap.weekly_cap:
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
        _compose(message, text, values)
    message.save()
    return values.get("unsubscribe_url", "")


# --- Many messages at once: a campaign's batch -----------------------------------------------------------------
#
# The same gate and the same records as ``message_send``, at the price of a few queries per batch instead of a dozen
# per message: the batch's addresses, consents, weekly-cap counts and cars are read in one query each, under every
# recipient's lock (taken in one statement, in a fixed order, so two batches never wait on each other in a
# circle); the messages are inserted in one ``COPY`` and committed before anything is handed over, so a run that
# dies mid-batch leaves them "sending" for the resume, exactly as a single message; the outcomes are written in
# one statement.


@dataclass
class Outgoing:
    """A message recorded "sending" by ``messages_record``, with the unsubscribe link it carries."""

    message: Message
    unsubscribe: str


def texts_of(template: MessageTemplate) -> dict[str, TemplateText]:
    """The template's texts by language: read once for a run, chosen per customer by ``text_among``."""
    return {text.language: text for text in template.texts.all()}


def text_among(texts: dict[str, TemplateText], language: str, group_language: str) -> TemplateText | None:
    """The text in the customer's language, else the group's, else any (``text_for``'s rule)."""
    return texts.get(language) or texts.get(group_language) or next(iter(texts.values()), None)


def _addresses_among(person_ids: list[int], channel: str) -> dict[int, str]:
    """Each person's address on the channel (the primary, else the first), one query."""
    model, field = (Email, "address") if channel == MessageChannel.EMAIL else (Phone, "number")
    return dict(model.objects.filter(person_id__in=person_ids).order_by("person_id", "-is_primary", "pk")
                .distinct("person_id").values_list("person_id", field))


def _cars_among(person_ids: list[int]) -> dict[int, str]:
    """Each person's current car as the ``car`` merge field says it (``merge_values``' rule), one query."""
    links = (VehicleLink.objects.filter(person_id__in=person_ids, ended_on__isnull=True)
             .order_by("person_id", "-started_on", "-pk").distinct("person_id")
             .values_list("person_id", "vehicle__make", "vehicle__model"))
    return {pk: f"{make} {model}".strip() for pk, make, model in links}


def _capped_among(person_ids: list[int], now: datetime, weekly_cap: int) -> set[int]:
    """Who has had the weekly cap of marketing messages (sent in the last seven days, or being sent)."""
    counts = (Message.objects.filter(_capped_by(now), person_id__in=person_ids).values("person_id")
              .annotate(n=Count("pk")).values_list("person_id", "n"))
    return {pk for pk, n in counts if n >= weekly_cap}


def _lock_customers(person_ids: list[int]) -> None:
    """``_lock_customer`` for many, in one statement and in the order of the lock ids."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_advisory_xact_lock(lock)) FROM (SELECT hashtextextended("
                       "'message:' || %s || ':' || person_id, 0) AS lock FROM unnest(%s::bigint[]) AS person_id"
                       " ORDER BY 1 OFFSET 0) AS ordered", [connection.schema_name, sorted(set(person_ids))])


def messages_record(*, people: list[Person], template: MessageTemplate, keys: dict[int, str],
                    texts: dict[str, TemplateText], now: datetime, rules: SendingRules) -> tuple[list[Message],
                                                                                                list[Outgoing]]:
    """Decide and record the messages of a batch (``keys``: each person's occasion), every person under their
    lock, in one transaction: the refused ones (with their reason) and those to hand over (committed "sending",
    their text merged). People whose occasion another run took meanwhile are left out: the caller reads them."""
    channel, purpose = template.channel, template.purpose
    ids = [person.pk for person in people]
    dealer, group_language = getattr(connection.tenant, "name", ""), tenant_language()
    with transaction.atomic():
        _lock_customers(ids)
        taken = set(Message.objects.filter(key__in=keys.values()).values_list("key", flat=True))
        people = [person for person in people if keys[person.pk] not in taken]
        ids = [person.pk for person in people]
        addresses = _addresses_among(ids, channel)
        allowed = consent_allows_among(ids, channel=CONSENT_CHANNEL[channel], purpose=purpose, at=now)
        capped = _capped_among(ids, now, rules.weekly_cap) if purpose == ConsentPurpose.MARKETING else set()
        cars = _cars_among(ids) if texts else {}
        refused, outgoing = [], []
        for person in people:
            message = Message(key=keys[person.pk], person=person, template=template, channel=channel, purpose=purpose,
                              address=addresses.get(person.pk, ""), status=Message.Status.REFUSED)
            message.reason = (Message.Reason.NO_ADDRESS if not message.address
                              else Message.Reason.NO_CONSENT if person.pk not in allowed
                              else Message.Reason.FREQUENCY_CAP if person.pk in capped else "")
            text = None if message.reason else text_among(texts, person.preferred_language, group_language)
            if text is None and not message.reason:
                message.reason = Message.Reason.NO_TEXT
            if text is None:
                refused.append(message)
                continue
            unsubscribe = unsubscribe_url(person, channel, purpose)
            _compose(message, text, _fields(person, dealer=dealer, car=cars.get(person.pk, ""),
                                            unsubscribe=unsubscribe))
            outgoing.append(Outgoing(message, unsubscribe))
        copy_create([*refused, *(item.message for item in outgoing)])
    return refused, outgoing


class Courier:
    """Hands a batch's messages over, e-mail through one connection for the whole batch (one SMTP session, not
    one per message); ``settle`` writes their outcomes in one statement.

    Outcomes are written at least every ``SETTLE_SECONDS`` (and by the caller before it waits for the rate): a
    worker killed mid-batch leaves "sending" only what it handed over since, which the resume hands over again
    (SMS with the same provider key, which providers honour as one message). Not once per message: that
    statement per message was most of a campaign's time."""

    SETTLE_SECONDS = 0.2

    def __init__(self, rules: SendingRules) -> None:
        self.rules, self.mail, self.handed = rules, None, []
        self.settled_at = time.monotonic()

    def __enter__(self) -> "Courier":
        self.mail = get_connection()
        try:
            self.mail.open()  # kept open for the batch (a backend that sends opens and closes per call otherwise)
        except Exception:  # noqa: BLE001 - the server unreachable: each message fails with the reason as it is sent
            self.mail.close()
        return self

    def hand_over(self, item: Outgoing) -> Message:
        _hand_over(item.message, item.unsubscribe, self.rules, self.mail)
        self.handed.append(item.message)
        if time.monotonic() - self.settled_at >= self.SETTLE_SECONDS:
            self.settle()
        return item.message

    def settle(self) -> None:
        """Write the outcomes of what was handed over since the last call."""
        if self.handed:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {Message._meta.db_table} AS m SET status = o.status, error = o.error, "  # noqa: S608
                    "sent_at = o.sent_at FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[])"
                    " AS o (id, status, error, sent_at) WHERE m.id = o.id",
                    [[m.pk for m in self.handed], [m.status for m in self.handed], [m.error for m in self.handed],
                     [m.sent_at for m in self.handed]])
            self.handed = []
        self.settled_at = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        if self.mail is not None:
            self.mail.close()
