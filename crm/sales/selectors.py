"""Reads for the sales screens: who sees which prospects, the day list, the monthly prospect review.
Each is a fixed handful of queries, however many prospects there are (bench/sales.py measures it)."""

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .models import (
    WORKED_LEVELS,
    CallEntry,
    CareStep,
    CareTask,
    Contact,
    History,
    Level,
    Prospect,
    Source,
    TestDrive,
    TransferRequest,
)
from .services import MANAGERS, SELLERS


def sees_all(user: User) -> bool:
    return user.role in MANAGERS


def prospects_for(user: User) -> QuerySet[Prospect]:
    """A salesperson sees the prospects they hold; sales managers and dealer admins see all."""
    prospects = Prospect.objects.select_related("person", "salesperson", "rooftop")
    if sees_all(user):
        return prospects
    if user.role in SELLERS:
        return prospects.filter(salesperson=user)
    raise PermissionDenied


def prospect_readable(user: User, prospect: Prospect) -> bool:
    """``prospects_for`` for one prospect already loaded: may this user open it?"""
    return sees_all(user) or (user.role in SELLERS and prospect.salesperson_id == user.pk)


def prospect_notes_sealed(viewer: User, ids: list[int]) -> dict[int, str]:
    """For the customer's timeline (registered with ``customers.timeline``): of these prospects, those whose
    notes ``viewer`` may not read — whoever cannot open the prospect (``prospects_for``): a colleague
    salesperson, service, marketing — with what they see instead: who holds it, at which level. One query;
    none for managers."""
    if sees_all(viewer):
        return {}
    # A prospect gone since (its customer deleted) stays closed too.
    sealed = dict.fromkeys(ids, _("Notes of a prospect: for its salesperson and the sales managers."))
    for prospect in Prospect.objects.select_related("salesperson").filter(pk__in=ids):
        if prospect_readable(viewer, prospect):
            del sealed[prospect.pk]
            continue
        holder = prospect.salesperson or _("nobody yet")
        sealed[prospect.pk] = (
            _("Notes of a prospect held by %(holder)s (level %(level)s): for them and the sales managers.")
            if prospect.is_open else
            _("Notes of a closed prospect of %(holder)s: for them and the sales managers.")
        ) % {"holder": holder, "level": prospect.level}
    return sealed


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass
class MyDay:
    today: date
    contacts: list[Contact]
    care: list[CareTask]
    test_drives: list[TestDrive]
    call_backs: list[CallEntry]
    transfers_waiting: int

    @property
    def overdue(self) -> int:
        return sum(1 for contact in self.contacts if contact.due_by and contact.due_by < self.today)

    @property
    def empty(self) -> bool:
        return not (self.contacts or self.care or self.test_drives or self.call_backs)


def my_day(user: User, today: date | None = None) -> MyDay:
    """What a salesperson does today: planned contacts (overdue first, then by the date they are due
    by), care tasks of delivered customers, today's test drives, call-backs; five queries."""
    today = today or timezone.localdate()
    contacts = list(
        Contact.objects.select_related("prospect__person", "prospect__rooftop")
        .filter(done_at__isnull=True, planned_on__lte=today, prospect__salesperson=user,
                prospect__closed_on__isnull=True, prospect__level__in=WORKED_LEVELS)
        .order_by("due_by", "planned_on", "pk"))
    care = list(CareTask.objects.select_related("person", "opportunity")
                .filter(assigned_to=user, done_at__isnull=True, due_on__lte=today)
                .exclude(kind=CareStep.Kind.SURVEY)  # sent by the CRM itself
                .order_by("due_on", "pk"))
    drives = list(TestDrive.objects.select_related("demo", "prospect__person")
                  .filter(prospect__salesperson=user, status=TestDrive.Status.BOOKED,
                          starts_at__gte=day_start(today), starts_at__lt=day_start(today + timedelta(days=1)))
                  .order_by("starts_at"))
    call_backs = list(CallEntry.objects.select_related("person", "call_list")
                      .filter(agent=user, status=CallEntry.Status.CALL_BACK, call_list__closed_at__isnull=True,
                              call_back_at__lt=day_start(today + timedelta(days=1)))
                      .order_by("call_back_at"))
    waiting = (TransferRequest.objects.filter(status=TransferRequest.Status.PENDING).count()
               if sees_all(user) else 0)
    return MyDay(today, contacts, care, drives, call_backs, waiting)


def team_day(today: date | None = None) -> list[dict]:
    """For the manager: per salesperson, open prospects, contacts due today and overdue (one query)."""
    today = today or timezone.localdate()
    rows = (Contact.objects.filter(done_at__isnull=True, prospect__closed_on__isnull=True,
                                   prospect__salesperson__isnull=False, prospect__level__in=WORKED_LEVELS)
            .values("prospect__salesperson", "prospect__salesperson__first_name",
                    "prospect__salesperson__last_name", "prospect__salesperson__email")
            .annotate(open=Count("pk"), due=Count("pk", filter=Q(planned_on__lte=today, due_by__gte=today)),
                      overdue=Count("pk", filter=Q(due_by__lt=today)))
            .order_by("-overdue", "prospect__salesperson__email"))
    return [{"user_id": row["prospect__salesperson"],
             "name": " ".join(filter(None, (row["prospect__salesperson__first_name"],
                                            row["prospect__salesperson__last_name"])))
             or row["prospect__salesperson__email"],
             "open": row["open"], "due": row["due"], "overdue": row["overdue"]} for row in rows]


# --- The monthly prospect review -------------------------------------------------------------------

REVIEW_LEVELS = (Level.H, Level.A, Level.B, Level.C, Level.O, Level.F)


@dataclass
class ReviewRow:
    key: str
    label: str
    carried_over: int = 0
    new: int = 0
    ordered_carried: int = 0
    ordered_new: int = 0
    lost: int = 0

    @property
    def total(self) -> int:
        return self.carried_over + self.new

    def add(self, other: "ReviewRow") -> None:
        for name in ("carried_over", "new", "ordered_carried", "ordered_new", "lost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class SellerRow:
    user_id: int | None
    name: str
    held: int = 0
    new: int = 0
    planned: int = 0
    done: int = 0
    on_time: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.on_time, self.done)


@dataclass
class MonthlyReview:
    month: date
    by_level: list[ReviewRow]
    by_source: list[ReviewRow]
    total: ReviewRow
    sellers: list[SellerRow]
    planned: int
    done: int
    done_planned: int
    on_time: int
    lost_last_month: list[tuple[str, int]] = field(default_factory=list)

    @property
    def conversion_new(self) -> float | None:
        return rate(self.total.ordered_new, self.total.new)

    @property
    def conversion_carried(self) -> float | None:
        return rate(self.total.ordered_carried, self.total.carried_over)

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.on_time, self.done_planned)


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def monthly_review(month: date, *, rooftop_id: int | None = None, salesperson_id: int | None = None
                   ) -> MonthlyReview:
    """The prospect contact table for a month (意向客户接触状况表), in five queries:

    - carried over: registered before the month, still open and not yet ordered on its first day (an
      order waiting for delivery is not worked any more); new: registered in it;
      both counted by their level at the end of the month and by source;
    - ordered: those whose order date falls in the month (conversion of carried-over vs new);
    - lost: closed as lost (F) in the month; last month's losses by reason, for the review at month start;
    - contacts planned in the month vs done in it, and done by the date they were due (on time);
    - prospects held per salesperson at the end of the month (the holder then, from the assignment
      history), contacts planned per holder and done per the one who did them.
    """
    from crm.sales.models import LostReason

    first, last = month_bounds(month)
    after = last + timedelta(days=1)
    prev_first, prev_last = month_bounds(first - timedelta(days=1))
    scope = Q()
    if rooftop_id:
        scope &= Q(rooftop_id=rooftop_id)
    if salesperson_id:
        scope &= Q(salesperson_id=salesperson_id)
    level_at_end = Subquery(History.objects.filter(
        prospect=OuterRef("pk"), kind__in=(History.Kind.CREATED, History.Kind.LEVEL), at__lt=day_start(after),
    ).order_by("-at", "-pk").values("to_value")[:1])
    rows = (Prospect.objects.filter(scope)
            .filter(Q(registered_on__range=(first, last))
                    | Q(registered_on__lt=first) & (Q(closed_on__isnull=True) | Q(closed_on__gte=first))
                    & (Q(ordered_on__isnull=True) | Q(ordered_on__gte=first)))
            .annotate(level_at_end=level_at_end)
            .values("source", "level_at_end")
            .annotate(new=Count("pk", filter=Q(registered_on__gte=first)),
                      carried=Count("pk", filter=Q(registered_on__lt=first)),
                      ordered_new=Count("pk", filter=Q(registered_on__gte=first, ordered_on__range=(first, last))),
                      ordered_carried=Count("pk", filter=Q(registered_on__lt=first,
                                                           ordered_on__range=(first, last))),
                      lost=Count("pk", filter=Q(level=Level.F, closed_on__range=(first, last))))
            .order_by())
    by_level = {level.value: ReviewRow(level.value, level.label) for level in REVIEW_LEVELS}
    by_source = {source.value: ReviewRow(source.value, source.label) for source in Source}
    total = ReviewRow("total", "")
    for row in rows:
        part = ReviewRow("", "", carried_over=row["carried"], new=row["new"], ordered_carried=row["ordered_carried"],
                         ordered_new=row["ordered_new"], lost=row["lost"])
        if row["level_at_end"] in by_level:
            by_level[row["level_at_end"]].add(part)
        if row["source"] in by_source:
            by_source[row["source"]].add(part)
        total.add(part)

    contact_scope = Q(**{f"prospect__{key}": value for key, value in (
        ("rooftop_id", rooftop_id), ("salesperson_id", salesperson_id)) if value})
    in_month = Q(done_at__gte=day_start(first), done_at__lt=day_start(after))
    # Per salesperson: planned contacts count for whoever held the prospect at the end of the month,
    # done ones for whoever did them; held prospects for their holder at the end of the month. A
    # handover or transfer later does not rewrite the month.
    def holder_at_end(prospect_ref: str) -> Cast:
        return Cast(Subquery(History.objects.filter(
            prospect=OuterRef(prospect_ref), at__lt=day_start(after),
            kind__in=(History.Kind.ASSIGNED, History.Kind.HANDOVER, History.Kind.TRANSFER),
        ).order_by("-at", "-pk").values("to_value")[:1]), IntegerField())

    contacts = (Contact.objects.filter(contact_scope).filter(Q(planned_on__range=(first, last)) | in_month)
                .annotate(holder=holder_at_end("prospect"))
                .values("holder", "by")
                .annotate(planned=Count("pk", filter=Q(planned_on__range=(first, last))),
                          done=Count("pk", filter=in_month),
                          done_planned=Count("pk", filter=in_month & Q(due_by__isnull=False)),
                          on_time=Count("pk", filter=in_month & Q(due_by__gte=timezone_date("done_at"))))
                .order_by())
    held = (Prospect.objects.filter(scope).filter(registered_on__lte=last)
            .filter(Q(closed_on__isnull=True) | Q(closed_on__gt=last))
            .annotate(holder=holder_at_end("pk"))
            .values("holder").annotate(held=Count("pk"), new=Count("pk", filter=Q(registered_on__gte=first)))
            .order_by())
    sellers: dict[int | None, SellerRow] = {}

    def seller(user_id: int | None) -> SellerRow:
        return sellers.setdefault(user_id, SellerRow(user_id, ""))

    planned = done = done_planned = on_time = 0
    for row in contacts:
        if row["planned"]:
            seller(row["holder"]).planned += row["planned"]
        if row["done"]:
            entry = seller(row["by"])
            entry.done += row["done"]
            entry.on_time += row["on_time"]
        planned, done, on_time = planned + row["planned"], done + row["done"], on_time + row["on_time"]
        done_planned += row["done_planned"]
    for row in held:
        entry = seller(row["holder"])
        entry.held, entry.new = entry.held + row["held"], entry.new + row["new"]
    names = {user.pk: str(user) for user in User.objects.filter(pk__in=[pk for pk in sellers if pk])}
    for entry in sellers.values():
        entry.name = names.get(entry.user_id, "")
    lost = (Prospect.objects.filter(scope).filter(level=Level.F, closed_on__range=(prev_first, prev_last))
            .values("lost_reason").annotate(n=Count("pk")).order_by("-n"))
    reasons = dict(LostReason.choices)
    return MonthlyReview(
        month=first, by_level=list(by_level.values()), by_source=[row for row in by_source.values() if row.total],
        total=total, sellers=sorted(sellers.values(), key=lambda row: (row.user_id is None, row.name)),
        planned=planned, done=done, done_planned=done_planned, on_time=on_time,
        lost_last_month=[(reasons.get(row["lost_reason"], row["lost_reason"]), row["n"]) for row in lost])


def timezone_date(name: str):
    """The local date of a timestamp column, in the current time zone, for comparing with a date column."""
    from django.db.models.functions import TruncDate

    return TruncDate(name, tzinfo=timezone.get_current_timezone())
