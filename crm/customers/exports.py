"""Customer lists as CSV or XLSX: the rows of the current search, streamed in batches."""

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from openpyxl import Workbook

from .models import Person

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
