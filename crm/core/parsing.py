"""Ids, days and months read from a request's query or form: whatever was typed comes back as a value or
as None, never as an exception (a page answers bad input with its default, not a 500).

What goes wrong without it: ``int()`` refuses more than 4,300 digits with ValueError, a 30-digit id is no
bigint for the database, and ``date(year, month, 1)`` raises OverflowError (not ValueError) for a year or
month past a C int, as in ``?month=99999999999-01``.
"""

from datetime import date

# A bigint has 19 digits; 18 always fit, and no row of ours will have an id that long.
MAX_ID_DIGITS = 18


def id_from(text: str | None) -> int | None:
    """``"42"`` as 42; anything else (empty, signs, other scripts' digits, too long) as None."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= MAX_ID_DIGITS else None


def day_from(text: str | None) -> date | None:
    """An ISO day (``2026-10-31``) as a date; anything else as None."""
    try:
        return date.fromisoformat((text or "").strip())
    except (ValueError, OverflowError):
        return None


def month_from(text: str | None) -> date | None:
    """``2026-10`` (or a day in it, ``2026-10-31``) as the month's first day; anything else as None."""
    parts = (text or "").strip().split("-")
    if len(parts) not in (2, 3) or not all(part.isascii() and part.isdecimal() for part in parts[:2]):
        return None
    try:
        return date(int(parts[0]), int(parts[1]), 1)
    except (ValueError, OverflowError):
        return None
