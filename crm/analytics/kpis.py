"""The KPIs HQ compares dealer groups on, computed inside one dealer group's schema for one period.

One written definition per KPI (``KPIS``, and ``docs/kpis.md`` which says the same in words), the
same code for every tenant. The result holds numbers only, per rooftop id and for the whole group
(rooftop ``None``): nothing that names or identifies a customer ever leaves the schema.

Each KPI is counted per rooftop from a fixed attribution (``by``), and the group's figure is the
sum of its rooftops' parts (and of what no rooftop is attributed to), so rooftops always add up to
the group. A rate is kept as its two parts until the end, never averaged from rooftop rates.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.customers.models import DuplicateCandidate, Person, QualityRules, VehicleLink
from crm.customers.quality import with_staleness
from crm.loyalty.models import Membership
from crm.marketing.models import Event, EventInvitation, Message
from crm.sales.models import Contact, Level, Prospect, Source, Stage
from crm.service.models import Appointment, Reminder, ServiceVisit
from crm.surveys.models import Answer


@dataclass(frozen=True)
class Kpi:
    key: str
    unit: str  # "count", "percent", "money", "hours"
    definition: str


KPIS: tuple[Kpi, ...] = (
    Kpi("customers", "count", "Active customers (not archived, not merged) at the end of the period, by their "
        "rooftop."),
    Kpi("active_vehicles", "count", "Cars held by an active customer when the figures are taken (right after the "
        "period), by the customer's rooftop."),
    Kpi("retention_rate", "percent", "Of those cars, the share with a workshop visit in the 12 months up to the end "
        "of the period."),
    Kpi("visits", "count", "Workshop visits closed in the period, by the visit's rooftop."),
    Kpi("average_ticket", "money", "Total amount of those visits divided by their number (group currency)."),
    Kpi("prospects_h", "count", "Open prospects at level H at the end of the period, by the prospect's rooftop."),
    Kpi("prospects_a", "count", "Open prospects at level A at the end of the period."),
    Kpi("prospects_b", "count", "Open prospects at level B at the end of the period."),
    Kpi("prospects_c", "count", "Open prospects at level C at the end of the period."),
    Kpi("conversion", "percent", "Of the prospects closed in the period, the share closed as ordered (O) rather "
        "than lost (F)."),
    Kpi("lead_response_hours", "hours", "Average hours from a prospect's registration to its first contact, for "
        "prospects registered in the period and contacted."),
    Kpi("club_members", "count", "Club members (not left) at the end of the period, by the member's rooftop."),
    Kpi("referrals", "count", "Referral prospects registered in the period."),
    Kpi("referral_conversion", "percent", "Of the referral prospects registered in the 12 months up to the end of "
        "the period, the share with a delivered car."),
    Kpi("data_completeness", "percent", "Of the active customers, the share with at least one phone number or "
        "e-mail address on file."),
    Kpi("duplicate_rate", "percent", "Duplicate pairs waiting for review at the end of the period per 100 active "
        "customers (group only)."),
    Kpi("stale_contacts", "percent", "Of the active customers, the share with contact data not confirmed within "
        "the group's re-verification periods (phone, e-mail or address), when the figures are taken."),
    Kpi("csi", "score", "Average satisfaction (1 to 5) of the survey answers given in the period, by the "
        "invitation's rooftop."),
    Kpi("nps", "score", "Promoters (9-10) minus detractors (0-6), in % of the survey answers given in the period."),
    Kpi("survey_integrity", "percent", "Of those answers, the share with no sign of fabrication (too fast, same "
        "network or device, clusters of top marks)."),
    Kpi("reminder_conversion", "percent", "Of the service reminders sent in the period, the share followed by an "
        "appointment or a visit of the customer within 30 days, by the customer's rooftop."),
    Kpi("followup_on_time", "percent", "Of the prospect contacts done in the period that had a due date, the share "
        "done on or before it, by the prospect's rooftop."),
    Kpi("club_participation", "percent", "Of the club members at the end of the period, the share who came to a "
        "club event in the 12 months up to it."),
    Kpi("campaign_response", "percent", "Of the marketing e-mails sent in the period, the share whose customer "
        "followed a link in it, by the customer's rooftop."),
)
KPI_KEYS = tuple(kpi.key for kpi in KPIS)
# How screens name each KPI (the definitions above stay in English, like docs/kpis.md).
KPI_LABELS = {
    "customers": _("Customers"), "active_vehicles": _("Active cars"), "retention_rate": _("Retention, %"),
    "visits": _("Workshop visits"), "average_ticket": _("Average ticket"), "prospects_h": _("Prospects H"),
    "prospects_a": _("Prospects A"), "prospects_b": _("Prospects B"), "prospects_c": _("Prospects C"),
    "conversion": _("Conversion, %"), "lead_response_hours": _("Lead response, hours"),
    "club_members": _("Club members"), "referrals": _("Referrals"), "referral_conversion": _("Referrals bought, %"),
    "data_completeness": _("Reachable customers, %"), "duplicate_rate": _("Duplicates per 100 customers"),
    "stale_contacts": _("Stale contacts, %"), "csi": _("CSI (1-5)"), "nps": _("NPS"),
    "survey_integrity": _("Survey integrity, %"), "reminder_conversion": _("Reminder conversion, %"),
    "followup_on_time": _("Follow-ups on time, %"), "club_participation": _("Club participation, %"),
    "campaign_response": _("Campaign response, %"),
}


class _Parts:
    """Per rooftop (None: attributed to none), a counter per part name."""

    def __init__(self) -> None:
        self.by_rooftop: dict[int | None, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))

    def add(self, rows: QuerySet, **parts: str) -> None:
        for row in rows:
            for name, column in parts.items():
                self.by_rooftop[row["place"]][name] += Decimal(row[column] or 0)

    def total(self) -> dict[str, Decimal]:
        summed: dict[str, Decimal] = defaultdict(Decimal)
        for parts in self.by_rooftop.values():
            for name, value in parts.items():
                summed[name] += value
        return summed


def _ratio(part: Decimal, whole: Decimal, scale: int = 100) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(scale) * part / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _figures(parts: dict[str, Decimal]) -> dict[str, Decimal | None]:
    get = parts.get
    zero = Decimal(0)
    return {
        "customers": get("customers", zero),
        "active_vehicles": get("held", zero),
        "retention_rate": _ratio(get("kept", zero), get("held", zero)),
        "visits": get("visits", zero),
        "average_ticket": _ratio(get("amount", zero), get("visits", zero), scale=1),
        "prospects_h": get("level_H", zero), "prospects_a": get("level_A", zero),
        "prospects_b": get("level_B", zero), "prospects_c": get("level_C", zero),
        "conversion": _ratio(get("ordered", zero), get("closed", zero)),
        "lead_response_hours": _ratio(get("response_seconds", zero), get("responded", zero) * 3600, scale=1),
        "club_members": get("members", zero),
        "referrals": get("referrals", zero),
        "referral_conversion": _ratio(get("referrals_bought", zero), get("referrals_year", zero)),
        "data_completeness": _ratio(get("reachable", zero), get("customers", zero)),
        "duplicate_rate": _ratio(get("duplicates", zero), get("customers", zero)) if "duplicates" in parts else None,
        "stale_contacts": _ratio(get("stale", zero), get("customers", zero)),
        "csi": _ratio(get("satisfaction", zero), get("answers", zero), scale=1),
        "nps": _ratio(get("promoters", zero) - get("detractors", zero), get("answers", zero)),
        "survey_integrity": _ratio(get("clean_answers", zero), get("answers", zero)),
        "reminder_conversion": _ratio(get("reminders_converted", zero), get("reminders", zero)),
        "followup_on_time": _ratio(get("contacts_on_time", zero), get("contacts_due", zero)),
        "club_participation": _ratio(get("members_came", zero), get("members", zero)),
        "campaign_response": _ratio(get("emails_clicked", zero), get("emails", zero)),
    }


def _service_and_marketing(parts: _Parts, *, start: date, end: date, start_at: datetime, end_at: datetime,
                           year_ago: date) -> None:
    answers = Answer.objects.filter(answered_at__gte=start_at, answered_at__lt=end_at).values(
        place=F("invitation__rooftop_id")).order_by()
    parts.add(answers.annotate(n=Count("pk"), satisfaction=Sum("satisfaction"),
                               promoters=Count("pk", filter=Q(recommend__gte=9)),
                               detractors=Count("pk", filter=Q(recommend__lte=6)),
                               clean=Count("pk", filter=Q(signals=[]))),
              answers="n", satisfaction="satisfaction", promoters="promoters", detractors="detractors",
              clean_answers="clean")
    sent_at, sent_day, month = OuterRef("sent_at"), OuterRef("sent_day"), timedelta(days=30)
    followed = (Exists(Appointment.objects.filter(person_id=OuterRef("person_id"), created_at__gte=sent_at,
                                                  created_at__lte=sent_at + month))
                | Exists(ServiceVisit.objects.filter(person_id=OuterRef("person_id"), opened_on__gte=sent_day,
                                                     opened_on__lte=sent_day + month)))
    reminders = Reminder.objects.filter(status=Reminder.Status.SENT, sent_at__gte=start_at, sent_at__lt=end_at)
    parts.add(reminders.annotate(sent_day=TruncDate("sent_at")).annotate(followed=followed).values(place=F("person__rooftop_id"))
              .annotate(n=Count("pk"), converted=Count("pk", filter=Q(followed=True))).order_by(),
              reminders="n", reminders_converted="converted")
    contacts = Contact.objects.filter(done_at__gte=start_at, done_at__lt=end_at, due_by__isnull=False)
    parts.add(contacts.values(place=F("prospect__rooftop_id")).annotate(
        n=Count("pk"), on_time=Count("pk", filter=Q(done_at__date__lte=F("due_by")))).order_by(),
              contacts_due="n", contacts_on_time="on_time")
    came = EventInvitation.objects.filter(person_id=OuterRef("person_id"), event__kind=Event.Kind.CLUB,
                                          checked_in_at__date__gt=year_ago, checked_in_at__lt=end_at)
    members = Membership.objects.filter(joined_at__lt=end_at).filter(Q(left_at__isnull=True) | Q(left_at__gte=end_at))
    parts.add(members.annotate(came=Exists(came)).values(place=F("person__rooftop_id"))
              .annotate(n=Count("pk", filter=Q(came=True))).order_by(), members_came="n")
    emails = Message.objects.filter(channel="email", purpose="marketing", status=Message.Status.SENT,
                                    sent_at__gte=start_at, sent_at__lt=end_at)
    parts.add(emails.values(place=F("person__rooftop_id")).annotate(
        n=Count("pk"), clicked=Count("pk", filter=Q(clicked_at__isnull=False))).order_by(),
              emails="n", emails_clicked="clicked")


def kpis_compute(*, start: date, end: date) -> dict[int | None, dict[str, Decimal | None]]:
    """Every KPI for the period ``start``–``end`` (both included): per rooftop id, and for the whole group
    under ``None``. Runs in the current schema; a fixed number of aggregate queries."""
    tz = timezone.get_current_timezone()
    end_at = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    start_at = datetime.combine(start, time.min, tzinfo=tz)
    year_ago = end - relativedelta(months=12)
    parts = _Parts()

    people = Person.objects.active().filter(created_at__lt=end_at).values(place=F("rooftop_id"))
    parts.add(people.annotate(n=Count("pk", distinct=True), reachable=Count("pk", filter=Q(phones__isnull=False)
                                                                  | Q(emails__isnull=False), distinct=True))
              .order_by(), customers="n", reachable="reachable")
    stale = with_staleness(Person.objects.active().filter(created_at__lt=end_at), QualityRules.current())
    parts.add(stale.values(place=F("rooftop_id")).annotate(n=Sum("stale")).order_by(), stale="n")
    held = (VehicleLink.objects.filter(ended_on__isnull=True, person__archived_at__isnull=True,
                                       person__merged_into__isnull=True)
            .values(place=F("person__rooftop_id")).order_by())
    parts.add(held.annotate(held=Count("vehicle", distinct=True),
                            kept=Count("vehicle", distinct=True, filter=Q(
                                vehicle__visits__opened_on__gt=year_ago, vehicle__visits__opened_on__lte=end))),
              held="held", kept="kept")
    visits = ServiceVisit.objects.filter(status=ServiceVisit.Status.CLOSED, closed_on__gte=start, closed_on__lte=end)
    parts.add(visits.values(place=F("rooftop_id")).annotate(n=Count("pk"), amount=Sum("total_amount")).order_by(),
              visits="n", amount="amount")
    open_prospects = Prospect.objects.filter(registered_on__lte=end).filter(
        Q(closed_on__isnull=True) | Q(closed_on__gt=end)).values(place=F("rooftop_id")).order_by()
    parts.add(open_prospects.annotate(**{f"level_{level}": Count("pk", filter=Q(level=level))
                                         for level in ("H", "A", "B", "C")}),
              **{f"level_{level}": f"level_{level}" for level in ("H", "A", "B", "C")})
    closed = Prospect.objects.filter(closed_on__gte=start, closed_on__lte=end).values(
        place=F("rooftop_id")).order_by()
    parts.add(closed.annotate(n=Count("pk"), ordered=Count("pk", filter=Q(level=Level.O))), closed="n",
              ordered="ordered")
    registered = Prospect.objects.filter(registered_on__gte=start, registered_on__lte=end).values(
        place=F("rooftop_id")).order_by()
    parts.add(registered.annotate(
        responded=Count("pk", filter=Q(first_response_at__isnull=False)),
        referrals=Count("pk", filter=Q(source=Source.REFERRAL))), responded="responded", referrals="referrals")
    for row in registered.filter(first_response_at__isnull=False).annotate(
            wait=Sum(F("first_response_at") - F("created_at"))):
        parts.by_rooftop[row["place"]]["response_seconds"] += Decimal(row["wait"].total_seconds())
    referrals_year = Prospect.objects.filter(source=Source.REFERRAL, registered_on__gt=year_ago,
                                             registered_on__lte=end).values(place=F("rooftop_id")).order_by()
    parts.add(referrals_year.annotate(n=Count("pk", distinct=True), bought=Count("pk", distinct=True, filter=Q(
        opportunities__stage=Stage.DELIVERED, opportunities__delivered_on__lte=end))),
              referrals_year="n", referrals_bought="bought")
    members = Membership.objects.filter(joined_at__lt=end_at).filter(Q(left_at__isnull=True) | Q(left_at__gte=end_at))
    parts.add(members.values(place=F("person__rooftop_id")).annotate(n=Count("pk")).order_by(), members="n")

    _service_and_marketing(parts, start=start, end=end, start_at=start_at, end_at=end_at, year_ago=year_ago)

    result = {rooftop: _figures(values) for rooftop, values in parts.by_rooftop.items() if rooftop is not None}
    total = parts.total()
    total["duplicates"] = Decimal(DuplicateCandidate.objects.filter(
        status=DuplicateCandidate.Status.OPEN, found_at__lt=end_at).count())
    result[None] = _figures(total)
    return result

