"""Who reads what on a customer's timeline.

Every member of staff who may open a customer sees every entry of the timeline: when, what kind, by
whom. An entry written for a record that has readers of its own (``TimelineEntry.restricted_to`` =
``"<kind>:<id>"``, e.g. a prospect's contact notes, read by its holder and the sales managers) shows its
text only to them; anyone else sees a notice in its place, which the owning module words (for a
prospect: who holds it, at which level — collision prevention needs that much).

The module that owns such records registers its rule here (``restricted_readers``), so the customer
database needs to know nothing of sales. A kind nobody registered stays closed.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable

from django.utils.translation import gettext as _

from accounts.models import User

from .models import TimelineEntry

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
    """The entries as ``viewer`` may read them: the summary and details of each restricted entry they may
    not read are replaced, on these instances only, by the notice (and ``sealed`` is set). The instances
    are for showing; they are never saved."""
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
        entry.sealed = entry.restricted_to in notices
        if entry.sealed:
            entry.summary, entry.body = notices[entry.restricted_to], ""
    return entries
