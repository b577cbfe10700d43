"""The daily reminder job: due reminders become messages to customers (only where the consent ledger
allows, in their language, outside quiet hours) and tasks for staff — never twice for the same
reason and period (a unique row per kind, customer, car and period).

Due dates:
- maintenance: the earlier of the last service + the interval's months and the day the car
  reaches the last service's mileage + the interval's km, at the pace its mileage readings show;
- inspection, insurance, warranty: the car's own dates;
- seasonal tyres: before the autumn and spring windows of the customer's rooftop's region (the
  group's default: 15 October and 1 April);
- holidays the group lists: greetings to customers with marketing consent.

Birthday greetings, the care call after a purchase and the declined-work follow-up are marketing
automations now (crm/marketing/automations.py), which the dealer edits.
"""

import zoneinfo
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from django.core.mail import EmailMessage
from django.db import connection
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.customers.models import ConsentChannel, ConsentPurpose, MileageReading, Person, Vehicle, VehicleLink
from crm.customers.selectors import consent_allows
from crm.customers.services import tenant_language

from .models import (
    AUTOMATED_KINDS,
    Holiday,
    MaintenanceInterval,
    Reminder,
    ReminderKind,
    ReminderRule,
    ServiceVisit,
    TyreSeason,
)

TYRE_WINDOWS = ((10, 15, "autumn"), (4, 1, "spring"))
QUIET_BEFORE, QUIET_AFTER = time(9), time(20)


def _holders() -> dict[int, VehicleLink]:
    """Each car's current person: its owner, else its user or driver."""
    holders: dict[int, VehicleLink] = {}
    links = VehicleLink.objects.filter(ended_on__isnull=True, person__isnull=False,
                                       person__merged_into__isnull=True, person__archived_at__isnull=True)
    for link in links.select_related("vehicle", "person").order_by("vehicle_id", "pk"):
        if link.vehicle_id not in holders or link.kind == VehicleLink.Kind.OWNER:
            holders[link.vehicle_id] = link
    return holders


def _interval(intervals: list[MaintenanceInterval], make: str, model: str) -> MaintenanceInterval | None:
    best = None
    for interval in intervals:
        if interval.make and interval.make.lower() != make.lower():
            continue
        if interval.model and interval.model.lower() != model.lower():
            continue
        if best is None or (bool(interval.make), bool(interval.model)) > (bool(best.make), bool(best.model)):
            best = interval
    return best


def maintenance_due(last_service: date, last_service_km: int | None, readings: tuple | None,
                    interval: MaintenanceInterval) -> date:
    """The earlier of the time limit and the day the km limit is reached at the car's own pace."""
    by_time = last_service + relativedelta(months=interval.every_months)
    if last_service_km is None or readings is None:
        return by_time
    (first_day, first_km), (last_day, last_km) = readings
    days = (last_day - first_day).days
    if days <= 0 or last_km <= first_km or last_km < last_service_km:
        return by_time  # no pace to go by, or readings that do not add up
    per_day = (last_km - first_km) / days
    days_left = (last_service_km + interval.every_km - last_km) / per_day
    if days_left > (by_time - last_day).days:
        return by_time  # a slow car: the months come first (and no far-future date arithmetic)
    return last_day + timedelta(days=int(days_left))


def next_maintenance(cars: list[Vehicle]) -> dict[int, tuple[date, date]]:
    """Each car's next maintenance (``maintenance_due``) and the service it counts from (the last visit,
    else the purchase), in four queries; cars with neither, or no interval for their make, are left out."""
    ids = [car.pk for car in cars]
    intervals = list(MaintenanceInterval.objects.all())
    last_visits = {row["vehicle_id"]: row["last"] for row in ServiceVisit.objects.filter(
        vehicle_id__in=ids).values("vehicle_id").annotate(last=Max("opened_on"))}
    visit_km = dict(ServiceVisit.objects.filter(vehicle_id__in=ids, mileage__isnull=False)
                    .order_by("vehicle_id", "opened_on").values_list("vehicle_id", "mileage"))
    readings: dict[int, tuple] = {}  # each car's first and last reading by date, as read
    for vehicle_id, read_on, km in MileageReading.objects.filter(vehicle_id__in=ids).order_by(
            "vehicle_id", "read_on", "pk").values_list("vehicle_id", "read_on", "kilometres"):
        first = readings.get(vehicle_id, ((read_on, km),))[0]
        readings[vehicle_id] = (first, (read_on, km))
    due: dict[int, tuple[date, date]] = {}
    for car in cars:
        last = last_visits.get(car.pk) or car.purchase_date
        interval = _interval(intervals, car.make, car.model)
        if last is not None and interval is not None:
            due[car.pk] = (maintenance_due(last, visit_km.get(car.pk), readings.get(car.pk), interval), last)
    return due


def reminders_create(today: date | None = None) -> int:
    """Create the reminders due within each enabled rule's horizon. Returns how many are new."""
    today = today or timezone.localdate()
    rules = {rule.kind: rule for rule in ReminderRule.objects.filter(enabled=True).exclude(kind__in=AUTOMATED_KINDS)}
    holders = _holders()
    new: list[Reminder] = []

    def add(kind: str, person_id: int, vehicle_id: int | None, due: date, period: str) -> None:
        new.append(Reminder(kind=kind, person_id=person_id, vehicle_id=vehicle_id, due_on=due, period=period))

    def horizon(kind: str) -> date | None:
        return today + timedelta(days=rules[kind].days_ahead) if kind in rules else None

    if end := horizon(ReminderKind.MAINTENANCE):
        for vehicle_id, (due, last) in next_maintenance([link.vehicle for link in holders.values()]).items():
            if due <= end:
                person_id = holders[vehicle_id].person_id
                add(ReminderKind.MAINTENANCE, person_id, vehicle_id, due, f"after-{last.isoformat()}")
    for kind, field in ((ReminderKind.INSPECTION, "inspection_due"), (ReminderKind.INSURANCE, "insurance_expiry"),
                        (ReminderKind.WARRANTY, "warranty_end")):
        if end := horizon(kind):
            for vehicle_id, link in holders.items():
                due = getattr(link.vehicle, field)
                if due and today <= due <= end:
                    add(kind, link.person_id, vehicle_id, due, due.isoformat())
    if end := horizon(ReminderKind.TYRES):
        seasons = {season.rooftop_id: season for season in TyreSeason.objects.all()}
        default = seasons.get(None)
        for vehicle_id, link in holders.items():
            season = seasons.get(link.person.rooftop_id, default)
            windows = ((season.autumn, "autumn"), (season.spring, "spring")) if season else (
                (date(2000, month, day), name) for month, day, name in TYRE_WINDOWS)
            for window, name in windows:
                try:
                    start = date(today.year, window.month, window.day)
                except ValueError:  # 29 February in a common year
                    start = date(today.year, 2, 28)
                if today <= start <= end:
                    add(ReminderKind.TYRES, link.person_id, vehicle_id, start, f"{today.year}-{name}")
    if end := horizon(ReminderKind.HOLIDAY):
        reachable = Person.objects.active().filter(emails__isnull=False).values_list("pk", flat=True).distinct()
        for holiday in Holiday.objects.filter(day__month=end.month, day__day=end.day):
            for person_id in reachable:
                add(ReminderKind.HOLIDAY, person_id, None, end, f"holiday-{holiday.pk}-{end.year}")
    before = Reminder.objects.count()
    Reminder.objects.bulk_create(new, ignore_conflicts=True)
    return Reminder.objects.count() - before


SUBJECTS = {
    ReminderKind.MAINTENANCE: lambda r: _("Your %(vehicle)s is due for its service") % {"vehicle": r.vehicle},
    ReminderKind.TYRES: lambda r: _("Time to change tyres"),
    ReminderKind.INSPECTION: lambda r: _("State inspection due for your %(vehicle)s") % {"vehicle": r.vehicle},
    ReminderKind.INSURANCE: lambda r: _("Your car insurance ends soon"),
    ReminderKind.WARRANTY: lambda r: _("The warranty of your %(vehicle)s ends soon") % {"vehicle": r.vehicle},
    ReminderKind.HOLIDAY: lambda r: _("Season's greetings from your dealership"),
}
PURPOSE = {ReminderKind.HOLIDAY: ConsentPurpose.MARKETING}


def reminders_send(now: datetime | None = None) -> dict[str, int]:
    """Handle pending reminders: a message where the rule says so and the ledger allows it, in daytime
    in the dealer group's time zone; a task for the responsible employee where the rule says so."""
    now = now or timezone.now()
    counts = {"sent": 0, "no_consent": 0, "task": 0}
    if getattr(connection.tenant, "status", "") == "suspended":
        return counts  # a suspended dealer group's customers hear nothing from it
    tz = zoneinfo.ZoneInfo(getattr(connection.tenant, "timezone", "UTC") or "UTC")
    daytime = QUIET_BEFORE <= now.astimezone(tz).time() < QUIET_AFTER
    rules = {rule.kind: rule for rule in ReminderRule.objects.filter(enabled=True)}  # switched off: nothing goes
    pending = Reminder.objects.filter(status=Reminder.Status.PENDING, due_on__lte=now.date() + timedelta(days=60))
    for reminder in pending.select_related("person", "vehicle").order_by("pk"):
        rule = rules.get(reminder.kind)
        if rule is None:
            continue
        status = Reminder.Status.DONE
        if rule.message and reminder.kind in SUBJECTS:
            if not daytime:
                continue  # stays pending until the morning
            purpose = PURPOSE.get(reminder.kind, ConsentPurpose.SERVICE_REMINDERS)
            address = reminder.person.email_address()
            if address and consent_allows(reminder.person, channel=ConsentChannel.EMAIL, purpose=purpose):
                # Claimed before sending: a second run, or a retry after a crash, never sends it again.
                if not Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.PENDING).update(
                        status=Reminder.Status.SENT, sent_at=now):
                    continue
                _send(reminder, address)
                status, reminder.sent_at = Reminder.Status.SENT, now
                counts["sent"] += 1
                if not rule.task:
                    continue
            else:
                status = Reminder.Status.NO_CONSENT
                counts["no_consent"] += 1
        if rule.task or reminder.kind not in SUBJECTS:  # kinds with no customer message are calls to make
            person = reminder.person
            reminder.assigned_to_id = person.service_advisor_id or person.salesperson_id
            status = Reminder.Status.TASK
            counts["task"] += 1
        # Claimed by a conditional update: two runs at once handle each reminder once.
        Reminder.objects.filter(pk=reminder.pk, status__in=[Reminder.Status.PENDING, Reminder.Status.SENT]).update(
            status=status, sent_at=reminder.sent_at, assigned_to=reminder.assigned_to_id)
    return counts


def _send(reminder: Reminder, address: str) -> None:
    with translation.override(reminder.person.preferred_language or tenant_language()):
        subject = SUBJECTS[reminder.kind](reminder)
        body = _("Dear %(name)s,\n\n%(subject)s (%(date)s). Reply to this e-mail or call us to book a time that "
                 "suits you.\n") % {"name": reminder.person, "subject": subject, "date": reminder.due_on.isoformat()}
    EmailMessage(subject, body, to=[address]).send()
