# ruff: noqa: RUF002 - Russian letters in the docstring, meant.
"""Lists of names in the order of the group's language.

PostgreSQL sorts by ICU's collation for the language when the server was built with ICU (production
servers are; the embedded server of `make run` and `make test` is not): from А to Я with Ё in its place for
Russian, pinyin for Chinese. Without ICU, the order falls back to what the stored names give: Cyrillic's
code points follow its alphabet (but for Ё), and the stored pinyin (``family_name_latin``) is the Chinese
order. Never by the Latin transliteration for Russian: «Яковлев» is not between «Абрамов» and «Жуков».
"""

from django.db import connection
from django.db.models import F
from django.db.models.expressions import OrderBy
from django.db.models.functions import Collate

ICU = {"ru": "ru-x-icu", "zh-hans": "zh-x-icu", "en": "en-x-icu"}
_available: dict[str, frozenset[str]] = {}  # database name -> the ICU collations it has


def collation_for(language: str) -> str | None:
    """The server's ICU collation for ``language``, or None when it has none."""
    name = ICU.get(language)
    if name is None:
        return None
    database = connection.settings_dict["NAME"]
    if database not in _available:
        with connection.cursor() as cursor:
            cursor.execute("SELECT collname FROM pg_collation WHERE collname = ANY(%s)", [list(ICU.values())])
            _available[database] = frozenset(row[0] for row in cursor.fetchall())
    return name if name in _available[database] else None


def name_order(language: str) -> list[OrderBy | str]:
    """``order_by`` arguments that list people (family name, given name) in ``language``'s order."""
    collation = collation_for(language)
    if collation:
        return [Collate(F("family_name"), collation).asc(), Collate(F("given_name"), collation).asc(), "pk"]
    if language == "ru":
        return ["family_name", "given_name", "pk"]
    return ["family_name_latin", "given_name_latin", "pk"]
