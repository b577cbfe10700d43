"""Benchmark: phones in every form people write them, read by ``normalize.phone_read`` and by the rule before it.

    .venv/bin/python bench/phone_forms.py [--n 500] [--seed 20] [--regions RU,CN]

Generates ``--n`` valid numbers each of Russian mobiles and fixed lines and of Chinese mobiles and
fixed lines, and writes each in the forms DMS exports carry them: ``+CC …`` (international),
``00CC…``, the country code without ``+``, the national form (with the trunk prefix where the
country has one), its digits only, the bare national number, and Russia's ``8 10 CC …``. Each is
read by ``phone_read`` in the group's countries (``--regions``, own first) and in its own country
alone, and by the rule the importer had before (digits not starting with 0 get a ``+`` when that
makes a valid number, else they are read in the home country). Counted: right, wrong (another
number, stored silently), and no number (a hint). No database is needed.

The last line is one JSON object with the totals.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import django
import phonenumbers
from django.conf import settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
settings.configure(USE_I18N=False)
django.setup()

from crm.customers.normalize import phone_read  # noqa: E402 - after Django's settings


def before(text: str, region: str) -> str | None:
    """The importer's rule before issue 20: bare digits got a "+" when that made a valid number."""
    def parsed(raw: str, region: str | None, strict: bool) -> str | None:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            return None
        possible = phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE
        if not possible or (strict and not phonenumbers.is_valid_number(number)):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    text = text.strip()
    if text.isdigit() and not text.startswith("0") and (number := parsed("+" + text, None, True)):
        return number
    return parsed(text, region, False)


def numbers(rng: random.Random, region: str, first: str, length: int, mobile: bool, n: int) -> list:
    found = []
    while len(found) < n:
        digits = rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(length - 1))
        try:
            number = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            continue
        if (phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == region
                and (phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE) == mobile):
            found.append(number)
    return found


def forms(number: phonenumbers.PhoneNumber) -> dict[str, str]:
    national_number = phonenumbers.national_significant_number(number)
    code = str(number.country_code)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    written = {
        "+CC": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        "00CC": "00" + code + national_number, "CC without +": code + national_number, "national": national,
        "national digits": phonenumbers.normalize_digits_only(national), "bare": national_number,
    }
    if code != "7":
        written["8 10 CC"] = f"8 10 {code} {national_number}"
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--regions", default="RU,CN")
    args = parser.parse_args()
    regions = args.regions.upper().split(",")
    rng = random.Random(args.seed)
    sets = {
        "RU mobile": numbers(rng, "RU", "9", 10, True, args.n),
        "RU fixed": numbers(rng, "RU", "348", 10, False, args.n),
        "CN mobile": numbers(rng, "CN", "1", 11, True, args.n),
        "CN fixed": numbers(rng, "CN", "2345789", 10, False, args.n),
    }
    totals = {"strings": 0}
    print(f"{'numbers':10} {'written as':16} " + " ".join(f"{name:>22}" for name in
                                                        ("before (right/wrong)", f"{'+'.join(regions)} (right/wrong)",
                                                         f"{regions[0]} (right/wrong)")))
    for name, group in sets.items():
        for form in forms(group[0]):
            counts = {"before": [0, 0], "served": [0, 0], "home": [0, 0]}
            for number in group:
                text, right = forms(number)[form], phonenumbers.format_number(number,
                                                                              phonenumbers.PhoneNumberFormat.E164)
                for key, read in (("before", before(text, regions[0])), ("served", phone_read(text, regions).e164),
                                  ("home", phone_read(text, regions[:1]).e164)):
                    counts[key][0] += read == right
                    counts[key][1] += read is not None and read != right
            totals["strings"] += len(group)
            for key, (right, wrong) in counts.items():
                totals[f"{key}_right"] = totals.get(f"{key}_right", 0) + right
                totals[f"{key}_wrong"] = totals.get(f"{key}_wrong", 0) + wrong
            print(f"{name:10} {form:16} " + " ".join(f"{f'{right}/{wrong}':>22}" for right, wrong in counts.values()))
    print(json.dumps(totals))


if __name__ == "__main__":
    main()
