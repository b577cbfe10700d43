"""The offer letter (PDF) of a deal: who offers what to whom, at what price, in the customer's language."""

import re
import zoneinfo
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import formats, timezone, translation
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.services import person_create
from crm.dealerships.models import Rooftop
from crm.sales import services
from crm.sales.offer import offer_filename, offer_pdf

pytestmark = pytest.mark.django_db

_OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)\s*endobj", re.S)
_TEXT_OP = re.compile(rb"/(\S+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj|\bET\b", re.S)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(literal: bytes) -> bytes:
    def one(match: re.Match) -> bytes:
        code = match.group(1)
        return bytes([int(code, 8) & 0xFF]) if code[:1].isdigit() else _ESCAPES.get(code, code)

    return _ESCAPE.sub(one, literal)


def pdf_text(pdf: bytes) -> str:
    """The text of an uncompressed reportlab PDF: each text object on a line of its own.

    Subset TrueType fonts are read through their ToUnicode maps, the CID font (UniGB-UCS2-H) as UCS-2.
    """
    objects = dict(_OBJECT.findall(pdf))
    decoders = {}
    for body in objects.values():
        name = re.search(rb"/Name /(\S+)", body)
        if b"/Type /Font" not in body or not name:
            continue
        if b"/Encoding /UniGB-UCS2-H" in body:
            decoders[name.group(1)] = lambda data: data.decode("utf-16-be")
        elif to_unicode := re.search(rb"/ToUnicode (\d+) 0 R", body):
            pairs = re.findall(rb"<([0-9A-Fa-f]{2})> <([0-9A-Fa-f]{4})>", objects[to_unicode.group(1)])
            table = {int(code, 16): chr(int(char, 16)) for code, char in pairs}
            decoders[name.group(1)] = lambda data, table=table: "".join(table.get(byte, "?") for byte in data)
        else:
            decoders[name.group(1)] = lambda data: data.decode("latin-1")
    lines, line, font = [], [], None
    for number in re.findall(rb"/Contents (\d+) 0 R", pdf):
        stream = objects[number].split(b"stream", 1)[1]
        for match in _TEXT_OP.finditer(stream):
            if match.group(1):
                font = match.group(1)
            elif match.group(2) is not None:
                line.append(decoders[font](_unescape(match.group(2))))
            elif line:
                lines.append("".join(line))
                line = []
    return "\n".join(lines)


@pytest.fixture
def deal_for(cast):
    """A deal of a customer at Alpha Berlin, sold by Anna Schmidt; returns it."""

    def make(person_fields: dict, **deal_fields):
        anna = User.objects.filter(email="anna.schmidt@alpha.test").first() or User.objects.create_user(
            "anna.schmidt@alpha.test", cast.password, role="salesperson", first_name="Anna", last_name="Schmidt")
        person = person_create(by=None, fields=person_fields)
        prospect = services.prospect_create(person=person, by=None, level="B", salesperson=anna,
                                            rooftop=Rooftop.objects.get(name="Alpha Berlin"),
                                            fields={"source": "walk_in"})
        return services.opportunity_create(prospect=prospect, by=None, fields={
            "model": "ID.4 Pro", "amount": Decimal("45990.00"), "trade_in_amount": Decimal("8000"), **deal_fields})

    return make


def _berlin_today():
    return timezone.localdate(timezone=zoneinfo.ZoneInfo("Europe/Berlin"))


def test_the_offer_says_who_offers_which_car_to_whom_at_what_price(cast, deal_for):
    with schema_context(cast.a.schema_name):
        Rooftop.objects.filter(name="Alpha Berlin").update(address="Unter den Linden 1", phone="+49 30 1234567")
        deal = deal_for({"family_name": "Käufer", "given_name": "Karl"},
                        equipment="Wärmepumpe\n- Panoramadach\n\n• 20\" Räder")
        pdf = offer_pdf(deal, compress=False)
        compressed = offer_pdf(deal)
        filename = offer_filename(deal)

    today = _berlin_today()
    assert pdf.startswith(b"%PDF") and compressed.startswith(b"%PDF")
    assert len(compressed) < len(pdf)
    number = f"OFFER-{deal.pk}-{today:%Y%m%d}"
    assert filename == f"{number}.pdf"
    text = pdf_text(pdf)
    lines = text.splitlines()
    # (Amounts are set with no-break spaces; the PDF shows them as spaces.)
    for expected in ("Alpha Motors", "Alpha Berlin", "Unter den Linden 1, Berlin", "Phone: +49 30 1234567",
                     "Vehicle offer", f"Offer number: {number}", "Customer", "Karl Käufer", "Dear Karl Käufer,",
                     "ID.4 Pro", "New car", "• Wärmepumpe", "• Panoramadach", "• 20\" Räder",
                     "45,990.00 EUR", "\u2212 8,000.00 EUR", "Amount after trade-in", "37,990.00 EUR",
                     "Anna Schmidt", "Salesperson", "E-mail: anna.schmidt@alpha.test"):
        assert expected in lines, expected
    with translation.override("en"):
        assert f"Date: {formats.date_format(today, 'DATE_FORMAT')}" in lines
        assert formats.date_format(today + timedelta(days=14), "DATE_FORMAT") in lines
    # Latin text only: the Chinese font is not even referenced.
    assert b"STSong-Light" not in pdf


def test_user_text_is_not_markup(cast, deal_for):
    with schema_context(cast.a.schema_name):
        deal = deal_for({"family_name": "O'Neil & <Sons>", "given_name": "Sean"}, model="Golf <b>GTI</b> & Co",
                        trade_in_amount=None)
        text = pdf_text(offer_pdf(deal, compress=False))

    assert "Sean O'Neil & <Sons>" in text.splitlines()
    assert "Golf <b>GTI</b> & Co" in text.splitlines()
    # Without a trade-in, the price is the price.
    assert "45,990.00 EUR" in text
    assert "Trade-in allowance" not in text and "Amount after trade-in" not in text


def test_a_russian_customer_gets_the_offer_in_russian(cast, deal_for):
    with schema_context(cast.a.schema_name):
        deal = deal_for({"family_name": "Иванов", "given_name": "Пётр", "preferred_language": "ru"})
        text = pdf_text(offer_pdf(deal, compress=False))
        english = pdf_text(offer_pdf(deal, language="en", compress=False))

    lines = text.splitlines()
    for expected in ("Пётр Иванов", "Клиент", "Модель", "Действует до", "Менеджер по продажам",
                     "37 990,00 EUR"):
        assert expected in lines, expected
    assert "Customer" not in lines
    # The language asked for wins over the customer's.
    assert "Customer" in english.splitlines() and "Пётр Иванов" in english.splitlines()


def test_a_chinese_name_is_set_in_the_cid_font(cast, deal_for):
    with schema_context(cast.a.schema_name):
        deal = deal_for({"family_name": "张", "given_name": "伟"}, model="ID.4 Pro 长续航版")
        pdf = offer_pdf(deal, compress=False)
        chinese = offer_pdf(deal, language="zh-hans", compress=False)

    assert b"/BaseFont /STSong-Light" in pdf
    lines = pdf_text(pdf).splitlines()
    assert "张伟" in lines and "Dear 张伟," in lines and "ID.4 Pro 长续航版" in lines
    zh_lines = pdf_text(chinese).splitlines()
    assert "客户" in zh_lines and "车型" in zh_lines and "37990.00 EUR" in zh_lines
