"""Normalised keys of a customer: phones in E.164, e-mails, names in Latin script, VINs.

Pure functions, used when saving and when matching: two spellings of the same thing must meet.
"""

import re
import unicodedata

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


def phone_e164(raw: str, region: str | None = None, *, strict: bool = False) -> str:
    """The E.164 form of a phone number, read in ``region`` when it has no country code.

    Raises ValidationError with a message a person understands when it is not a possible number
    (with ``strict``, when it is not a valid number of its country's numbering plan).
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a phone number."), code="required")
    try:
        number = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException as error:
        raise ValidationError(
            _("“%(value)s” is not a phone number we can read. Include the country code, e.g. +7 912 345-67-89."),
            params={"value": text}, code="invalid_phone",
        ) from error
    # A number possible only locally lacks its area code: nobody could call it back.
    possible = phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE
    if not possible or (strict and not phonenumbers.is_valid_number(number)):
        raise ValidationError(_("“%(value)s” has the wrong number of digits."), params={"value": text},
                              code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


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
    tokens: list[str] = []
    for token in _ascii_tokens(text):
        tokens += (pinyin_split(token) or [token]) if pinyin else [russian_fold(token)]
    return [token for token in tokens if token]


def name_fold_tokens(*parts: str) -> list[str]:
    """The folded tokens of a whole name, order-free (sorted): pinyin split into syllables, so
    ``Zhang Xiaoming``, ``ZhangXiaoming`` and ``Xiao Ming Zhang`` give the same list."""
    pinyin = is_pinyin_name(*parts)
    return sorted(token for part in parts for token in name_fold_part_tokens(part, pinyin=pinyin))


def name_fold(*parts: str) -> str:
    """The order-free folded key of a name: ``Зиновий Петров`` and ``Petrov Zinovij`` share it."""
    return " ".join(name_fold_tokens(*parts))
