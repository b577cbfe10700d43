# ruff: noqa: RUF001, RUF002 - the words, letters and signs of Russian and Chinese exports, meant.
"""The job lines, declined work and advisor of a repair order in a DMS service file.

Two shapes of export are read, and may be mixed in one file:

- **A row per job line**, grouped into repair orders by the order number (by car and date when there is
  none). The row's line is its "Job line" column, or its "Work done" column when the row also has a line
  type, a line amount, or a quantity and a unit price (a file of orders has "Work done" alone, maybe
  beside a serial number or an hourly rate: that is no line), with its type, category, quantity, unit
  price and amount. The row is declined
  work instead of a job line when its "Declined" column says so (yes, да, 是, 1, x, declined, отказ,
  客户拒绝…) or its type is a recommendation (recommendation, рекомендация, 建议…). A row without a line
  description adds no line.
- **A row per repair order** with its lines in one cell: "Job lines" (labour unless an item says
  otherwise) and "Parts used" (parts). One item per line of the cell or separated by ``;``, each written
  ``[type:] description [x quantity [unit]] [@ unit price] [= amount]``: ``Oil change x1 = 2500;
  Part: Oil filter x1 @ 800 = 800``, ``Работа: ТО-1 = 4500``, ``配件: 机油滤清器 ×1 = 80``. The multiplier
  may be x, ×, * or the Cyrillic х; the quantity may carry a unit (шт, л, h, 件…) and amounts a currency
  sign. Commas do not separate items (they appear in descriptions and decimal amounts).

"Declined work / recommendations" holds declined items in the same item format (the amount is the
estimate). The type words known are listed below in English, Russian and Chinese. A quantity defaults
to 1, an amount to quantity × unit price, a unit price to amount ÷ quantity. The category goes on as
written: the service app reads it, or guesses it from the description.

A line, item or flag that cannot be read is left out with a hint (a warning with its line and column); the
row and its other lines go in.

Each line carries a key a re-import finds again: the line number when the file has one, else its type
and description with how many times the same line came before in the same order, counted in file
order (so two rows "Bolt" are two lines). A changed price or quantity therefore updates the line
instead of adding one. Keys of lines from a cell start with ``c:``: a new version of the cell replaces
them.
"""

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from .. import normalize

LABOUR, PART, DECLINED = "labour", "part", "declined"

KINDS = {
    LABOUR: {"labour", "labor", "l", "work", "works", "job", "service", "operation", "sublet", "работа", "работы",
             "услуга", "услуги", "операция", "нормочас", "нормо-час", "субподряд", "工时", "工时费", "人工", "人工费",
             "维修工时", "项目", "外协"},
    PART: {"part", "parts", "p", "material", "materials", "consumable", "consumables", "fluid", "fluids",
           "запчасть", "запчасти", "деталь", "детали", "материал", "материалы", "расходник", "расходники",
           "товар", "товары", "配件", "零件", "备件", "材料", "辅料", "油品", "配件费", "材料费"},
    DECLINED: {"declined", "declined work", "recommendation", "recommended", "refused", "отказ", "рекомендация",
               "рекомендации", "рекомендовано", "建议", "建议项目", "客户拒绝", "拒绝"},
}
_KIND_OF = {word: kind for kind, words in KINDS.items() for word in words}
YES = {"yes", "y", "true", "1", "x", "+", "v", "✓", "√", "declined", "refused", "да", "д", "отказ", "отказано",
       "отказался", "отказалась", "是", "拒绝", "客户拒绝", "未做"}
NO = {"no", "n", "false", "0", "-", "нет", "н", "否", "done", "accepted", "выполнено", "принято", "已做", "完成"}

# On a row, these make its "Work done" column a job line (a file of orders has "Work done" alone, perhaps
# beside a quantity or an hourly rate of its own): a line type, a line amount, or a quantity and a price.
ROW_LINE_FIELDS = (("line_type",), ("line_amount",), ("quantity", "unit_price"))
ROW_LINE_VALUES = ("line_number", "quantity", "unit_price", "line_amount")  # without them a line is no line
CELLS = (("lines", LABOUR), ("part_lines", PART), ("declined_work", DECLINED))
DESCRIPTION_MAX, CATEGORY_MAX, ADVISOR_MAX = 300, 60, 150
QUANTITY_LIMIT, MONEY_LIMIT = Decimal("1e8"), Decimal("1e10")  # the columns' digits (10 and 12, two decimals)
CENT = Decimal("0.01")

_ITEM = re.compile(r"""
    ^(?P<description>.*?)
    (?:\s+[x×х*]\s*(?P<quantity>-?\d+(?:[.,]\d+)?)\s*(?:шт|л|ч|час|h|hr|hrs|pcs|pc|l|ltr|件|个|升|小时)?\.?)?
    (?:\s*@\s*(?P<unit_price>[^=]+?))?
    (?:\s*=\s*(?P<amount>.+?))?
    \s*$""", re.IGNORECASE | re.VERBOSE)
_PREFIX = re.compile(r"^\s*(?P<word>[^:：]{1,20})\s*[:：]\s*(?P<rest>.+)$")


class BadLine(ValueError):
    """A line that cannot be used as written; ``field`` is the target whose value says so."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _folded(text: str) -> str:
    return " ".join(str(text).lower().split()).strip(".:")


def kind_of(text: str) -> str | None:
    """labour, part or declined for a type word in en, ru or zh; None for a word not known."""
    return _KIND_OF.get(_folded(text))


def flag_of(text: str) -> bool:
    folded = _folded(text)
    if folded in YES:
        return True
    if folded in NO:
        return False
    raise BadLine(_("“%(value)s” is neither yes nor no.") % {"value": text})


def number(text: str) -> Decimal:
    """An amount as DMS exports write it: ``2 500,00 ₽``, ``1,234.50``, ``¥80``."""
    digits = re.sub(r"[^\d,.\-]", "", text)
    if "," in digits and "." in digits:  # the mark that comes last is the decimal one
        thousands = "." if digits.rfind(",") > digits.rfind(".") else ","
        digits = digits.replace(thousands, "").replace(",", ".")
    elif digits.count(",") == 1:
        digits = digits.replace(",", ".")
    else:
        digits = digits.replace(",", "")
    try:
        return Decimal(digits)
    except InvalidOperation:
        raise BadLine(_("“%(value)s” is not an amount.") % {"value": text.strip()}) from None


def _money(quantity: Decimal | None, unit_price: Decimal | None, amount: Decimal | None,
           ) -> tuple[Decimal, Decimal, Decimal]:
    """Quantity, unit price and amount, each from the others when missing, in cents."""
    quantity = Decimal(1) if quantity is None else quantity
    if amount is None:
        amount = quantity * (unit_price or Decimal(0))
    if unit_price is None:
        unit_price = amount / quantity if quantity else Decimal(0)
    quantity, unit_price, amount = (value.quantize(CENT) for value in (quantity, unit_price, amount))
    if abs(quantity) >= QUANTITY_LIMIT or abs(unit_price) >= MONEY_LIMIT or abs(amount) >= MONEY_LIMIT:
        raise BadLine(_("A quantity or an amount is too large."))
    return quantity, unit_price, amount


def _digest(kind: str, description: str) -> str:
    return hashlib.sha256(f"{kind}\x1f{_folded(description)}".encode()).hexdigest()[:16]


@dataclass
class Item:
    kind: str
    description: str
    category: str = ""
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None


def cell_items(text: str, default_kind: str, category: str = "") -> tuple[list[Item], list[str]]:
    """The items of a cell of lines (one per line of the cell or separated by ``;``), and what is wrong with
    those that cannot be read (they are left out)."""
    items, faults = [], []
    for position, part in enumerate(piece for piece in re.split(r"[;\n]+", text) if piece.strip()):
        kind, rest = default_kind, part.strip()
        if (prefix := _PREFIX.match(rest)) and (said := kind_of(prefix["word"])):
            kind = said if default_kind != DECLINED else DECLINED
            rest = prefix["rest"]
        match = _ITEM.match(rest)
        description = match["description"].strip() if match else ""
        try:
            if not re.search(r"[^\W\d_]", description):  # "= 500" or a bare amount: no line
                raise BadLine(_("Item %(number)d “%(item)s” has no description.") % {"number": position + 1,
                                                                                     "item": part.strip()})
            items.append(Item(kind, description, category, *(
                number(match[name]) if match[name] else None for name in ("quantity", "unit_price", "amount"))))
        except BadLine as error:
            faults.append(str(error))
    return items, faults


@dataclass
class OrderLines:
    """Reads rows of one file in order; counts lines seen per order, so repeats get keys of their own."""

    seen: Counter[tuple[str, ...]] = field(default_factory=Counter)

    def read(self, clean: dict[str, Any], unread: Iterable[str] = ()) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The row's ``advisor``, ``lines`` and ``declined`` for ``Parsed.visit``, and (field, what is wrong) for
        each value that could not be used: a bad line or item costs only itself, never the row. ``unread``:
        the fields whose values could not be read at all (a quantity of "abc"): their row's line is left
        out rather than read with a default."""
        from .fields import BY_NAME

        values: dict[str, Any] = {}
        faults: list[tuple[str, str]] = []
        advisor = clean.get("advisor", "")
        if len(advisor) > ADVISOR_MAX:
            faults.append(("advisor", _("%(field)s is longer than %(max)d characters.")
                           % {"field": BY_NAME["advisor"].label, "max": ADVISOR_MAX}))
        elif advisor:
            values["advisor"] = advisor
        order = clean.get("order_number") or "{}:{}".format(
            clean.get("vin") or normalize.plate_key(clean.get("plate", "")), clean.get("visit_date"))
        category = clean.get("line_category", "")[:CATEGORY_MAX]
        keyed: list[tuple[str, str, Item]] = []  # (field, key, item)
        try:
            if (item := self._row_item(clean, category)) and (failed := set(unread) & set(ROW_LINE_VALUES)):
                raise BadLine(_("Job line “%(line)s” left out: the value for %(field)s could not be read.") % {
                    "line": item.description[:60], "field": BY_NAME[sorted(failed)[0]].label}, sorted(failed)[0])
            if item:
                keyed.append(("line_description" if "line_description" in clean else "work",
                              f"n:{clean['line_number']}" if "line_number" in clean else self._key("r", order, item),
                              item))
        except BadLine as error:
            faults.append((error.field, str(error)))
        cell_seen: Counter[tuple[str, ...]] = Counter()
        for name, default_kind in CELLS:
            if not clean.get(name):
                continue
            items, bad = cell_items(clean[name], default_kind, category)
            faults += [(name, message) for message in bad]
            keyed += [(name, self._key("c", order, item, cell_seen), item) for item in items]
        for name, key, item in keyed:
            try:
                if len(item.description) > DESCRIPTION_MAX:
                    raise BadLine(_("A job line is longer than %(max)d characters.") % {"max": DESCRIPTION_MAX})
                quantity, unit_price, amount = _money(item.quantity, item.unit_price, item.amount)
            except BadLine as error:
                faults.append((name, f"{item.description[:60]}: {error}"))
                continue
            if item.kind == DECLINED:
                given = item.amount is not None or item.unit_price is not None
                values.setdefault("declined", []).append({
                    "key": key, "description": item.description, "category": item.category,
                    "estimate": amount if given else None})
            else:
                values.setdefault("lines", []).append({
                    "key": key, "kind": item.kind, "description": item.description, "category": item.category,
                    "quantity": quantity, "unit_price": unit_price, "amount": amount})
        return values, faults

    def _row_item(self, clean: dict[str, Any], category: str) -> Item | None:
        from .fields import BY_NAME

        description = clean.get("line_description") or clean.get("work", "")
        declined = False
        if description and clean.get("declined"):
            try:
                declined = flag_of(clean["declined"])
            except BadLine as error:
                raise BadLine(f"{BY_NAME['declined'].label}: {error}", "declined") from None
        if not description or not ("line_description" in clean or declined or any(
                all(name in clean for name in names) for names in ROW_LINE_FIELDS)):
            return None
        kind = LABOUR
        if clean.get("line_type"):
            kind = kind_of(clean["line_type"]) or ""
            if not kind:
                raise BadLine(_("%(field)s: “%(value)s” is neither labour nor a part (labour, part, работа, "
                                "запчасть, 工时, 配件…).") % {"field": BY_NAME["line_type"].label,
                                                           "value": clean["line_type"]}, "line_type")
        kind = DECLINED if declined else kind
        return Item(kind, description, category, clean.get("quantity"), clean.get("unit_price"),
                    clean.get("line_amount"))

    def _key(self, source: str, order: str, item: Item, seen: Counter[tuple[str, ...]] | None = None) -> str:
        """``<source>:<type and description>:<how many times before in this order>``."""
        seen = self.seen if seen is None else seen
        digest = _digest(item.kind, item.description)
        count = seen[order, digest]
        seen[order, digest] += 1
        return f"{source}:{digest}:{count}"
