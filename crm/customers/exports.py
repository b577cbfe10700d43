"""Customer lists as CSV or XLSX: the rows of the current search, streamed in batches; and the record
of every download in the audit trail (who, when, which filter, how many rows), with the rule of who may.

Who may download is one rule, ``crm.dealerships.selectors.customers_export_allowed``: dealer admins and
the roles they choose (sales and service managers until they change it). A DMS import's rejected rows are
customer rows too (a column mapped wrongly rejects the whole file): the same rule, and whoever started that
import (``import_problems_allowed``), each download recorded like a list's.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from openpyxl import Workbook

from accounts.models import StaffRole, User
from crm.dealerships.models import PrivacyRules
from crm.dealerships.selectors import customers_export_allowed

from .models import AuditEntry, ImportJob, Person

EXPORTED = "customers_exported"
IMPORT_PROBLEMS_EXPORTED = "import_rejected_rows_exported"
EXPORT_ROLES_CHANGED = "export_roles_changed"

BATCH = 2000


def _header() -> list[str]:
    return [_("Family name"), _("Given name"), _("Middle name"), _("Latin name"), _("Phones"), _("E-mails"),
            _("Birth date"), _("Rooftop"), _("Salesperson"), _("Service advisor"), _("Created")]


def _rows(people: QuerySet[Person]) -> Iterator[list[str]]:
    people = people.select_related("rooftop", "salesperson", "service_advisor").prefetch_related("phones", "emails")
    for person in people.iterator(chunk_size=BATCH):
        yield [
            person.family_name, person.given_name, person.middle_name, person.latin_name,
            " ".join(phone.number for phone in person.phones.all()),
            " ".join(email.address for email in person.emails.all()),
            person.birth_date.isoformat() if person.birth_date else "",
            str(person.rooftop or ""), str(person.salesperson or ""), str(person.service_advisor or ""),
            person.created_at.date().isoformat(),
        ]


def csv_safe(value: str) -> str:
    """CSV formula injection (OWASP): a cell starting like a formula is made text with a quote.
    The importer drops that quote again, so an exported file imports as it was."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_cell(value: object) -> object:
    """A number stays a number (a negative NPS is no formula); everything else is text, formula-safe."""
    return value if isinstance(value, int | float | Decimal) and not isinstance(value, bool) else csv_safe(str(value))


def _xlsx_safe(value: str) -> str:
    """openpyxl writes a string starting with ``=`` as a formula; anything else stays text."""
    return "'" + value if value[:1] == "=" else value


def csv_stream(people: QuerySet[Person]) -> Iterator[str]:
    return csv_lines(_header(), _rows(people))


def csv_lines(header: list[str], rows: Iterable[list[object]]) -> Iterator[str]:
    """A CSV file in pieces of about 64 kB, UTF-8 with a BOM, every text cell formula-safe, numbers as numbers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"  # so Excel opens UTF-8 Cyrillic and Chinese correctly
    writer.writerow([csv_safe(value) for value in header])
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_bytes(people: QuerySet[Person]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Customers"))
    sheet.append(_header())
    for row in _rows(people):
        sheet.append([_xlsx_safe(value) for value in row])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def customers_export_record(*, by: User, file_format: str, search: str, rooftop: str, archived: bool,
                            rows: int) -> AuditEntry:
    """Every download of a customer list leaves its row in the audit trail, before the file goes out (a
    download cut short still counts): who, when, the filter as the list showed it, how many rows."""
    return AuditEntry.objects.create(person=None, actor=by, action=EXPORTED, changes={
        "format": file_format, "search": search, "rooftop": rooftop, "archived": archived, "rows": rows})


def import_problems_allowed(user: User, job: ImportJob) -> bool:
    """May this person download the rejected rows of ``job``? Whoever started the import (their own file
    coming back to be corrected), and whoever may download customer lists; nobody else."""
    return (job.created_by_id is not None and job.created_by_id == user.pk) or customers_export_allowed(user)


def import_problems_export_record(*, by: User, job: ImportJob, rows: int) -> AuditEntry:
    """A download of an import's rejected rows, recorded before the file goes out like a list's: who, when,
    which import (its number and file name) and how many rows."""
    return AuditEntry.objects.create(person=None, actor=by, action=IMPORT_PROBLEMS_EXPORTED, changes={
        "import": job.pk, "file": job.original_name, "rows": rows})


@transaction.atomic
def export_roles_set(*, roles: Iterable[str], by: User) -> PrivacyRules:
    """Choose the roles besides dealer admins that may download customer lists; a change is audited."""
    roles = sorted(set(roles) - {StaffRole.DEALER_ADMIN})
    if unknown := [role for role in roles if role not in StaffRole.values]:
        raise ValidationError(_("Unknown role: %(role)s.") % {"role": ", ".join(unknown)})
    rules, _created = PrivacyRules.objects.select_for_update().get_or_create(pk=1)
    before = sorted(rules.export_roles)
    if before != roles:
        rules.export_roles = roles
        rules.save(update_fields=["export_roles", "updated_at"])
        AuditEntry.objects.create(person=None, actor=by, action=EXPORT_ROLES_CHANGED,
                                  changes={"export_roles": [before, roles]})
    return rules


@dataclass(frozen=True)
class LogLine:
    at: datetime
    actor: User | None
    what: str
    rows: int | None


def _roles_text(roles: Iterable[str]) -> str:
    labels = dict(StaffRole.choices)
    return ", ".join(str(labels.get(role, role)) for role in roles) or _("dealer admins only")


def export_description(changes: dict) -> str:
    """A download's filter as a reader says it: "CSV — search “Müller”, rooftop Hamburg, archived"."""
    parts = []
    if changes.get("search"):
        parts.append(_("search “%(text)s”") % {"text": changes["search"]})
    if changes.get("rooftop"):
        parts.append(_("rooftop %(name)s") % {"name": changes["rooftop"]})
    if changes.get("archived"):
        parts.append(_("archived customers"))
    return f"{str(changes.get('format', '')).upper()} \u2014 {', '.join(parts) or _('all customers')}"


def exports_log(limit: int = 100) -> list[LogLine]:
    """The latest downloads of customer lists and of imports' rejected rows, and changes of who may make
    them, newest first; one query."""
    entries = (AuditEntry.objects.filter(person__isnull=True,
                                         action__in=(EXPORTED, IMPORT_PROBLEMS_EXPORTED, EXPORT_ROLES_CHANGED))
               .select_related("actor").order_by("-at", "-pk")[:limit])
    lines = []
    for entry in entries:
        if entry.action == EXPORTED:
            lines.append(LogLine(entry.at, entry.actor, export_description(entry.changes), entry.changes.get("rows")))
        elif entry.action == IMPORT_PROBLEMS_EXPORTED:
            lines.append(LogLine(entry.at, entry.actor, _("Rejected rows of the import “%(file)s” (no. %(number)s)") % {
                "file": entry.changes.get("file", ""), "number": entry.changes.get("import", "")},
                entry.changes.get("rows")))
        else:
            before, after = entry.changes.get("export_roles", [[], []])
            lines.append(LogLine(entry.at, entry.actor, _("Who may download: %(before)s → %(after)s") % {
                "before": _roles_text(before), "after": _roles_text(after)}, None))
    return lines
