"""The offer letter for a deal: one A4 PDF in the customer's language.

Text is set in DejaVu Sans (Latin and Cyrillic, vendored in ``fonts/``); every run of Chinese
characters (Han, CJK punctuation) in names, models, addresses and the zh-hans labels is set in
reportlab's built-in CID font STSong-Light (not embedded: PDF viewers supply it, as they do for any
Chinese PDF). Lines of text with Chinese in it may break between characters.
"""

import functools
import re
import zoneinfo
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

from django.db import connection
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django_tenants.utils import get_tenant_model
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from crm.customers.services import tenant_language

from .models import Condition, Opportunity

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SANS = "DejaVuSans"
SANS_BOLD = "DejaVuSans-Bold"
HAN = "STSong-Light"

VALID_DAYS = 14
# Han ideographs, CJK punctuation and fullwidth forms: DejaVu has none of them, STSong-Light has.
_CJK_CHARS = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_CJK = re.compile(f"[{_CJK_CHARS}]")
_CJK_RUN = re.compile(f"([{_CJK_CHARS}]+)")
_DASH = "\u2014"

_MARGIN = 20 * mm
_FRAME_PADDING = 6  # points on each side: SimpleDocTemplate's frame default
_WIDTH = A4[0] - 2 * _MARGIN - 2 * _FRAME_PADDING
_LABEL_WIDTH = 55 * mm
_GREY = colors.HexColor("#666666")
_RULE = colors.HexColor("#BBBBBB")


@functools.cache
def _fonts_register() -> None:
    """Register the fonts with reportlab once per process (on first use, not at import)."""
    pdfmetrics.registerFont(TTFont(SANS, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(SANS_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(SANS, normal=SANS, bold=SANS_BOLD, italic=SANS, boldItalic=SANS_BOLD)
    pdfmetrics.registerFont(UnicodeCIDFont(HAN))


_BASE = {
    "body": {"fontSize": 10, "leading": 14},
    "small": {"fontSize": 8.5, "leading": 11.5, "textColor": _GREY},
    "label": {"fontSize": 9.5, "leading": 14, "textColor": _GREY},
    "heading": {"fontSize": 16, "leading": 20},
    "title": {"fontSize": 14, "leading": 18, "alignment": TA_RIGHT},
    "meta": {"fontSize": 9, "leading": 12, "alignment": TA_RIGHT},
    "section": {"fontSize": 11, "leading": 15, "spaceBefore": 4 * mm, "spaceAfter": 1.5 * mm},
    "amount": {"fontSize": 10, "leading": 14, "alignment": TA_RIGHT},
}
_BOLD = {"heading", "title", "section"}


@functools.cache
def _style(kind: str, bold: bool, cjk: bool) -> ParagraphStyle:
    # Chinese has no spaces between words: with any in the text, lines may break between characters.
    return ParagraphStyle(f"offer-{kind}-{bold}-{cjk}", fontName=SANS_BOLD if bold else SANS,
                          wordWrap="CJK" if cjk else None, **_BASE[kind])


def _markup(text: str) -> str:
    """Reportlab paragraph markup for plain text: escaped, line breaks kept, and every run of Chinese
    characters (or CJK punctuation) set in STSong-Light, the rest in the paragraph's DejaVu."""
    lines = []
    for line in text.splitlines():
        parts = []
        for index, run in enumerate(_CJK_RUN.split(line)):
            if run:
                parts.append(f'<font name="{HAN}">{escape(run)}</font>' if index % 2 else escape(run))
        lines.append("".join(parts))
    return "<br/>".join(lines)


def _p(text: object, kind: str = "body", *, bold: bool = False) -> Paragraph:
    """A paragraph of plain text: a name, a model, a translated label (never markup)."""
    text = str(text)
    return Paragraph(_markup(text), _style(kind, bold or kind in _BOLD, bool(_CJK.search(text))))


def _dealer_group() -> object | None:
    """The current dealer group: at hand in a request, looked up by schema in a task or script."""
    tenant = getattr(connection, "tenant", None)
    model = get_tenant_model()
    if isinstance(tenant, model):
        return tenant
    return model.objects.filter(schema_name=connection.schema_name).first()


def _offer_date(deal: Opportunity) -> date:
    """Today at the deal's rooftop (its own time zone), else in the current time zone."""
    rooftop = deal.prospect.rooftop
    if rooftop is not None and rooftop.timezone:
        try:
            return timezone.localdate(timezone=zoneinfo.ZoneInfo(rooftop.timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return timezone.localdate()


def offer_number(deal: Opportunity, on: date | None = None) -> str:
    """``OFFER-<deal>-<yyyymmdd>``: the same deal offered on another day gets another number."""
    return f"OFFER-{deal.pk}-{(on or _offer_date(deal)):%Y%m%d}"


def offer_filename(deal: Opportunity) -> str:
    """A file name for the offer (ASCII only, safe in a Content-Disposition header)."""
    return f"{offer_number(deal)}.pdf"


def _money(value: Decimal | None, currency: str) -> str:
    if value is None:
        return _DASH
    amount = formats.number_format(value, 2, use_l10n=True, force_grouping=True)
    return f"{amount}\u00a0{currency}" if currency else amount


def _condition(deal: Opportunity) -> str:
    # Words of their own: the model's "New" is shared with buttons ("create new") in the catalogues.
    if deal.condition == Condition.NEW:
        return _("New car")
    if deal.condition == Condition.USED:
        return _("Used car")
    return deal.get_condition_display()


def _rows_table(rows: list[list[Paragraph]], *, total_row: int | None = None) -> Table:
    table = Table(rows, colWidths=[_LABEL_WIDTH, _WIDTH - _LABEL_WIDTH], hAlign="LEFT")
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    if total_row is not None:
        style.append(("LINEABOVE", (0, total_row), (-1, total_row), 0.6, colors.black))
        style.append(("TOPPADDING", (0, total_row), (-1, total_row), 4))
    table.setStyle(TableStyle(style))
    return table


def _story(deal: Opportunity, *, today: date) -> list:
    prospect = deal.prospect
    person = prospect.person
    rooftop = prospect.rooftop
    salesperson = prospect.salesperson
    group = _dealer_group()
    group_name = getattr(group, "name", "") or ""
    currency = getattr(group, "currency", "") or ""
    number = offer_number(deal, today)
    date_format = "DATE_FORMAT"

    # The letterhead: who offers (left), what this is (right).
    dealer = [_p(group_name, "heading")] if group_name else []
    if rooftop is not None:
        dealer.append(_p(rooftop.name, bold=True))
        address = ", ".join(part for part in (rooftop.address.strip(), rooftop.city.strip()) if part)
        if address:
            dealer.append(_p(address, "small"))
        if rooftop.phone:
            dealer.append(_p(f"{_('Phone')}: {rooftop.phone}", "small"))
    about = [
        _p(_("Vehicle offer"), "title"),
        _p(f"{_('Offer number')}: {number}", "meta"),
        _p(f"{_('Date')}: {formats.date_format(today, date_format, use_l10n=True)}", "meta"),
    ]
    letterhead = Table([[dealer or [_p("")], about]], colWidths=[_WIDTH * 0.58, _WIDTH * 0.42])
    letterhead.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, _RULE),
        ("BOTTOMPADDING", (0, 0), (-1, 0), 3 * mm),
    ]))
    story: list = [letterhead, Spacer(1, 6 * mm)]

    # The customer and the greeting.
    customer = person.display_name or str(person)
    customer_rows = [[_p(_("Customer"), "label"), _p(customer, bold=True)]]
    if email := person.email_address():
        customer_rows.append([_p(_("E-mail"), "label"), _p(email)])
    story += [
        _rows_table(customer_rows),
        Spacer(1, 5 * mm),
        _p(_("Dear %(name)s,") % {"name": customer}),
        Spacer(1, 2 * mm),
        _p(_("Thank you for your interest. We are pleased to offer you the following car:")),
    ]

    # The car.
    car_rows = [
        [_p(_("Model"), "label"), _p(deal.model, bold=True)],
        [_p(_("New or used"), "label"), _p(_condition(deal))],
    ]
    equipment = [line.strip().lstrip("-\u2022*").strip() for line in deal.equipment.splitlines()]
    equipment = [line for line in equipment if line]
    if equipment:
        car_rows.append([_p(_("Equipment and extras"), "label"),
                         [_p(f"\u2022 {line}") for line in equipment]])
    story += [_p(_("The car"), "section"), _rows_table(car_rows)]

    # The price.
    price_rows = [[_p(_("Price of the car"), "label"), _p(_money(deal.amount, currency), "amount")]]
    total_row = None
    if deal.trade_in_amount:
        price_rows.append([_p(_("Trade-in allowance"), "label"),
                           _p("\u2212\u00a0" + _money(deal.trade_in_amount, currency), "amount")])
        if deal.amount is not None:
            total_row = len(price_rows)
            price_rows.append([_p(_("Amount after trade-in"), "label"),
                               _p(_money(deal.amount - deal.trade_in_amount, currency), "amount", bold=True)])
    valid_until = formats.date_format(today + timedelta(days=VALID_DAYS), date_format, use_l10n=True)
    story += [
        _p(_("Price"), "section"),
        _rows_table(price_rows, total_row=total_row),
        Spacer(1, 4 * mm),
        _rows_table([[_p(_("Valid until"), "label"), _p(valid_until, bold=True)]]),
        Spacer(1, 6 * mm),
    ]

    # Who to talk to, and the closing.
    story.append(_p(_("We look forward to hearing from you and to welcoming you at our showroom.")))
    if salesperson is not None:
        contact = [_p(_("Kind regards,")), Spacer(1, 2 * mm),
                   _p(salesperson.get_full_name() or salesperson.email, bold=True),
                   _p(_("Salesperson"), "small")]
        if salesperson.email:
            contact.append(_p(f"{_('E-mail')}: {salesperson.email}", "small"))
        if rooftop is not None and rooftop.phone:
            contact.append(_p(f"{_('Phone')}: {rooftop.phone}", "small"))
        story += [Spacer(1, 4 * mm), *contact]
    return story


def offer_pdf(deal: Opportunity, *, language: str | None = None, compress: bool = True) -> bytes:
    """The deal's offer letter as an A4 PDF, in ``language``, else the customer's, else the dealer group's.

    ``compress=False`` leaves the page streams readable (tests look at the text).
    """
    _fonts_register()
    person = deal.prospect.person
    language = language or person.preferred_language or tenant_language()
    today = _offer_date(deal)
    buffer = BytesIO()
    with translation.override(language):
        group = _dealer_group()
        document = SimpleDocTemplate(
            buffer, pagesize=A4, leftMargin=_MARGIN, rightMargin=_MARGIN, topMargin=_MARGIN, bottomMargin=_MARGIN,
            title=f"{_('Vehicle offer')} {offer_number(deal, today)}", author=getattr(group, "name", "") or "",
            subject=deal.model, creator="Dealer CRM", lang=translation.to_language(language),
            pageCompression=1 if compress else 0,
        )
        document.build(_story(deal, today=today))
    return buffer.getvalue()
