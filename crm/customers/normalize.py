"""Normalised keys of a customer: phones in E.164, e-mails, names in Latin script, VINs.

Pure functions, used when saving and when matching: two spellings of the same thing must meet.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from anyascii import anyascii
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin
from vininfo import Vin

# Surnames whose reading differs from the character's everyday one (单 is Shan, not Dan).
CHINESE_SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "区": "ou", "查": "zha", "朴": "piao",
    "覃": "qin", "盖": "ge", "缪": "miao", "翟": "zhai", "乐": "yue", "种": "chong", "尉迟": "yuchi",
    "万俟": "moqi", "长孙": "zhangsun", "澹台": "tantai", "令狐": "linghu",
}

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPACES = re.compile(r"\s+")


def has_han(text: str) -> bool:
    return bool(_HAN.search(text or ""))


def han_written(*parts: str) -> str:
    """The Han characters of a name, in order, or "" when it is not written in them. Two names written in
    characters are the same name only with the same characters: 李勇 and 李咏, 陆刚 and 陆钢 read alike
    (li yong, lu gang) but are two names, often of one family sharing a phone."""
    return "".join(_HAN.findall("".join(parts)))


@dataclass(frozen=True)
class PhoneReading:
    """What a written phone number is: its E.164 form, or none and a hint in words saying why."""

    e164: str | None
    hint: str = ""


# The exit code ITU-T recommends (E.164 Annex) and most of the world dials; a group's own countries' exit
# codes ("8~10" in Russia and Kazakhstan, "011" in North America) come from the numbering metadata.
_ITU_EXIT_CODE = "00"
_MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
_WRITTEN_WITH_COUNTRY_CODE = (phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN,
                              phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD,
                              phonenumbers.CountryCodeSource.FROM_NUMBER_WITHOUT_PLUS_SIGN)


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parsed(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        return None


def _possible(number: phonenumbers.PhoneNumber) -> bool:
    """Of a length its country's numbers have; one possible only locally lacks its area code: nobody could
    call it back."""
    return phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE


def _prefixed(number: phonenumbers.PhoneNumber, digits: str) -> bool:
    """Whether it was written with a country code or a national trunk prefix ("8 912…", "0 10…", "86 138…"),
    not as the bare national number: those forms name their country."""
    if number.country_code_source in _WRITTEN_WITH_COUNTRY_CODE:
        return True
    return digits != phonenumbers.national_significant_number(number)


def _exit_codes(regions: list[str]) -> list[str]:
    """Patterns of the international prefixes people of these countries dial, and the ITU's "00"."""
    codes = [_ITU_EXIT_CODE]
    for region in regions:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is not None and metadata.international_prefix and metadata.international_prefix not in codes:
            codes.append(metadata.international_prefix)
    return codes


def phone_read(raw: str, regions: list[str] | tuple[str, ...] = ()) -> PhoneReading:
    """Read a phone number as people write it, for a dealer group whose customers come from ``regions``
    (ISO codes, the group's own country first).

    Written with ``+`` it is what it says. Otherwise every reading is tried: after an exit code ("00",
    or one of these countries' own, such as "8~10"), and as a national number of each of these
    countries (with its trunk prefix, its country code without "+", or bare). A form that names its
    country (country code, exit code, trunk prefix) comes first; then a bare number valid in the group's
    own country; then a bare number that is a mobile of another of its countries (half of the bare
    Russian 9XX numbers are also valid Chinese fixed lines, which nobody writes without their "0").
    One reading at the first level that has any is the number; several there, or none at all, give no
    number and a hint. Digits never get a "+" put in front of them blindly: 13812345678 is a Chinese
    mobile, not +1 381….
    """
    text = (raw or "").strip()
    if not text:
        return PhoneReading(None, _("Enter a phone number."))
    regions = [region.upper() for region in dict.fromkeys(regions) if region]
    unreadable = PhoneReading(None, _("“%(value)s” is not a phone number we can read. Include the country code, "
                                      "e.g. +7 912 345-67-89.") % {"value": text})
    digits = phonenumbers.normalize_digits_only(text)
    if not digits:
        return unreadable
    if text.lstrip("(").startswith(("+", "\uff0b")):
        number = _parsed(text, None)
        if number is None:
            return unreadable
        if phonenumbers.is_valid_number(number) or _possible(number):
            return PhoneReading(_e164(number))  # the writer named the country; plans change faster than metadata
        return PhoneReading(None, _("“%(value)s” has the wrong number of digits.") % {"value": text})
    # E.164 -> (how strongly the form names its country, the country read in). 0: with a country code, an
    # exit code or a trunk prefix; 1: a bare national number valid at home; 2: a bare mobile elsewhere.
    readings: dict[str, tuple[int, str]] = {}
    international = [digits[found.end():] for code in _exit_codes(regions)
                     if (found := re.match(f"(?:{code})", digits))]
    # A served country's code without its "+" (a spreadsheet dropped it): 4917155500011 is +49 171 55500011.
    if any(digits.startswith(str(phonenumbers.country_code_for_region(region))) for region in regions):
        international.append(digits)
    for rest in international:
        if (number := _parsed("+" + rest, None)) and phonenumbers.is_valid_number(number):
            readings.setdefault(_e164(number), (0, phonenumbers.region_code_for_number(number)))
    fallback = None
    for index, region in enumerate(regions):
        number = _parsed(text, region)
        if number is None:
            continue
        prefixed = _prefixed(number, digits)
        if phonenumbers.is_valid_number(number):
            if prefixed or index == 0 or phonenumbers.number_type(number) in _MOBILE_TYPES:
                e164 = _e164(number)
                readings[e164] = min(readings.get(e164, (3, "")), (0 if prefixed else 1 if index == 0 else 2, region))
        elif index == 0 and prefixed and _possible(number):
            fallback = number  # "0151 2345678": the home country's own form, a range newer than the metadata
    best = min((tier for tier, _region in readings.values()), default=None)
    readings = {e164: region for e164, (tier, region) in readings.items() if tier == best}
    if len(readings) == 1:
        return PhoneReading(next(iter(readings)))
    if len(readings) > 1:
        choices = ", ".join(f"{phone_display(e164)} ({region})" for e164, region in readings.items())
        return PhoneReading(None, _("“%(value)s” can be read as %(choices)s: write it with + and the country code.")
                            % {"value": text, "choices": choices})
    if fallback is not None:
        return PhoneReading(_e164(fallback))
    return PhoneReading(None, _("“%(value)s” is not a phone number in %(countries)s. A number from another country "
                                "needs + and its country code.")
                        % {"value": text, "countries": ", ".join(regions) or "—"})


def phone_e164(raw: str, region: str | list[str] | tuple[str, ...] | None = None, *, strict: bool = False) -> str:
    """The E.164 form of a phone number, read as ``phone_read`` does in ``region`` (one ISO code, or the
    group's countries, its own first).

    Raises ValidationError with a message a person understands when it cannot be read, or when it is
    ambiguous (with ``strict``, also when it is not a valid number of its country's numbering plan).
    """
    regions = [region] if isinstance(region, str) else list(region or ())
    reading = phone_read(raw, regions)
    if reading.e164 is None:
        code = "required" if not (raw or "").strip() else "invalid_phone"
        raise ValidationError(reading.hint, code=code)
    if strict and not phonenumbers.is_valid_number(phonenumbers.parse(reading.e164)):
        raise ValidationError(_("“%(value)s” is not a valid number."), params={"value": (raw or "").strip()},
                              code="invalid_phone")
    return reading.e164


def _phone_parsed(number: str, region: str = "") -> phonenumbers.PhoneNumber | None:
    try:
        parsed = phonenumbers.parse(number, region or None)
    except phonenumbers.NumberParseException:
        return None
    # A typed number must be a real one (phonenumbers reads a number in almost any text); a stored E.164 one
    # need only be possible (numbering plans change after a number was taken).
    stored = number.startswith("+") and number[1:].isdigit()  # E.164, as the CRM keeps customers' numbers
    if phonenumbers.is_valid_number(parsed) or (stored and phonenumbers.is_possible_number(parsed)):
        return parsed
    return None


def phone_display(number: str, region: str = "") -> str:
    """A number in the one format every screen shows: international, grouped as its country writes it. A number
    without a country code is read in ``region``; anything that does not read as a number stays as written."""
    parsed = _phone_parsed(number, region)
    if parsed is None:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_tel(number: str, region: str = "") -> str:
    """The number for a ``tel:`` link: E.164, or the typed characters a dialler understands."""
    parsed = _phone_parsed(number, region)
    if parsed is None:
        return re.sub(r"[^\d+]", "", number)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def email_normalize(raw: str) -> str:
    return (raw or "").strip().lower()


def tax_id_normalize(raw: object) -> str:
    """A company tax id (VAT number, INN, unified social credit code) as one comparable token:
    upper case, no spaces, dots, dashes or slashes; a spreadsheet's "7701234567.0" is 7701234567."""
    text = str(raw or "").strip().removesuffix(".0")
    return re.sub(r"[\s.\-/\u00a0]", "", text).upper()


def company_name_key(name: str) -> str:
    """A company's legal name compared without case and spacing differences."""
    return " ".join((name or "").split()).lower()


def _pinyin(text: str, *, surname: bool = False) -> str:
    if surname:
        for length in (2, 1):
            reading = CHINESE_SURNAME_READINGS.get(text[:length])
            if reading and len(text) >= length:
                rest = text[length:]
                return reading + ("".join(lazy_pinyin(rest, style=Style.NORMAL)) if rest else "")
    return "".join(lazy_pinyin(text, style=Style.NORMAL, errors=lambda chars: anyascii(chars).lower()))


@lru_cache(maxsize=65536)  # pure, and called for the same names over and over by imports
def transliterate(text: str, *, surname: bool = False) -> str:
    """Latin spelling of a name part: Hanyu Pinyin for Chinese (syllables joined, as in passports),
    a plain ASCII transliteration for Cyrillic and everything else. ``张`` → ``Zhang``,
    ``欧阳`` → ``Ouyang``, ``Пётр`` → ``Petr``."""
    text = _SPACES.sub(" ", (text or "").strip())
    if not text:
        return ""
    if has_han(text):
        return " ".join(_pinyin(part, surname=surname).capitalize() for part in text.split(" "))
    latin = anyascii(text)
    return latin if latin != text else text


@lru_cache(maxsize=65536)  # pure, and called for the same names over and over by imports
def name_key(*parts: str) -> str:
    """An order-free matching key: lower-case Latin tokens, sorted, accents and punctuation gone.

    ``Ivanov Petr``, ``Пётр Иванов`` and ``IVANOV, PETR`` share a key; so do ``张伟`` split as
    family + given name and ``Wei Zhang``.
    """
    tokens: list[str] = []
    for part in parts:
        latin = transliterate(part)
        folded = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode().lower()
        folded = folded.replace("'", "")  # O'Brien and OBrien are one name
        tokens.extend(token for token in re.split(r"[^a-z0-9]+", folded) if token)
    return " ".join(sorted(tokens))


# Russian plates use the Cyrillic letters that look Latin; people type either.
_PLATE_LOOKALIKES = str.maketrans("АВЕКМНОРСТУХ", "ABEKMHOPCTYX")


def plate_key(raw: str) -> str:
    """A plate as letters and digits only, upper case, Cyrillic look-alikes as Latin: ``а 123 вс 77`` → ``A123BC77``."""
    return re.sub(r"[^A-Z0-9\u0400-\u04FF]", "", (raw or "").upper().translate(_PLATE_LOOKALIKES))


# Regions where the ninth character of the VIN is a check digit by standard: North America
# (49 CFR 565) and China (GB 16735). Elsewhere it may be anything, so it is not enforced.
CHECK_DIGIT_REGIONS = ("1", "2", "3", "4", "5", "L")
_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


def vin_normalize(raw: str) -> str:
    """An upper-case 17-character VIN, or ValidationError saying what is wrong with it."""
    vin = re.sub(r"[\s-]", "", (raw or "")).upper()
    if len(vin) != 17:
        raise ValidationError(_("A VIN has 17 characters; this one has %(count)d."), params={"count": len(vin)},
                              code="vin_length")
    if not _VIN.match(vin):
        raise ValidationError(_("A VIN uses digits and letters except I, O and Q."), code="vin_characters")
    if vin[0] in CHECK_DIGIT_REGIONS and not Vin(vin).verify_checksum():
        raise ValidationError(_("The check digit of this VIN is wrong: please check it for a typo."),
                              code="vin_checksum")
    return vin


# ISO 3779 never uses I, O or Q, so where one is written the writer meant 1 or 0: reading them so is
# not a guess. The tenth character is the model year, never 0, U or Z.
_VIN_LOOKALIKES = str.maketrans({"I": "1", "O": "0", "Q": "0"})
_VIN_WRITTEN = re.compile(r"^[A-Z0-9]{17}$")
_VIN_YEAR_CODES = frozenset("ABCDEFGHJKLMNPRSTVWXY123456789")
# Characters people misread for one another; one such slip is what "did you mean" looks for.
_VIN_CONFUSIONS = {"0": "D", "D": "0", "1": "L7", "L": "1", "7": "1", "5": "S", "S": "5", "8": "B", "B": "8",
                   "2": "Z", "Z": "2", "6": "G", "G": "6", "U": "V", "V": "U"}


@dataclass(frozen=True)
class VinReading:
    """A VIN from a file: what the car keeps (``vin``, empty when it cannot be a VIN at all), and
    what is wrong with it in words, with a correction when exactly one fits."""

    vin: str
    problem: str = ""
    suggestion: str = ""


def _vin_checks(vin: str) -> bool:
    return vin[0] not in CHECK_DIGIT_REGIONS or Vin(vin).verify_checksum()


def vin_read(raw: str) -> VinReading:
    """Read a VIN as a DMS wrote it, keeping the car whatever the typo.

    - I, O and Q are read as 1 and 0 (the standard never uses them), and said so;
    - a wrong check digit (North American and Chinese VINs) keeps the VIN as written, with a "did you mean"
      when exactly one common misreading (5/S, 8/B, 0/D, …) of one character makes it right;
    - a model-year character a VIN never has (0, U, Z) is kept, and said;
    - a VIN of the wrong length or with other characters cannot be a VIN: the car keeps none.
    """
    written = re.sub(r"[\s\-.]", "", raw or "").upper()
    if len(written) != 17:
        return VinReading("", _("A VIN has 17 characters; this one has %(count)d.") % {"count": len(written)})
    if not _VIN_WRITTEN.match(written):
        return VinReading("", _("A VIN uses only digits and Latin letters."))
    vin = written.translate(_VIN_LOOKALIKES)
    problems: list[str] = []
    if vin != written:
        problems.append(_("The VIN was written with I, O or Q, which VINs never use: read as %(vin)s.") % {"vin": vin})
    suggestion = ""
    if not _vin_checks(vin):
        # Not "recompute the check digit": that always fits, and is wrong whenever the slip is elsewhere.
        candidates = {vin[:i] + other + vin[i + 1:] for i, char in enumerate(vin)
                      for other in _VIN_CONFUSIONS.get(char, "")}
        fitting = sorted(candidate for candidate in candidates
                         if candidate[0] == vin[0] and Vin(candidate).verify_checksum())
        if len(fitting) == 1:
            suggestion = fitting[0]
            problems.append(_("The VIN fails its check digit: did you mean %(vin)s?") % {"vin": suggestion})
        else:
            problems.append(_("The VIN fails its check digit: one of its characters is probably mistyped."))
    if vin[9] not in _VIN_YEAR_CODES:
        problems.append(_("“%(char)s” is not a model-year character (the tenth of a VIN).") % {"char": vin[9]})
    return VinReading(vin, " ".join(problems), suggestion)


# Folding names for matching across transliteration systems ---------------------------------
#
# One Russian name has many Latin spellings (GOST 7.79 ``Zinovij``, BGN/PCGN ``Zinoviy``, ICAO 9303
# ``Zinovii``, informal ``Zinovy``); pinyin has one, written with or without spaces, in either order.
# ``name_fold`` reduces every spelling to one lossy skeleton, the same for all of them: good for
# blocking and for an "exact" comparison level, never shown to anyone.

# Hanyu Pinyin syllables (toneless; ``v`` for ü, and the passport forms ``lyu``/``nyu``).
PINYIN_SYLLABLES = frozenset("""
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce cen ceng
cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci cong cou cu
cuan cui cun cuo da dai dan dang dao de dei den deng di dia dian diao die ding diu dong dou du duan dui dun duo
e ei en eng er fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan
guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang
jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui
kun kuo la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu lo long lou lu luan lun luo lv lve
lyu lue ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen
neng ni nian niang niao nie nin ning niu nong nou nu nuan nuo nv nve nyu nue o ou pa pai pan pang pao pei pen peng
pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun ran rang rao re
ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang shao she shei shen
sheng shi shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang tao te
teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu xi xia xian xiang xiao
xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai zan zang
zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui
zhun zhuo zi zong zou zu zuan zui zun zuo
""".split())  # noqa: SIM905 - the syllable table reads better as text
_LONGEST_SYLLABLE = 6

# Latin spellings of Russian sounds, longest first, each to one letter of the skeleton: shch, sch, sh → s;
# zh → z; kh → h; ch, ts, tz → c; then the glide of the soft vowels and short i (y, j, i) → i; "e" after a
# glide (yo, io, ye, ie) reads e.
_RUSSIAN_FOLDS = (
    ("shch", "s"), ("sch", "s"), ("shh", "s"), ("tsch", "c"), ("tch", "c"), ("sh", "s"), ("zh", "z"), ("kh", "h"),
    ("ch", "c"), ("ts", "c"), ("tz", "c"), ("cz", "c"), ("x", "ks"), ("ph", "f"), ("w", "v"), ("ck", "k"),
    ("q", "k"), ("ou", "u"), ("y", "i"), ("j", "i"),
)
_DOUBLES = re.compile(r"(.)\1+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_NOT_LETTERS = re.compile(r"[^a-z0-9]+")


def _ascii_tokens(text: str) -> list[str]:
    """Lower-case ASCII tokens of a name part in any script (Han through pinyin, syllables kept apart)."""
    text = _SPACES.sub(" ", (text or "").strip())
    if not text:
        return []
    if has_han(text):
        # Each Han character is one syllable: keep them apart, so "张伟" and "Zhang Wei" segment alike.
        latin = " ".join(lazy_pinyin(text, style=Style.NORMAL, v_to_u=False,
                                     errors=lambda chars: anyascii(chars).lower()))
    else:
        latin = anyascii(text)
    folded = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode().lower()
    folded = folded.replace("'", "").replace("\u02b9", "")  # Natal'ya, Il'in: the soft sign is not written by all
    return [token for token in _NOT_LETTERS.split(folded) if token]


def pinyin_split(token: str) -> list[str] | None:
    """The pinyin syllables of ``token`` (``zhangxiaoming`` → zhang, xiao, ming), or None when it is not pinyin.

    Of the possible readings, the one with the fewest syllables starting with a vowel (the rule the
    apostrophe of ``Xi'an`` exists for), then the fewest syllables: ``xian`` is one syllable, ``nana``
    is na + na, ``fangang`` is fan + gang."""
    token = token.replace("lyu", "lv").replace("nyu", "nv").replace("lue", "lve").replace("nue", "nve")
    if not token:
        return None
    best: dict[int, tuple[tuple[int, int], list[str]] | None] = {len(token): ((0, 0), [])}
    for start in range(len(token) - 1, -1, -1):
        best[start] = None
        for size in range(min(_LONGEST_SYLLABLE, len(token) - start), 0, -1):
            piece, rest = token[start:start + size], best.get(start + size)
            if piece not in PINYIN_SYLLABLES or rest is None:
                continue
            (vowels, count), pieces = rest
            cost = (vowels + (piece[0] in "aeo"), count + 1)
            if best[start] is None or cost < best[start][0]:
                best[start] = (cost, [piece, *pieces])
    found = best[0]
    return found[1] if found else None


def russian_fold(token: str) -> str:
    """The skeleton of one Latin token as any Russian transliteration system writes it:
    ``Zinovij``, ``Zinoviy``, ``Zinovii``, ``Zinovy`` → ``zinovi``; ``Natalja``, ``Natal'ya``, ``Natalia`` →
    ``natalia``; ``Pyotr``, ``Pjotr``, ``Petr`` → ``petr``."""
    for spelling, letter in _RUSSIAN_FOLDS:
        token = token.replace(spelling, letter)
    token = _DOUBLES.sub(r"\1", token)  # Mayya/Majja/Maiia, Kirill/Kiril, Dmitrii/Dmitri
    token = token.replace("io", "e").replace("ie", "e")  # yo/ye after a glide: Fyodor/Fedor, Yelena/Elena
    return _DOUBLES.sub(r"\1", token)


@lru_cache(maxsize=65536)  # pure, and asked of the same names over and over by imports and the identity model
def is_pinyin_name(*parts: str) -> bool:
    """True for a Chinese name: Han characters, or Latin tokens that all read as pinyin syllables."""
    text = "".join(parts)
    if has_han(text):
        return True
    if _CYRILLIC.search(text):
        return False
    syllables = [pinyin_split(token) for part in parts for token in _ascii_tokens(part)]
    if not syllables or any(split is None for split in syllables):
        return False
    # Chinese family and given names have one or two syllables each (four written together at most):
    # ``Natalia`` reads as na-ta-lia, but no Chinese name part has three syllables of its own.
    counts = [len(split) for split in syllables if split is not None]
    return sum(counts) <= 4 and (len(counts) == 1 or max(counts) <= 2)


def name_fold_part_tokens(text: str, *, pinyin: bool) -> list[str]:
    """One name part folded, in its order: pinyin syllables (spaces lost or not: ``xiao ming`` =
    ``xiaoming``), Russian-transliteration skeletons otherwise."""
    return list(_part_tokens(text, pinyin))


@lru_cache(maxsize=65536)  # pure; a tuple, so that no caller can change what the next one gets
def _part_tokens(text: str, pinyin: bool) -> tuple[str, ...]:
    tokens: list[str] = []
    for token in _ascii_tokens(text):
        tokens += (pinyin_split(token) or [token]) if pinyin else [russian_fold(token)]
    return tuple(token for token in tokens if token)


def name_fold_tokens(*parts: str) -> list[str]:
    """The folded tokens of a whole name, order-free (sorted): pinyin split into syllables, so
    ``Zhang Xiaoming``, ``ZhangXiaoming`` and ``Xiao Ming Zhang`` give the same list."""
    pinyin = is_pinyin_name(*parts)
    return sorted(token for part in parts for token in name_fold_part_tokens(part, pinyin=pinyin))


def name_fold(*parts: str) -> str:
    """The order-free folded key of a name: ``Зиновий Петров`` and ``Petrov Zinovij`` share it."""
    return " ".join(name_fold_tokens(*parts))
