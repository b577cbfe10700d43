"""The dealer's public site: Wagtail pages in the dealer group's own schema.

Each language a dealer writes in is a page tree of its own (Wagtail's locales), and every page keeps
one address in all of them: ``/promotions/`` is the promotions page in the visitor's language.
"""

import zoneinfo
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalManyToManyField
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail.search import index
from wagtail.url_routing import RouteResult

from crm.loyalty.models import Membership

from .blocks import QuestionBlock, SocialLinkBlock, TierBlock, body_blocks, home_blocks
from .colours import hex_colour_validator, white_text_readable_validate
from .links import portal_url

IMAGE_MODEL = "wagtailimages.Image"


def _image_field(verbose_name: Any = None) -> models.ForeignKey:
    return models.ForeignKey(IMAGE_MODEL, verbose_name=verbose_name or _("image"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")


def event_timezone(event: Any) -> zoneinfo.ZoneInfo | Any:
    """An event's times are its rooftop's local times; without a rooftop, the dealer group's."""
    rooftop = event.rooftop
    return zoneinfo.ZoneInfo(rooftop.timezone) if rooftop else timezone.get_current_timezone()


class HomePage(Page):
    """The root of a dealer's site, served at ``/`` on the dealer group's host: a hero and live blocks."""

    hero_heading = models.CharField(_("hero heading"), max_length=120, blank=True,
                                    help_text=_("The big line at the top; the page title if empty."))
    intro = models.TextField(_("introduction"), blank=True)
    hero_image = _image_field(_("hero image"))
    hero_cta_text = models.CharField(_("button text"), max_length=60, blank=True,
                                     help_text=_("“Book a service visit” if empty."))
    hero_cta_page = models.ForeignKey(
        "wagtailcore.Page", verbose_name=_("button leads to"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text=_("Online booking in the owners' portal if empty."))
    body = StreamField(home_blocks(), blank=True, verbose_name=_("body"))

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel([FieldPanel("hero_heading"), FieldPanel("intro"), FieldPanel("hero_image"),
                         FieldRowPanel([FieldPanel("hero_cta_text"), FieldPanel("hero_cta_page")])],
                        heading=_("Hero")),
        FieldPanel("body"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]
    parent_page_types = ["wagtailcore.Page"]

    class Meta:
        verbose_name = _("home page")

    def hero_cta_url(self) -> str:
        if self.hero_cta_page_id and self.hero_cta_page.live:
            return self.hero_cta_page.url
        return portal_url("portal:book")

    def route(self, request: HttpRequest, path_components: list[str]) -> Any:
        """Route in this language's tree; a page not translated yet is served from the other trees,
        the dealer's main one (the first made) first, in its translation for the visitor where one exists."""
        try:
            return super().route(request, path_components)
        except Http404:
            if not path_components:
                raise
        for other in self.get_translations().order_by("pk"):
            try:
                found, args, kwargs = Page.route(other, request, path_components)
            except Http404:
                continue
            return RouteResult(found.localized.specific, args=args, kwargs=kwargs)
        raise Http404


class ContentPage(Page):
    """An ordinary page of the dealer's site: about us, services, anything."""

    intro = models.TextField(_("introduction"), blank=True)
    body = StreamField(body_blocks(), blank=True, verbose_name=_("body"))

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]
    parent_page_types = ["cms.HomePage", "cms.ContentPage"]

    class Meta:
        verbose_name = _("content page")


class PromotionIndexPage(Page):
    """Lists the promotions valid today; ended and future ones stay reachable at their own address."""

    intro = models.TextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.PromotionPage"]
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("promotions page")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from .selectors import promotions_current

        context = super().get_context(request, *args, **kwargs)
        context["promotions"] = promotions_current(locale_id=self.locale_id, parent=self)
        return context


class PromotionPage(Page):
    """An offer valid from one day to another (both included) at some rooftops (none chosen: all)."""

    intro = models.TextField(_("summary"), blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True,
                                   help_text=_("The last day of the offer; empty: until further notice."))
    rooftops = ParentalManyToManyField("dealerships.Rooftop", verbose_name=_("rooftops"), blank=True,
                                       help_text=_("None chosen: every rooftop."))
    image = _image_field()
    body = StreamField(body_blocks(), blank=True, verbose_name=_("body"))

    content_panels = [
        *Page.content_panels,
        FieldPanel("intro"),
        FieldRowPanel([FieldPanel("valid_from"), FieldPanel("valid_until")], heading=_("Validity")),
        FieldPanel("rooftops", widget=forms.CheckboxSelectMultiple),
        FieldPanel("image"),
        FieldPanel("body"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]
    parent_page_types = ["cms.PromotionIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")

    def clean(self) -> None:
        super().clean()
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": _("The offer cannot end before it starts.")})

    def has_ended(self, today: date | None = None) -> bool:
        return self.valid_until is not None and self.valid_until < (today or timezone.localdate())

    def has_started(self, today: date | None = None) -> bool:
        return self.valid_from <= (today or timezone.localdate())

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context(request, *args, **kwargs)
        context["rooftops"] = list(self.rooftops.all())
        return context


class EventIndexPage(Page):
    """The dealer's upcoming events, each on its own page."""

    intro = models.TextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.EventPage"]
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("events page")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from .selectors import event_pages_upcoming

        context = super().get_context(request, *args, **kwargs)
        context["event_pages"] = event_pages_upcoming(parent=self)
        return context


class EventPage(Page):
    """The site's page for an event of the CRM: date, time and seats come from the CRM's event."""

    event = models.ForeignKey("marketing.Event", verbose_name=_("CRM event"), null=True, on_delete=models.SET_NULL,
                              related_name="+", help_text=_("Its date, place and seats are shown from the CRM."))
    intro = models.TextField(_("introduction"), blank=True)
    image = _image_field()
    body = StreamField(body_blocks(), blank=True, verbose_name=_("body"))

    content_panels = [*Page.content_panels, FieldPanel("event"), FieldPanel("intro"), FieldPanel("image"),
                      FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]
    parent_page_types = ["cms.EventIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("event page")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from crm.marketing.events import seats_taken

        context = super().get_context(request, *args, **kwargs)
        event = self.event
        if event is not None:
            rooftop = event.rooftop
            context.update(
                rooftop=rooftop,
                event_timezone=event_timezone(event),
                is_cancelled=event.cancelled_at is not None,
                is_over=event.ends_at <= timezone.now(),
                seats_left=max(0, event.capacity - seats_taken(event)),
                # Members answer club events in the portal; other events are by invitation.
                sign_up_url=portal_url("portal:club") if event.kind == event.Kind.CLUB else "",
            )
        return context


class NewsIndexPage(Page):
    """The dealer's news, newest first; news for club members only is left to the club."""

    intro = models.TextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.NewsPage"]
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("news page")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from .selectors import news_public

        context = super().get_context(request, *args, **kwargs)
        context["news"] = news_public(parent=self)
        return context


class NewsPage(Page):
    """A piece of news. ``for_club_members``: left out of the public news list and shown whole only to
    current club members and staff; the portal's club page lists it (``cms.selectors.club_news``)."""

    date = models.DateField(_("date"), default=timezone.localdate)
    intro = models.TextField(_("introduction"), blank=True)
    image = _image_field()
    body = StreamField(body_blocks(), blank=True, verbose_name=_("body"))
    for_club_members = models.BooleanField(_("for club members"), default=False)

    content_panels = [*Page.content_panels, FieldRowPanel([FieldPanel("date"), FieldPanel("for_club_members")]),
                      FieldPanel("intro"), FieldPanel("image"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]
    parent_page_types = ["cms.NewsIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("news")
        verbose_name_plural = _("news")

    def readable_by(self, request: HttpRequest) -> bool:
        """Whether the whole text is shown. Club news: the dealer's staff and current club members only."""
        user = request.user
        if not self.for_club_members or getattr(user, "is_dealer_staff", False):
            return True
        link = getattr(user, "customer_link", None) if user.is_authenticated else None
        return link is not None and Membership.objects.filter(person_id=link.person_id,
                                                              left_at__isnull=True).exists()

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context(request, *args, **kwargs)
        context["readable"] = self.readable_by(request)
        context["club_url"] = portal_url("portal:club")
        return context


class ClubPage(Page):
    """What the owners' club offers, its tiers, and the way in (the portal's club page)."""

    intro = models.TextField(_("introduction"), blank=True)
    body = StreamField(body_blocks(), blank=True, verbose_name=_("what the club offers"))
    tiers = StreamField([("tier", TierBlock())], blank=True, verbose_name=_("tiers"))
    join_text = models.CharField(_("join button text"), max_length=60, blank=True,
                                 help_text=_("“Join the club” if empty."))

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body"), FieldPanel("tiers"),
                      FieldPanel("join_text")]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]
    parent_page_types = ["cms.HomePage"]
    subpage_types: list[str] = []
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("club page")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context(request, *args, **kwargs)
        context["join_url"] = portal_url("portal:club")
        return context


class FAQPage(Page):
    """Questions and answers, each answer folded under its question."""

    intro = models.TextField(_("introduction"), blank=True)
    questions = StreamField([("question", QuestionBlock())], blank=True, verbose_name=_("questions"))

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("questions")]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("questions")]
    parent_page_types = ["cms.HomePage"]
    subpage_types: list[str] = []
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("FAQ page")


class RooftopsPage(Page):
    """The dealer's rooftops from the CRM: address, phone, opening hours and a map link."""

    intro = models.TextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types: list[str] = []
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("rooftops page")

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from .selectors import rooftops_public

        context = super().get_context(request, *args, **kwargs)
        context["rooftops"] = rooftops_public()
        return context


@register_setting(icon="palette")
class BrandingSettings(BaseSiteSetting):
    """The dealer's look and contacts on its site and portal: logo, colours, phone, e-mail, address.

    Both colours carry white text (the header band, buttons), so each must keep WCAG AA contrast
    with white; links on white use the accent colour, which that same rule keeps readable.
    """

    logo = _image_field(_("logo"))
    primary_colour = models.CharField(
        _("primary colour"), max_length=7, default="#1d2433", validators=[hex_colour_validator],
        help_text=_("Header band and hero, with white text on it. For example #1d2433."))
    accent_colour = models.CharField(
        _("accent colour"), max_length=7, default="#1f5eff", validators=[hex_colour_validator],
        help_text=_("Buttons (white text) and links. For example #1f5eff."))
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    address = models.TextField(_("address"), blank=True)
    social_links = StreamField([("link", SocialLinkBlock())], blank=True, verbose_name=_("social links"))

    select_related = ["logo"]
    panels = [
        FieldPanel("logo"),
        FieldRowPanel([FieldPanel("primary_colour"), FieldPanel("accent_colour")], heading=_("Colours")),
        MultiFieldPanel([FieldPanel("phone"), FieldPanel("email"), FieldPanel("address")], heading=_("Contacts")),
        FieldPanel("social_links"),
    ]

    class Meta:
        verbose_name = _("branding")

    def clean(self) -> None:
        super().clean()
        errors: dict[str, ValidationError] = {}
        for name in ("primary_colour", "accent_colour"):
            value = getattr(self, name)
            try:
                hex_colour_validator(value)
                white_text_readable_validate(value)
            except ValidationError as error:
                errors[name] = error
        if errors:
            raise ValidationError(errors)
