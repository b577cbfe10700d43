"""Call lists for the call centre: who is on a list, who calls whom, the next call, what came of it, the figures.

A list is built once from a computed segment and/or a filter of active customers with a phone, keeping only
those whose consent ledger allows phone calls for the list's purpose; the rest are counted, not listed.
Consent is asked again when an entry comes up for a call, because the customer may have withdrawn it since.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import StaffRole, User
from crm.customers.models import ConsentChannel, ConsentPurpose, Person, Phone, TimelineEntry
from crm.customers.selectors import consent_allows, consent_granted
from crm.customers.services import consent_record
from crm.customers.timeline import timeline_event
from crm.marketing.segments import criteria_clean, customers_matching

from .models import WORKED_LEVELS, CallEntry, CallList, CallOutcome, Level, Prospect, Source
from .services import ProspectHeld, prospect_create

# Who builds lists, hands them out and reads everyone's figures.
BUILDERS = (StaffRole.MARKETING, StaffRole.SALES_MANAGER, StaffRole.SERVICE_MANAGER, StaffRole.DEALER_ADMIN)
# Who may be given calls and make them.
AGENTS = (StaffRole.MARKETING, StaffRole.SALESPERSON, StaffRole.SALES_MANAGER)
CALL_ROLES = tuple(dict.fromkeys((*BUILDERS, *AGENTS)))

MAX_ATTEMPTS = 3
# A customer who did not answer is not rung again straight away.
RETRY_AFTER = timedelta(hours=1)
# Further ahead is a typo (2052 for 2025), not a plan.
CALL_BACK_WITHIN = timedelta(days=366)
# Outcomes that mean the customer was spoken to.
REACHED = (CallOutcome.INTERESTED, CallOutcome.BOOKED, CallOutcome.NOT_INTERESTED, CallOutcome.CALL_BACK,
           CallOutcome.DO_NOT_CALL)
# The SQL that shares a list's unassigned open entries among agents in turn, in entry order, in one statement.
ROUND_ROBIN_SQL = """
UPDATE sales_callentry AS entry SET agent_id = (%(agents)s::bigint[])[turn.n %% %(count)s + 1]
FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM sales_callentry
      WHERE call_list_id = %(call_list)s AND agent_id IS NULL AND status <> %(done)s) AS turn
WHERE entry.id = turn.id AND entry.agent_id IS NULL
"""


# --- Audience ----------------------------------------------------------------------------------------

def call_list_audience(criteria: Mapping[str, Any]) -> QuerySet[Person]:
    """Active customers with a phone who match every criterion (consent aside)."""
    return customers_matching(criteria).filter(Exists(Phone.objects.filter(person=OuterRef("pk"))))


# --- Building and sharing out ------------------------------------------------------------------------

@transaction.atomic
def call_list_create(*, by: User | None, name: str, purpose: str, script: str,
                     criteria: Mapping[str, Any]) -> CallList:
    """Build a list: one query reads the audience with each customer's consent, one bulk insert adds those
    who may be called. Refused when nobody may be called, saying how many matched."""
    criteria = criteria_clean(criteria)
    if purpose not in ConsentPurpose.values:
        raise ValidationError({"purpose": _("Choose a purpose.")})
    consented = consent_granted(channel=ConsentChannel.PHONE, purpose=purpose, at=timezone.now())
    rows = list(call_list_audience(criteria).annotate(consented=consented).order_by("pk")
                .values_list("pk", "consented"))
    callable_ids = [pk for pk, consented in rows if consented]
    if not rows:
        raise ValidationError(_("No active customer with a phone matches these criteria."))
    if not callable_ids:
        raise ValidationError(ngettext(
            "Nobody to call: %(matched)s customer with a phone matches, and they did not agree to phone calls for "
            "%(purpose)s.",
            "Nobody to call: %(matched)s customers with a phone match, none of them agreed to phone calls for "
            "%(purpose)s.", len(rows)) % {"matched": len(rows), "purpose": ConsentPurpose(purpose).label})
    call_list = CallList(name=name.strip(), purpose=purpose, script=script.strip(), criteria=criteria,
                         excluded_without_consent=len(rows) - len(callable_ids), created_by=by)
    call_list.full_clean()
    call_list.save()
    CallEntry.objects.bulk_create((CallEntry(call_list=call_list, person_id=pk) for pk in callable_ids),
                                  batch_size=1000)
    return call_list


def call_lists_merge_refusal(person_ids: list[int]) -> str:
    """For ``follows_merges(CallEntry, …)``: two records of one customer on the same list cannot become one
    (a customer is on a list once); the reason names the lists, or "" when nothing stands in the way."""
    shared = list(CallList.objects.filter(entries__person_id__in=person_ids).annotate(
        people=Count("entries")).filter(people__gt=1).values_list("name", flat=True).order_by("name"))
    if not shared:
        return ""
    return _("These records are both on the call list %(lists)s, where a customer can only be once.") % {
        "lists": ", ".join(f"\u201c{name}\u201d" for name in shared)}


def agents_available() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role__in=AGENTS).order_by("first_name", "last_name", "email")


def _check_agent(user: User, field: str) -> None:
    if not (user.is_active and user.role in AGENTS):
        raise ValidationError({field: _("%(name)s does not take calls.") % {"name": user}})


def _check_open(call_list: CallList) -> None:
    if call_list.closed_at is not None:
        raise ValidationError(_("This call list is closed."))


@transaction.atomic
def call_entries_assign(*, call_list: CallList, agents: Sequence[User], by: User | None) -> int:
    """Share the list's unassigned open entries among the agents in turn (in entry order, agents by id), in
    one UPDATE. Entries someone already has are left with them. Returns how many were given out."""
    _check_open(call_list)
    agents = sorted({agent.pk: agent for agent in agents}.values(), key=lambda agent: agent.pk)
    if not agents:
        raise ValidationError({"agents": _("Choose at least one agent.")})
    for agent in agents:
        _check_agent(agent, "agents")
    with connection.cursor() as cursor:
        cursor.execute(ROUND_ROBIN_SQL, {"agents": [agent.pk for agent in agents], "count": len(agents),
                                         "call_list": call_list.pk, "done": CallEntry.Status.DONE})
        return cursor.rowcount


@transaction.atomic
def call_entries_reassign(*, call_list: CallList, from_agent: User, to_agent: User | None, by: User | None) -> int:
    """Give an agent's open entries on the list (call-backs included) to another agent, or back to the
    unassigned pool when ``to_agent`` is None. Returns how many moved."""
    _check_open(call_list)
    if to_agent is not None:
        if to_agent.pk == from_agent.pk:
            raise ValidationError({"to_agent": _("Choose someone else to take the calls over.")})
        _check_agent(to_agent, "to_agent")
    return (CallEntry.objects.filter(call_list=call_list, agent=from_agent).exclude(status=CallEntry.Status.DONE)
            .update(agent=to_agent))


def call_list_close(*, call_list: CallList, by: User | None) -> CallList:
    """Stop calling: no entry of a closed list comes up any more; its figures stay."""
    _check_open(call_list)
    call_list.closed_at = timezone.now()
    call_list.save(update_fields=["closed_at"])
    return call_list


# --- Calling -----------------------------------------------------------------------------------------

def _queue(agent: User, call_list: CallList | None, now: datetime) -> QuerySet[CallEntry]:
    """The agent's calls in the order they come up: call-backs now due (earliest first), the agent's entries
    to call (never tried first, then the longest untried), and — when working one list — its unassigned ones."""
    retry = Q(last_called_at__isnull=True) | Q(last_called_at__lte=now - RETRY_AFTER)
    wanted = Q(agent=agent) & (Q(status=CallEntry.Status.CALL_BACK, call_back_at__lte=now)
                               | Q(status=CallEntry.Status.TO_CALL) & retry)
    # A customer archived or merged into another record since the list was built is not called.
    entries = CallEntry.objects.filter(call_list__closed_at__isnull=True, person__archived_at__isnull=True,
                                       person__merged_into__isnull=True)
    if call_list is not None:
        entries = entries.filter(call_list=call_list)
        wanted |= Q(agent__isnull=True) & (Q(status=CallEntry.Status.TO_CALL) & retry
                                           | Q(status=CallEntry.Status.CALL_BACK, call_back_at__lte=now))
    turn = Case(When(status=CallEntry.Status.CALL_BACK, then=Value(0)), When(agent__isnull=False, then=Value(1)),
                default=Value(2))
    return entries.filter(wanted).order_by(turn, F("call_back_at").asc(nulls_last=True),
                                           F("last_called_at").asc(nulls_first=True), "pk")


def call_entry_close_without_consent(*, entry: CallEntry) -> CallEntry:
    """Close an entry the customer may no longer be called about; it is not a call, so no attempt counts."""
    entry.status, entry.outcome, entry.call_back_at = CallEntry.Status.DONE, "", None
    entry.note = _("Closed without a call: no consent to phone calls for %(purpose)s any more.") % {
        "purpose": entry.call_list.get_purpose_display()}
    entry.save(update_fields=["status", "outcome", "call_back_at", "note"])
    return entry


def call_next(*, agent: User, call_list: CallList | None = None) -> tuple[CallEntry | None, list[CallEntry]]:
    """The agent's next call, and the entries closed on the way because the customer withdrew consent.

    Concurrency: the entry is taken with ``FOR UPDATE SKIP LOCKED`` and an unassigned one becomes the agent's
    before the lock is released, so two agents asking at the same moment never get the same customer.
    """
    closed: list[CallEntry] = []
    while True:
        with transaction.atomic():
            entry = (_queue(agent, call_list, timezone.now())
                     .select_for_update(skip_locked=True, of=("self",))
                     .select_related("call_list", "person").first())
            if entry is None:
                return None, closed
            if entry.agent_id is None:
                entry.agent = agent
                entry.save(update_fields=["agent"])
            if consent_allows(entry.person, channel=ConsentChannel.PHONE, purpose=entry.call_list.purpose):
                return entry, closed
            closed.append(call_entry_close_without_consent(entry=entry))


def next_call_back(agent: User) -> CallEntry | None:
    """The agent's earliest call-back still to come, for the screen that says there is nothing to call now."""
    return (CallEntry.objects.select_related("person", "call_list")
            .filter(agent=agent, status=CallEntry.Status.CALL_BACK, call_list__closed_at__isnull=True)
            .order_by("call_back_at", "pk").first())


@dataclass(frozen=True)
class CallResult:
    entry: CallEntry
    prospect: Prospect | None = None
    held: ProspectHeld | None = None  # "interested", but a salesperson already has the customer


class AlreadyRecorded(Exception):
    """The call shown on the screen has been recorded since (a double click, a second tab)."""


@transaction.atomic
def call_outcome_record(*, entry: CallEntry, by: User, outcome: str, note: str = "",
                        call_back_at: datetime | None = None, level: str = Level.C,
                        model_interest: str = "", attempts_seen: int | None = None) -> CallResult:
    """Record a call the entry's agent made, and what follows from its outcome:

    - interested: a sales lead (a prospect, routed to the rooftop's salesperson in turn) — unless the customer
      already has an open prospect, then none, and the result says who holds the customer;
    - do not call: a withdrawal of phone consent for the list's purpose in the ledger;
    - no answer: tried again later, closed after ``MAX_ATTEMPTS``;
    - call back: comes up again at the agreed time.

    Every call is a contact on the customer's timeline. Only the entry's agent may record it.
    """
    entry = CallEntry.objects.select_for_update(of=("self",)).select_related(
        "call_list", "person__rooftop").get(pk=entry.pk)
    if entry.agent_id != by.pk:
        raise ValidationError(_("This call is on another agent's list."))
    _check_open(entry.call_list)
    if attempts_seen is not None and attempts_seen != entry.attempts:
        raise AlreadyRecorded
    if entry.status == CallEntry.Status.DONE:
        raise ValidationError(_("This call is already closed."))
    if outcome not in CallOutcome.values:
        raise ValidationError({"outcome": _("Choose the outcome of the call.")})
    now, note = timezone.now(), note.strip()
    if outcome == CallOutcome.CALL_BACK:
        if call_back_at is None:
            raise ValidationError({"call_back_at": _("Say when to call back.")})
        if call_back_at <= now:
            raise ValidationError({"call_back_at": _("Choose a time that has not passed.")})
        if call_back_at > now + CALL_BACK_WITHIN:
            raise ValidationError({"call_back_at": _("A call-back is at most a year ahead.")})
    if outcome == CallOutcome.INTERESTED and level not in WORKED_LEVELS:
        raise ValidationError({"level": _("A new prospect starts at level H, A, B or C.")})

    call_list, person = entry.call_list, entry.person
    entry.attempts += 1
    entry.last_called_at, entry.outcome = now, outcome
    entry.call_back_at = call_back_at if outcome == CallOutcome.CALL_BACK else None
    if note:
        entry.note = note
    if outcome == CallOutcome.CALL_BACK:
        entry.status = CallEntry.Status.CALL_BACK
    elif outcome == CallOutcome.NO_ANSWER and entry.attempts < MAX_ATTEMPTS:
        entry.status = CallEntry.Status.TO_CALL
    else:
        entry.status = CallEntry.Status.DONE
    entry.save(update_fields=["attempts", "last_called_at", "outcome", "call_back_at", "note", "status"])

    data: dict[str, Any] = {"list": call_list.name, "outcome": outcome}
    prospect = held = None
    if outcome == CallOutcome.INTERESTED:
        try:
            prospect = prospect_create(person=person, by=by, level=level, rooftop=person.rooftop, route=True, fields={
                "source": Source.CAMPAIGN, "source_detail": call_list.name, "model_interest": model_interest.strip(),
                "notes": note})
        except ProspectHeld as error:
            held = error
            data["holder"] = str(error.prospect.salesperson or "")
    elif outcome == CallOutcome.DO_NOT_CALL:
        consent_record(person=person, by=by, channel=ConsentChannel.PHONE, purpose=call_list.purpose, granted=False,
                       source=(_("Call list “%(name)s”") % {"name": call_list.name})[:120], proof=note)
    elif outcome == CallOutcome.CALL_BACK:
        data["call_back_at"] = call_back_at.isoformat()
    timeline_event("call", data, kind=TimelineEntry.Kind.CONTACT, person=person, occurred_at=now, author=by,
                   body=note, rooftop_id=person.rooftop_id).save()
    return CallResult(entry=entry, prospect=prospect, held=held)


# --- Reading: access and figures ---------------------------------------------------------------------

def is_builder(user: User) -> bool:
    return user.role in BUILDERS


def call_lists_visible(user: User) -> QuerySet[CallList]:
    """All lists for those who build them; for an agent, the lists with calls of theirs."""
    lists = CallList.objects.all()
    if not is_builder(user):
        lists = lists.filter(Exists(CallEntry.objects.filter(call_list=OuterRef("pk"), agent=user)))
    return lists


def call_list_for(user: User, pk: int) -> CallList:
    """A list the user may see, or 404 for a missing one and one that is not theirs alike."""
    call_list = call_lists_visible(user).select_related("created_by").filter(pk=pk).first()
    if call_list is None:
        raise Http404
    return call_list


def call_entry_for(user: User, pk: int, *, acting: bool = False) -> CallEntry:
    """An entry for its call screen, or 404. Agents see and act on their own entries; those who build lists
    see every entry, and act only on their own (``acting``)."""
    entries = CallEntry.objects.select_related("call_list", "person__rooftop", "agent")
    if acting or not is_builder(user):
        entries = entries.filter(agent=user)
    entry = entries.filter(pk=pk).first()
    if entry is None:
        raise Http404
    return entry


@dataclass(frozen=True)
class CallStats:
    entries: int = 0
    called: int = 0
    reached: int = 0
    interested: int = 0
    call_backs: int = 0  # pending
    no_answer: int = 0
    do_not_call: int = 0
    no_consent: int = 0  # closed without a call: consent withdrawn after the list was built
    to_call: int = 0
    done: int = 0

    @classmethod
    def read(cls, row: Mapping[str, Any] | object, prefix: str = "") -> "CallStats":
        get = row.get if isinstance(row, Mapping) else lambda name: getattr(row, name)
        return cls(**{field.name: get(prefix + field.name) or 0 for field in fields(cls)})

    def __add__(self, other: "CallStats") -> "CallStats":
        return CallStats(**{field.name: getattr(self, field.name) + getattr(other, field.name)
                            for field in fields(self)})

    @property
    def done_percent(self) -> int:
        return round(100 * self.done / self.entries) if self.entries else 0


def _stat_counts(path: str = "", scope: Q | None = None) -> dict[str, Count]:
    """The figures as conditional counts over call entries reached by ``path`` ("entries__" from a list)."""
    def when(**lookups: Any) -> Q:
        condition = Q(**{path + name: value for name, value in lookups.items()})
        return condition & scope if scope is not None else condition

    target = path.removesuffix("__") or "pk"
    return {
        "entries": Count(target, filter=scope),
        "called": Count(target, filter=when(attempts__gt=0)),
        "reached": Count(target, filter=when(outcome__in=REACHED)),
        "interested": Count(target, filter=when(outcome=CallOutcome.INTERESTED)),
        "call_backs": Count(target, filter=when(status=CallEntry.Status.CALL_BACK)),
        "no_answer": Count(target, filter=when(outcome=CallOutcome.NO_ANSWER)),
        "do_not_call": Count(target, filter=when(outcome=CallOutcome.DO_NOT_CALL)),
        "no_consent": Count(target, filter=when(status=CallEntry.Status.DONE, outcome="")),
        "to_call": Count(target, filter=when(status=CallEntry.Status.TO_CALL)),
        "done": Count(target, filter=when(status=CallEntry.Status.DONE)),
    }


def call_lists_progress(user: User) -> QuerySet[CallList]:
    """The lists the user sees, newest first, each with its figures (``stat_*``; an agent's own calls only)
    in the same query."""
    scope = None if is_builder(user) else Q(entries__agent=user)
    counts = {f"stat_{name}": count for name, count in _stat_counts("entries__", scope).items()}
    return call_lists_visible(user).select_related("created_by").annotate(**counts).order_by("-created_at", "-pk")


@dataclass(frozen=True)
class AgentStats:
    agent_id: int | None
    name: str
    stats: CallStats


def call_list_stats(call_list: CallList, *, agent: User | None = None) -> tuple[CallStats, list[AgentStats]]:
    """The list's figures in total and per agent (unassigned entries as their own row), in one query;
    for one agent only when ``agent`` is given."""
    entries = CallEntry.objects.filter(call_list=call_list)
    if agent is not None:
        entries = entries.filter(agent=agent)
    rows = (entries.values("agent", "agent__first_name", "agent__last_name", "agent__email")
            .annotate(**_stat_counts())
            .order_by(F("agent__first_name").asc(nulls_last=True), "agent__last_name", "agent__email"))
    per_agent = [AgentStats(
        agent_id=row["agent"], stats=CallStats.read(row),
        name=(f"{row['agent__first_name']} {row['agent__last_name']}".strip() or row["agent__email"])
        if row["agent"] else str(_("Unassigned"))) for row in rows]
    total = sum((row.stats for row in per_agent), CallStats())
    return total, per_agent
