"""Writes on prospects and deals. Each validates, saves and records history and the customer's timeline
in one transaction; views and tasks call these, never the models directly."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import StaffRole, User
from crm.customers.models import Person, TimelineEntry, Vehicle, VehicleLink
from crm.customers.services import customers_handover, tenant_currency, vehicle_link_add
from crm.customers.timeline import restricted_ref, timeline_event
from crm.dealerships.models import Rooftop
from crm.integrations.models import WebhookEvent
from crm.integrations.webhooks import webhook_emit

from .models import (
    OPEN_STAGES,
    STAGE_PROBABILITY,
    WORKED_LEVELS,
    Cadence,
    CareStep,
    CareTask,
    Contact,
    DemoVehicle,
    History,
    Level,
    Opportunity,
    Outcome,
    Prospect,
    SalesSchedule,
    Stage,
    TestDrive,
    TransferRequest,
)

SELLERS = (StaffRole.SALESPERSON, StaffRole.SALES_MANAGER)
MANAGERS = (StaffRole.SALES_MANAGER, StaffRole.DEALER_ADMIN)
DEFAULT_CADENCE = {"H": (1, 2), "A": (3, 3), "B": (7, 7), "C": (14, 14)}
PROSPECT_FIELDS = ("source", "source_detail", "referrer", "model_interest", "condition", "trade_in", "financing",
                   "notes")


class ProspectHeld(Exception):
    """The customer already has an open prospect: who holds it is in ``prospect.salesperson``."""

    def __init__(self, prospect: Prospect) -> None:
        self.prospect = prospect
        holder = prospect.salesperson or _("nobody yet (waiting for assignment)")
        super().__init__(_("%(customer)s is already a prospect of %(holder)s since %(date)s.") % {
            "customer": prospect.person, "holder": holder, "date": prospect.registered_on.isoformat()})


def cadence_days(level: str) -> tuple[int, int] | None:
    """(next contact after, overdue after) in days for a worked level; None for O and F."""
    if level not in WORKED_LEVELS:
        return None
    row = Cadence.objects.filter(level=level).values_list("min_days", "max_days").first()
    return row or DEFAULT_CADENCE[level]


def plan_after(level: str, day: date) -> tuple[date, date] | None:
    """The next planned contact and the day it is due by, counted from ``day``."""
    days = cadence_days(level)
    if days is None:
        return None
    return day + timedelta(days=days[0]), day + timedelta(days=days[1])


def history_add(prospect: Prospect, kind: str, by: User | None, *, from_value: str = "", to_value: str = "",
             note: str = "") -> History:
    return History.objects.create(prospect=prospect, kind=kind, from_value=str(from_value)[:40],
                                  to_value=str(to_value)[:40], note=note, by=by, at=timezone.now())


def notes_of(prospect: Prospect) -> str:
    """``TimelineEntry.restricted_to`` for what was said in working this prospect (contacts, level reasons,
    enquiries): on the customer's timeline only whoever may open the prospect reads it (``selectors``)."""
    return restricted_ref("prospect", prospect.pk)


def timeline_add(prospect: Prospect, by: User | None, event: str, data: dict[str, Any], *,
                 kind: str = TimelineEntry.Kind.SYSTEM, body: str = "", notes: bool = False) -> None:
    """Put a step of this prospect on the customer's timeline (``event`` worded in ``wordings.py``); ``notes=True``
    for what was said (see ``notes_of``); otherwise every colleague reads it (who holds the customer, at which
    level: no two salespeople on one)."""
    timeline_event(event, data, kind=kind, person_id=prospect.person_id, author=by, body=body,
                   rooftop_id=prospect.rooftop_id, restricted_to=notes_of(prospect) if notes else "").save()


def open_prospect_of(person: Person) -> Prospect | None:
    return Prospect.objects.select_related("salesperson", "person").filter(person=person,
                                                                           closed_on__isnull=True).first()


def merge_refusal(person_ids: list[int]) -> str:
    """Two records of one customer cannot be merged while each is an open prospect: one must go first."""
    held = list(Prospect.objects.select_related("salesperson", "person").filter(person_id__in=person_ids,
                                                                               closed_on__isnull=True))
    if len(held) < 2:
        return ""
    return _("These records are open prospects of %(holders)s: transfer or close all but one before merging.") % {
        "holders": ", ".join(f"{prospect.salesperson or '—'} ({prospect.person})" for prospect in held)}


def salesperson_route(rooftop: Rooftop | None, on: date | None = None) -> User | None:
    """The next salesperson in turn at the rooftop among those working that day (round-robin: the one
    given a lead longest ago). Locks the schedules so two leads at once go to two people."""
    if rooftop is None:
        return None
    on = on or timezone.localdate()
    # Every candidate is locked and read after the lock (a concurrent assignment's new time is seen),
    # then the one given a lead longest ago is taken: two leads at once go to two people.
    candidates = list(SalesSchedule.objects.select_for_update(of=("self",)).select_related("user")
                      .filter(rooftop=rooftop, takes_leads=True, weekdays__contains=[on.weekday()],
                              user__is_active=True, user__role__in=SELLERS)
                      .filter(Q(away_until__isnull=True) | Q(away_until__lt=on)).order_by("pk"))
    if not candidates:
        return None
    schedule = min(candidates, key=lambda row: (row.last_assigned_at is not None, row.last_assigned_at or 0, row.pk))
    schedule.last_assigned_at = timezone.now()
    schedule.save(update_fields=["last_assigned_at"])
    return schedule.user


def _check_worked(level: str) -> None:
    if level not in WORKED_LEVELS:
        raise ValidationError({"level": _("A new prospect starts at level H, A, B or C.")})


@dataclass(frozen=True)
class FirstContact:
    """The contact during which the prospect was registered (a walk-in, a call), if any."""

    kind: str
    outcome: str
    note: str = ""


@transaction.atomic
def prospect_create(*, person: Person, by: User | None, level: str, fields: dict[str, Any],
                    rooftop: Rooftop | None = None, salesperson: User | None = None, route: bool = False,
                    first_contact: FirstContact | None = None) -> Prospect:
    """Register a prospect. Refused with ``ProspectHeld`` when the customer already has an open one.

    The salesperson is the one given, else (``route``) the next in turn at the rooftop, else the
    salesperson registering it. The first contact is the registering one (then the next is planned by
    the cadence) or, for a lead from elsewhere, planned for today.
    """
    _check_worked(level)
    Person.objects.select_for_update().filter(pk=person.pk).first()  # one registration per customer at a time
    if held := open_prospect_of(person):
        raise ProspectHeld(held)
    if salesperson is None and route:
        salesperson = salesperson_route(rooftop or person.rooftop)
    if salesperson is None and by is not None and by.role in SELLERS:
        salesperson = by
    if salesperson is not None and salesperson.role not in SELLERS:
        raise ValidationError({"salesperson": _("%(name)s does not sell cars.") % {"name": salesperson}})
    today = timezone.localdate()
    prospect = Prospect(person=person, rooftop=rooftop or person.rooftop, salesperson=salesperson, level=level,
                        registered_on=today, created_by=by,
                        **{name: value for name, value in fields.items() if name in PROSPECT_FIELDS})
    prospect.full_clean(exclude=["person"])
    try:
        with transaction.atomic():
            prospect.save()
    except IntegrityError:
        raise ProspectHeld(open_prospect_of(person)) from None
    history_add(prospect, History.Kind.CREATED, by, to_value=level, note=prospect.get_source_display())
    if salesperson is not None:
        history_add(prospect, History.Kind.ASSIGNED, by, to_value=salesperson.pk, note=str(salesperson))
    timeline_add(prospect, by, "prospect_registered", {"level": level, "source": prospect.source,
                                                        "interest": prospect.model_interest})
    if first_contact is not None:
        contact_log(prospect=prospect, by=by, kind=first_contact.kind, outcome=first_contact.outcome,
                    note=first_contact.note)
    else:
        Contact.objects.create(prospect=prospect, planned_on=today, due_by=today + timedelta(days=1))
        prospect.next_contact_on = today
        prospect.save(update_fields=["next_contact_on"])
    if salesperson is not None and person.salesperson_id is None:
        Person.objects.filter(pk=person.pk).update(salesperson=salesperson)
    webhook_emit(WebhookEvent.PROSPECT_CREATED, prospect)
    return prospect


def _lock(prospect: Prospect) -> Prospect:
    """Lock the prospect's row for this transaction and bring the instance up to date: a double click
    or two people at once queue here, and the second sees what the first did."""
    fresh = Prospect.objects.select_for_update().get(pk=prospect.pk)
    for field in Prospect._meta.concrete_fields:
        setattr(prospect, field.attname, getattr(fresh, field.attname))
    return prospect


def _require_open(prospect: Prospect) -> None:
    if not prospect.is_open:
        raise ValidationError(_("This prospect is closed; register a new one if the customer is back."))


@transaction.atomic
def contact_log(*, prospect: Prospect, by: User | None, kind: str, outcome: str, note: str = "",
                next_step: str = "", done_at: datetime | None = None,
                next_contact_on: date | None = None) -> Contact:
    """Record a contact done: it fulfils the planned one (if any), and the next is planned by the level's
    cadence — or on the date the salesperson agreed with the customer, if within the cadence."""
    _require_open(_lock(prospect))
    if not kind or not outcome:
        raise ValidationError(_("Say how the contact was made and its outcome."))
    done_at = done_at or timezone.now()
    if done_at > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"done_at": _("A contact cannot be logged in the future.")})
    day = timezone.localdate(done_at)
    plan = plan_after(prospect.level, day)
    if next_contact_on is not None and plan is not None:
        if next_contact_on <= day:
            raise ValidationError({"next_contact_on": _("The next contact comes after this one.")})
        if next_contact_on > plan[1]:
            raise ValidationError({"next_contact_on": _(
                "At level %(level)s the next contact is due by %(date)s; change the level if the customer "
                "needs more time.") % {"level": prospect.level, "date": plan[1].isoformat()}})
    contact = Contact.objects.select_for_update().filter(prospect=prospect, done_at__isnull=True).first()
    if contact is None:
        contact = Contact(prospect=prospect)
    contact.done_at, contact.kind, contact.outcome, contact.by = done_at, kind, outcome, by
    contact.note, contact.next_step = note.strip(), next_step.strip()[:200]
    contact.save()
    if plan is not None:
        planned = next_contact_on or plan[0]
        Contact.objects.create(prospect=prospect, planned_on=planned, due_by=max(plan[1], planned))
        prospect.next_contact_on = planned
    else:
        prospect.next_contact_on = None
    if prospect.first_response_at is None or done_at < prospect.first_response_at:
        prospect.first_response_at = done_at
    prospect.save(update_fields=["next_contact_on", "first_response_at"])
    Opportunity.objects.filter(prospect=prospect, stage=Stage.NEW).update(stage=Stage.CONTACTED,
                                                                         stage_changed_at=timezone.now())
    timeline_event("contact", {"kind": contact.kind, "outcome": contact.outcome, "next": contact.next_step},
                   kind=TimelineEntry.Kind.CONTACT, person_id=prospect.person_id, occurred_at=done_at, author=by,
                   body=contact.note, rooftop_id=prospect.rooftop_id, restricted_to=notes_of(prospect)).save()
    return contact


def _drop_plan(prospect: Prospect) -> None:
    """No more planned contacts: a plan not yet due goes; one already due stays, as a contact planned
    and not done (the review counts it)."""
    Contact.objects.filter(prospect=prospect, done_at__isnull=True, planned_on__gt=timezone.localdate()).delete()
    prospect.next_contact_on = None


@transaction.atomic
def level_change(*, prospect: Prospect, by: User | None, level: str, note: str, lost_reason: str = "",
                 competitor: str = "") -> Prospect:
    """Move a prospect to another level, with the reason (kept in its history). F closes it as lost
    (a reason is required), O marks it ordered; a worked level re-plans the next contact from today
    (an overdue one stays overdue until done)."""
    _require_open(_lock(prospect))
    note = note.strip()
    if not note:
        raise ValidationError({"note": _("Say why the level changes.")})
    if level not in Level.values:
        raise ValidationError({"level": _("Choose a level.")})
    if level == prospect.level:
        raise ValidationError({"level": _("The prospect is already at level %(level)s.") % {"level": level}})
    if level == Level.F and not lost_reason:
        raise ValidationError({"lost_reason": _("Say why the customer was lost.")})
    today = timezone.localdate()
    previous = prospect.level
    prospect.level = level
    if level == Level.F:
        prospect.lost_reason, prospect.competitor, prospect.closed_on = lost_reason, competitor.strip(), today
        _drop_plan(prospect)
        for deal in Opportunity.objects.filter(prospect=prospect, stage__in=OPEN_STAGES):
            _stage_set(deal, Stage.LOST, by, note=note, lost_reason=lost_reason, competitor=competitor)
    elif level == Level.O:
        prospect.ordered_on = prospect.ordered_on or today
        _drop_plan(prospect)
    else:
        prospect.ordered_on = None
        planned, due_by = plan_after(level, today)
        current = Contact.objects.filter(prospect=prospect, done_at__isnull=True).first()
        if current is None:
            Contact.objects.create(prospect=prospect, planned_on=planned, due_by=due_by)
        elif current.due_by is not None and current.due_by < today:
            planned = current.planned_on  # overdue: a level change does not wipe that
        else:
            Contact.objects.filter(pk=current.pk).update(planned_on=planned, due_by=due_by)
        prospect.next_contact_on = planned
    prospect.save()
    history_add(prospect, History.Kind.LEVEL, by, from_value=previous, to_value=level, note=note)
    timeline_add(prospect, by, "prospect_level", {"from": previous, "to": level}, body=note, notes=True)
    return prospect


def _check_seller(user: User) -> None:
    if not (user.is_active and user.role in SELLERS):
        raise ValidationError({"to_user": _("%(name)s cannot hold prospects.") % {"name": user}})


@transaction.atomic
def prospect_assign(*, prospect: Prospect, to_user: User, by: User | None, note: str = "",
                    kind: str = History.Kind.ASSIGNED) -> Prospect:
    _require_open(_lock(prospect))
    _check_seller(to_user)
    if prospect.salesperson_id == to_user.pk:
        raise ValidationError({"to_user": _("%(name)s already holds this prospect.") % {"name": to_user}})
    previous = prospect.salesperson
    prospect.salesperson = to_user
    prospect.save(update_fields=["salesperson"])
    history_add(prospect, kind, by, from_value=previous.pk if previous else "", to_value=to_user.pk,
             note=note or f"{previous or '—'} → {to_user}")
    timeline_add(prospect, by, "prospect_passed", {"from": str(previous or "—"), "to": str(to_user)})
    Person.objects.filter(pk=prospect.person_id).filter(
        Q(salesperson__isnull=True) | Q(salesperson=previous)).update(salesperson=to_user)
    CareTask.objects.filter(person_id=prospect.person_id, done_at__isnull=True,
                            assigned_to=previous).update(assigned_to=to_user)
    return prospect


@transaction.atomic
def transfer_request(*, prospect: Prospect, by: User, reason: str) -> TransferRequest:
    """Ask the sales manager for a customer a colleague holds."""
    _require_open(prospect)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the customer should be yours.")})
    if prospect.salesperson_id == by.pk:
        raise ValidationError(_("You already hold this prospect."))
    if TransferRequest.objects.filter(prospect=prospect, requested_by=by,
                                      status=TransferRequest.Status.PENDING).exists():
        raise ValidationError(_("You have already asked for this customer; the manager will decide."))
    try:
        with transaction.atomic():
            request = TransferRequest.objects.create(prospect=prospect, requested_by=by, reason=reason)
    except IntegrityError:
        raise ValidationError(_("You have already asked for this customer; the manager will decide.")) from None
    from config.celery import enqueue_on_commit

    from .tasks import transfer_request_notify

    enqueue_on_commit(transfer_request_notify, request.pk)
    return request


@transaction.atomic
def transfer_decide(*, request: TransferRequest, by: User, approve: bool, note: str = "") -> TransferRequest:
    request = TransferRequest.objects.select_for_update().select_related("prospect", "requested_by").get(pk=request.pk)
    if request.status != TransferRequest.Status.PENDING:
        raise ValidationError(_("This request has already been decided."))
    request.status = TransferRequest.Status.APPROVED if approve else TransferRequest.Status.DECLINED
    request.decided_by, request.decided_at, request.decision_note = by, timezone.now(), note.strip()
    request.save()
    if approve:
        prospect_assign(prospect=request.prospect, to_user=request.requested_by, by=by, kind=History.Kind.TRANSFER,
                        note=request.reason)
        TransferRequest.objects.filter(prospect=request.prospect, status=TransferRequest.Status.PENDING).update(
            status=TransferRequest.Status.DECLINED, decided_by=by, decided_at=timezone.now(),
            decision_note=_("Transferred to %(name)s") % {"name": request.requested_by})
    return request


@transaction.atomic
def prospects_handover(*, from_user: User, to_user: User, by: User) -> int:
    """Hand a departing salesperson's open prospects, their customers and open care tasks to a colleague
    in one step; each prospect's history says so. Returns how many prospects moved."""
    if from_user == to_user:
        raise ValidationError({"to_user": _("Choose someone else to take the prospects over.")})
    _check_seller(to_user)
    SalesSchedule.objects.filter(user=from_user).update(takes_leads=False)  # first: no new lead meanwhile
    ids = list(Prospect.objects.select_for_update().filter(salesperson=from_user, closed_on__isnull=True)
               .values_list("pk", flat=True))
    Prospect.objects.filter(pk__in=ids).update(salesperson=to_user)
    now, note = timezone.now(), _("Handed over from %(from)s to %(to)s") % {"from": from_user, "to": to_user}
    History.objects.bulk_create(History(prospect_id=pk, kind=History.Kind.HANDOVER, from_value=str(from_user.pk),
                                        to_value=str(to_user.pk), note=note, by=by, at=now) for pk in ids)
    CareTask.objects.filter(assigned_to=from_user, done_at__isnull=True).update(assigned_to=to_user)
    customers_handover(responsibility="salesperson", from_user=from_user, to_user=to_user, by=by)
    return len(ids)


# --- Deals -----------------------------------------------------------------------------------------

def _stage_set(deal: Opportunity, stage: str, by: User | None, *, note: str = "", lost_reason: str = "",
               competitor: str = "", probability: int | None = None) -> None:
    previous = deal.stage
    deal.stage, deal.stage_changed_at = stage, timezone.now()
    deal.probability = STAGE_PROBABILITY[stage] if probability is None else probability
    if stage == Stage.LOST:
        deal.lost_reason, deal.competitor = lost_reason, competitor.strip()
    deal.save()
    history_add(deal.prospect, History.Kind.STAGE, by, from_value=previous, to_value=stage,
             note=f"{deal.model}: {note}".strip(": "))


@transaction.atomic
def opportunity_create(*, prospect: Prospect, by: User | None, fields: dict[str, Any]) -> Opportunity:
    _require_open(prospect)
    stage = Stage.CONTACTED if prospect.contacts.filter(done_at__isnull=False).exists() else Stage.NEW
    deal = Opportunity(prospect=prospect, stage=stage, stage_changed_at=timezone.now(), **fields)
    if deal.probability is None:
        deal.probability = STAGE_PROBABILITY[stage]
    deal.full_clean(exclude=["prospect"])
    deal.save()
    history_add(prospect, History.Kind.STAGE, by, to_value=stage, note=deal.model)
    return deal


@transaction.atomic
def opportunity_stage(*, deal: Opportunity, by: User | None, stage: str, note: str = "", lost_reason: str = "",
                      competitor: str = "", probability: int | None = None) -> Opportunity:
    """Move a deal on. Order marks the prospect ordered (O); lost needs a reason and, when it was the
    prospect's last open deal, closes the prospect as lost (F). Delivery has its own step."""
    if not deal.is_open:
        raise ValidationError(_("This deal is closed."))
    if stage not in Stage.values or stage == Stage.DELIVERED:
        raise ValidationError({"stage": _("Record the delivery with the car's details.")
                               if stage == Stage.DELIVERED else _("Choose a stage.")})
    if stage == deal.stage:
        raise ValidationError({"stage": _("The deal is already at this stage.")})
    if stage == Stage.LOST and not lost_reason:
        raise ValidationError({"lost_reason": _("Say why the deal was lost.")})
    was_order = deal.stage == Stage.ORDER
    _stage_set(deal, stage, by, note=note, lost_reason=lost_reason, competitor=competitor, probability=probability)
    prospect = Prospect.objects.select_for_update().get(pk=deal.prospect_id)
    if was_order and stage != Stage.LOST and prospect.level == Level.O and prospect.is_open and not \
            prospect.opportunities.filter(stage=Stage.ORDER).exists():
        # The order fell through: back to the level the prospect had before it.
        before = (History.objects.filter(prospect=prospect, kind__in=(History.Kind.CREATED, History.Kind.LEVEL),
                                         to_value__in=WORKED_LEVELS).order_by("-at", "-pk")
                  .values_list("to_value", flat=True).first()) or Level.B
        level_change(prospect=prospect, by=by, level=before, note=note or _("Order cancelled: %(model)s") % {
            "model": deal.model})
    if stage == Stage.ORDER and prospect.level != Level.O and prospect.is_open:
        level_change(prospect=prospect, by=by, level=Level.O, note=note or _("Order signed: %(model)s") % {
            "model": deal.model})
    elif stage == Stage.LOST and prospect.is_open and not prospect.opportunities.filter(
            stage__in=OPEN_STAGES).exists() and prospect.level != Level.F:
        level_change(prospect=prospect, by=by, level=Level.F, note=note or _("Deal lost"), lost_reason=lost_reason,
                     competitor=competitor)
    return deal


@transaction.atomic
def test_drive_book(*, prospect: Prospect, demo: DemoVehicle, starts_at: datetime, ends_at: datetime,
                    by: User | None) -> TestDrive:
    """Book a demo car; a booking that overlaps another of the same car is refused, saying when it is taken."""
    _require_open(prospect)
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The test drive ends after it starts.")})
    if starts_at < timezone.now() - timedelta(minutes=5):
        raise ValidationError({"starts_at": _("Choose a time that has not passed.")})
    if not demo.is_active:
        raise ValidationError({"demo": _("This car is no longer in the demo fleet.")})
    drive = TestDrive(demo=demo, prospect=prospect, starts_at=starts_at, ends_at=ends_at, by=by)
    try:
        with transaction.atomic():
            drive.save()
    except IntegrityError:
        clash = (TestDrive.objects.filter(demo=demo, status__in=[TestDrive.Status.BOOKED, TestDrive.Status.DONE],
                                          starts_at__lt=ends_at, ends_at__gt=starts_at).order_by("starts_at").first())
        when = (f"{timezone.localtime(clash.starts_at):%Y-%m-%d %H:%M}\u2013{timezone.localtime(clash.ends_at):%H:%M}"
                if clash else "")
        raise ValidationError({"starts_at": _("%(car)s is already booked %(when)s.") % {"car": demo, "when": when}}
                              ) from None
    timeline_add(prospect, by, "test_drive_booked", {"car": str(demo), "at": starts_at.isoformat()})
    return drive


@transaction.atomic
def test_drive_close(*, drive: TestDrive, by: User | None, status: str, note: str = "") -> TestDrive:
    """Mark a booked test drive done (logged as a contact), not attended, or cancelled (the car is free)."""
    drive = TestDrive.objects.select_for_update().select_related("prospect", "demo").get(pk=drive.pk)
    if drive.status != TestDrive.Status.BOOKED:
        raise ValidationError(_("This test drive is already %(status)s.") % {"status": drive.get_status_display()})
    if status not in (TestDrive.Status.DONE, TestDrive.Status.NO_SHOW, TestDrive.Status.CANCELLED):
        raise ValidationError({"status": _("Choose what happened.")})
    drive.status = status
    drive.save(update_fields=["status"])
    if status == TestDrive.Status.DONE:
        for deal in Opportunity.objects.select_related("prospect").filter(
                prospect=drive.prospect, stage__in=(Stage.NEW, Stage.CONTACTED)):
            _stage_set(deal, Stage.TEST_DRIVE, by, note=str(drive.demo))
    if status == TestDrive.Status.DONE and drive.prospect.is_open:
        contact_log(prospect=drive.prospect, by=by, kind="test_drive", outcome=Outcome.TEST_DRIVE,
                    note=note or str(drive.demo), done_at=min(drive.ends_at, timezone.now()))
    return drive


@dataclass(frozen=True)
class Delivery:
    vin: str
    make: str
    model: str
    year: int | None
    plate: str
    delivered_on: date
    kilometres: int | None = None


@transaction.atomic
def delivery_record(*, deal: Opportunity, by: User | None, car: Delivery) -> VehicleLink:
    """Hand the car over: the car and its ownership go into the customer database, the prospect becomes
    an owner (closed, kept with its salesperson as the customer's), and the care plan starts."""
    deal = Opportunity.objects.select_for_update().select_related("prospect__person").get(pk=deal.pk)
    if not deal.is_open:
        raise ValidationError(_("This deal is closed."))
    if car.delivered_on > timezone.localdate():
        raise ValidationError({"delivered_on": _("A delivery cannot be recorded ahead of time.")})
    prospect, person = deal.prospect, deal.prospect.person
    existing = Vehicle.objects.filter(vin=car.vin).first() if car.vin else None
    if existing and VehicleLink.objects.filter(vehicle=existing, kind=VehicleLink.Kind.OWNER, ended_on__isnull=True,
                                               person=person).exists():
        raise ValidationError({"vin": _("This customer already owns the car with this VIN.")})
    link = vehicle_link_add(party=person, by=by, kind=VehicleLink.Kind.OWNER, started_on=car.delivered_on,
                            kilometres=car.kilometres, vehicle_fields={
                                "vin": car.vin, "make": car.make, "model": car.model, "year": car.year,
                                "plate": car.plate, "purchase_date": car.delivered_on,
                                "selling_rooftop": prospect.rooftop, "salesperson": prospect.salesperson})
    vehicle = link.vehicle
    if existing is not None:  # a used car the dealer sold on: record this sale on it
        Vehicle.objects.filter(pk=vehicle.pk).update(purchase_date=car.delivered_on, salesperson=prospect.salesperson,
                                                     selling_rooftop=prospect.rooftop)
    _stage_set(deal, Stage.DELIVERED, by, note=str(vehicle))
    deal.vehicle, deal.delivered_on = vehicle, car.delivered_on
    deal.save(update_fields=["vehicle", "delivered_on"])
    if prospect.is_open:
        if prospect.level != Level.O:
            history_add(prospect, History.Kind.LEVEL, by, from_value=prospect.level, to_value=Level.O,
                     note=_("Delivered"))
            prospect.level = Level.O
        prospect.ordered_on = prospect.ordered_on or car.delivered_on
        prospect.closed_on = car.delivered_on
        _drop_plan(prospect)
        prospect.save()
    if prospect.salesperson_id:  # the one who sold the car looks after the customer now
        Person.objects.filter(pk=person.pk).update(salesperson=prospect.salesperson)
    Person.objects.filter(pk=person.pk, rooftop__isnull=True).update(rooftop=prospect.rooftop)
    amount = {"amount": str(deal.amount), "currency": tenant_currency()} if deal.amount is not None else {}
    timeline_event("delivery", {"car": str(vehicle), **amount}, kind=TimelineEntry.Kind.PURCHASE, person=person,
                   author=by, rooftop_id=prospect.rooftop_id, source_ref=f"sales:delivery:{deal.pk}").save()
    care_plan_start(deal=deal, delivered_on=car.delivered_on, owner=prospect.salesperson or by)
    return link


def care_plan_start(*, deal: Opportunity, delivered_on: date, owner: User | None) -> list[CareTask]:
    """One task per active care step, due that many days after delivery, for ``owner`` (the salesperson)."""
    prospect = deal.prospect
    return CareTask.objects.bulk_create(
        (CareTask(person_id=prospect.person_id, opportunity=deal, step=step, kind=step.kind, title=step.title,
                  due_on=delivered_on + timedelta(days=step.days_after), assigned_to=owner)
         for step in CareStep.objects.filter(is_active=True)),
        ignore_conflicts=True)


@transaction.atomic
def care_task_done(*, task: CareTask, by: User | None, outcome: str) -> CareTask:
    if task.kind == CareStep.Kind.SURVEY:
        raise ValidationError(_("The satisfaction survey is sent by the CRM itself, not marked done by hand."))
    task = CareTask.objects.select_for_update().get(pk=task.pk)
    if task.done_at is not None:
        raise ValidationError(_("This task is already done."))
    outcome = outcome.strip()
    if not outcome and task.kind != CareStep.Kind.SURVEY:
        raise ValidationError({"outcome": _("Say how it went.")})
    task.done_at, task.outcome = timezone.now(), outcome[:300]
    task.save(update_fields=["done_at", "outcome"])
    timeline_event("care_done", {"title": task.title, "kind": task.kind, "outcome": task.outcome},
                   kind=TimelineEntry.Kind.CONTACT, person_id=task.person_id, occurred_at=task.done_at,
                   author=by).save()
    return task


def care_surveys_send(today: date | None = None) -> int:
    """Queue the delivery satisfaction survey for every care task of that kind now due; mark them done."""
    from config.celery import enqueue_on_commit
    from crm.surveys.tasks import survey_invite_send

    today = today or timezone.localdate()
    sent = 0
    with transaction.atomic():
        for task in (CareTask.objects.select_for_update(skip_locked=True).select_related("opportunity__prospect")
                     .filter(kind=CareStep.Kind.SURVEY, done_at__isnull=True, due_on__lte=today)):
            prospect = task.opportunity.prospect
            enqueue_on_commit(survey_invite_send, "csi_delivery", task.person_id,
                              f"sales:delivery:{task.opportunity_id}", prospect.rooftop_id, prospect.salesperson_id)
            task.done_at, task.outcome = timezone.now(), _("Survey invitation sent")
            task.save(update_fields=["done_at", "outcome"])
            sent += 1
    return sent

