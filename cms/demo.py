# ruff: noqa: RUF001 - Russian and Chinese content, its letters and punctuation meant.
"""A good-looking demo site for a dealer group: every page type, in its language and in English.

Images are drawn with Pillow (no downloads). Everything is found by slug before it is made, so the
builder can run any number of times and leaves the same pages.
"""

from collections.abc import Callable, Sequence
from datetime import timedelta
from io import BytesIO
from typing import Any

from django.core.files.images import ImageFile
from django.utils import timezone, translation
from PIL import Image as PILImage
from PIL import ImageDraw
from wagtail.images import get_image_model
from wagtail.models import Locale, Page, Site

from crm.dealerships.models import Rooftop
from crm.marketing.models import Event

from .models import (
    BrandingSettings,
    ClubPage,
    ContentPage,
    EventIndexPage,
    EventPage,
    FAQPage,
    HomePage,
    NewsIndexPage,
    NewsPage,
    PromotionIndexPage,
    PromotionPage,
    RooftopsPage,
)

# Primary and accent colours per group language; all carry white text at WCAG AA contrast.
COLOURS = {"ru": ("#14325c", "#b42318"), "zh-hans": ("#8a1c1c", "#a15c07"), "en": ("#1d2433", "#1f5eff")}
# A fictitious switchboard number in the group's country, for rooftops without a phone of their own.
PHONES = {"ru": "+7 843 200-00-00", "zh-hans": "+86 21 5000 0000", "en": "+1 555 0100"}

TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "hero": "Your car in good hands",
        "intro": "Welcome to {name}. Book a service visit, see your car's history and join our owners' club.",
        "cta": "Book a service visit",
        "booking": ("Service in two minutes", "Choose a day and a time that suit you: we confirm by e-mail.",
                    "Book online"),
        "promotions_block": "Current offers",
        "events_block": "Upcoming events",
        "club_block": ("Owners' club", "Points for every visit, members' evenings and early access to new models.",
                       "Join the club"),
        "promotions": ("Offers", "What we offer this season at our dealerships."),
        "promo_now": ("Winter tyres fitted: 20% off", "Book your tyre change before the first snow.",
                      "<p>Fitting and balancing of four wheels with 20% off labour. Storage of your summer set "
                      "for a season included.</p>"),
        "promo_old": ("Summer air-con check", "Cool air all summer long.",
                      "<p>Air-conditioning check and refill at a fixed price.</p>"),
        "events": ("Events", "Evenings, classes and test-drive days at our dealerships."),
        "event_intro": "Join us: new cars, our team, coffee and answers to all your questions.",
        "news": ("News", "What is new at our dealerships."),
        "news_items": (
            ("Longer opening hours on Saturdays", "Our workshops now work on Saturdays until 2 pm.",
             "<p>More of you wanted a Saturday visit: our workshops are now open from 8 am to 2 pm.</p>", False),
            ("Winter check: what we look at", "Battery, tyres, wipers and antifreeze in 30 minutes.",
             "<p>Before the cold comes, our technicians check the battery, tyres, wipers and antifreeze.</p>",
             False),
            ("Club members first: the new models", "A private preview before the public launch.",
             "<p>Club members are invited to see and drive the new models a week before everyone else.</p>",
             True),
        ),
        "club": ("Owners' club", "The more you drive with us, the more you get.",
                 "<p>Earn points for every service visit and every friend you refer, and spend them on "
                 "vouchers for service and accessories.</p>", "Join the club"),
        "tiers": (("Silver", "From your first visit", ["1 point per 100 spent", "Members' newsletter"]),
                  ("Gold", "From 5,000 points", ["1.5 points per 100 spent", "Free car wash at every visit"]),
                  ("Platinum", "From 15,000 points", ["2 points per 100 spent", "A courtesy car during service"])),
        "faq": ("Frequently asked questions", "Quick answers; call us for anything else."),
        "questions": (
            ("How do I book a service visit?", "<p>Online in the owners' portal, by phone, or at the reception.</p>"),
            ("Can I wait while my car is serviced?", "<p>Yes: our lounge has Wi-Fi, coffee and a play corner.</p>"),
            ("Does servicing with you keep my warranty?",
             "<p>Yes. We follow the manufacturer's schedule and use original parts.</p>"),
            ("How do I join the owners' club?", "<p>Sign in to the owners' portal and join in one step.</p>"),
        ),
        "rooftops": ("Our dealerships", "Addresses, phone numbers and opening hours."),
        "about": ("About us", "A family of dealerships that cares about your car.",
                  "<p>Our trained technicians, original parts and honest prices have kept our customers "
                  "coming back for years.</p>"),
    },
    "ru": {
        "hero": "Ваш автомобиль в надёжных руках",
        "intro": "Добро пожаловать в {name}. Запишитесь на сервис, смотрите историю автомобиля и вступайте "
                 "в клуб владельцев.",
        "cta": "Записаться на сервис",
        "booking": ("Запись за две минуты", "Выберите удобные день и время — мы подтвердим запись по почте.",
                    "Записаться онлайн"),
        "promotions_block": "Актуальные предложения",
        "events_block": "Ближайшие мероприятия",
        "club_block": ("Клуб владельцев", "Баллы за каждый визит, вечера для участников и ранний доступ "
                       "к новинкам.", "Вступить в клуб"),
        "promotions": ("Акции", "Что мы предлагаем в этом сезоне в наших дилерских центрах."),
        "promo_now": ("Шиномонтаж зимних шин со скидкой 20%", "Запишитесь на смену шин до первого снега.",
                      "<p>Монтаж и балансировка четырёх колёс со скидкой 20% на работы. Сезонное хранение "
                      "летнего комплекта включено.</p>"),
        "promo_old": ("Летняя проверка кондиционера", "Прохлада всё лето.",
                      "<p>Диагностика и заправка кондиционера по фиксированной цене.</p>"),
        "events": ("Мероприятия", "Вечера, мастер-классы и дни тест-драйвов в наших центрах."),
        "event_intro": "Приходите: новые автомобили, наша команда, кофе и ответы на все вопросы.",
        "news": ("Новости", "Что нового в наших дилерских центрах."),
        "news_items": (
            ("Суббота — рабочий день сервиса", "Теперь сервис работает по субботам до 14:00.",
             "<p>Многие просили субботние визиты: теперь сервис открыт с 8:00 до 14:00.</p>", False),
            ("Зимняя проверка: что мы смотрим", "Аккумулятор, шины, щётки и антифриз за 30 минут.",
             "<p>Перед холодами мастера проверят аккумулятор, шины, щётки и антифриз.</p>", False),
            ("Участникам клуба — первыми: новые модели", "Закрытый показ до официального старта продаж.",
             "<p>Участники клуба увидят и протестируют новые модели за неделю до всех остальных.</p>", True),
        ),
        "club": ("Клуб владельцев", "Чем больше вы ездите с нами, тем больше получаете.",
                 "<p>Получайте баллы за каждый визит в сервис и каждого приглашённого друга и обменивайте "
                 "их на сертификаты на сервис и аксессуары.</p>", "Вступить в клуб"),
        "tiers": (("Серебряный", "С первого визита", ["1 балл за каждые 100 ₽", "Рассылка для участников"]),
                  ("Золотой", "От 5 000 баллов", ["1,5 балла за каждые 100 ₽", "Бесплатная мойка при визите"]),
                  ("Платиновый", "От 15 000 баллов", ["2 балла за каждые 100 ₽", "Подменный автомобиль"])),
        "faq": ("Частые вопросы", "Короткие ответы; по остальным вопросам звоните."),
        "questions": (
            ("Как записаться на сервис?", "<p>Онлайн в личном кабинете, по телефону или на ресепшене.</p>"),
            ("Можно подождать, пока обслуживают автомобиль?",
             "<p>Да: в зоне ожидания есть Wi-Fi, кофе и детский уголок.</p>"),
            ("Сохранится ли гарантия при обслуживании у вас?",
             "<p>Да. Мы работаем по регламенту производителя и используем оригинальные запчасти.</p>"),
            ("Как вступить в клуб владельцев?", "<p>Войдите в личный кабинет и вступите в один шаг.</p>"),
        ),
        "rooftops": ("Наши дилерские центры", "Адреса, телефоны и часы работы."),
        "about": ("О нас", "Семья дилерских центров, которая заботится о вашем автомобиле.",
                  "<p>Обученные мастера, оригинальные запчасти и честные цены — поэтому клиенты возвращаются "
                  "к нам годами.</p>"),
    },
    "zh-hans": {
        "hero": "您的爱车，交给我们放心",
        "intro": "欢迎来到{name}。预约保养、查看车辆记录、加入车主俱乐部。",
        "cta": "预约保养",
        "booking": ("两分钟完成预约", "选择方便的日期和时间，我们会通过邮件确认。", "在线预约"),
        "promotions_block": "当前优惠",
        "events_block": "近期活动",
        "club_block": ("车主俱乐部", "每次到店都能积分，会员专享活动，新车抢先体验。", "加入俱乐部"),
        "promotions": ("优惠活动", "本季我们各门店的优惠。"),
        "promo_now": ("冬季轮胎安装八折", "初雪之前预约换胎。",
                      "<p>四轮安装与动平衡工时费八折，并免费保管夏季轮胎一季。</p>"),
        "promo_old": ("夏季空调检测", "整个夏天清凉舒适。", "<p>空调检测与加注，一口价。</p>"),
        "events": ("活动", "门店的主题之夜、课堂和试驾日。"),
        "event_intro": "欢迎光临：新车、我们的团队、咖啡，以及您所有问题的解答。",
        "news": ("新闻", "我们门店的最新动态。"),
        "news_items": (
            ("周六延长营业", "售后服务现于周六营业至下午两点。",
             "<p>应广大车主要求，售后服务周六营业时间为上午8点至下午2点。</p>", False),
            ("冬季检查：我们检查什么", "30分钟检查电瓶、轮胎、雨刮和防冻液。",
             "<p>天冷之前，技师会为您检查电瓶、轮胎、雨刮和防冻液。</p>", False),
            ("俱乐部会员优先：新车型", "正式上市前的会员专场。",
             "<p>俱乐部会员可比其他人提前一周看车、试驾新车型。</p>", True),
        ),
        "club": ("车主俱乐部", "与我们同行越久，收获越多。",
                 "<p>每次保养、每推荐一位朋友都可获得积分，积分可兑换保养和精品代金券。</p>", "加入俱乐部"),
        "tiers": (("银卡", "首次到店即可", ["每消费100元积1分", "会员通讯"]),
                  ("金卡", "5,000积分起", ["每消费100元积1.5分", "每次到店免费洗车"]),
                  ("白金卡", "15,000积分起", ["每消费100元积2分", "保养期间提供代步车"])),
        "faq": ("常见问题", "简要解答；其他问题欢迎来电。"),
        "questions": (
            ("如何预约保养？", "<p>可在车主门户在线预约、致电或到前台预约。</p>"),
            ("保养时可以在店里等候吗？", "<p>可以：休息区提供无线网络、咖啡和儿童角。</p>"),
            ("在贵店保养会影响质保吗？", "<p>不会。我们按厂家标准保养并使用原厂配件。</p>"),
            ("如何加入车主俱乐部？", "<p>登录车主门户，一步即可加入。</p>"),
        ),
        "rooftops": ("我们的门店", "地址、电话和营业时间。"),
        "about": ("关于我们", "用心呵护您爱车的经销商集团。",
                  "<p>训练有素的技师、原厂配件和透明的价格，让车主多年来一直信赖我们。</p>"),
    },
}


def site_demo_build(*, dealer_name: str, language: str, rooftops: Sequence[Rooftop] = ()) -> HomePage:
    """Fill the schema's site with demo content in ``language`` and English, and brand it.

    Idempotent: pages, images and translations found by slug or translation are left as they are, so a
    second run changes nothing. The site's home page keeps its title and introduction. Runs inside
    the tenant's schema.
    """
    language = language if language in TEXT else "en"
    text = TEXT[language]
    site = Site.objects.select_related("root_page").get(is_default_site=True)
    home = site.root_page.specific
    rooftops = list(rooftops) or list(Rooftop.objects.filter(is_active=True))
    today = timezone.localdate()
    primary, accent = COLOURS.get(language, COLOURS["en"])

    hero = _image(f"{site.hostname} hero", lambda: _hero_picture(primary, accent))
    _branding_ensure(site, primary, accent, rooftops, PHONES[language])
    if not home.hero_heading:
        _home_fill(home, text, dealer_name, hero, keep_intro=True)
        home.save_revision().publish()

    pages = _pages_ensure(home, text, today, rooftops, language)
    for other in ("en",) if language != "en" else ():
        _translate(home, pages, TEXT[other], other, dealer_name, hero)
    return home


def _home_fill(home: HomePage, text: dict[str, Any], dealer_name: str, hero: Any, *, keep_intro: bool) -> None:
    home.hero_heading = text["hero"]
    if not (keep_intro and home.intro):
        home.intro = text["intro"].format(name=dealer_name)
    home.hero_image = hero
    home.hero_cta_text = text["cta"]
    booking, club = text["booking"], text["club_block"]
    home.body = [
        {"type": "booking", "value": {"heading": booking[0], "text": booking[1], "button_text": booking[2]}},
        {"type": "promotions", "value": {"heading": text["promotions_block"], "count": 3}},
        {"type": "events", "value": {"heading": text["events_block"], "count": 3}},
        {"type": "club_teaser", "value": {"heading": club[0], "text": club[1], "button_text": club[2]}},
    ]


def _child(parent: Page, model: type[Page], slug: str, **fields: Any) -> Page:
    """The live child page with this slug, made and published if missing."""
    found = model.objects.child_of(parent).filter(slug=slug).first()
    if found is not None:
        return found
    page = parent.add_child(instance=model(slug=slug, show_in_menus=fields.pop("show_in_menus", False), **fields))
    page.save_revision().publish()
    return page


def _pages_ensure(home: HomePage, text: dict[str, Any], today: Any, rooftops: list[Rooftop],
                  language: str) -> list[tuple[Page, Callable[[Page, dict[str, Any]], None]]]:
    """The site's pages in its main language; each with how to write it in another language."""
    made: list[tuple[Page, Callable[[Page, dict[str, Any]], None]]] = []

    def titled(key: str) -> Callable[[Page, dict[str, Any]], None]:
        def write(page: Page, words: dict[str, Any]) -> None:
            page.title, page.intro = words[key][0], words[key][1]
            if len(words[key]) > 2 and hasattr(page, "body"):
                page.body = [{"type": "paragraph", "value": words[key][2]}]
        return write

    def page(parent: Page, model: type[Page], slug: str, key: str, **fields: Any) -> Page:
        result = _child(parent, model, slug, title=text[key][0], intro=text[key][1], **fields)
        made.append((result, titled(key)))
        return result

    promotions = page(home, PromotionIndexPage, "promotions", "promotions", show_in_menus=True)
    current = page(promotions, PromotionPage, "winter-tyres", "promo_now", valid_from=today - timedelta(days=10),
                   valid_until=today + timedelta(days=30),
                   image=_image("Winter tyres", lambda: _card_picture("#1f4e79", "#9cc3e6")),
                   body=[{"type": "paragraph", "value": text["promo_now"][2]}])
    if rooftops and not current.rooftops.exists():
        current.rooftops.set(rooftops[:1])
        current.save_revision().publish()
    page(promotions, PromotionPage, "summer-air-con", "promo_old", valid_from=today - timedelta(days=120),
         valid_until=today - timedelta(days=60), image=_image("Air con", lambda: _card_picture("#b54708", "#fedf89")),
         body=[{"type": "paragraph", "value": text["promo_old"][2]}])

    events = page(home, EventIndexPage, "events", "events", show_in_menus=True)
    upcoming = Event.objects.filter(cancelled_at__isnull=True, starts_at__gt=timezone.now()).order_by("starts_at")
    for event in upcoming:
        title = _event_title(event, language)
        found = _child(events, EventPage, f"event-{event.pk}", title=title, event=event, intro=text["event_intro"])

        def write_event(page: Page, words: dict[str, Any], event: Event = event) -> None:
            page.title, page.intro = _event_title(event, words["language"]), words["event_intro"]
        made.append((found, write_event))

    news = page(home, NewsIndexPage, "news", "news", show_in_menus=True)
    for number, (title, intro, body, for_club) in enumerate(text["news_items"]):
        item = _child(news, NewsPage, f"news-{number + 1}", title=title, intro=intro, for_club_members=for_club,
                      date=today - timedelta(days=3 + 9 * number),
                      image=_image(f"News {number + 1}", lambda n=number: _card_picture(*_CARD_COLOURS[n])),
                      body=[{"type": "paragraph", "value": body}])

        def write_news(page: Page, words: dict[str, Any], number: int = number) -> None:
            page.title, page.intro, body, _ = words["news_items"][number]
            page.body = [{"type": "paragraph", "value": body}]
        made.append((item, write_news))

    club_title, club_intro, club_body, join = text["club"]
    club = _child(home, ClubPage, "club", title=club_title, intro=club_intro, join_text=join, show_in_menus=True,
                  body=[{"type": "paragraph", "value": club_body}], tiers=_tiers(text))

    def write_club(page: Page, words: dict[str, Any]) -> None:
        page.title, page.intro, body, page.join_text = words["club"]
        page.body, page.tiers = [{"type": "paragraph", "value": body}], _tiers(words)
    made.append((club, write_club))

    faq = _child(home, FAQPage, "faq", title=text["faq"][0], intro=text["faq"][1], show_in_menus=True,
                 questions=_questions(text))

    def write_faq(page: Page, words: dict[str, Any]) -> None:
        page.title, page.intro, page.questions = words["faq"][0], words["faq"][1], _questions(words)
    made.append((faq, write_faq))

    page(home, RooftopsPage, "dealerships", "rooftops", show_in_menus=True)
    page(home, ContentPage, "about", "about", show_in_menus=True,
         body=[{"type": "paragraph", "value": text["about"][2]}])
    return made


def _translate(home: HomePage, pages: list[tuple[Page, Callable[[Page, dict[str, Any]], None]]],
               words: dict[str, Any], language: str, dealer_name: str, hero: Any) -> None:
    """The site in another language: each page copied into that locale's tree (parents first) and
    rewritten there; pages translated already are left alone."""
    locale = Locale.objects.get_or_create(language_code=language)[0]
    words = {**words, "language": language}
    if home.get_translation_or_none(locale) is None:
        copy = home.copy_for_translation(locale).specific
        copy.title = home.title
        _home_fill(copy, words, dealer_name, hero, keep_intro=False)
        copy.save_revision().publish()
    for original, write in pages:
        if original.get_translation_or_none(locale) is not None:
            continue
        copy = original.specific.copy_for_translation(locale).specific
        write(copy, words)
        copy.save_revision().publish()


_CARD_COLOURS = (("#14532d", "#86efac"), ("#1e3a8a", "#93c5fd"), ("#581c87", "#d8b4fe"))


def _event_title(event: Event, language: str) -> str:
    if event.kind == Event.Kind.OTHER:
        return event.name
    with translation.override(language):
        return str(event.get_kind_display())


def _tiers(words: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "tier", "value": {"name": name, "requirement": requirement, "benefits": benefits}}
            for name, requirement, benefits in words["tiers"]]


def _questions(words: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "question", "value": {"question": question, "answer": answer}}
            for question, answer in words["questions"]]


def _branding_ensure(site: Site, primary: str, accent: str, rooftops: list[Rooftop], phone: str) -> None:
    branding = BrandingSettings.for_site(site)
    if branding.logo_id:
        return
    first = rooftops[0] if rooftops else None
    branding.logo = _image(f"{site.hostname} logo", lambda: _logo_picture(primary, accent))
    branding.primary_colour, branding.accent_colour = primary, accent
    branding.phone = (first.phone if first else "") or phone
    branding.email = f"info@{site.hostname}"
    branding.address = ", ".join(part for part in (first.address, first.city) if part) if first else ""
    branding.full_clean()
    branding.save()


def _image(title: str, draw: Callable[[], PILImage.Image]) -> Any:
    """A Wagtail image drawn by Pillow, found by title when it exists."""
    Image = get_image_model()
    found = Image.objects.filter(title=title).first()
    if found is not None:
        return found
    buffer = BytesIO()
    draw().convert("RGB").save(buffer, "JPEG", quality=85)
    name = "".join(c if c.isalnum() else "-" for c in title.lower()) + ".jpg"
    image = Image(title=title, file=ImageFile(buffer, name=name))
    image.save()
    return image


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _gradient(size: tuple[int, int], start: str, end: str) -> PILImage.Image:
    width, height = size
    picture = PILImage.new("RGB", size)
    draw = ImageDraw.Draw(picture)
    first, last = _rgb(start), _rgb(end)
    for x in range(width):
        share = x / max(1, width - 1)
        colour = tuple(round(a + (b - a) * share) for a, b in zip(first, last, strict=True))
        draw.line([(x, 0), (x, height)], fill=colour)
    return picture


def _car(draw: ImageDraw.ImageDraw, left: int, bottom: int, scale: float, colour: str) -> None:
    """A car's silhouette: body, cabin and two wheels."""
    def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [left + x0 * scale, bottom - y1 * scale, left + x1 * scale, bottom - y0 * scale]
    draw.rounded_rectangle(box(0, 18, 300, 80), radius=int(22 * scale), fill=colour)
    draw.rounded_rectangle(box(60, 70, 230, 125), radius=int(30 * scale), fill=colour)
    for centre in (70, 235):
        draw.ellipse(box(centre - 30, -10, centre + 30, 50), fill="#111827")
        draw.ellipse(box(centre - 13, 7, centre + 13, 33), fill="#d1d5db")


def _hero_picture(primary: str, accent: str) -> PILImage.Image:
    picture = _gradient((1600, 640), primary, accent)
    draw = ImageDraw.Draw(picture)
    draw.rectangle([0, 560, 1600, 640], fill="#1f2937")
    for x in range(0, 1600, 160):
        draw.rectangle([x + 30, 596, x + 110, 604], fill="#f9fafb")
    _car(draw, 980, 575, 1.6, "#f3f4f6")
    return picture


def _card_picture(start: str, end: str) -> PILImage.Image:
    picture = _gradient((960, 540), start, end)
    _car(ImageDraw.Draw(picture), 260, 430, 1.4, "#ffffff")
    return picture


def _logo_picture(primary: str, accent: str) -> PILImage.Image:
    picture = PILImage.new("RGB", (192, 192), "#ffffff")
    draw = ImageDraw.Draw(picture)
    draw.rounded_rectangle([8, 8, 184, 184], radius=36, fill=primary)
    draw.ellipse([48, 48, 144, 144], outline=accent, width=14)
    _car(draw, 38, 150, 0.39, "#ffffff")
    return picture
