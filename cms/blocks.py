from django.utils.translation import gettext_lazy as _
from wagtail import blocks


def body_blocks() -> list[tuple[str, blocks.Block]]:
    """The blocks every page body of a dealer's site offers."""
    return [
        ("heading", blocks.CharBlock(form_classname="title", label=_("Heading"))),
        ("paragraph", blocks.RichTextBlock(label=_("Paragraph"))),
    ]
