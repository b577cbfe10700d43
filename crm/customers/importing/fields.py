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
        "customer code", "cust no", "cust id", "client code", "client no", "account no", "account number",
        "код клиента", "номер клиента", "клиент id", "код контрагента", "客户编号", "客户号", "客户代码", "客户id",
        "会员号")),
    Target("full_name", gettext_lazy("Full name"), synonyms=(
        "name", "full name", "customer", "customer name", "client", "client name", "фио", "ф.и.о.", "клиент",
        "имя клиента", "姓名", "客户姓名", "客户名称", "车主", "车主姓名",
        "buyer", "buyer name", "purchaser", "purchaser name", "owner", "owner name", "registered owner",
        "customer full name", "client full name", "contact name", "покупатель", "собственник", "владелец",
        "заказчик", "контрагент", "фио клиента", "фио покупателя", "фио владельца", "客户", "顾客姓名",
        "购车人", "购买人", "车主名称")),
    # Not "организация": in 1C exports that column is the dealer's own legal entity; nor "单位",
    # often the buyer's employer. The dealer maps such a column by hand when it is the buyer.
    Target("company_name", gettext_lazy("Company (fleet buyer)"), synonyms=(
        "company", "company name", "organisation", "organization", "legal name", "fleet customer", "business name",
        "компания", "юр. лицо", "юрлицо", "юридическое лицо", "компания-покупатель", "公司", "公司名称", "企业名称")),
    Target("tax_id", gettext_lazy("Company tax id"), kind="tax_id", synonyms=(
        "tax id", "vat", "vat id", "vat number", "tin", "inn", "инн", "税号", "纳税人识别号", "统一社会信用代码")),
    Target("family_name", gettext_lazy("Family name"), synonyms=(
        "last name", "surname", "family name", "lastname", "фамилия", "фамилия клиента", "姓", "姓氏")),
    Target("given_name", gettext_lazy("Given name"), synonyms=(
        "first name", "given name", "firstname", "forename", "имя", "名", "名字")),
    Target("middle_name", gettext_lazy("Middle name / patronymic"), synonyms=(
        "middle name", "patronymic", "middlename", "отчество")),
    Target("gender", gettext_lazy("Gender"), kind="gender", synonyms=("gender", "sex", "пол", "性别")),
    Target("birth_date", gettext_lazy("Birth date"), kind="date", synonyms=(
        "birth date", "date of birth", "dob", "birthday", "birthdate", "дата рождения", "出生日期", "生日",
        "出生年月")),
    Target("phone", gettext_lazy("Phone"), kind="phone", synonyms=(
        "phone", "mobile", "mobile phone", "cell", "telephone", "tel", "телефон", "мобильный", "моб. телефон",
        "手机", "手机号", "电话", "联系电话",
        "mobile no", "mobile number", "mobile phone number", "cell phone", "cellphone", "contact no", "contact number",
        "phone number", "phone no", "telephone number", "tel no", "customer phone", "customer mobile", "owner phone",
        "телефон мобильный", "мобильный телефон", "сотовый", "сотовый телефон", "телефон клиента",
        "контактный телефон", "手机号码", "移动电话", "联系方式", "车主电话", "车主手机", "客户电话", "客户手机")),
    Target("phone_2", gettext_lazy("Second phone"), kind="phone", synonyms=(
        "phone 2", "phone2", "other phone", "home phone", "work phone", "телефон 2", "доп. телефон",
        "домашний телефон", "рабочий телефон", "电话2", "备用电话",
        "alternative phone", "landline", "телефон домашний", "телефон рабочий", "дополнительный телефон",
        "固定电话", "座机", "其他电话")),
    Target("email", gettext_lazy("E-mail"), kind="email", synonyms=(
        "email", "e-mail", "mail", "email address", "эл. почта", "электронная почта", "почта", "邮箱", "电子邮件",
        "customer email", "e-mail address", "электронный адрес", "адрес электронной почты", "电子邮箱")),
    Target("address", gettext_lazy("Address"), synonyms=(
        "address", "адрес", "地址", "street address", "home address", "mailing address", "customer address",
        "адрес клиента", "адрес регистрации", "фактический адрес", "联系地址", "家庭住址", "住址")),
    Target("residential_area", gettext_lazy("Residential area"), synonyms=(
        "area", "district", "residential area", "район", "区域", "小区", "所在区域")),
    Target("occupation", gettext_lazy("Occupation"), synonyms=("occupation", "job", "профессия", "职业")),
    Target("rooftop", gettext_lazy("Rooftop"), kind="rooftop", synonyms=(
        "rooftop", "dealership", "branch", "location", "дилерский центр", "салон", "филиал", "门店", "经销店")),
    Target("vin", gettext_lazy("VIN"), kind="vin", synonyms=(
        "vin", "vin code", "вин", "vin码", "车架号", "vin号", "vin no", "vin number", "chassis", "chassis no",
        "chassis number", "frame no", "frame number", "vehicle identification number", "vin-код", "номер кузова",
        "номер шасси", "идентификационный номер", "车辆识别代号", "车辆识别号", "底盘号")),
    Target("make", gettext_lazy("Make"), synonyms=(
        "make", "brand", "марка", "品牌", "manufacturer", "vehicle make", "марка автомобиля", "марка а/м", "厂牌",
        "车辆品牌")),
    Target("model", gettext_lazy("Model"), synonyms=(
        "model", "модель", "车型", "vehicle model", "model name", "модель автомобиля", "модель а/м", "车系")),
    Target("year", gettext_lazy("Model year"), kind="int", synonyms=(
        "year", "model year", "год", "год выпуска", "年款", "年份", "year of manufacture", "год изготовления",
        "модельный год", "生产年份", "出厂年份")),
    Target("plate", gettext_lazy("Plate"), synonyms=(
        "plate", "license plate", "registration", "reg no", "госномер", "гос. номер", "гос номер", "车牌", "车牌号",
        "reg plate", "registration no", "registration number", "reg number", "rego", "number plate", "licence plate",
        "plate no", "plate number", "гос. рег. знак", "госрегзнак", "гос. знак", "регистрационный знак",
        "номерной знак", "车牌号码", "号牌", "号牌号码", "牌照号")),
    Target("colour", gettext_lazy("Colour"), synonyms=(
        "colour", "color", "цвет", "颜色", "exterior colour", "exterior color", "цвет кузова", "车身颜色", "外观颜色")),
    Target("purchase_date", gettext_lazy("Purchase date"), kind="date", synonyms=(
        "purchase date", "sale date", "sold", "delivery date", "дата продажи", "дата покупки", "дата выдачи",
        "购车日期", "销售日期", "交车日期", "delivered", "date delivered", "handover date", "date sold",
        "sold date", "дата выдачи автомобиля", "дата выдачи а/м", "дата передачи автомобиля", "дата реализации",
        "交付日期", "提车日期", "开票日期")),
    Target("warranty_end", gettext_lazy("Warranty end"), kind="date", synonyms=(
        "warranty end", "warranty until", "гарантия до", "окончание гарантии", "保修到期", "warranty expiry",
        "warranty end date", "дата окончания гарантии", "质保到期", "保修截止日期")),
    Target("insurance_expiry", gettext_lazy("Insurance expiry"), kind="date", synonyms=(
        "insurance expiry", "insurance until", "страховка до", "окончание страховки", "保险到期", "insurance end",
        "осаго до", "дата окончания страховки", "保险到期日")),
    Target("inspection_due", gettext_lazy("Inspection due"), kind="date", synonyms=(
        "inspection due", "техосмотр до", "年检到期", "mot due", "next inspection", "年审到期")),
    Target("mileage", gettext_lazy("Mileage (km)"), kind="int", synonyms=(
        "mileage", "odometer", "km", "пробег", "里程", "行驶里程", "odometer reading", "kilometres", "kilometers",
        "odo", "показания одометра", "пробег а/м", "进厂里程", "公里数", "表显里程")),
    Target("visit_date", gettext_lazy("Visit date"), kind="date", files=(ImportKind.SERVICE,), synonyms=(
        "visit date", "date in", "ro date", "order date", "date", "дата визита", "дата заказа", "дата",
        "进厂日期", "维修日期", "日期", "service date", "repair date", "ro open date", "open date", "date of visit",
        "дата заказ-наряда", "дата з/н", "дата обращения", "дата приема", "дата ремонта", "进厂时间", "接车日期",
        "工单日期")),
    Target("order_number", gettext_lazy("Repair order number"), files=(ImportKind.SERVICE,), synonyms=(
        "ro", "ro number", "repair order", "order no", "order number", "заказ-наряд", "номер заказа", "заказ",
        "工单号", "工单编号", "ro no", "repair order no", "repair order number", "work order", "work order no",
        "номер з/н", "з/н", "номер заказ-наряда", "工单", "维修单号", "委托书号")),
    Target("work", gettext_lazy("Work done"), files=(ImportKind.SERVICE,), synonyms=(
        "work", "jobs", "description", "работы", "описание", "维修项目", "作业内容", "job description",
        "work description", "work done", "выполненные работы", "перечень работ", "наименование работ", "维修内容",
        "工作内容")),
    Target("amount", gettext_lazy("Amount"), kind="decimal", synonyms=(
        "amount", "total", "sum", "сумма", "金额", "total amount", "invoice total", "grand total", "итого",
        "сумма заказ-наряда", "сумма по з/н", "总金额", "合计", "结算金额", "维修金额")),
    # Repair orders with their lines (service files): a row per job line, grouped by the order number, or a
    # row per order with its lines in one cell. ``lines.py`` reads them; its docstring lists the formats.
    # No bare "parts", "配件", "小计", "rate", "item": order-per-row exports name their amounts so, and a
    # column containing a name is guessed as it.
    Target("line_number", gettext_lazy("Line number in the order"), kind="int", files=(ImportKind.SERVICE,),
           synonyms=("line no", "line number", "№ строки", "номер строки", "行号")),
    Target("line_description", gettext_lazy("Job line"), files=(ImportKind.SERVICE,), synonyms=(
        "job line", "line description", "работа", "операция", "номенклатура", "项目名称", "作业项目")),
    Target("line_type", gettext_lazy("Line type (labour or part)"), files=(ImportKind.SERVICE,), synonyms=(
        "line type", "item type", "labour or part", "тип строки", "вид строки", "работа или запчасть", "项目类型",
        "明细类型")),
    Target("line_category", gettext_lazy("Work category"), files=(ImportKind.SERVICE,), synonyms=(
        "category", "work category", "job category", "repair type", "категория", "вид ремонта", "维修类别",
        "维修类型")),
    Target("quantity", gettext_lazy("Quantity"), kind="decimal", files=(ImportKind.SERVICE,), synonyms=(
        "quantity", "qty", "количество", "кол-во", "数量")),
    Target("unit_price", gettext_lazy("Unit price"), kind="decimal", files=(ImportKind.SERVICE,), synonyms=(
        "unit price", "price", "цена", "цена за единицу", "单价")),
    Target("line_amount", gettext_lazy("Line amount"), kind="decimal", files=(ImportKind.SERVICE,), synonyms=(
        "line amount", "line total", "сумма строки", "сумма по строке", "明细金额", "行金额")),
    Target("advisor", gettext_lazy("Service advisor"), files=(ImportKind.SERVICE,), synonyms=(
        "advisor", "service advisor", "adviser", "мастер", "мастер-приемщик", "мастер-приёмщик", "приемщик",
        "приёмщик", "сервисный консультант", "服务顾问", "接待员", "服务接待")),
    Target("declined", gettext_lazy("Declined (a yes/no column)"), files=(ImportKind.SERVICE,), synonyms=(
        "declined", "refused", "customer declined", "отказ клиента", "отказано", "客户拒绝")),
    Target("declined_work", gettext_lazy("Declined work / recommendations"), kind="lines",
           files=(ImportKind.SERVICE,), synonyms=(
               "declined work", "recommendations", "recommended work", "рекомендации", "рекомендованные работы",
               "建议项目", "建议维修项目")),
    Target("lines", gettext_lazy("Job lines (in one cell)"), kind="lines", files=(ImportKind.SERVICE,), synonyms=(
        "lines", "job lines", "order lines", "строки заказа", "работы и запчасти", "维修明细", "工单明细")),
    Target("part_lines", gettext_lazy("Parts (in one cell)"), kind="lines", files=(ImportKind.SERVICE,), synonyms=(
        "parts used", "parts list", "список запчастей", "запчасти и материалы", "配件明细")),
)
BY_NAME = {target.name: target for target in TARGETS}
NAME_TARGETS = ("full_name", "family_name", "given_name")
# Distinct values a parser remembers the reading of, then forgets all: dates, makes and models repeat within any
# few thousand rows; phones and VINs hardly ever, and a memo kept for a whole file grew with it (measured: 40 MB).
MEMO_SIZE = 20_000


def targets_for(kind: str) -> list[Target]:
    return [target for target in TARGETS if kind in target.files]


def _folded(text: str) -> str:
    """A column name without case, punctuation and spacing: "E-Mail:", "e_mail" and "E mail" are one name."""
    return " ".join(re.split(r"[\W_]+", str(text).lower().replace("ё", "е"))).strip()


# What a column name may add to what it holds: a unit ("Mileage (km)", "Пробег, км"), a
# remark in brackets; and the party a column belongs to ("Owner Phone", "客户手机"): none says which field it is.
_BRACKETS = re.compile(r"[(（\[][^)）\]]*[)）\]]")
_UNITS = frozenset({"km", "kms", "mi", "miles", "км", "公里", "千米", "rub", "руб", "р", "eur", "usd", "cny", "rmb",
                    "元"})
_PARTIES = ("customer", "client", "buyer", "purchaser", "owner", "клиент", "покупатель", "владелец", "собственник",
            "客户", "车主", "顾客")
# Words too general to name a field by themselves inside a longer column name ("Advisor Name", "Order Date").
_GENERAL = frozenset({"name", "date", "дата", "日期", "number", "номер", "code", "код", "no", "id", "year", "год",
                      "account", "total", "sum", "сумма", "area", "location", "description", "order", "заказ", "mail",
                      "work", "jobs", "registration", "sold", "km", "tel", "cell", "ro", "姓", "名"})


def _bare(text: str) -> str:
    """The folded name without bracketed remarks (a bracketed number stays: "Phone (2)") and a trailing unit."""
    text = _BRACKETS.sub(lambda found: found.group() if any(char.isdigit() for char in found.group()) else " ",
                         str(text))
    words = _folded(text).split(" ")
    while len(words) > 1 and words[-1] in _UNITS:
        words.pop()
    return " ".join(words)


def _contains(name: str, synonym: str) -> bool:
    """Whether a column name holds the synonym as whole words (Chinese is written without spaces: as a part)."""
    if normalize.has_han(synonym):
        return synonym in name.replace(" ", "")
    return f" {synonym} " in f" {name} "


def mapping_guess(header: list[str], kind: str) -> dict[str, str]:
    """A first mapping from the column names: each target takes the first column named like it.

    Names are compared without case and punctuation, then without units and remarks in brackets; a
    column no target is named exactly like takes the target whose longest name it contains as whole
    words (after the party it belongs to: "Owner Mobile" is a phone), unless that name is too general.
    """
    targets = targets_for(kind)
    guess: dict[str, str] = {}
    taken: set[str] = set()
    for fold in (_folded, _bare):
        folded = {fold(name): name for name in reversed(header)}
        for target in targets:
            if target.name in guess:
                continue
            for synonym in (target.name.replace("_", " "), *target.synonyms):
                column = folded.get(_folded(synonym))
                if column and column not in taken:
                    guess[target.name] = column
                    taken.add(column)
                    break
    candidates = []  # (-length of the synonym found, target's place, column's place, target, column)
    for place, column in enumerate(header):
        name = _bare(column)
        rest = " ".join(word for word in name.split(" ") if word not in _PARTIES)
        for party in (party for party in _PARTIES if normalize.has_han(party)):
            rest = rest.replace(party, "")
        if column in taken or not rest.strip():
            continue
        for order, target in enumerate(targets):
            if target.name in guess or target.kind == "rooftop":  # a wrong rooftop would refuse every row
                continue
            found = [len(synonym) for synonym in map(_folded, target.synonyms)
                     if synonym not in _GENERAL and _contains(rest, synonym)]
            if found:
                candidates.append((-max(found), order, place, target.name, column))
    for _length, _order, _place, target_name, column in sorted(candidates):
        if target_name not in guess and column not in taken:
            guess[target_name] = column
            taken.add(column)
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
# What a repair order's job lines share: who brought which car in, when, and with what on the odometer.
ORDER_HEADER = (*PERSON_TARGETS, *VEHICLE_TARGETS, "customer_number", "full_name", "company_name", "tax_id", "phone",
                "phone_2", "email", "visit_date", "mileage", "advisor")
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

    def __init__(self, *, header: list[str], mapping: dict[str, str], kind: str, date_format: str,
                 regions: list[str], rooftops: dict[str, int]) -> None:
        self.kind, self.date_format, self.rooftops = kind, date_format, rooftops
        self.regions = regions  # the group's countries, its own first (phones are read in them)
        self.width, self.header = len(header), header
        self.columns = {name: header.index(column) for name, column in mapping.items()
                        if column in header and name in BY_NAME and kind in BY_NAME[name].files}
        self.readers: dict[str, Callable[[str, Any], Any]] = {
            "text": self._text, "date": self._date, "int": self._int, "decimal": self._decimal,
            "phone": self._phone, "email": self._email, "vin": self._vin, "gender": self._gender,
            "rooftop": self._rooftop, "tax_id": self._tax_id,
            "lines": self._lines,
        }
        self._memo: dict[tuple[str, Any], Any] = {}
        self._orders: dict[str, dict[str, Any]] = {}  # a service file's order number -> its first row's header

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
            value = self._read(name, target.kind, raw)
            if isinstance(value, ValidationError):
                hints.append(Hint(name, self.header[index], _written(raw), " ".join(value.messages)))
                continue
            if isinstance(value, Kept):
                hints.append(Hint(name, self.header[index], _written(raw), value.message, value.suggestion))
                value = value.value
            if value not in ("", None):
                clean[name] = value
        if self.kind == ImportKind.SERVICE and clean.get("order_number"):
            self._order_fill(clean)
        return self._assemble(line, clean, hints)

    def _order_fill(self, clean: dict[str, Any]) -> None:
        """One repair order has one customer, car and day: a job line's row that leaves them blank (an export
        with one row per line writes them on the order's first row only, or as merged cells) takes them from
        the order's first row in the file. A value the row gives is its own."""
        header = self._orders.setdefault(clean["order_number"],
                                         {name: clean[name] for name in ORDER_HEADER if name in clean})
        for name, value in header.items():
            clean.setdefault(name, value)

    def _read(self, name: str, kind: str, raw: Any) -> Any:
        """The reader's value for ``raw``, or the ValidationError it raised. A DMS file repeats itself (the
        same phone, date, VIN and model on many rows): each distinct value of a column is read once."""
        if kind == "text":
            return self._text(name, raw)
        key = (name, raw)
        if key not in self._memo:
            if len(self._memo) > MEMO_SIZE:
                self._memo.clear()
            try:
                self._memo[key] = self.readers[kind](name, raw)
            except ValidationError as error:
                self._memo[key] = error
        return self._memo[key]

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
        # Bare digits are read in the group's countries, never given a "+" blindly (normalize.phone_read).
        reading = normalize.phone_read(str(raw), self.regions)
        if reading.e164 is None:
            raise ValidationError(reading.hint, code="invalid_phone")
        return reading.e164

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
