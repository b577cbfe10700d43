"""What a DMS row may say, how its columns are recognised, and how a row becomes clean values.

Each target field knows its label, the column names DMS exports use for it (en, ru, zh), and how
to read a value. ``RowParser`` turns a row into a ``Parsed`` record or a list of problems in
words a dealer understands; it never writes anything.
"""

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import normalize
from ..models import Gender, ImportKind, Person, Vehicle
from .lines import OrderLines

BOTH = (ImportKind.SALES, ImportKind.SERVICE)


@dataclass(frozen=True)
class Target:
    name: str
    label: Promise
    kind: str = "text"  # text, date, int, decimal, phone, email, vin, gender, rooftop, tax_id, lines
    files: tuple[str, ...] = BOTH
    synonyms: tuple[str, ...] = ()


TARGETS: tuple[Target, ...] = (
    Target("customer_number", gettext_lazy("DMS customer number"), synonyms=(
        "customer number", "customer no", "customer id", "client id", "client number", "account",
        "код клиента", "номер клиента", "клиент id", "客户编号", "客户号", "客户代码")),
    Target("full_name", gettext_lazy("Full name"), synonyms=(
        "name", "full name", "customer", "customer name", "client", "client name", "фио", "ф.и.о.", "клиент",
        "имя клиента", "姓名", "客户姓名", "客户名称", "车主", "车主姓名")),
    # Not "организация": in 1C exports that column is the dealer's own legal entity; nor "单位",
    # often the buyer's employer. The dealer maps such a column by hand when it is the buyer.
    Target("company_name", gettext_lazy("Company (fleet buyer)"), synonyms=(
        "company", "company name", "organisation", "organization", "legal name", "fleet customer", "business name",
        "компания", "юр. лицо", "юрлицо", "юридическое лицо", "компания-покупатель", "公司", "公司名称", "企业名称")),
    Target("tax_id", gettext_lazy("Company tax id"), kind="tax_id", synonyms=(
        "tax id", "vat", "vat id", "vat number", "tin", "inn", "инн", "税号", "纳税人识别号", "统一社会信用代码")),
    Target("family_name", gettext_lazy("Family name"), synonyms=(
        "last name", "surname", "family name", "фамилия", "姓")),
    Target("given_name", gettext_lazy("Given name"), synonyms=("first name", "given name", "имя", "名")),
    Target("middle_name", gettext_lazy("Middle name / patronymic"), synonyms=("middle name", "patronymic", "отчество")),
    Target("gender", gettext_lazy("Gender"), kind="gender", synonyms=("gender", "sex", "пол", "性别")),
    Target("birth_date", gettext_lazy("Birth date"), kind="date", synonyms=(
        "birth date", "date of birth", "dob", "birthday", "дата рождения", "出生日期", "生日")),
    Target("phone", gettext_lazy("Phone"), kind="phone", synonyms=(
        "phone", "mobile", "mobile phone", "cell", "telephone", "tel", "телефон", "мобильный", "моб. телефон",
        "手机", "手机号", "电话", "联系电话")),
    Target("phone_2", gettext_lazy("Second phone"), kind="phone", synonyms=(
        "phone 2", "phone2", "other phone", "home phone", "work phone", "телефон 2", "доп. телефон",
        "домашний телефон", "рабочий телефон", "电话2", "备用电话")),
    Target("email", gettext_lazy("E-mail"), kind="email", synonyms=(
        "email", "e-mail", "mail", "email address", "эл. почта", "электронная почта", "почта", "邮箱", "电子邮件")),
    Target("address", gettext_lazy("Address"), synonyms=("address", "адрес", "地址")),
    Target("residential_area", gettext_lazy("Residential area"), synonyms=(
        "area", "district", "residential area", "район", "区域", "小区", "所在区域")),
    Target("occupation", gettext_lazy("Occupation"), synonyms=("occupation", "job", "профессия", "职业")),
    Target("rooftop", gettext_lazy("Rooftop"), kind="rooftop", synonyms=(
        "rooftop", "dealership", "branch", "location", "дилерский центр", "салон", "филиал", "门店", "经销店")),
    Target("vin", gettext_lazy("VIN"), kind="vin", synonyms=("vin", "vin code", "вин", "vin码", "车架号", "vin号")),
    Target("make", gettext_lazy("Make"), synonyms=("make", "brand", "марка", "品牌")),
    Target("model", gettext_lazy("Model"), synonyms=("model", "модель", "车型")),
    Target("year", gettext_lazy("Model year"), kind="int", synonyms=(
        "year", "model year", "год", "год выпуска", "年款", "年份")),
    Target("plate", gettext_lazy("Plate"), synonyms=(
        "plate", "license plate", "registration", "reg no", "госномер", "гос. номер", "гос номер", "车牌", "车牌号")),
    Target("colour", gettext_lazy("Colour"), synonyms=("colour", "color", "цвет", "颜色")),
    Target("purchase_date", gettext_lazy("Purchase date"), kind="date", synonyms=(
        "purchase date", "sale date", "sold", "delivery date", "дата продажи", "дата покупки", "дата выдачи",
        "购车日期", "销售日期", "交车日期")),
    Target("warranty_end", gettext_lazy("Warranty end"), kind="date", synonyms=(
        "warranty end", "warranty until", "гарантия до", "окончание гарантии", "保修到期")),
    Target("insurance_expiry", gettext_lazy("Insurance expiry"), kind="date", synonyms=(
        "insurance expiry", "insurance until", "страховка до", "окончание страховки", "保险到期")),
    Target("inspection_due", gettext_lazy("Inspection due"), kind="date", synonyms=(
        "inspection due", "техосмотр до", "年检到期")),
    Target("mileage", gettext_lazy("Mileage (km)"), kind="int", synonyms=(
        "mileage", "odometer", "km", "пробег", "里程", "行驶里程")),
    Target("visit_date", gettext_lazy("Visit date"), kind="date", files=(ImportKind.SERVICE,), synonyms=(
        "visit date", "date in", "ro date", "order date", "date", "дата визита", "дата заказа", "дата",
        "进厂日期", "维修日期", "日期")),
    Target("order_number", gettext_lazy("Repair order number"), files=(ImportKind.SERVICE,), synonyms=(
        "ro", "ro number", "repair order", "order no", "order number", "заказ-наряд", "номер заказа", "заказ",
        "工单号", "工单编号")),
    Target("work", gettext_lazy("Work done"), files=(ImportKind.SERVICE,), synonyms=(
        "work", "jobs", "description", "работы", "описание", "维修项目", "作业内容")),
    Target("amount", gettext_lazy("Amount"), kind="decimal", synonyms=("amount", "total", "sum", "сумма", "金额")),
    # Repair orders with their lines (service files): a row per job line, grouped by the order number, or a
    # row per order with its lines in one cell. ``lines.py`` reads them; its docstring lists the formats.
    Target("line_number", gettext_lazy("Line number in the order"), kind="int", files=(ImportKind.SERVICE,),
           synonyms=("line no", "line number", "№ строки", "номер строки", "行号")),
    Target("line_description", gettext_lazy("Job line"), files=(ImportKind.SERVICE,), synonyms=(
        "job line", "line description", "operation", "item", "работа", "операция", "наименование",
        "наименование работ", "номенклатура", "项目名称", "作业项目", "维修内容")),
    Target("line_type", gettext_lazy("Line type (labour or part)"), files=(ImportKind.SERVICE,), synonyms=(
        "line type", "item type", "labour or part", "тип строки", "вид строки", "работа или запчасть", "项目类型",
        "明细类型")),
    Target("line_category", gettext_lazy("Work category"), files=(ImportKind.SERVICE,), synonyms=(
        "category", "work category", "job category", "repair type", "категория", "вид ремонта", "维修类别",
        "维修类型", "类别")),
    Target("quantity", gettext_lazy("Quantity"), kind="decimal", files=(ImportKind.SERVICE,), synonyms=(
        "quantity", "qty", "количество", "кол-во", "数量")),
    Target("unit_price", gettext_lazy("Unit price"), kind="decimal", files=(ImportKind.SERVICE,), synonyms=(
        "unit price", "price", "rate", "цена", "цена за единицу", "单价")),
    Target("line_amount", gettext_lazy("Line amount"), kind="decimal", files=(ImportKind.SERVICE,), synonyms=(
        "line amount", "line total", "сумма строки", "сумма по строке", "小计", "金额小计")),
    Target("advisor", gettext_lazy("Service advisor"), files=(ImportKind.SERVICE,), synonyms=(
        "advisor", "service advisor", "adviser", "мастер", "мастер-приемщик", "мастер-приёмщик", "приемщик",
        "приёмщик", "сервисный консультант", "服务顾问", "接待员", "服务接待")),
    Target("declined", gettext_lazy("Declined (a yes/no column)"), files=(ImportKind.SERVICE,), synonyms=(
        "declined", "refused", "customer declined", "отказ", "отказ клиента", "客户拒绝", "拒绝")),
    Target("declined_work", gettext_lazy("Declined work / recommendations"), kind="lines",
           files=(ImportKind.SERVICE,), synonyms=(
               "declined work", "recommendations", "recommended work", "рекомендации", "рекомендованные работы",
               "建议项目", "建议维修项目")),
    Target("lines", gettext_lazy("Job lines (in one cell)"), kind="lines", files=(ImportKind.SERVICE,), synonyms=(
        "lines", "job lines", "order lines", "строки заказа", "работы и запчасти", "维修明细", "工单明细")),
    Target("part_lines", gettext_lazy("Parts (in one cell)"), kind="lines", files=(ImportKind.SERVICE,), synonyms=(
        "parts", "parts used", "запчасти", "материалы", "配件", "配件明细")),
)
BY_NAME = {target.name: target for target in TARGETS}
NAME_TARGETS = ("full_name", "family_name", "given_name")


def targets_for(kind: str) -> list[Target]:
    return [target for target in TARGETS if kind in target.files]


def _folded(text: str) -> str:
    return re.sub(r"[\s_.:#№-]+", " ", str(text).lower()).strip()


def mapping_guess(header: list[str], kind: str) -> dict[str, str]:
    """A first mapping from the column names: each target takes the first column named like it."""
    folded = {_folded(name): name for name in reversed(header)}
    guess: dict[str, str] = {}
    taken: set[str] = set()
    for target in targets_for(kind):
        for synonym in (target.name.replace("_", " "), *target.synonyms):
            column = folded.get(_folded(synonym))
            if column and column not in taken:
                guess[target.name] = column
                taken.add(column)
                break
    return guess


def date_format_guess(values: list[Any], formats: list[str]) -> str | None:
    """The format that reads most of the sample values (a typo in one row must not decide)."""
    texts = [str(value).strip().split(" ")[0].split("T")[0] for value in values
             if value not in ("", None) and not isinstance(value, date)]
    scores = dict.fromkeys(formats, 0)
    for fmt in formats:
        for text in texts:
            try:
                _date_in(text, fmt)
            except ValueError:
                continue
            scores[fmt] += 1
    best = max(formats, key=lambda fmt: scores[fmt]) if formats else None
    return best if best and scores[best] else None


def _date_in(text: str, fmt: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return datetime.strptime(text, fmt).date()


@dataclass(frozen=True)
class Hint:
    """A value of a row that could not be used as written: its field, column, the value as
    written, what is wrong in words, and a correction where exactly one fits."""

    field: str
    column: str
    value: str
    message: str
    suggestion: str = ""


@dataclass(frozen=True)
class Kept:
    """A reader's value that is usable but doubtful (a VIN failing its check digit): kept, with a hint."""

    value: Any
    message: str
    suggestion: str = ""


@dataclass
class Parsed:
    """A row's clean values: the person, their contacts, the car and what happened; and the hints
    for values that could not be used as written."""

    line: int
    customer_number: str = ""
    person: dict[str, Any] = field(default_factory=dict)
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    vehicle: dict[str, Any] = field(default_factory=dict)
    mileage: int | None = None
    visit: dict[str, Any] = field(default_factory=dict)
    company: dict[str, Any] = field(default_factory=dict)  # legal_name, tax_id: a fleet or corporate buyer
    fingerprint: str = ""
    hints: list[Hint] = field(default_factory=list)

    @property
    def has_person(self) -> bool:
        """A company's row may name no one; a person's row names them, or is a customer whose name the
        DMS lost but whose phone, e-mail, car or number says who they are (an unnamed customer)."""
        if self.person.get("family_name") or self.person.get("given_name"):
            return True
        return not self.company

    @property
    def name_key(self) -> str:
        return normalize.name_key(self.person.get("family_name", ""), self.person.get("given_name", ""))

    @property
    def contact_keys(self) -> list[str]:
        """The keys an exact strong match may share: ``phone:+49…``, ``email:…``, ``vin:…``."""
        keys = [f"phone:{number}" for number in self.phones] + [f"email:{address}" for address in self.emails]
        return keys + ([f"vin:{self.vehicle['vin']}"] if self.vehicle.get("vin") else [])

    @property
    def vehicle_key(self) -> str:
        return self.vehicle.get("vin") or normalize.plate_key(self.vehicle.get("plate", ""))


PERSON_TARGETS = ("family_name", "given_name", "middle_name", "gender", "birth_date", "address", "residential_area",
                  "occupation", "rooftop")
VEHICLE_TARGETS = ("vin", "make", "model", "year", "plate", "colour", "purchase_date", "warranty_end",
                   "insurance_expiry", "inspection_due")
GENDERS = {
    Gender.MALE: {"m", "male", "man", "м", "муж", "мужской", "男", "先生"},
    Gender.FEMALE: {"f", "female", "woman", "ж", "жен", "женский", "女", "女士"},
    Gender.OTHER: {"x", "other", "другой", "其他"},
}


def name_split(full: str) -> tuple[str, str, str]:
    """Family, given and middle name from one "name" column, as DMS exports write it.

    Han names are family-name-first with no space (a two-character family name when it is a
    known compound one); Cyrillic names are "Family Given Patronymic"; Latin ones "Given Family".
    """
    full = " ".join(full.split())
    if normalize.has_han(full):
        compact = full.replace(" ", "")
        size = 2 if compact[:2] in normalize.CHINESE_SURNAME_READINGS and len(compact) > 2 else 1
        if " " in full:
            family, given = full.split(" ", 1)
            return family, given.replace(" ", ""), ""
        return compact[:size], compact[size:], ""
    parts = full.split(" ")
    if re.search(r"[\u0400-\u04ff]", full):
        return parts[0], " ".join(parts[1:2]), " ".join(parts[2:])
    if "," in full:  # "Smith, John"
        family, given = (part.strip() for part in full.split(",", 1))
        return family, given, ""
    if len(parts) == 1:
        return parts[0], "", ""
    return parts[-1], parts[0], " ".join(parts[1:-1])


class RowParser:
    """Reads rows of one file with one mapping. Problems come back as sentences, one per fault."""

    def __init__(self, *, header: list[str], mapping: dict[str, str], kind: str, date_format: str, region: str,
                 rooftops: dict[str, int]) -> None:
        self.kind, self.date_format, self.region, self.rooftops = kind, date_format, region, rooftops
        self.width, self.header = len(header), header
        self.columns = {name: header.index(column) for name, column in mapping.items()
                        if column in header and name in BY_NAME and kind in BY_NAME[name].files}
        self.readers: dict[str, Callable[[str, Any], Any]] = {
            "text": self._text, "date": self._date, "int": self._int, "decimal": self._decimal,
            "phone": self._phone, "email": self._email, "vin": self._vin, "gender": self._gender,
            "rooftop": self._rooftop, "tax_id": self._tax_id,
            "lines": self._lines,
        }

    def parse(self, line: int, values: list[Any]) -> tuple[Parsed | None, list[str]]:
        """The row's clean values with a hint for every value that could not be used, or (``None``,
        the reasons) when the row cannot be read or names nobody: one bad field never costs the row."""
        if len(values) > self.width and any(str(value).strip() for value in values[self.width:]):
            return None, [_("The row has %(count)d values but the header has %(columns)d columns: "
                            "a value may contain the separator without quotes.")
                          % {"count": len(values), "columns": self.width}]
        hints: list[Hint] = []
        clean: dict[str, Any] = {}
        for name, index in self.columns.items():
            raw = values[index] if index < len(values) else ""
            if isinstance(raw, str) and raw[:1] == "'" and raw[1:2] in ("=", "+", "-", "@"):
                raw = raw[1:]  # the quote our own exports put before formula-like cells
            if raw in ("", None) or (isinstance(raw, str) and not raw.strip()):
                continue
            target = BY_NAME[name]
            try:
                value = self.readers[target.kind](name, raw)
            except ValidationError as error:
                hints.append(Hint(name, self.header[index], _written(raw), " ".join(error.messages)))
                continue
            if isinstance(value, Kept):
                hints.append(Hint(name, self.header[index], _written(raw), value.message, value.suggestion))
                value = value.value
            if value not in ("", None):
                clean[name] = value
        return self._assemble(line, clean, hints)

    def _assemble(self, line: int, clean: dict[str, Any], hints: list[Hint]) -> tuple[Parsed | None, list[str]]:
        if "full_name" in clean and not (clean.get("family_name") or clean.get("given_name")):
            family, given, middle = name_split(clean.pop("full_name"))
            clean.setdefault("family_name", family)
            clean.setdefault("given_name", given)
            if middle:
                clean.setdefault("middle_name", middle)
        clean.pop("full_name", None)
        for name, limit in _LIMITS.items():
            value = str(clean.get(name, ""))
            if len(value) <= limit:
                continue
            message = _("%(field)s is longer than %(max)d characters.") % {"field": BY_NAME[name].label, "max": limit}
            if name in NAME_TARGETS or name in ("middle_name", "company_name"):
                clean[name] = value[:limit]  # a name cut short still says who it is; the whole one is on the hint
                message = _("%(problem)s It was cut short.") % {"problem": message}
            else:
                del clean[name]
            hints.append(Hint(name, self._column(name), value[:300], message))
        if clean.get("tax_id") and not clean.get("company_name"):
            hints.append(Hint("tax_id", self._column("tax_id"), clean.pop("tax_id"),
                              _("A company tax id without the company's name.")))
        identifies = ("family_name", "given_name", "company_name", "customer_number", "phone", "phone_2", "email",
                      "vin", "plate")
        if not any(clean.get(name) for name in identifies):
            if hints:
                return None, [" ".join([_("Nothing left to say who the customer is:"), "; ".join(
                    f"{BY_NAME[hint.field].label}: {hint.message}" for hint in hints)])]
            return None, [_("No customer name, company, phone, e-mail, VIN or DMS number: nothing says who this is.")]
        parsed = Parsed(line=line, customer_number=clean.get("customer_number", ""), hints=hints)
        if clean.get("company_name"):
            parsed.company = {"legal_name": clean["company_name"], "tax_id": clean.get("tax_id", "")}
        parsed.person = {name: clean[name] for name in PERSON_TARGETS if name in clean}
        parsed.phones = [clean[name] for name in ("phone", "phone_2") if name in clean]
        parsed.phones = list(dict.fromkeys(parsed.phones))
        parsed.emails = [clean["email"]] if "email" in clean else []
        parsed.vehicle = {name: clean[name] for name in VEHICLE_TARGETS if name in clean}
        parsed.mileage = clean.get("mileage")
        if self.kind == ImportKind.SERVICE:
            parsed.visit = {name: clean[name] for name in ("visit_date", "order_number", "work", "amount")
                            if name in clean}
            order, faults = self._order_lines.read(clean, unread=[hint.field for hint in hints])
            parsed.visit |= order
            hints += [Hint(name, self._column(name), str(clean.get(name, ""))[:300], message)
                      for name, message in faults]
        elif "amount" in clean:
            parsed.visit = {"amount": clean["amount"]}
        # The values as written that could not be used count too: a corrected file is a new row.
        parsed.fingerprint = hashlib.sha256(json.dumps(
            [self.kind, {name: str(value) for name, value in sorted(clean.items())},
             sorted((hint.field, hint.value) for hint in hints)], ensure_ascii=False,
        ).encode()).hexdigest()
        return parsed, []

    def _column(self, name: str) -> str:
        index = self.columns.get(name)
        return self.header[index] if index is not None else ""

    @cached_property
    def _order_lines(self) -> OrderLines:
        """The job lines, declined work and advisor of each row; it counts repeated lines per order in file order."""
        return OrderLines()

    # Readers: each returns the clean value or raises ValidationError with what is wrong.

    def _text(self, name: str, raw: Any) -> str:
        return " ".join(str(raw).split())

    def _date(self, name: str, raw: Any) -> date:
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        text = str(raw).strip().split(" ")[0].split("T")[0]
        try:
            value = _date_in(text, self.date_format)
        except ValueError:
            example = date(2024, 3, 31).strftime(self.date_format)
            raise ValidationError(_("“%(value)s” is not a date like %(example)s.")
                                  % {"value": raw, "example": example}) from None
        if not date(1900, 1, 1) <= value <= date(timezone.localdate().year + 15, 12, 31):
            raise ValidationError(_("%(value)s is not a plausible date.") % {"value": value.isoformat()})
        if name == "birth_date" and value > timezone.localdate():
            raise ValidationError(_("A birth date cannot be in the future."))
        return value

    def _int(self, name: str, raw: Any) -> int:
        text = re.sub(r"[\s\u00a0]", "", str(raw)).removesuffix(".0").replace("km", "").replace("км", "")
        if not text.isdigit():
            raise ValidationError(_("“%(value)s” is not a whole number.") % {"value": raw})
        value = int(text)
        if name == "year" and not 1900 <= value <= timezone.localdate().year + 1:
            raise ValidationError(_("%(value)d is not a model year.") % {"value": value})
        if name == "mileage" and value > 3_000_000:
            raise ValidationError(_("%(value)d km is not a plausible mileage.") % {"value": value})
        return value

    def _decimal(self, name: str, raw: Any) -> Decimal:
        text = re.sub(r"[\s\u00a0]", "", str(raw))
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        text = text.replace(",", "")
        try:
            return Decimal(text)
        except InvalidOperation:
            raise ValidationError(_("“%(value)s” is not an amount.") % {"value": raw}) from None

    def _phone(self, name: str, raw: Any) -> str:
        text = str(raw).strip()
        if text.isdigit() and not text.startswith("0"):
            # Spreadsheets keep phones as numbers and drop the "+": 4917155500011 is +49 171 ...
            try:
                return normalize.phone_e164("+" + text, None, strict=True)
            except ValidationError:
                pass
        return normalize.phone_e164(text, self.region)

    def _email(self, name: str, raw: Any) -> str:
        from django.core.validators import validate_email

        address = normalize.email_normalize(str(raw))
        validate_email(address)
        return address

    def _tax_id(self, name: str, raw: Any) -> str:
        return normalize.tax_id_normalize(raw)

    def _vin(self, name: str, raw: Any) -> str | Kept:
        reading = normalize.vin_read(str(raw))
        if not reading.vin:
            raise ValidationError(reading.problem)
        return Kept(reading.vin, reading.problem, reading.suggestion) if reading.problem else reading.vin

    def _gender(self, name: str, raw: Any) -> str:
        text = str(raw).strip().lower().rstrip(".")
        for gender, spellings in GENDERS.items():
            if text in spellings:
                return gender
        raise ValidationError(_("“%(value)s” is not a gender we know (M, F, X).") % {"value": raw})

    def _lines(self, name: str, raw: Any) -> str:
        """Text whose line breaks separate items (a cell of job lines): kept, each line's spacing tidied."""
        return "\n".join(" ".join(line.split()) for line in str(raw).splitlines() if line.strip())

    def _rooftop(self, name: str, raw: Any) -> int:
        rooftop = self.rooftops.get(str(raw).strip().lower())
        if rooftop is None:
            raise ValidationError(_("“%(value)s” is not one of your rooftops: add it in Settings or correct the file.")
                                  % {"value": raw})
        return rooftop


def _written(raw: Any) -> str:
    """A value as the file wrote it, for a hint: dates and numbers from spreadsheets as text."""
    return " ".join(str(raw).split())[:300]


def _limit(model: type, name: str) -> int:
    return model._meta.get_field(name).max_length


_LIMITS = {
    **{name: _limit(Person, name) for name in ("family_name", "given_name", "middle_name", "address",
                                                "residential_area", "occupation")},
    **{name: _limit(Vehicle, name) for name in ("make", "model", "plate", "colour")},
    "company_name": 300,
    "tax_id": 40,
    "customer_number": 80,
    "order_number": 60,
}
