"""Who reads what on a customer's timeline.

Every member of staff who may open a customer sees every entry of the timeline: when, what kind, by
whom. An entry written for a record that has readers of its own (``TimelineEntry.restricted_to`` =
``"<kind>:<id>"``, e.g. a prospect's contact notes, read by its holder and the sales managers) shows its
text only to them; anyone else sees a notice in its place, which the owning module words (for a
prospect: who holds it, at which level — collision prevention needs that much).

The module that owns such records registers its rule here (``restricted_readers``), so the customer
database needs to know nothing of sales. A kind nobody registered stays closed.

What the CRM itself writes on a timeline (a visit imported, a club joined, a merge) is stored as an event:
its code and its data (codes, ISO dates, numbers, the names of things), never as a sentence. Each module
words its events (``event_wording``), and every reader reads them in their own language, with dates, numbers,
distances and money in their locale (``timeline_for``); the row also keeps the group's wording, for anything
that reads it without the CRM. What staff type (notes, contact reports) is theirs and shown as typed.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet, Value
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from accounts.models import User

from .models import TimelineEntry

logger = logging.getLogger(__name__)

# An event's words: its data -> a sentence in the active language.
Words = Callable[[dict[str, Any]], str]

_wordings: dict[str, tuple[Words, Words | None]] = {}


def event_wording(event: str, summary: Words | Promise, body: Words | None = None) -> None:
    """Register how ``event`` reads: ``summary`` a lazy ``%(name)s`` sentence filled from the data, or a
    function of the data (for choices, dates, numbers); ``body`` the details, when it has any."""
    if isinstance(summary, Promise | str):
        template = summary
        _wordings[event] = (lambda data: str(template) % data, body)
    else:
        _wordings[event] = (summary, body)


def day_noon(day: date) -> datetime:
    """When an event known only by its day happened, for the timeline's order: noon of that day, in the current time
    zone (a repair order closed, a car bought, as a DMS or an earlier record gives them)."""
    return timezone.make_aware(datetime.combine(day, time(12)))


def timeline_event(event: str, data: dict[str, Any] | None = None, *, kind: str = TimelineEntry.Kind.SYSTEM,
                   **fields: Any) -> TimelineEntry:
    """An unsaved entry recording ``event`` with its ``data`` (JSON: codes, ISO dates, numbers, names);
    its stored text is worded in the language active as it is written."""
    fields.setdefault("occurred_at", timezone.now())
    entry = TimelineEntry(event=event, data=data or {}, kind=kind, **fields)
    entry.summary, entry.body = entry_words(entry)
    entry.summary = entry.summary[:300]
    return entry


def entry_words(entry: TimelineEntry) -> tuple[str, str]:
    """(summary, details) of ``entry`` in the active language: an event from its wording, anything else (or an
    event whose wording is gone or whose data it cannot read) as stored."""
    wording = _wordings.get(entry.event) if entry.event else None
    if wording is None:
        return entry.summary, entry.body
    summary, body = wording
    try:
        return summary(entry.data), body(entry.data) if body else entry.body
    except (KeyError, TypeError, ValueError):
        logger.warning("timeline event %s could not be worded from %r", entry.event, entry.data)
        return entry.summary, entry.body


# Other modules' records shown on the timeline (the messages sent): each gives, for a customer, a queryset of
# (its name, id, moment) rows and, for the ids on a page, the entries to show (unsaved, never written).
Rows = Callable[[int], QuerySet]
Entries = Callable[[list[int]], dict[int, TimelineEntry]]

_sources: dict[str, tuple[Rows, Entries]] = {}


def timeline_source(name: str, rows: Rows, entries: Entries) -> None:
    """Register records of another module as timeline entries: ``rows(person_id)`` selects
    ``Value(name), pk, moment`` of that customer's records, ``entries(ids)`` makes them entries."""
    _sources[name] = (rows, entries)


def timeline_rows(person_id: int) -> QuerySet:
    """The customer's whole timeline as (source, id, moment) rows, newest first, the entries and every registered
    source's records in one query: what pages of the timeline slice."""
    own = TimelineEntry.objects.filter(person_id=person_id).values_list(Value("entry"), "pk", "occurred_at")
    others = [rows(person_id) for rows, _entries in _sources.values()]
    return (own.union(*others, all=True) if others else own).order_by("-occurred_at", "-pk")


def timeline_entries(rows: Iterable[tuple[str, int, Any]]) -> list[TimelineEntry]:
    """The entries of these rows, in their order: one query per source on the page."""
    rows = list(rows)
    wanted: dict[str, list[int]] = defaultdict(list)
    for source, pk, _at in rows:
        wanted[source].append(pk)
    found: dict[str, dict[int, TimelineEntry]] = {}
    for source, ids in wanted.items():
        if source == "entry":
            found[source] = TimelineEntry.objects.select_related("author", "rooftop").in_bulk(ids)
        elif source in _sources:
            found[source] = _sources[source][1](ids)
    return [found[source][pk] for source, pk, _at in rows if pk in found.get(source, {})]


# Values in the reader's locale, for wordings.

def shown_day(value: str | date | None) -> str:
    """An ISO date (as events store them) the reader's way: 7 December 2026, 7 декабря 2026, 2026年12月7日."""
    if not value:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return formats.date_format(day, "DATE_FORMAT")


def shown_moment(value: str | None, zone: str = "") -> str:
    """An ISO date and time (as events store them) in the reader's locale, in ``zone`` (a rooftop's time zone,
    where it happens there) or the current one."""
    if not value:
        return ""
    moment = timezone.localtime(datetime.fromisoformat(value), ZoneInfo(zone) if zone else None)
    return formats.date_format(moment, "SHORT_DATETIME_FORMAT")


def shown_number(value: Any, digits: int | None = None) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return formats.number_format(number, digits, use_l10n=True, force_grouping=True)


def choice_label(choices: type, code: str) -> str:
    """A choice's label in the reader's language, its code when the code is no longer a choice, "" for none."""
    return str(dict(choices.choices).get(code, code)) if code else ""


def amount_line(data: dict[str, Any]) -> str:
    """"Amount: …" of an event whose data has ``amount`` (and ``currency``), or "" when it has none."""
    if data.get("amount") in (None, ""):
        return ""
    return _("Amount: %(amount)s") % {"amount": shown_money(data["amount"], data.get("currency", ""))}


def shown_money(amount: Any, currency: str = "") -> str:
    """An amount with two decimals in the reader's locale, and its currency's code when known."""
    if amount in (None, ""):
        return ""
    shown = shown_number(amount, 2)
    return f"{shown}\u00a0{currency}" if currency else shown

# seal(viewer, ids) -> {id: notice} for the ids whose entries ``viewer`` may not read.
Seal = Callable[[User, list[int]], dict[int, str]]

_seals: dict[str, Seal] = {}


def restricted_readers(kind: str, seal: Seal) -> None:
    """Register who reads the entries restricted to ``<kind>:<id>``: ``seal(viewer, ids)`` returns, for each
    id whose entries ``viewer`` may not read, the notice shown instead. It is asked once per page for all
    the ids on it, so it must cost a fixed number of queries."""
    _seals[kind] = seal


def restricted_ref(kind: str, pk: int) -> str:
    return f"{kind}:{pk}"


def timeline_for(viewer: User, entries: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """The entries as ``viewer`` may read them, in the active language: each event worded (``entry_words``),
    the summary and details of each restricted entry they may not read replaced by the notice (and ``sealed``
    set). Only these instances change: they are for showing and never saved."""
    entries = list(entries)
    wanted: dict[str, set[int]] = defaultdict(set)
    malformed: set[str] = set()
    for entry in entries:
        kind, _colon, pk = entry.restricted_to.partition(":")
        if entry.restricted_to and pk.isdecimal():
            wanted[kind].add(int(pk))
        elif entry.restricted_to:
            malformed.add(entry.restricted_to)
    notices = dict.fromkeys(malformed, _("Restricted entry."))
    for kind, ids in wanted.items():
        seal = _seals.get(kind)
        hidden = seal(viewer, sorted(ids)) if seal else dict.fromkeys(ids, _("Restricted entry."))
        notices.update({restricted_ref(kind, pk): notice for pk, notice in hidden.items()})
    for entry in entries:
        entry.summary, entry.body = entry_words(entry)
        entry.sealed = entry.restricted_to in notices
        if entry.sealed:
            entry.summary, entry.body = notices[entry.restricted_to], ""
    return entries
