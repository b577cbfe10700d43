"""Who a campaign, a call list or an invitation reaches.

Two ways to say it, usable together:
- criteria (the audience form): a computed segment, a few filters and/or a saved segment;
- saved segments: rules over the customer, their cars, visits, prospects, computed segments and events,
  matched all or any; a rule may include or exclude another saved segment, which is how "and" and "or"
  nest ((A and B) or C is C or "in segment A-and-B"). Or a fixed list of customers.

Every rule is a column test or an EXISTS on the customer, so any audience is one statement, counted and
previewed as it is edited.
"""

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import reduce
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from accounts.models import StaffRole, User
from crm.analytics.models import Action, CarAge
from crm.customers.models import ConsentChannel, ConsentPurpose, Email, Gender, Person, Phone, VehicleLink
from crm.customers.selectors import consent_granted
from crm.dealerships.models import Rooftop
from crm.sales.models import Level, Prospect, Source
from crm.service.models import DeclinedRecommendation, ServiceVisit

from .models import Campaign, EventInvitation, Message, Segment, SegmentMember

# --- Computed segments and the audience form's criteria ------------------------------------------------


@dataclass(frozen=True)
class ComputedSegment:
    label: Promise
    group: Promise
    condition: Q


def _computed() -> dict[str, ComputedSegment]:
    by_action, by_age = gettext_lazy("Value and churn risk"), gettext_lazy("Car age")
    segments = {f"action:{value}": ComputedSegment(label, by_action, Q(segment__action=value))
                for value, label in Action.choices}
    segments["high_value"] = ComputedSegment(gettext_lazy("High value"), by_action, Q(segment__high_value=True))
    segments["high_risk"] = ComputedSegment(gettext_lazy("High churn risk"), by_action, Q(segment__high_risk=True))
    segments.update({f"car_age:{value}": ComputedSegment(label, by_age, Q(segment__car_age=value))
                     for value, label in CarAge.choices})
    segments["lost"] = ComputedSegment(gettext_lazy("Lost: no visit for 18 months"),
                                       pgettext_lazy("customer segment", "Lost"), Q(segment__lost=True))
    return segments


SEGMENTS = _computed()
OPEN_PROSPECT = {"yes": gettext_lazy("Has an open prospect"), "no": gettext_lazy("Has no open prospect")}
CRITERIA = ("saved_segment", "segment", "rooftop", "make", "model", "last_visit_before", "open_prospect")
# Saved segments that include one another are followed this deep, no deeper.
MAX_DEPTH = 5
MAX_RULES = 30


def segment_choices() -> list[tuple[str, list[tuple[str, Promise]]]]:
    """The computed segments for a select, grouped as the segments page shows them."""
    groups: dict[str, list[tuple[str, Promise]]] = {}
    for key, segment in SEGMENTS.items():
        groups.setdefault(segment.group, []).append((key, segment.label))
    return list(groups.items())


def saved_segments() -> QuerySet[Segment]:
    return Segment.objects.filter(archived_at__isnull=True)


def criteria_clean(criteria: Mapping[str, Any]) -> dict[str, Any]:
    """The criteria as stored on a list or campaign (JSON): known keys only, empty ones dropped; refused
    when unknown values are given or nothing is chosen, so an audience is never "every customer" by accident."""
    cleaned: dict[str, Any] = {}
    for key in CRITERIA:
        value = criteria.get(key)
        if value in (None, ""):
            continue
        if isinstance(value, Rooftop | Segment):
            value = value.pk
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, str):
            value = value.strip()
        cleaned[key] = value
    if "segment" in cleaned and cleaned["segment"] not in SEGMENTS:
        raise ValidationError({"segment": _("Choose a segment from the list.")})
    if "open_prospect" in cleaned and cleaned["open_prospect"] not in OPEN_PROSPECT:
        raise ValidationError({"open_prospect": _("Choose whether the customer has an open prospect.")})
    if "saved_segment" in cleaned and not saved_segments().filter(pk=cleaned["saved_segment"]).exists():
        raise ValidationError({"saved_segment": _("Choose a saved segment from the list.")})
    if not cleaned:
        raise ValidationError(_("Choose a segment or at least one filter."))
    return cleaned


def customers_matching(criteria: Mapping[str, Any]) -> QuerySet[Person]:
    """Active customers who match every criterion (consent aside), in one statement."""
    people = Person.objects.active()
    if saved := criteria.get("saved_segment"):
        people = people.filter(_Conditions().segment(saved))
    if segment_key := criteria.get("segment"):
        people = people.filter(SEGMENTS[segment_key].condition)
    if rooftop := criteria.get("rooftop"):
        people = people.filter(rooftop_id=rooftop)
    if criteria.get("make") or criteria.get("model"):
        cars = _current_cars()
        if make := criteria.get("make"):
            cars = cars.filter(vehicle__make__iexact=make)
        if model := criteria.get("model"):
            cars = cars.filter(vehicle__model__icontains=model)
        people = people.filter(Exists(cars))
    if before := criteria.get("last_visit_before"):
        # Came to the workshop, but not since that day.
        visits = ServiceVisit.objects.filter(person=OuterRef("pk"))
        people = people.filter(Exists(visits.filter(opened_on__lt=before)),
                               ~Exists(visits.filter(opened_on__gte=before)))
    if open_prospect := criteria.get("open_prospect"):
        prospect = Exists(Prospect.objects.filter(person=OuterRef("pk"), closed_on__isnull=True))
        people = people.filter(prospect if open_prospect == "yes" else ~prospect)
    return people


def criteria_describe(criteria: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The criteria in words, for a list's or a campaign's page."""
    described: list[tuple[str, str]] = []
    if saved_id := criteria.get("saved_segment"):
        saved = Segment.objects.filter(pk=saved_id).first()
        described.append((_("Saved segment"), str(saved) if saved else "—"))
    if segment := SEGMENTS.get(criteria.get("segment", "")):
        described.append((_("Segment"), f"{segment.group}: {segment.label}"))
    if rooftop_id := criteria.get("rooftop"):
        rooftop = Rooftop.objects.filter(pk=rooftop_id).first()
        described.append((_("Rooftop"), str(rooftop) if rooftop else "—"))
    if make := criteria.get("make"):
        described.append((_("Make"), make))
    if model := criteria.get("model"):
        described.append((_("Model"), model))
    if before := criteria.get("last_visit_before"):
        described.append((_("Last service visit before"), before))
    if open_prospect := criteria.get("open_prospect"):
        described.append((_("Prospect"), str(OPEN_PROSPECT.get(open_prospect, open_prospect))))
    return described


# --- Rules of saved segments ----------------------------------------------------------------------------

# Value kinds, and the operators each offers. An operator's negative (is not, no, not within) is the
# positive test negated, so "has no BMW" is every customer without a current BMW, not "a car that is not a BMW".
OPERATORS: dict[str, tuple[str, ...]] = {
    "choice": ("is", "is_not"),
    "text": ("is", "contains", "is_not"),
    "number": ("gte", "lte"),
    "date": ("before", "after"),
    "months": ("within", "not_within"),
    "flag": ("yes", "no"),
}
NEGATIVE = {"is_not": "is", "not_within": "within", "no": "yes"}
OPERATOR_LABELS = {
    "is": gettext_lazy("is"), "is_not": gettext_lazy("is not"), "contains": gettext_lazy("contains"),
    "gte": gettext_lazy("at least"), "lte": gettext_lazy("at most"), "before": gettext_lazy("before"),
    "after": gettext_lazy("on or after"), "within": gettext_lazy("in the last … months"),
    "not_within": gettext_lazy("not in the last … months"), "yes": gettext_lazy("yes"), "no": gettext_lazy("no"),
}


@dataclass(frozen=True)
class Field:
    """One thing a rule can test. ``test(operator, value)`` gives the positive condition on a customer."""

    key: str
    label: Promise
    group: Promise
    kind: str
    test: Callable[[str, Any], Q]
    choices: Callable[[], list[tuple[str, str]]] | None = None
    # Numbers: the range accepted, and whether fractions are (only amounts of money are).
    bounds: tuple[int, int] = (0, 999_999_999)
    fractions: bool = False


def _current_cars() -> QuerySet[VehicleLink]:
    return VehicleLink.objects.filter(person=OuterRef("pk"), ended_on__isnull=True)


def _months_ago(months: int) -> date:
    return timezone.localdate() - relativedelta(months=months)


def _car(column: str) -> Callable[[str, Any], Q]:
    def test(operator: str, value: Any) -> Q:
        lookup = {"is": "iexact", "contains": "icontains", "gte": "gte", "lte": "lte", "before": "lt",
                  "after": "gte"}[operator]
        return Q(Exists(_current_cars().filter(**{f"vehicle__{column}__{lookup}": value})))
    return test


def _column(column: str) -> Callable[[str, Any], Q]:
    def test(operator: str, value: Any) -> Q:
        lookup = {"is": "exact", "gte": "gte", "lte": "lte", "before": "lt", "after": "gte"}[operator]
        return Q(**{f"{column}__{lookup}": value})
    return test


def _age(operator: str, years: int) -> Q:
    today = timezone.localdate()
    if operator == "gte":  # born on or before this day that many years ago
        return Q(birth_date__lte=today - relativedelta(years=years))
    return Q(birth_date__gt=today - relativedelta(years=years + 1))


def _exists(queryset: Callable[[], QuerySet]) -> Callable[[str, Any], Q]:
    return lambda operator, value: Q(Exists(queryset()))


def _visited(operator: str, months: int) -> Q:
    return Q(Exists(ServiceVisit.objects.filter(person=OuterRef("pk"), opened_on__gte=_months_ago(months))))


def _bought(operator: str, months: int) -> Q:
    return Q(Exists(_current_cars().filter(vehicle__purchase_date__gte=_months_ago(months))))


def _attended(operator: str, months: int) -> Q:
    since = timezone.now() - relativedelta(months=months)
    return Q(Exists(EventInvitation.objects.filter(person=OuterRef("pk"), checked_in_at__gte=since)))


def _messaged(operator: str, months: int) -> Q:
    since = timezone.now() - relativedelta(months=months)
    return Q(Exists(Message.objects.filter(person=OuterRef("pk"), status=Message.Status.SENT, sent_at__gte=since,
                                           purpose=ConsentPurpose.MARKETING)))


def _consent(operator: str, value: str) -> Q:
    channel, purpose = value.split(":")
    return Q(consent_granted(channel=channel, purpose=purpose, at=timezone.now()))


def _open_prospects() -> QuerySet[Prospect]:
    return Prospect.objects.filter(person=OuterRef("pk"), closed_on__isnull=True)


def _prospect_level(operator: str, value: str) -> Q:
    return Q(Exists(_open_prospects().filter(level=value)))


def _prospect_source(operator: str, value: str) -> Q:
    return Q(Exists(Prospect.objects.filter(person=OuterRef("pk"), source=value)))


def _consent_choices() -> list[tuple[str, str]]:
    return [(f"{channel}:{purpose}", f"{channel_label}: {purpose_label}")
            for channel, channel_label in ConsentChannel.choices for purpose, purpose_label in ConsentPurpose.choices]


def _fields() -> dict[str, Field]:
    customer, car, service = gettext_lazy("Customer"), gettext_lazy("Cars"), gettext_lazy("Service")
    sales, computed, marketing = gettext_lazy("Sales"), gettext_lazy("Computed segments"), gettext_lazy("Marketing")
    fields = (
        Field("language", gettext_lazy("Language"), customer, "choice", _column("preferred_language"),
              lambda: list(settings.LANGUAGES)),
        Field("rooftop", gettext_lazy("Rooftop"), customer, "choice", _column("rooftop_id"),
              lambda: [(str(pk), name) for pk, name in Rooftop.objects.values_list("pk", "name")]),
        Field("salesperson", gettext_lazy("Salesperson"), customer, "choice", _column("salesperson_id"),
              lambda: [(str(user.pk), str(user)) for user in User.objects.filter(
                  role__in=(StaffRole.SALESPERSON, StaffRole.SALES_MANAGER)).order_by("first_name", "last_name")]),
        Field("gender", gettext_lazy("Gender"), customer, "choice", _column("gender"), lambda: list(Gender.choices)),
        Field("age", gettext_lazy("Age (years)"), customer, "number", _age, bounds=(0, 120)),
        Field("birthday_month", gettext_lazy("Birthday in"), customer, "choice", _column("birth_date__month"),
              lambda: [(str(number), name) for number, name in MONTHS.items()]),
        Field("customer_since", gettext_lazy("Customer since"), customer, "date", _column("created_at__date")),
        Field("has_email", gettext_lazy("Has an e-mail address"), customer, "flag",
              _exists(lambda: Email.objects.filter(person=OuterRef("pk")))),
        Field("has_phone", gettext_lazy("Has a phone number"), customer, "flag",
              _exists(lambda: Phone.objects.filter(person=OuterRef("pk")))),
        Field("consent", gettext_lazy("Agreed to"), customer, "choice", _consent, _consent_choices),
        Field("make", gettext_lazy("Car make"), car, "text", _car("make")),
        Field("model", gettext_lazy("Car model"), car, "text", _car("model")),
        Field("model_year", gettext_lazy("Car model year"), car, "number", _car("year"), bounds=(1900, 2100)),
        Field("bought", gettext_lazy("Car bought"), car, "months", _bought),
        Field("warranty_end", gettext_lazy("Warranty ends"), car, "date", _car("warranty_end")),
        Field("inspection_due", gettext_lazy("Inspection due"), car, "date", _car("inspection_due")),
        Field("insurance_expiry", gettext_lazy("Insurance ends"), car, "date", _car("insurance_expiry")),
        Field("visited", gettext_lazy("Service visit"), service, "months", _visited),
        Field("visits_3y", gettext_lazy("Visits in 3 years"), service, "number", _column("segment__visits_3y")),
        Field("spend_3y", gettext_lazy("Spend in 3 years"), service, "number", _column("segment__spend_3y"),
              fractions=True),
        Field("declined_open", gettext_lazy("Has declined work still open"), service, "flag",
              _exists(lambda: DeclinedRecommendation.objects.filter(
                  person=OuterRef("pk"), status=DeclinedRecommendation.Status.OPEN))),
        Field("open_prospect", gettext_lazy("Has an open prospect"), sales, "flag", _exists(_open_prospects)),
        Field("prospect_level", gettext_lazy("Open prospect's level"), sales, "choice", _prospect_level,
              lambda: list(Level.choices)),
        Field("prospect_source", gettext_lazy("Came as a prospect from"), sales, "choice", _prospect_source,
              lambda: list(Source.choices)),
        Field("action", gettext_lazy("Value and churn risk"), computed, "choice", _column("segment__action"),
              lambda: list(Action.choices)),
        Field("high_value", gettext_lazy("High value"), computed, "flag",
              lambda operator, value: Q(segment__high_value=True)),
        Field("high_risk", gettext_lazy("High churn risk"), computed, "flag",
              lambda operator, value: Q(segment__high_risk=True)),
        Field("lost", gettext_lazy("Lost: no visit for 18 months"), computed, "flag",
              lambda operator, value: Q(segment__lost=True)),
        Field("car_age", gettext_lazy("Car age"), computed, "choice", _column("segment__car_age"),
              lambda: list(CarAge.choices)),
        Field("recency", gettext_lazy("Recency score (1–5)"), computed, "number", _column("segment__recency"),
              bounds=(1, 5)),
        Field("frequency", gettext_lazy("Frequency score (1–5)"), computed, "number", _column("segment__frequency"),
              bounds=(1, 5)),
        Field("monetary", gettext_lazy("Monetary score (1–5)"), computed, "number", _column("segment__monetary"),
              bounds=(1, 5)),
        Field("attended", gettext_lazy("Came to an event"), marketing, "months", _attended),
        Field("messaged", gettext_lazy("Got a marketing message"), marketing, "months", _messaged),
        # Built by _Conditions, which follows one segment into another.
        Field("in_segment", gettext_lazy("In saved segment"), marketing, "choice", lambda operator, value: NOBODY,
              lambda: [(str(pk), name) for pk, name in saved_segments().values_list("pk", "name")]),
    )
    return {field.key: field for field in fields}


FIELDS = _fields()


class _Conditions:
    """Conditions of saved segments for one evaluation: every active segment is read once and each one's
    condition built once, however often segments include one another."""

    def __init__(self) -> None:
        self.segments = {segment.pk: segment for segment in saved_segments()}
        self.built: dict[int, Q] = {}

    def segment(self, pk: int, depth: int = 0) -> Q:
        segment = self.segments.get(pk)
        if segment is None or depth > MAX_DEPTH:
            return NOBODY
        if pk not in self.built:
            self.built[pk] = (Q(Exists(SegmentMember.objects.filter(segment_id=pk, person_id=OuterRef("pk"))))
                              if segment.kind == Segment.Kind.LIST else self.rules(segment.match, segment.rules, depth))
        return self.built[pk]

    def rules(self, match: str, rules: list[Mapping[str, Any]], depth: int = 0) -> Q:
        if not rules:
            return NOBODY
        tests = [self.rule(rule, depth) for rule in rules]
        return reduce(operator.and_ if match == Segment.Match.ALL else operator.or_, tests)

    def rule(self, rule: Mapping[str, Any], depth: int) -> Q:
        field, op = FIELDS[rule["field"]], rule["op"]
        if field.key == "in_segment":
            if rule["value"] not in self.segments:
                return NOBODY  # a segment archived since includes nobody and excludes nobody: fail closed
            condition = self.segment(rule["value"], depth + 1)
        else:
            condition = field.test(NEGATIVE.get(op, op), rule.get("value"))
        return ~condition if op in NEGATIVE else condition


NOBODY = Q(pk__in=[])


def segment_condition(segment: Segment) -> Q:
    """Who is in ``segment``, as a condition on active customers: a fixed list's members, or its rules
    combined with "all"/"any". An archived segment holds nobody."""
    return _Conditions().segment(segment.pk)


def segment_people(segment: Segment) -> QuerySet[Person]:
    return Person.objects.active().filter(segment_condition(segment))


def rules_people(match: str, rules: list[Mapping[str, Any]]) -> QuerySet[Person]:
    return Person.objects.active().filter(_Conditions().rules(match, rules))


def _value_clean(field: Field, operator: str, raw: Any) -> Any:
    """The rule's value as stored, or a ValidationError saying what is wrong with it."""
    raw = "" if raw is None else str(raw).strip()
    if field.kind == "flag":
        return None
    if not raw:
        raise ValidationError(_("Give a value."))
    if field.kind == "choice":
        choices = {str(value): str(label) for value, label in field.choices()}
        if raw not in choices:  # a label typed by hand is accepted too
            raw = next((value for value, label in choices.items() if label.casefold() == raw.casefold()), raw)
        if raw not in choices:
            raise ValidationError(_("Choose one of the values offered."))
        return int(raw) if field.key in ("rooftop", "salesperson", "birthday_month", "in_segment") else raw
    if field.kind == "text":
        if len(raw) > 80:
            raise ValidationError(_("At most 80 characters."))
        return raw
    if field.kind == "date":
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise ValidationError(_("Give a date as YYYY-MM-DD.")) from None
    try:
        number = Decimal(raw.replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        number = Decimal("NaN")
    if field.kind == "months":
        if not number.is_finite() or number != number.to_integral_value() or not 1 <= number <= 240:
            raise ValidationError(_("Give a whole number of months from 1 to 240."))
        return int(number)
    low, high = field.bounds
    if not number.is_finite() or not low <= number <= high:
        raise ValidationError(_("Give a number from %(low)s to %(high)s.") % {"low": low, "high": high})
    if number == number.to_integral_value():
        return int(number)
    if not field.fractions:
        raise ValidationError(_("Give a whole number."))
    return str(number.quantize(Decimal("0.01")))


# Segments a segment may reach through others, counting every path (what one evaluation builds).
MAX_INCLUDED = 40


def _inclusion_error(segment: Segment | None, rules: list[dict[str, Any]]) -> str:
    """Why these rules may not include the segments they name: the segment would come to include itself,
    or nest too deep, or reach too many segments; else ""."""
    graph = {pk: [rule["value"] for rule in other.rules if rule.get("field") == "in_segment"]
             for pk, other in _Conditions().segments.items()}
    me = segment.pk if segment is not None and segment.pk else 0
    graph[me] = [rule["value"] for rule in rules if rule["field"] == "in_segment"]
    reached = 0

    def walk(pk: int, path: tuple[int, ...]) -> str:
        nonlocal reached
        for child in graph.get(pk, ()):
            if child == me or child in path:
                return _("A segment cannot include itself, directly or through other segments.")
            reached += 1
            if len(path) >= MAX_DEPTH:
                return _("Segments include one another at most %(depth)s deep.") % {"depth": MAX_DEPTH}
            if reached > MAX_INCLUDED:
                return _("This reaches more than %(count)s included segments; combine some of them into one "
                         "fixed list or simpler rules.") % {"count": MAX_INCLUDED}
            if error := walk(child, (*path, child)):
                return error
        return ""

    return walk(me, ())


def rules_clean(rules: list[Mapping[str, Any]], *, segment: Segment | None = None) -> list[dict[str, Any]]:
    """Rules as stored: known fields, operators that fit, values parsed. Refused with one message per rule
    that is wrong ("Rule 2: …"), so nothing typed is lost and every mistake is named at once."""
    if not rules:
        raise ValidationError(_("Add at least one rule."))
    if len(rules) > MAX_RULES:
        raise ValidationError(_("At most %(count)s rules; save part of them as a segment and include it.")
                              % {"count": MAX_RULES})
    cleaned: list[dict[str, Any]] = []
    errors: list[str] = []
    for number, rule in enumerate(rules, start=1):
        field = FIELDS.get(rule.get("field", ""))
        operator = rule.get("op", "")
        try:
            if field is None:
                raise ValidationError(_("Choose what to test."))
            if operator not in OPERATORS[field.kind]:
                raise ValidationError(_("Choose how to compare."))
            value = _value_clean(field, operator, rule.get("value"))
            row = {"field": field.key, "op": operator, **({"value": value} if value is not None else {})}
            if row in cleaned:
                raise ValidationError(_("It repeats rule %(number)s.") % {"number": cleaned.index(row) + 1})
        except ValidationError as error:
            errors.append(_("Rule %(number)s: %(error)s") % {"number": number, "error": " ".join(error.messages)})
            cleaned.append({})
            continue
        cleaned.append(row)
    if errors:
        raise ValidationError(errors)
    if error := _inclusion_error(segment, cleaned):
        raise ValidationError(error)
    return cleaned


def rule_describer() -> Callable[[Mapping[str, Any]], str]:
    """``describe(rule)``: "Car make is BMW", in the reader's language; each field's choices read once."""
    labels: dict[str, dict[str, str]] = {}

    def describe(rule: Mapping[str, Any]) -> str:
        field = FIELDS.get(rule.get("field", ""))
        if field is None:
            return "—"
        value = rule.get("value")
        if field.choices is not None and value is not None:
            if field.key not in labels:
                labels[field.key] = {str(key): str(label) for key, label in field.choices()}
            value = labels[field.key].get(str(value), "—")
        if rule["op"] in ("within", "not_within"):
            words = (ngettext("%(field)s in the last %(months)s month", "%(field)s in the last %(months)s months",
                              value) if rule["op"] == "within" else
                     ngettext("%(field)s not in the last %(months)s month",
                              "%(field)s not in the last %(months)s months", value))
            return words % {"field": field.label, "months": value}
        if field.kind == "flag":
            return str(field.label) if rule["op"] == "yes" else _("not: %(field)s") % {"field": field.label}
        return f"{field.label} {OPERATOR_LABELS[rule['op']]} {value}"

    return describe


# --- Saving, fixed lists ------------------------------------------------------------------------------

def _graph_lock() -> None:
    """One change to the segments' inclusions at a time in a dealer group, so two edits cannot make a cycle
    or include a segment being archived."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"segments:{connection.schema_name}"])


@transaction.atomic
def segment_save(*, segment: Segment, by: User | None, rules: list[Mapping[str, Any]] | None = None) -> Segment:
    """Save a segment; a rules segment's rules are cleaned first. A second active segment of the same name
    is refused by name."""
    segment.name = segment.name.strip()
    if not segment.name:
        raise ValidationError({"name": _("Give the segment a name.")})
    _graph_lock()
    segment.rules = rules_clean(rules or [], segment=segment) if segment.kind == Segment.Kind.RULES else []
    if segment.pk is None:
        segment.created_by = by
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError:
        raise ValidationError({"name": _("A segment with this name already exists.")}) from None
    return segment


@transaction.atomic
def list_from_people(*, name: str, people: QuerySet[Person], by: User | None) -> Segment:
    """A fixed list holding exactly ``people`` now (one INSERT … SELECT); it will not change by itself."""
    segment = segment_save(segment=Segment(name=name, kind=Segment.Kind.LIST), by=by)
    list_add(segment=segment, people=people, by=by)
    return segment


def list_add(*, segment: Segment, people: QuerySet[Person], by: User | None) -> int:
    """Add customers to a fixed list in one INSERT … SELECT; those already on it stay once. Returns how
    many were added."""
    if segment.kind != Segment.Kind.LIST:
        raise ValidationError(_("Customers are added by hand to fixed lists only."))
    try:
        people_sql, params = people.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # a condition that holds nobody (an archived segment)
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SegmentMember._meta.db_table} (segment_id, person_id, added_at, added_by_id) "  # noqa: S608
            f"SELECT %s, people.person_id, now(), %s FROM ({people_sql}) AS people (person_id) ON CONFLICT DO NOTHING",
            [segment.pk, by.pk if by else None, *params])
        return cursor.rowcount


def list_remove(*, segment: Segment, person: Person) -> int:
    """Take a customer off a fixed list."""
    return SegmentMember.objects.filter(segment=segment, person=person).delete()[0]


def segment_users(segment: Segment) -> list[str]:
    """What still uses the segment: other segments that include it, campaigns not yet sent, in words."""
    users = [_("segment “%(name)s”") % {"name": other.name} for other in saved_segments().exclude(pk=segment.pk)
             if any(rule.get("field") == "in_segment" and rule.get("value") == segment.pk for rule in other.rules)]
    users += [_("campaign “%(name)s”") % {"name": name} for name in Campaign.objects.filter(
        criteria__saved_segment=segment.pk, status__in=(Campaign.Status.DRAFT, Campaign.Status.SCHEDULED),
    ).values_list("name", flat=True)]
    return users


@transaction.atomic
def segment_archive(*, segment: Segment) -> None:
    """Archived segments are offered nowhere. Refused while another segment includes it or a campaign not
    yet sent uses it, naming them; campaigns already sent keep their frozen audience."""
    _graph_lock()
    if users := segment_users(segment):
        raise ValidationError(_("Still used by %(users)s.") % {"users": ", ".join(users)})
    segment.archived_at = timezone.now()
    segment.save(update_fields=["archived_at", "updated_at"])
