"""Brand colours a dealer may choose: ``#rrggbb`` that white text stays readable on (WCAG 2.1 AA)."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

WHITE = "#ffffff"
# The page background links in the brand colour sit on (static/css/app.css --bg).
PAGE_BACKGROUND = "#f7f8fa"
# WCAG 2.1 success criterion 1.4.3 (AA) for normal-size text.
AA_NORMAL_TEXT = 4.5

hex_colour_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Enter a colour as # and six hexadecimal digits, for example #1f5eff."))


def _channel(value: int) -> float:
    srgb = value / 255
    return srgb / 12.92 if srgb <= 0.03928 else ((srgb + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours, from 1 (same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def white_text_readable_validate(colour: str) -> None:
    """Refuse a background colour white text is not readable on, saying by how much it falls short."""
    # Also as link text on the page background, which is a shade darker than white.
    ratio = min(contrast_ratio(colour, WHITE), contrast_ratio(colour, PAGE_BACKGROUND))
    if ratio < AA_NORMAL_TEXT:
        raise ValidationError(
            _("White text on %(colour)s has a contrast of %(ratio).1f:1; at least %(needed).1f:1 is needed "
              "(WCAG AA) so everyone can read it. Choose a darker colour."),
            params={"colour": colour, "ratio": ratio, "needed": AA_NORMAL_TEXT},
            code="contrast",
        )
