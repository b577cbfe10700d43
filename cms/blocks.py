"""StreamField blocks of a dealer's site.

The home page's live blocks (promotions, upcoming events, club teaser) read what they show in
``get_context`` through ``cms.selectors``, a fixed number of queries each, whatever the count.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.images.blocks import ImageBlock

from .links import portal_url


def body_blocks() -> list[tuple[str, blocks.Block]]:
    """The blocks every page body of a dealer's site offers."""
    return [
        ("heading", blocks.CharBlock(form_classname="title", label=_("Heading"), template="cms/blocks/heading.html")),
        ("paragraph", blocks.RichTextBlock(label=_("Paragraph"))),
        ("image", ImageBlock(required=True, label=_("Image"))),
    ]


def _page_locale_id(parent_context: dict[str, Any] | None) -> int | None:
    """The locale of the page a block is on: a block lists what is in that page's language."""
    page = (parent_context or {}).get("page")
    return getattr(page, "locale_id", None)


class BookingBlock(blocks.StructBlock):
    """An invitation to book a workshop visit in the owners' portal."""

    heading = blocks.CharBlock(label=_("Heading"), default=_("Book a service visit"))
    text = blocks.TextBlock(label=_("Text"), required=False)
    button_text = blocks.CharBlock(label=_("Button text"), default=_("Book online"))

    class Meta:
        icon = "date"
        label = _("Booking call to action")
        template = "cms/blocks/booking.html"

    def get_context(self, value: Any, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        context = super().get_context(value, parent_context)
        context["url"] = portal_url("portal:book")
        return context


class PromotionsBlock(blocks.StructBlock):
    """The promotions valid today, soonest ending first."""

    heading = blocks.CharBlock(label=_("Heading"), default=_("Current offers"))
    count = blocks.IntegerBlock(label=_("How many at most"), min_value=1, max_value=12, default=3)

    class Meta:
        icon = "tag"
        label = _("Current promotions")
        template = "cms/blocks/promotions.html"

    def get_context(self, value: Any, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        from .selectors import promotion_index, promotions_current

        context = super().get_context(value, parent_context)
        locale_id = _page_locale_id(parent_context)
        context["promotions"] = promotions_current(locale_id=locale_id, limit=value["count"])
        context["index"] = promotion_index(locale_id=locale_id)
        return context


class UpcomingEventsBlock(blocks.StructBlock):
    """The next events the dealer published a page for, not cancelled (``selectors.events_upcoming``)."""

    heading = blocks.CharBlock(label=_("Heading"), default=_("Upcoming events"))
    count = blocks.IntegerBlock(label=_("How many at most"), min_value=1, max_value=12, default=3)

    class Meta:
        icon = "calendar"
        label = _("Upcoming events")
        template = "cms/blocks/events.html"

    def get_context(self, value: Any, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        from .selectors import events_upcoming

        context = super().get_context(value, parent_context)
        context["events"] = events_upcoming(locale_id=_page_locale_id(parent_context), limit=value["count"])
        return context


class ClubTeaserBlock(blocks.StructBlock):
    """A word about the owners' club, leading to the club page (or the portal's club)."""

    heading = blocks.CharBlock(label=_("Heading"), default=_("Owners' club"))
    text = blocks.TextBlock(label=_("Text"), required=False)
    button_text = blocks.CharBlock(label=_("Button text"), default=_("Join the club"))

    class Meta:
        icon = "group"
        label = _("Club teaser")
        template = "cms/blocks/club_teaser.html"

    def get_context(self, value: Any, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        from .selectors import club_page

        context = super().get_context(value, parent_context)
        page = club_page(locale_id=_page_locale_id(parent_context))
        context["url"] = page.url if page is not None else portal_url("portal:club")
        return context


def home_blocks() -> list[tuple[str, blocks.Block]]:
    """The home page's body: the plain blocks and the live ones."""
    return [
        *body_blocks(),
        ("booking", BookingBlock()),
        ("promotions", PromotionsBlock()),
        ("events", UpcomingEventsBlock()),
        ("club_teaser", ClubTeaserBlock()),
    ]


class QuestionBlock(blocks.StructBlock):
    question = blocks.CharBlock(label=_("Question"))
    answer = blocks.RichTextBlock(label=_("Answer"), features=["bold", "italic", "link", "ol", "ul"])

    class Meta:
        icon = "help"
        label = _("Question and answer")
        template = "cms/blocks/question.html"


class TierBlock(blocks.StructBlock):
    """A level of the owners' club: how one reaches it and what it brings."""

    name = blocks.CharBlock(label=_("Name"))
    requirement = blocks.CharBlock(label=_("How to reach it"), required=False)
    benefits = blocks.ListBlock(blocks.CharBlock(label=_("Benefit")), label=_("Benefits"))

    class Meta:
        icon = "pick"
        label = _("Tier")
        template = "cms/blocks/tier.html"


class SocialLinkBlock(blocks.StructBlock):
    label = blocks.CharBlock(label=_("Network"), help_text=_("For example VK, Telegram, WeChat, Instagram."))
    url = blocks.URLBlock(label=_("Address"))

    class Meta:
        icon = "link"
        label = _("Social link")
