"""Figures for the sales reports: the funnel from registration to delivery by source, level, salesperson
and rooftop, conversion, days to close, lead response time, follow-up on time; and the lost-deal analysis.

Every figure is computed in SQL (conditional aggregation, PostgreSQL ``percentile_cont`` for medians), so
a report costs the same handful of queries however many prospects there are.

Definitions (the tests check each on crafted data):

- the funnel is a cohort: the prospects *registered* in the period, and how far each of them has got
  by now. Registered; contacted (a first response is recorded); test drive (a test drive done, or a deal
  that reached the test drive stage or a later one, per the deal-stage history); offer (a deal that
  reached the offer stage or later, per the history); ordered (an order date); delivered (a deal
  delivered); lost (level F). Each step counts the prospects with its own evidence, so a step may
  exceed the one before it (an order signed without a recorded offer);
- conversion is ordered / registered; days to close is order date minus registration date, over the
  ordered prospects;
- lead response time is the first response minus the time the prospect was created (never below zero:
  a walk-in talked to before being typed in counts as answered at once); answered within an hour is a
  share of all registered prospects, so an unanswered lead counts against it;
- follow-up on time: the contacts *done* in the period (by their local date) that had a date they were
  due by; on time when the local date done is not after it;
- lost: prospects closed as lost (F) in the period; deals whose stage became lost in the period.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Aggregate, Avg, Count, Exists, F, FloatField, Func, IntegerField, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts.models import StaffRole, User

from .models import Contact, History, Level, LostReason, Opportunity, Prospect, Source, Stage, TestDrive
from .selectors import day_start, rate, sees_all, timezone_date

DEFAULT_DAYS = 90
BAR_WIDTH = 240  # pixels of a full bar: the funnel
SMALL_BAR_WIDTH = 160  # a bar beside other figures in a table row


# --- SQL building blocks ----------------------------------------------------------------------------

class Median(Aggregate):
    """PostgreSQL's continuous median: ``percentile_cont(0.5) WITHIN GROUP (ORDER BY expression)``."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


class DaysBetween(Func):
    """Whole days from the first date column to the second (in PostgreSQL, date - date is an integer)."""

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = IntegerField()

    def __init__(self, start: str, end: str) -> None:
        super().__init__(F(end), F(start))


class SecondsBetween(Func):
    """Seconds from the first timestamp column to the second, never below zero."""

    template = "GREATEST(EXTRACT(EPOCH FROM (%(expressions)s))::double precision, 0)"
    arg_joiner = " - "
    output_field = FloatField()

    def __init__(self, start: str, end: str) -> None:
        super().__init__(F(end), F(start))


TEST_DRIVE_OR_LATER = (Stage.TEST_DRIVE, Stage.OFFER, Stage.ORDER, Stage.DELIVERED)
OFFER_OR_LATER = (Stage.OFFER, Stage.ORDER, Stage.DELIVERED)


def _stage_reached(stages: Iterable[str]) -> Exists:
    return Exists(History.objects.filter(prospect=OuterRef("pk"), kind=History.Kind.STAGE,
                                         to_value__in=list(stages)))


def _funnel_aggregates() -> dict[str, Aggregate]:
    """One set of figures for a group of prospects; the same for the whole period and for each group."""
    ordered = Q(ordered_on__isnull=False)
    answered = Q(first_response_at__isnull=False)
    drove = Exists(TestDrive.objects.filter(prospect=OuterRef("pk"), status=TestDrive.Status.DONE))
    delivered = Exists(Opportunity.objects.filter(prospect=OuterRef("pk"), stage=Stage.DELIVERED))
    days_to_close = DaysBetween("registered_on", "ordered_on")
    response = SecondsBetween("created_at", "first_response_at")
    return {
        "registered": Count("pk"),
        "contacted": Count("pk", filter=answered),
        "test_drive": Count("pk", filter=Q(drove | _stage_reached(TEST_DRIVE_OR_LATER))),
        "offer": Count("pk", filter=Q(_stage_reached(OFFER_OR_LATER))),
        "ordered": Count("pk", filter=ordered),
        "delivered": Count("pk", filter=Q(delivered)),
        "lost": Count("pk", filter=Q(level=Level.F)),
        "close_avg": Avg(days_to_close, filter=ordered),
        "close_median": Median(days_to_close, filter=ordered),
        "within_hour": Count("pk", filter=answered & Q(first_response_at__lte=F("created_at") + timedelta(hours=1))),
        "response_avg": Avg(response, filter=answered),
        "response_median": Median(response, filter=answered),
    }


# --- Who sees what, for which period ----------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """The period (inclusive dates), the rooftop chosen, and the salesperson the report is limited to."""

    start: date
    end: date
    rooftop_id: int | None = None
    salesperson_id: int | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def prospects(self) -> Q:
        return self.related("")

    def related(self, prefix: str) -> Q:
        """The rooftop and salesperson limits on prospects, seen from a model reaching them by ``prefix``."""
        scope = Q()
        if self.rooftop_id:
            scope &= Q(**{f"{prefix}rooftop_id": self.rooftop_id})
        if self.salesperson_id:
            scope &= Q(**{f"{prefix}salesperson_id": self.salesperson_id})
        return scope

    def done_in_period(self, column: str) -> Q:
        """A timestamp column whose local date falls in the period."""
        return Q(**{f"{column}__gte": day_start(self.start),
                    f"{column}__lt": day_start(self.end + timedelta(days=1))})


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last 90 days, today included."""
    today = today or timezone.localdate()
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def report_scope(user: User, *, start: date, end: date, rooftop_id: int | None = None) -> Scope:
    """The scope a user may see: sales managers and dealer admins the whole team; a salesperson their
    own prospects only (there is no way to ask for a colleague's); anyone else nothing (PermissionDenied)."""
    if sees_all(user):
        return Scope(start, end, rooftop_id)
    if user.role == StaffRole.SALESPERSON:
        return Scope(start, end, rooftop_id, salesperson_id=user.pk)
    raise PermissionDenied


# --- The sales report -------------------------------------------------------------------------------

def _bar(part: float | None, whole: float | None, width: int = BAR_WIDTH) -> int:
    return round(width * part / whole) if part and whole else 0


@dataclass
class Span:
    """A duration to show: a value and its unit (min, h or d)."""

    value: float
    unit: str

    @classmethod
    def of(cls, seconds: float | None) -> "Span | None":
        if seconds is None:
            return None
        if seconds < 2 * 3600:
            return cls(seconds / 60, "min")
        if seconds < 2 * 86400:
            return cls(seconds / 3600, "h")
        return cls(seconds / 86400, "d")


@dataclass
class Step:
    key: str
    label: str
    count: int
    percent: float | None
    width: int


@dataclass
class FunnelRow:
    key: str
    label: str
    registered: int = 0
    contacted: int = 0
    test_drive: int = 0
    offer: int = 0
    ordered: int = 0
    delivered: int = 0
    lost: int = 0
    close_avg: float | None = None
    close_median: float | None = None
    within_hour: int = 0
    response_avg: float | None = None
    response_median: float | None = None

    @property
    def conversion(self) -> float | None:
        return rate(self.ordered, self.registered)

    @property
    def conversion_width(self) -> int:
        return _bar(self.conversion, 100, SMALL_BAR_WIDTH)

    @property
    def within_hour_rate(self) -> float | None:
        return rate(self.within_hour, self.registered)

    @property
    def response_median_span(self) -> Span | None:
        return Span.of(self.response_median)

    @property
    def response_avg_span(self) -> Span | None:
        return Span.of(self.response_avg)

    @property
    def steps(self) -> list[Step]:
        return [Step(key, label, getattr(self, key), rate(getattr(self, key), self.registered),
                     _bar(getattr(self, key), self.registered)) for key, label in funnel_steps()]


def funnel_steps() -> list[tuple[str, str]]:
    return [("registered", _("Registered")), ("contacted", _("Contacted")), ("test_drive", _("Test drive")),
            ("offer", pgettext("deal stage", "Offer")), ("ordered", _("Ordered")), ("delivered", _("Delivered")),
            ("lost", pgettext("deal stage", "Lost"))]


@dataclass
class FollowUpRow:
    user_id: int | None
    name: str
    done: int = 0
    on_time: int = 0

    @property
    def rate(self) -> float | None:
        return rate(self.on_time, self.done)

    @property
    def width(self) -> int:
        return _bar(self.rate, 100, SMALL_BAR_WIDTH)


@dataclass
class Dimension:
    key: str
    title: str  # the funnel table's heading
    label: str  # the response-time table's caption
    rows: list[FunnelRow]


@dataclass
class SalesReport:
    scope: Scope
    total: FunnelRow
    by: list[Dimension]
    follow_up: list[FollowUpRow]
    follow_up_total: FollowUpRow

    @property
    def dimensions(self) -> dict[str, Dimension]:
        return {dimension.key: dimension for dimension in self.by}


def _row(key: str, label: str, figures: dict[str, Any]) -> FunnelRow:
    return FunnelRow(key, label, **{name: figures[name] for name in FunnelRow.__dataclass_fields__
                                    if name in figures})


def _person_name(first: str | None, last: str | None, email: str | None) -> str:
    """``str(user)`` from the columns of a ``values()`` row."""
    return " ".join(part for part in (first, last) if part).strip() or email or ""


SALESPERSON_COLUMNS = ("salesperson", "salesperson__first_name", "salesperson__last_name", "salesperson__email")


def _salesperson(row: dict[str, Any], prefix: str = "") -> tuple[str, str]:
    user_id = row[f"{prefix}salesperson"]
    if user_id is None:
        return "", _("Not assigned")
    return str(user_id), _person_name(*(row[f"{prefix}{column}"] for column in SALESPERSON_COLUMNS[1:]))


def sales_report(scope: Scope) -> SalesReport:
    """The funnel, conversion, days to close and response time for the whole period and by source, level,
    salesperson and rooftop; follow-up on time by salesperson. Six queries."""
    prospects = Prospect.objects.filter(scope.prospects(), registered_on__range=(scope.start, scope.end)).order_by()
    aggregates = _funnel_aggregates()
    total = _row("total", _("All prospects"), prospects.aggregate(**aggregates))

    sources = dict(Source.choices)
    by_source = [_row(row["source"], sources.get(row["source"], row["source"]), row)
                 for row in prospects.values("source").annotate(**aggregates)]
    by_source.sort(key=lambda row: (-row.registered, row.label))

    level_order = {level: n for n, level in enumerate(Level.values)}
    levels = dict(Level.choices)
    by_level = [_row(row["level"], levels.get(row["level"], row["level"]), row)
                for row in prospects.values("level").annotate(**aggregates)]
    by_level.sort(key=lambda row: level_order.get(row.key, len(level_order)))

    by_salesperson = [_row(*_salesperson(row), row)
                      for row in prospects.values(*SALESPERSON_COLUMNS).annotate(**aggregates)]
    by_salesperson.sort(key=lambda row: (row.key == "", -row.registered, row.label))

    by_rooftop = [_row(str(row["rooftop"] or ""), row["rooftop__name"] or _("No rooftop"), row)
                  for row in prospects.values("rooftop", "rooftop__name").annotate(**aggregates)]
    by_rooftop.sort(key=lambda row: (row.key == "", -row.registered, row.label))

    contacts = (Contact.objects.filter(scope.related("prospect__"), scope.done_in_period("done_at"),
                                       due_by__isnull=False)
                .values(*(f"prospect__{column}" for column in SALESPERSON_COLUMNS))
                .annotate(done=Count("pk"), on_time=Count("pk", filter=Q(due_by__gte=timezone_date("done_at"))))
                .order_by())
    follow_up = []
    for row in contacts:
        _key, name = _salesperson(row, "prospect__")
        follow_up.append(FollowUpRow(row["prospect__salesperson"], name, row["done"], row["on_time"]))
    follow_up.sort(key=lambda row: (row.user_id is None, row.name))
    follow_up_total = FollowUpRow(None, _("All salespeople"), sum(row.done for row in follow_up),
                                  sum(row.on_time for row in follow_up))

    return SalesReport(scope, total, [
        Dimension("source", _("Funnel and conversion by source"), _("By source"), by_source),
        Dimension("level", _("Funnel and conversion by level"), _("By level"), by_level),
        Dimension("salesperson", _("Funnel and conversion by salesperson"), _("By salesperson"), by_salesperson),
        Dimension("rooftop", _("Funnel and conversion by rooftop"), _("By rooftop"), by_rooftop),
    ], follow_up, follow_up_total)


# --- The lost-deal analysis -------------------------------------------------------------------------

TOP_COMPETITORS = 6
RECENT_LOSSES = 20


@dataclass
class Share:
    key: str
    label: str
    count: int
    percent: float | None
    width: int


@dataclass
class MatrixRow:
    key: str
    label: str
    cells: list[int]
    total: int


@dataclass
class Matrix:
    """Counts of lost prospects or deals: one row per salesperson, source or model, one column per reason
    or competitor."""

    key: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[MatrixRow]
    totals: list[int]
    total: int


@dataclass
class LostBreakdown:
    total: int
    reasons: list[Share]
    competitors: list[Share]
    competitor_unnamed: int
    by_reason: list[Matrix]
    by_competitor: list[Matrix]

    @property
    def top_competitor(self) -> Share | None:
        return self.competitors[0] if self.competitors else None


@dataclass
class LostAnalysis:
    scope: Scope
    prospects: LostBreakdown
    deals: LostBreakdown
    recent: list[Prospect] = field(default_factory=list)


def _spelling(texts: Counter[str]) -> dict[str, tuple[str, str]]:
    """Free text typed by hand ("Toyota", "toyota ") grouped case-insensitively: each spelling's key and
    the group's label (its most frequent spelling)."""
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for text, count in texts.items():
        groups[text.strip().casefold()][text.strip()] += count
    labels = {key: min(spellings.items(), key=lambda item: (-item[1], item[0]))[0] for key, spellings in groups.items()}
    return {text: (text.strip().casefold(), labels[text.strip().casefold()]) for text in texts}


@dataclass(frozen=True)
class _Loss:
    reason: str
    competitor: str  # grouping key; "" not named
    competitor_label: str
    salesperson: tuple[str, str]
    source: tuple[str, str]
    model: tuple[str, str]
    count: int


def _losses(rows: list[dict[str, Any]], prefix: str, model_column: str) -> list[_Loss]:
    sources = dict(Source.choices)
    competitor_texts: Counter[str] = Counter()
    model_texts: Counter[str] = Counter()
    for row in rows:
        competitor_texts[row["competitor"]] += row["n"]
        model_texts[row[model_column]] += row["n"]
    competitors, models = _spelling(competitor_texts), _spelling(model_texts)
    losses = []
    for row in rows:
        competitor_key, competitor_label = competitors[row["competitor"]]
        model_key, model_label = models[row[model_column]]
        source = row[f"{prefix}source"]
        losses.append(_Loss(
            reason=row["lost_reason"], competitor=competitor_key, competitor_label=competitor_label,
            salesperson=_salesperson(row, prefix), source=(source, str(sources.get(source, source))),
            model=(model_key, model_label or _("Not recorded")), count=row["n"]))
    return losses


def _shares(counts: Counter[str], labels: dict[str, str], total: int) -> list[Share]:
    """Most frequent first; bars relative to the most frequent, percentages of ``total``."""
    peak = max(counts.values(), default=0)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], labels[item[0]]))
    return [Share(key, labels[key], count, rate(count, total), _bar(count, peak, SMALL_BAR_WIDTH))
            for key, count in ranked if count]


def _matrix(key: str, title: str, losses: list[_Loss], row_of: str, columns: list[tuple[str, str]],
            column_of: Callable[[_Loss], str]) -> Matrix:
    index = {column: n for n, (column, _label) in enumerate(columns)}
    cells: dict[tuple[str, str], list[int]] = {}
    for loss in losses:
        row_key = getattr(loss, row_of)
        cells.setdefault(row_key, [0] * len(columns))[index[column_of(loss)]] += loss.count
    rows = [MatrixRow(row_key, label, counts, sum(counts)) for (row_key, label), counts in cells.items()]
    rows.sort(key=lambda row: (-row.total, row.label))
    totals = [sum(row.cells[n] for row in rows) for n in range(len(columns))]
    return Matrix(key, title, columns, rows, totals, sum(totals))


def _breakdown(losses: list[_Loss]) -> LostBreakdown:
    total = sum(loss.count for loss in losses)
    reasons: Counter[str] = Counter()
    named: Counter[str] = Counter()
    competitor_labels: dict[str, str] = {}
    for loss in losses:
        reasons[loss.reason] += loss.count
        if loss.competitor:
            named[loss.competitor] += loss.count
            competitor_labels[loss.competitor] = loss.competitor_label
    reason_labels = dict(LostReason.choices)
    reason_order = [*LostReason.values, *sorted(set(reasons) - set(LostReason.values))]
    reason_labels.update({key: key or _("Not recorded") for key in reason_order if key not in reason_labels})
    reason_shares = _shares(reasons, {key: str(label) for key, label in reason_labels.items()}, total)
    competitor_shares = _shares(named, competitor_labels, total)

    reason_columns = [(share.key, share.label) for share in sorted(
        reason_shares, key=lambda share: reason_order.index(share.key))]
    top = [share.key for share in competitor_shares[:TOP_COMPETITORS]]
    competitor_columns = [(key, competitor_labels[key]) for key in top]
    if len(competitor_shares) > TOP_COMPETITORS:
        competitor_columns.append(("*", _("Other competitors")))
    if total > sum(named.values()):
        competitor_columns.append(("", _("Not named")))

    def competitor_column(loss: _Loss) -> str:
        return loss.competitor if not loss.competitor or loss.competitor in top else "*"

    def reason_column(loss: _Loss) -> str:
        return loss.reason

    return LostBreakdown(
        total=total, reasons=reason_shares, competitors=competitor_shares,
        competitor_unnamed=total - sum(named.values()),
        by_reason=[
            _matrix("salesperson", _("Reasons by salesperson"), losses, "salesperson", reason_columns, reason_column),
            _matrix("source", _("Reasons by source"), losses, "source", reason_columns, reason_column),
            _matrix("model", _("Reasons by model"), losses, "model", reason_columns, reason_column)],
        by_competitor=[
            _matrix("salesperson", _("Competitors by salesperson"), losses, "salesperson", competitor_columns,
                    competitor_column),
            _matrix("source", _("Competitors by source"), losses, "source", competitor_columns, competitor_column),
            _matrix("model", _("Competitors by model"), losses, "model", competitor_columns, competitor_column)])


def lost_analysis(scope: Scope) -> LostAnalysis:
    """Prospects lost (closed as F in the period) and deals lost (their stage became lost in the period):
    counts and shares by reason and by competitor, broken down by salesperson, source and model (the model
    of interest for prospects, the deal's model for deals); the latest lost prospects. Three queries."""
    prospects = (Prospect.objects.filter(scope.prospects(), level=Level.F,
                                         closed_on__range=(scope.start, scope.end))
                 .values("lost_reason", "competitor", "source", "model_interest", *SALESPERSON_COLUMNS)
                 .annotate(n=Count("pk")).order_by())
    deals = (Opportunity.objects.filter(scope.related("prospect__"), scope.done_in_period("stage_changed_at"),
                                        stage=Stage.LOST)
             .values("lost_reason", "competitor", "prospect__source", "model",
                     *(f"prospect__{column}" for column in SALESPERSON_COLUMNS))
             .annotate(n=Count("pk")).order_by())
    recent = list(Prospect.objects.select_related("person", "salesperson")
                  .filter(scope.prospects(), level=Level.F, closed_on__range=(scope.start, scope.end))
                  .order_by("-closed_on", "-pk")[:RECENT_LOSSES])
    return LostAnalysis(scope, _breakdown(_losses(list(prospects), "", "model_interest")),
                        _breakdown(_losses(list(deals), "prospect__", "model")), recent)
