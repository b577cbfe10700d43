"""Every user-facing string ships in Russian and Simplified Chinese, placeholders intact."""

import re
from pathlib import Path

import polib
import pytest

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.mark.parametrize("language", ["ru", "zh_Hans"])
def test_the_catalogue_is_complete_and_not_fuzzy(language):
    catalogue = polib.pofile(str(LOCALE_DIR / language / "LC_MESSAGES" / "django.po"))

    assert [entry.msgid for entry in catalogue.untranslated_entries()] == []
    assert [entry.msgid for entry in catalogue.fuzzy_entries()] == []


@pytest.mark.parametrize("language", ["ru", "zh_Hans"])
def test_translations_keep_every_placeholder(language):
    catalogue = polib.pofile(str(LOCALE_DIR / language / "LC_MESSAGES" / "django.po"))

    for entry in catalogue.translated_entries():
        expected = sorted(PLACEHOLDER.findall(entry.msgid))
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for translation in translations:
            found = sorted(PLACEHOLDER.findall(translation))
            # A plural form for exactly one item may leave out the count.
            assert found == expected or (entry.msgid_plural and set(found) < set(expected)), entry.msgid


@pytest.mark.parametrize("language", ["ru", "zh_Hans"])
def test_no_stale_previous_msgids_that_break_makemessages(language):
    # A "#| msgid_plural" left on a singular entry makes msgmerge (makemessages) fail outright.
    catalogue = polib.pofile(str(LOCALE_DIR / language / "LC_MESSAGES" / "django.po"))

    assert [entry.msgid for entry in catalogue
            if entry.previous_msgid or entry.previous_msgid_plural or entry.previous_msgctxt] == []
