"""Open and click tracking for marketing e-mail: the HTML alternative of a message carries a 1x1 pixel
and sends each of its links through a redirect, both named by signed tokens.

A token names the dealer group's schema and the message (and, for a click, the one URL that was in that
message), so the redirect goes nowhere the message did not, and a token is worthless on another group's
host. Tokens do not expire: an e-mail may be opened months later."""

import re
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.db import connection
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import escape, linebreaks

from .models import Message

OPEN_SALT = "marketing-open"
CLICK_SALT = "marketing-click"
URL = re.compile(r"https?://[^\s<>\"'\x00-\x1f\x7f]+", re.IGNORECASE)
# Longer links stay direct: Django refuses to redirect to them.
LONGEST_TRACKED = 2000
PIXEL = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
         b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def tenant_url(path: str) -> str:
    """``path`` on the dealer group's primary host: e-mails are read far from any request."""
    host = getattr(connection.tenant, "primary_host", "") or settings.APP_DOMAIN
    return f"https://{host}{path}"


_TOKEN = "~token~"  # noqa: S105 - not a secret: a placeholder reverse() keeps (signed tokens are URL-safe)


@lru_cache(maxsize=256)
def _route(name: str, urlconf: str | None, prefix: str) -> str:
    return reverse(name, urlconf=urlconf, args=[_TOKEN])


def route(name: str, token: str) -> str:
    """``reverse(name, args=[token])`` for a route of one token argument, the route reversed once (a campaign
    reverses three per e-mail: measured, a fifth of its time)."""
    return _route(name, get_urlconf(), get_script_prefix()).replace(_TOKEN, token)


def open_url(message: Message) -> str:
    token = signing.dumps([connection.schema_name, message.pk], salt=OPEN_SALT)
    return tenant_url(route("message_opened", token))


def click_url(message: Message, url: str) -> str:
    token = signing.dumps([connection.schema_name, message.pk, url], salt=CLICK_SALT)
    return tenant_url(route("message_clicked", token))


def opened_message(token: str) -> int | None:
    """The id of the message a pixel token names, if it was signed for this dealer group; else None."""
    match _load(token, OPEN_SALT):
        case [str(schema), int(pk)] if schema == connection.schema_name:
            return pk
    return None


def clicked_link(token: str) -> tuple[int, str] | None:
    """The message and URL a click token names, if it was signed for this dealer group; else None."""
    match _load(token, CLICK_SALT):
        case [str(schema), int(pk), str(url)] if schema == connection.schema_name and URL.match(url):
            return pk, url
    return None


def _load(token: str, salt: str) -> object:
    try:
        return signing.loads(token, salt=salt)
    except (signing.BadSignature, ValueError):
        return None


def _trimmed(url: str) -> str:
    """The URL without the punctuation of the sentence around it (a closing bracket stays if it has a pair)."""
    while url and (url[-1] in ".,;:!?'\"]}" or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


def links_in(text: str) -> list[str]:
    """The http(s) links in a text, as ``email_html`` finds them."""
    return [url for match in URL.finditer(text) if (url := _trimmed(match.group(0))).partition("://")[2]]


def _link(message: Message, url: str, unsubscribe_prefix: str, track: bool) -> str:
    if url not in message.links:  # typed by a customer (their name): shown, never a link
        return escape(url)
    # The unsubscribe link stays direct: it must work where tracking is blocked.
    tracked = track and not url.startswith(unsubscribe_prefix) and len(url) <= LONGEST_TRACKED
    return f'<a href="{escape(click_url(message, url) if tracked else url)}">{escape(url)}</a>'


def email_html(message: Message, *, track: bool = True) -> str:
    """The message's plain-text body as HTML: escaped, its paragraphs and line breaks kept, the links the
    dealer's text and the CRM put in it clickable (through the click redirect, except the unsubscribe
    link, when ``track``), and the open pixel at the end when ``track``."""
    body, parts, done = message.body, [], 0
    unsubscribe_prefix = tenant_url(route("unsubscribe", "-").removesuffix("-/"))
    for match in URL.finditer(body):
        url = _trimmed(match.group(0))
        if not url.partition("://")[2]:
            continue
        parts += [escape(body[done:match.start()]), _link(message, url, unsubscribe_prefix, track)]
        done = match.start() + len(url)
    parts.append(escape(body[done:]))
    pixel = f'<img src="{escape(open_url(message))}" width="1" height="1" alt="" style="border:0">' if track else ""
    return f"<!DOCTYPE html><html><body>{linebreaks(''.join(parts), autoescape=False)}{pixel}</body></html>"
