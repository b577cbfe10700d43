"""Campaigns: the audience is frozen when sending starts (one INSERT … SELECT), then sent in chunks at
the campaign's rate by Celery tasks that can die at any moment and be followed by another:

- one task sends one chunk (about a minute of the campaign's rate, ``CAMPAIGN_CHUNK_SECONDS``) and queues
  the next, which any worker picks up: a campaign of 100,000 never holds a worker for its whole run, and
  what else waits on the queue runs between two chunks;

- each recipient's message has the key ``campaign:<id>:<person>``, so a second run never sends twice
  (``channels.message_send`` returns the first outcome, and finishes a message left half-sent);
- whoever is still ``pending`` is sent by the next run, so nobody is skipped;
- a run writes a heartbeat; ``campaigns_resume`` (every few minutes) restarts campaigns whose
  heartbeat stopped, and starts scheduled ones whose time has come;
- cancelling stops the run before its next batch; quiet hours pause it until they end.
"""

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection, transaction
from django.db.models import Count, DateField, DateTimeField, Exists, ExpressionWrapper, F, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .channels import Courier, Deferred, message_send, messages_record, quiet_until, stale_sending, texts_of
from .models import Campaign, Message, MessageTemplate, Recipient, SendingRules
from .segments import criteria_clean, customers_matching

BATCH = 500
# The chunk in flight: whoever is pending, taken in order; the statuses say what the next chunk has left.
# A run that has not written its heartbeat for this long has died.
HEARTBEAT_STALE = timedelta(minutes=2)


def campaign_create(*, name: str, template: MessageTemplate, criteria: Mapping[str, Any], by: User | None,
                    rate_per_minute: int = 600, scheduled_at: datetime | None = None, attribution_days: int = 30,
                    cost_per_message: Decimal | None = None) -> Campaign:
    if not name.strip():
        raise ValidationError({"name": _("Give the campaign a name.")})
    if not template.is_active:
        raise ValidationError({"template": _("This template is switched off.")})
    campaign = Campaign(name=name.strip(), template=template, criteria=criteria_clean(criteria), created_by=by,
                        rate_per_minute=rate_per_minute, scheduled_at=scheduled_at,
                        attribution_days=attribution_days, cost_per_message=cost_per_message or Decimal(0))
    campaign.full_clean()
    campaign.save()
    return campaign


def audience_freeze(campaign: Campaign) -> int:
    """Everyone matching the criteria now becomes a recipient, in one statement; returns how many."""
    try:
        people_sql, params = customers_matching(campaign.criteria).order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # a condition that holds nobody (a saved segment archived since)
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Recipient._meta.db_table} (campaign_id, person_id, status) "  # noqa: S608 - our own SQL
            f"SELECT %s, audience.person_id, %s FROM ({people_sql}) AS audience (person_id) ON CONFLICT DO NOTHING",
            [campaign.pk, Recipient.Status.PENDING, *params])
        added = cursor.rowcount
    Campaign.objects.filter(pk=campaign.pk).update(recipients_total=F("recipients_total") + added)
    return added


@transaction.atomic
def campaign_start(*, campaign: Campaign, by: User | None, now: datetime | None = None) -> Campaign:
    """Send now (freeze the audience and queue the run) or, with a time to come, when it comes."""
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        raise ValidationError(_("This campaign has already been sent or cancelled."))
    if campaign.scheduled_at and campaign.scheduled_at > now:
        campaign.status = Campaign.Status.SCHEDULED
        campaign.save(update_fields=["status"])
        return campaign
    audience_freeze(campaign)
    campaign.status, campaign.frozen_at, campaign.heartbeat_at = Campaign.Status.SENDING, now, now
    campaign.save(update_fields=["status", "frozen_at", "heartbeat_at"])
    from config.celery import enqueue_on_commit

    from .tasks import campaign_run

    enqueue_on_commit(campaign_run, campaign.pk)
    return campaign


def campaign_cancel(*, campaign: Campaign, by: User | None) -> Campaign:
    updated = Campaign.objects.filter(pk=campaign.pk, status__in=(
        Campaign.Status.DRAFT, Campaign.Status.SCHEDULED, Campaign.Status.SENDING)).update(
        status=Campaign.Status.CANCELLED, finished_at=timezone.now())
    if not updated:
        raise ValidationError(_("This campaign has already finished."))
    campaign.refresh_from_db()
    return campaign


def campaign_send(campaign_id: int, *, batch: int = BATCH, sleep: Any = time.sleep,
                  chunk: int | None = None) -> str:
    """Send to whoever of the campaign is still pending, batch by batch at its rate, at most ``chunk``
    messages (unbounded without). Returns why it stopped: "more" (the chunk is sent, others are pending:
    the caller queues the next), "done", "cancelled", "deferred" (quiet hours; the caller re-queues),
    "in flight" (only messages a dead run left half-sent remain: the resume restarts it once they are
    stale), "running elsewhere" or "not sending"."""
    if getattr(connection.tenant, "status", "") == "suspended":
        return "not sending"  # a suspended dealer group's customers hear nothing from it
    # One run per campaign at a time: a session advisory lock, released when the run ends or its
    # worker dies (the connection closes). A second run started meanwhile leaves at once.
    lock = f"campaign:{connection.schema_name}:{campaign_id}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [lock])
        if not cursor.fetchone()[0]:
            return "running elsewhere"
    try:
        return _send(campaign_id, batch, sleep, chunk)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [lock])


def chunk_size(campaign: Campaign) -> int:
    """How many messages one task sends: about ``CAMPAIGN_CHUNK_SECONDS`` of the campaign's rate."""
    return max(1, campaign.rate_per_minute * settings.CAMPAIGN_CHUNK_SECONDS // 60)


def _send(campaign_id: int, batch: int, sleep: Any, chunk: int | None) -> str:
    campaign = Campaign.objects.select_related("template").get(pk=campaign_id)
    rules = SendingRules.current()  # once a run (a chunk): a change in the settings applies from the next chunk
    texts = texts_of(campaign.template)
    interval = 60.0 / campaign.rate_per_minute
    batch = min(batch, max(1, campaign.rate_per_minute // 6))  # at most ten seconds of the rate between heartbeats
    in_flight: set[int] = set()  # messages another (dead?) run left half-sent; finished once stale
    settled = 0  # messages this chunk sent, refused or failed (half-sent ones it met do not count)
    started, handed = time.monotonic(), 0

    def paced_cancelled(courier: Courier | None = None) -> bool:
        """Wait for the next message's turn at the campaign's rate; whether the campaign was cancelled meanwhile
        (asked only after a wait: at full speed a cancel takes effect at the next batch). What was handed over
        is written down before waiting."""
        if (wait := started + handed * interval - time.monotonic()) <= 0:
            return False
        if courier is not None:
            courier.settle()
        sleep(wait)
        return Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.CANCELLED).exists()

    while True:
        # The heartbeat, and whether the campaign is still sending, in one statement a batch.
        if not Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING).update(
                heartbeat_at=timezone.now()):
            status = Campaign.objects.values_list("status", flat=True).get(pk=campaign_id)
            return "cancelled" if status == Campaign.Status.CANCELLED else "not sending"
        pending = list(Recipient.objects.select_related("person__rooftop")
                       .filter(campaign_id=campaign_id, status=Recipient.Status.PENDING).exclude(pk__in=in_flight)
                       .order_by("id")[:batch])
        if not pending and in_flight:
            return "in flight"
        if not pending:
            Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING).update(
                status=Campaign.Status.DONE, finished_at=timezone.now())
            return "done"
        if chunk is not None and settled >= chunk:
            return "more"
        pending = pending[:None if chunk is None else chunk - settled]
        now = timezone.now()
        if (until := quiet_until(now, rules)) is not None:
            # Quiet hours: not dead, resting. The resume looks again only after they end.
            Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=until)
            return "deferred"
        keys = {recipient.person_id: f"campaign:{campaign_id}:{recipient.person_id}" for recipient in pending}
        recipient_of = {recipient.person_id: recipient for recipient in pending}
        existing = {message.key: message for message in Message.objects.filter(key__in=keys.values())}
        outcomes: dict[int, Message] = {}  # recipient id -> its message, settled
        fresh = []
        for recipient in pending:
            message = existing.get(keys[recipient.person_id])
            if message is None:
                fresh.append(recipient.person)
                continue
            if message.status == Message.Status.SENDING and message.created_at < timezone.now() - stale_sending():
                # Left half-sent by a run that died: finished through the single-message gate, as things are now.
                if paced_cancelled():
                    _recipients_write(campaign_id, outcomes)
                    return "cancelled"
                result = message_send(person=recipient.person, template=campaign.template, key=message.key,
                                      rules=rules)
                if isinstance(result, Deferred):
                    _recipients_write(campaign_id, outcomes)
                    Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=result.until)
                    return "deferred"
                message, handed = result, handed + 1
            if message.status == Message.Status.SENDING:
                in_flight.add(recipient.pk)
            else:
                outcomes[recipient.pk] = message
        refused, outgoing = messages_record(people=fresh, template=campaign.template, keys=keys, texts=texts,
                                            now=now, rules=rules)
        outcomes.update((recipient_of[message.person_id].pk, message) for message in refused)
        with Courier(rules) as courier:
            for index, item in enumerate(outgoing):
                if paced_cancelled(courier):
                    # Nothing more goes out, not even in this batch: what was not handed over is taken back (what was,
                    # the wait wrote down).
                    Message.objects.filter(pk__in=[later.message.pk for later in outgoing[index:]],
                                           status=Message.Status.SENDING).delete()
                    _recipients_write(campaign_id, outcomes)
                    return "cancelled"
                outcomes[recipient_of[item.message.person_id].pk] = courier.hand_over(item)
                handed += 1
            courier.settle()
        _recipients_write(campaign_id, outcomes)
        settled += len(outcomes)


_RECIPIENT_STATUS = {Message.Status.SENT: Recipient.Status.SENT, Message.Status.REFUSED: Recipient.Status.REFUSED,
                     Message.Status.FAILED: Recipient.Status.FAILED}


# The recipients still pending take their outcome, and the campaign's counters grow by what changed: one
# statement, so the counters never disagree with the statuses, whatever stops the run.
_RECIPIENTS_WRITE = """
WITH settled AS (
    UPDATE {recipient} AS r SET status = o.status, message_id = o.message_id
    FROM unnest(%(ids)s::bigint[], %(statuses)s::text[], %(messages)s::bigint[]) AS o (id, status, message_id)
    WHERE r.id = o.id AND r.status = %(pending)s
    RETURNING r.status
)
UPDATE {campaign} SET sent_count = sent_count + (SELECT count(*) FROM settled WHERE status = %(sent)s),
                      refused_count = refused_count + (SELECT count(*) FROM settled WHERE status = %(refused)s),
                      failed_count = failed_count + (SELECT count(*) FROM settled WHERE status = %(failed)s)
WHERE id = %(campaign_id)s
"""


def _recipients_write(campaign_id: int, outcomes: dict[int, Message]) -> None:
    """Each recipient's status and message, from its settled message, and the campaign's counters."""
    if not outcomes:
        return
    with connection.cursor() as cursor:
        cursor.execute(_RECIPIENTS_WRITE.format(recipient=Recipient._meta.db_table, campaign=Campaign._meta.db_table), {
            "ids": list(outcomes), "statuses": [_RECIPIENT_STATUS[message.status] for message in outcomes.values()],
            "messages": [message.pk for message in outcomes.values()], "pending": Recipient.Status.PENDING,
            "sent": Recipient.Status.SENT, "refused": Recipient.Status.REFUSED, "failed": Recipient.Status.FAILED,
            "campaign_id": campaign_id})


def _scheduled_due(now: datetime) -> Q:
    return Q(status=Campaign.Status.SCHEDULED, scheduled_at__lte=now)


def _stalled(now: datetime) -> Q:
    return Q(status=Campaign.Status.SENDING, heartbeat_at__lt=now - HEARTBEAT_STALE)


def campaigns_due_condition(now: datetime | None = None) -> Q:
    """Campaigns the periodic job has work for: scheduled ones whose time has come, sending ones whose run
    stopped writing its heartbeat (the fan-out sends the job only to groups that have one: ``crm.core.due``)."""
    now = now or timezone.now()
    return _scheduled_due(now) | _stalled(now)


def campaigns_due(now: datetime | None = None) -> list[int]:
    """Campaigns to (re)start: scheduled ones whose time has come (started here), and sending ones
    whose run stopped writing its heartbeat."""
    now = now or timezone.now()
    for campaign in Campaign.objects.filter(_scheduled_due(now)):
        try:
            campaign_start(campaign=campaign, by=None, now=now)
        except ValidationError:
            continue  # cancelled or started meanwhile
    return list(Campaign.objects.filter(_stalled(now)).values_list("pk", flat=True))


def campaign_results(campaign: Campaign) -> dict[str, int]:
    """Recipients by outcome, refusals by reason, and of the e-mails sent (``emailed``) how many were
    ``opened`` and ``clicked``; one query each."""
    from .models import MessageChannel

    counts = Recipient.objects.filter(campaign=campaign).aggregate(
        total=Count("pk"), **{status: Count("pk", filter=Q(status=status)) for status in Recipient.Status.values})
    messages = Message.objects.filter(key__startswith=f"campaign:{campaign.pk}:")
    reasons = dict(messages.filter(status=Message.Status.REFUSED)
                   .values_list("reason").annotate(n=Count("pk")).values_list("reason", "n"))
    tracked = messages.filter(status=Message.Status.SENT, channel=MessageChannel.EMAIL).aggregate(
        emailed=Count("pk"), opened=Count("pk", filter=Q(opened_at__isnull=False)),
        clicked=Count("pk", filter=Q(clicked_at__isnull=False)))
    return {**counts, **tracked, **{f"reason_{reason}": n for reason, n in reasons.items()}}


def campaign_attribution(campaign: Campaign) -> dict[str, Any]:
    """What recipients did within the campaign's window after their message was sent: service bookings
    made, workshop visits (and what they spent), prospects registered; and a simple ROI against the
    messages' cost. Four queries. Only recipients whose message went out count."""
    from crm.sales.models import Prospect
    from crm.service.models import Appointment, ServiceVisit

    window = timedelta(days=campaign.attribution_days)
    reached = Recipient.objects.filter(campaign=campaign, status=Recipient.Status.SENT, message__sent_at__isnull=False)

    def within(model: type, column: str) -> Exists:
        return Exists(model.objects.filter(**{
            "person_id": OuterRef("person_id"), f"{column}__gte": OuterRef("message__sent_at"),
            f"{column}__lt": ExpressionWrapper(OuterRef("message__sent_at") + window, output_field=DateTimeField())}))

    booked = reached.filter(within(Appointment, "created_at")).count()
    prospects = reached.filter(within(Prospect, "created_at")).count()
    visits = ServiceVisit.objects.filter(Exists(reached.filter(
        person_id=OuterRef("person_id"), message__sent_at__date__lte=OuterRef("opened_on"),
        message__sent_at__date__gt=ExpressionWrapper(OuterRef("opened_on") - window, output_field=DateField()))))
    spent = visits.aggregate(count=Count("pk"), revenue=Sum("total_amount"))
    sent = reached.count()
    cost = campaign.cost_per_message * sent
    revenue = spent["revenue"] or Decimal(0)
    return {"sent": sent, "booked": booked, "visits": spent["count"], "revenue": revenue, "prospects": prospects,
            "cost": cost, "roi": round((revenue - cost) / cost * 100, 1) if cost else None}
