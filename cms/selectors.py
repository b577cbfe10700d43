"""Reads for the dealer's site, each a fixed number of queries however much there is to show."""

from dataclasses import dataclass
from datetime import date, time
from urllib.parse import quote

from django.db.models import Prefetch, Q, QuerySet, Subquery
from django.utils import timezone, translation
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.images import get_image_model
from wagtail.models import Locale, Page, Site

from crm.dealerships.models import OpeningHours, Rooftop, Weekday
from crm.marketing.models import Event

from .models import ClubPage, EventPage, NewsPage, PromotionIndexPage, PromotionPage

# The renditions the listings show; prefetched with the pages so a list of ten costs no ten queries.
CARD_RENDITION = "fill-640x360"


def _with_card_images(pages: QuerySet, field: str = "image") -> QuerySet:
    images = get_image_model().objects.prefetch_renditions(CARD_RENDITION)
    return pages.prefetch_related(Prefetch(field, queryset=images))


def _main_locale() -> Subquery:
    """The dealer's own language: the locale of the site's home page (the tree untranslated pages are in)."""
    return Subquery(Site.objects.filter(is_default_site=True).values("root_page__locale_id")[:1])


def _in_locale(pages: QuerySet, locale_id: int | None) -> QuerySet:
    """Pages in the visitor's language, and pages of the dealer's own language not translated into it:
    what the visitor would be served at their address anyway (``HomePage.route`` falls back the same way)."""
    if locale_id is None:
        return pages
    translated = Page.objects.live().filter(locale_id=locale_id).values("translation_key")
    return pages.filter(Q(locale_id=locale_id) | Q(locale_id=_main_locale()) & ~Q(translation_key__in=translated))


def _children_in_any_language(pages: QuerySet, parent: Page) -> QuerySet:
    """Children of ``parent`` or of any translation of it (which the language filter then picks from)."""
    children = Q()
    for translation_of_parent in Page.objects.filter(translation_key=parent.translation_key).only("path", "depth"):
        children |= Q(path__startswith=translation_of_parent.path, depth=translation_of_parent.depth + 1)
    return _in_locale(pages.filter(children), parent.locale_id)


def promotions_current(*, locale_id: int | None, today: date | None = None, parent: Page | None = None,
                       limit: int | None = None) -> list[PromotionPage]:
    """Live promotions valid today (first and last day included) in one language, soonest ending first."""
    today = today or timezone.localdate()
    pages = PromotionPage.objects.live().filter(valid_from__lte=today).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=today))
    pages = _children_in_any_language(pages, parent) if parent is not None else _in_locale(pages, locale_id)
    pages = _with_card_images(pages).order_by(
        "valid_until", "-valid_from", "pk")
    return list(pages[:limit] if limit else pages)


def promotion_index(*, locale_id: int | None) -> PromotionIndexPage | None:
    return _in_locale(PromotionIndexPage.objects.live(), locale_id).first()


@dataclass(frozen=True)
class UpcomingEvent:
    event: Event
    page: EventPage


def events_upcoming(*, locale_id: int | None, limit: int = 3) -> list[UpcomingEvent]:
    """The next events the dealer has published a live page for (in this language where there is one),
    not cancelled: a CRM event without a page (a fleet meeting, an invitation-only evening) is never
    shown on the public site. One query."""
    pages = (EventPage.objects.live().filter(event__cancelled_at__isnull=True, event__starts_at__gt=timezone.now())
             .select_related("event", "event__rooftop").order_by("event__starts_at", "event_id", "pk"))
    chosen: dict[int, EventPage] = {}
    for page in pages[:limit * 4]:  # a page per language at most: enough for ``limit`` events
        if page.event_id not in chosen or page.locale_id == locale_id:
            chosen[page.event_id] = page
    return [UpcomingEvent(page.event, page) for page in list(chosen.values())[:limit]]


def event_pages_upcoming(*, parent: Page) -> list[EventPage]:
    """The live event pages under ``parent`` whose CRM event is still to come and not cancelled."""
    pages = (_children_in_any_language(EventPage.objects.live(), parent)
             .filter(event__cancelled_at__isnull=True, event__ends_at__gt=timezone.now())
             .select_related("event", "event__rooftop").order_by("event__starts_at", "pk"))
    return list(_with_card_images(pages))


def club_page(*, locale_id: int | None) -> ClubPage | None:
    return _in_locale(ClubPage.objects.live(), locale_id).first()


def news_public(*, parent: Page) -> list[NewsPage]:
    """Live news under ``parent`` for everyone, newest first."""
    pages = (_children_in_any_language(NewsPage.objects.live(), parent).filter(for_club_members=False)
             .order_by("-date", "-pk"))
    return list(_with_card_images(pages)[:50])


def club_news(limit: int = 5) -> list[NewsPage]:
    """Live news for club members in the active language, newest first: for the portal's club page."""
    language = get_supported_content_language_variant(translation.get_language())
    locale_id = Locale.objects.filter(language_code=language).values_list("pk", flat=True).first()
    pages = _in_locale(NewsPage.objects.live().filter(for_club_members=True), locale_id).order_by("-date", "-pk")
    return list(pages[:limit])


@dataclass(frozen=True)
class Day:
    label: str
    opens: time | None
    closes: time | None


@dataclass(frozen=True)
class PublicRooftop:
    """What the site shows of a rooftop: where it is, how to call, when it is open. No one's personal data."""

    name: str
    city: str
    address: str
    phone: str
    week: list[Day]
    map_url: str


def map_url(*parts: str) -> str:
    """An OpenStreetMap search for an address (no API key, no script on our page)."""
    query = ", ".join(part for part in parts if part)
    return f"https://www.openstreetmap.org/search?query={quote(query)}" if query else ""


def rooftops_public() -> list[PublicRooftop]:
    """Active rooftops with their week of opening hours (Monday first, closed days included), two queries."""
    rooftops = Rooftop.objects.filter(is_active=True).prefetch_related(
        Prefetch("opening_hours", queryset=OpeningHours.objects.order_by("weekday")))
    result = []
    for rooftop in rooftops:
        hours = {row.weekday: row for row in rooftop.opening_hours.all()}
        week = [Day(str(label), getattr(hours.get(value), "opens", None), getattr(hours.get(value), "closes", None))
                for value, label in Weekday.choices]
        result.append(PublicRooftop(
            name=rooftop.name, city=rooftop.city, address=rooftop.address, phone=rooftop.phone, week=week,
            map_url=map_url(rooftop.address, rooftop.city) or map_url(rooftop.name)))
    return result
