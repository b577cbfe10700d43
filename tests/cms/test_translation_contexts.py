"""Words that mean different things in different places carry a context, so each place gets its own Russian and
Chinese word: "Home" on the dealer site's menu is not a home phone, "Move" an appointment is not "translate"."""

import pytest
from django.utils import translation
from django.utils.translation import gettext, pgettext

# (context, word, Russian, Chinese): each fixed context with the words its place needs.
CONTEXTS = [
    ("site navigation", "Home", "Главная", "首页"),
    ("phone kind", "Home", "Домашний", "家庭电话"),
    ("phone kind", "Work", "Рабочий", "工作电话"),
    ("repair order", "Work", "Работы", "维修项目"),
    ("appointment", "Move", "Перенести", "改期"),
    ("prospect stage", "Move", "Перевести", "更新阶段"),
    ("opening hours", "Closed", "Выходной", "休息"),
    ("call list", "closed", "закрыт", "已关闭"),
    ("owner books a visit", "Book", "Записаться", "预约"),
    ("date range", "From", "С", "从"),
    ("date range", "To", "По", "至"),
    ("club card", "Card", "Карта", "会员卡"),
    ("voucher", "Code", "Код", "券码"),
    ("webhook delivery", "Delivered", "Доставлено", "已送达"),
]


@pytest.mark.parametrize(("context", "word", "russian", "chinese"), CONTEXTS)
def test_each_place_gets_its_own_word(context, word, russian, chinese):
    for language, expected in (("ru", russian), ("zh-hans", chinese)):
        with translation.override(language):
            assert pgettext(context, word) == expected, (language, context, word)


def test_the_words_that_were_shared_now_differ_by_place():
    with translation.override("ru"):
        assert pgettext("site navigation", "Home") != pgettext("phone kind", "Home")
        assert pgettext("appointment", "Move") != gettext("Move")
        assert pgettext("webhook delivery", "Delivered") != gettext("Delivered")  # the car handed over
    with translation.override("zh-hans"):
        assert pgettext("repair order", "Work") != pgettext("phone kind", "Work")
        assert pgettext("club card", "Card") != gettext("Card")  # the bank card of the billing page
        assert pgettext("opening hours", "Closed") != gettext("Closed")  # a settled repair order


@pytest.mark.django_db
def test_the_dealer_sites_menu_says_home_page_not_home_phone(cast, site_b):
    russian = cast.client(cast.b).get("/").text
    assert ">Главная</a>" in russian and "Домашний" not in russian
    chinese = cast.client(cast.b)
    chinese.cookies["django_language"] = "zh-hans"
    text = chinese.get("/").text
    assert ">首页</a>" in text and "家庭电话" not in text
