"""Reading a DMS export: CSV in whatever encoding and delimiter it came in, or the first sheet of an XLSX.

A table is a header and numbered rows. Line numbers are the ones a person sees when they open
the file (the spreadsheet row, the text line where a CSV record starts), so a problem report
points at the right place. A row with bytes that are not text in the file's encoding is not
dropped silently: it comes out with ``undecodable=True`` and the importer reports it.
"""

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext as _

# The legacy encoding a DMS of a region writes when it does not write UTF-8.
LEGACY_ENCODING = {"ru": "cp1251", "zh-hans": "gb18030"}
DELIMITERS = ",;\t|"


class FileUnreadable(Exception):
    """The file as a whole cannot be read; the message says why, for the person who uploaded it."""


@dataclass
class Row:
    line: int
    values: list[Any]
    undecodable: bool = False


@dataclass
class Table:
    header: list[str]
    encoding: str
    delimiter: str
    rows: Iterator[Row]


def is_xlsx(name: str, data: bytes) -> bool:
    return name.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04"


def table_open(name: str, data: bytes, *, encoding: str = "auto", language: str = "en") -> Table:
    """The file as a header and rows; raises FileUnreadable for an empty or broken file."""
    table = _xlsx(data) if is_xlsx(name, data) else _csv(data, encoding, language)
    if not any(table.header):
        raise FileUnreadable(_("The file has no header row: the first row must name the columns."))
    return table


def _headers(cells: list[Any]) -> list[str]:
    """Column names, stripped; empty ones numbered and repeated ones told apart."""
    names: list[str] = []
    for index, cell in enumerate(cells, start=1):
        name = str(cell).strip() if cell is not None else ""
        name = name or _("Column %(number)d") % {"number": index}
        base, copy = name, 2
        while name in names:
            name, copy = f"{base} ({copy})", copy + 1
        names.append(name)
    while names and names[-1].startswith(_("Column %(number)d") % {"number": len(names)}):
        names.pop()  # trailing empty header cells, as spreadsheets leave them
    return names


def encoding_detect(data: bytes, language: str) -> str:
    """UTF-8 when the file is UTF-8, give or take a few broken rows; otherwise the region's legacy encoding.

    A file where most lines with non-ASCII bytes are not UTF-8 was written in a legacy code page
    (Windows-1251 in Russia, GB18030 in China). A UTF-8 file with a few broken rows stays UTF-8,
    and those rows are reported rather than the whole file misread.
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    non_ascii = broken = 0
    for line in data.splitlines():
        if max(line, default=0) < 0x80:
            continue
        non_ascii += 1
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            broken += 1
    if broken * 2 > non_ascii:
        return LEGACY_ENCODING.get(language, "cp1252")
    return "utf-8"


def _csv(data: bytes, encoding: str, language: str) -> Table:
    if not data.strip():
        raise FileUnreadable(_("The file is empty."))
    if b"\x00" in data[:4096]:
        raise FileUnreadable(_("This is not a CSV text file. Save it from the DMS or Excel as CSV or XLSX."))
    encoding = encoding_detect(data, language) if encoding == "auto" else encoding
    text = data.decode(encoding, errors="surrogateescape")
    text = text.removeprefix("\ufeff")
    delimiter = delimiter_detect(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    for record in reader:
        if any(cell.strip() for cell in record):
            header = _headers(record)
            break
    if header is None:
        raise FileUnreadable(_("The file is empty."))
    if any(_undecodable(cell) for cell in header):
        raise FileUnreadable(_("The header row is not readable as %(encoding)s text. Choose the file's encoding.")
                             % {"encoding": encoding})

    def rows() -> Iterator[Row]:
        line = reader.line_num + 1
        for record in reader:
            if any(cell.strip() for cell in record):
                yield Row(line, record, undecodable=any(_undecodable(cell) for cell in record))
            line = reader.line_num + 1

    return Table(header=header, encoding=encoding, delimiter=delimiter, rows=rows())


def delimiter_detect(text: str) -> str:
    """The separator the header line uses most: Excel in many locales writes ``;``, some DMS tabs."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {delimiter: first.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def printable(value: object) -> str:
    """A value as text that can be stored and shown: undecodable bytes become �."""
    text = str(value)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if _undecodable(text) else text


_SURROGATES = re.compile("[\udc80-\udcff]")


def _undecodable(text: str) -> bool:
    """Bytes ``surrogateescape`` kept because they were not text in the file's encoding."""
    return not text.isascii() and _SURROGATES.search(text) is not None


def _xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise FileUnreadable(_("This is not an Excel workbook (.xlsx) we can read. Save it again as .xlsx or CSV."),
                             ) from error
    sheet = book.worksheets[0]
    cells = sheet.iter_rows(values_only=True)
    header: list[str] | None = None
    line = 0
    for record in cells:
        line += 1
        if any(_present(cell) for cell in record):
            header = _headers(list(record))
            break
    if header is None:
        raise FileUnreadable(_("The workbook's first sheet is empty."))
    start = line

    def rows() -> Iterator[Row]:
        for number, record in enumerate(cells, start=start + 1):
            if any(_present(cell) for cell in record):
                yield Row(number, [_cell(cell) for cell in record])
        book.close()

    return Table(header=header, encoding="xlsx", delimiter="", rows=rows())


def _present(cell: Any) -> bool:
    return cell is not None and str(cell).strip() != ""


def _cell(value: Any) -> Any:
    """Spreadsheet values as the importer reads them: dates stay dates, whole numbers lose their ``.0``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
