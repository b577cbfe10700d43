"""Points and referral rewards, earned by what the CRM already records: closed workshop visits, club
events attended, referred friends who bought or came to the workshop.

Each kind is one INSERT … SELECT keyed by its source (``visit:<id>``, ``event:<invitation id>``,
``referral:<prospect id>``) against a unique index, so the hourly run, a rerun or a run that
overlaps another never credits anything twice. Visits from the CRM, the DMS import and the API all
count the same, because the run reads visits rather than being told about them.
"""

from datetime import timedelta

from django.db import IntegrityError, connection
from django.utils import timezone

from crm.customers.models import Person
from crm.marketing.models import Event, EventInvitation
from crm.sales.models import Opportunity, Prospect, Stage
from crm.service.models import ServiceVisit

from .models import ClubRules, Membership, PointsEntry, Voucher
from .services import _voucher_create

# A visit closed (or imported) up to this long ago still earns its points.
VISIT_LOOKBACK = timedelta(days=90)


def _tables() -> dict[str, str]:
    return {"entry": PointsEntry._meta.db_table, "member": Membership._meta.db_table,
            "visit": ServiceVisit._meta.db_table, "invitation": EventInvitation._meta.db_table,
            "event": Event._meta.db_table, "prospect": Prospect._meta.db_table,
            "opportunity": Opportunity._meta.db_table, "person": Person._meta.db_table,
            "voucher": Voucher._meta.db_table}


# The visit's points are capped: a tiny "spend per point" in a large currency must not overflow the column.
VISITS = (
    "INSERT INTO {entry} (person_id, points, kind, note, source_key, visit_id, created_at) "
    "SELECT v.person_id, LEAST(floor(v.total_amount / %(per)s), 1000000)::int, 'service', '', 'visit:' || v.id, "
    "v.id, %(now)s FROM {visit} v JOIN {member} m ON m.person_id = v.person_id AND m.left_at IS NULL "
    "WHERE v.status = 'closed' AND (v.closed_on >= %(since)s OR v.created_at >= %(since_at)s) "
    "AND v.closed_on >= (m.joined_at AT TIME ZONE %(tz)s)::date AND v.total_amount >= %(per)s "
    "FOR KEY SHARE OF m "  # waits for a member leaving right now, then sees that they left
    "ON CONFLICT (source_key) WHERE source_key <> '' DO NOTHING")
EVENTS = (
    "INSERT INTO {entry} (person_id, points, kind, note, source_key, created_at) "
    "SELECT i.person_id, %(event_points)s, 'event', left(e.name, 300), 'event:' || i.id, %(now)s "
    "FROM {invitation} i JOIN {event} e ON e.id = i.event_id AND e.kind = %(club)s "
    "JOIN {member} m ON m.person_id = i.person_id AND m.left_at IS NULL "
    "WHERE i.checked_in_at IS NOT NULL AND i.checked_in_at >= m.joined_at FOR KEY SHARE OF m "
    "ON CONFLICT (source_key) WHERE source_key <> '' DO NOTHING")
# Points for a referral go to members only; an owner who joins later collects what is waiting.
REFERRALS = (
    "INSERT INTO {entry} (person_id, points, kind, note, source_key, created_at) "
    "SELECT due.referrer, %(referral_points)s, 'referral', '', 'referral:' || due.id, %(now)s "
    "FROM ({due}) AS due (id, referrer) JOIN {member} m ON m.person_id = due.referrer AND m.left_at IS NULL "
    "ON CONFLICT (source_key) WHERE source_key <> '' DO NOTHING")
# Each friend once (the first of their referral prospects), to the referrer's record as it is now (merges
# are followed to the end), never to the friend themself, and not for someone who was already a customer
# of the workshop before the referral.
REFERRALS_DUE = (
    "WITH RECURSIVE survivor(start, id, next) AS ("
    " SELECT r.id, r.id, r.merged_into_id FROM {person} r"
    " WHERE r.id IN (SELECT referrer_id FROM {prospect} WHERE referrer_id IS NOT NULL)"
    " UNION ALL SELECT s.start, n.id, n.merged_into_id FROM survivor s JOIN {person} n ON n.id = s.next) "
    "SELECT DISTINCT ON (p.person_id) p.id, s.id FROM {prospect} p "
    "JOIN survivor s ON s.start = p.referrer_id AND s.next IS NULL "
    "JOIN {person} f ON f.id = p.person_id "
    "WHERE f.merged_into_id IS NULL AND s.id <> p.person_id AND {trigger} "
    "AND NOT EXISTS (SELECT 1 FROM {visit} old WHERE old.person_id = p.person_id AND old.status = 'closed' "
    "AND old.closed_on < p.registered_on) "
    "AND NOT EXISTS (SELECT 1 FROM {prospect} q WHERE q.person_id = p.person_id AND q.referrer_id IS NOT NULL "
    "AND (EXISTS (SELECT 1 FROM {entry} x WHERE x.source_key = 'referral:' || q.id) "
    "OR EXISTS (SELECT 1 FROM {voucher} x WHERE x.source_key = 'referral:' || q.id))) "
    "ORDER BY p.person_id, p.registered_on, p.id")


def _sql(template: str, tables: dict[str, str]) -> str:
    """A statement above with the models' table names filled in (never anything from a user)."""
    return template.format(**tables)


def _referrals_due_sql(rules: ClubRules) -> str:
    """The referral prospects whose friend has now bought or visited, not yet rewarded either way."""
    bought = ("EXISTS (SELECT 1 FROM {opportunity} o WHERE o.prospect_id = p.id AND o.stage = %(delivered)s "
              "AND o.delivered_on IS NOT NULL)")
    visited = ("EXISTS (SELECT 1 FROM {visit} v WHERE v.person_id = p.person_id AND v.status = 'closed' "
               "AND v.closed_on >= p.registered_on)")
    trigger = {ClubRules.ReferralTrigger.PURCHASE: bought, ClubRules.ReferralTrigger.FIRST_VISIT: visited,
               ClubRules.ReferralTrigger.EITHER: f"({bought} OR {visited})"}[rules.referral_trigger]
    return REFERRALS_DUE.replace("{trigger}", trigger)


def points_accrue() -> dict[str, int]:
    """Credit what has been earned since the last run; returns how many entries or vouchers each kind made."""
    rules = ClubRules.current()
    tables = _tables()
    now = timezone.now()
    params = {"now": now, "per": rules.spend_per_point, "tz": timezone.get_current_timezone_name(),
              "since": timezone.localdate() - VISIT_LOOKBACK, "since_at": now - VISIT_LOOKBACK,
              "event_points": rules.event_points,
              "club": Event.Kind.CLUB, "delivered": Stage.DELIVERED, "referral_points": rules.referral_points}
    made = {"service": 0, "event": 0, "referral": 0}
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(VISITS, tables), params)
        made["service"] = cursor.rowcount
        if rules.event_points:
            cursor.execute(
                _sql(EVENTS, tables), params)
            made["event"] = cursor.rowcount
        if rules.referral_reward == ClubRules.ReferralReward.POINTS:
            if rules.referral_points:
                cursor.execute(
                    _sql(REFERRALS.replace("{due}", _referrals_due_sql(rules)), tables), params)
                made["referral"] = cursor.rowcount
        elif rules.referral_voucher:
            cursor.execute(_sql(_referrals_due_sql(rules), tables), params)
            for prospect_id, referrer_id in cursor.fetchall():
                try:
                    _voucher_create(person=Person(pk=referrer_id), description=rules.referral_voucher,
                                    source=Voucher.Source.REFERRAL, source_key=f"referral:{prospect_id}")
                except IntegrityError:  # another run issued it a moment ago
                    continue
                made["referral"] += 1
    return made
