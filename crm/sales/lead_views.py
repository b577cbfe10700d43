"""The public enquiry form on the dealer group's host, anonymous: a page of its own, and a variant
the dealer embeds in their own website in an iframe.

Spam (the honeypot, a forged or too-fast token) is thanked like anyone and nothing is kept; a
network that sends more than a handful of real enquiries an hour is told to wait (429).
"""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from accounts.throttle import client_network, over_hourly_limit

from . import leads
from .lead_forms import EnquiryForm

logger = logging.getLogger(__name__)

RATE_PER_HOUR = 5


def enquiry_rate_exceeded(request: HttpRequest) -> bool:
    """Counts this enquiry (from the enquiry form, or a friend's through an owner's referral link) against
    its network's hourly allowance at this dealer group. The key names the schema, so two dealer groups
    never share a counter whatever the cache's key function."""
    return over_hourly_limit(f"enquiry-rate:{connection.schema_name}:{client_network(request)}", RATE_PER_HOUR)


def _language(request: HttpRequest) -> None:
    """``?lang=ru`` picks the page's language: an embedding site knows its visitor's, and in an iframe
    on another site the language cookie is not sent."""
    language = request.GET.get("lang", "")
    if language in dict(settings.LANGUAGES):
        translation.activate(language)
        request.LANGUAGE_CODE = language


def _enquiry(request: HttpRequest, *, embed: bool) -> HttpResponse:
    _language(request)
    template, context = "sales/enquiry/form.html", {"embed": embed}
    if request.method == "POST":
        form = EnquiryForm(request.POST)
        if reason := form.spam_reason():
            logger.info("enquiry dropped as spam (%s) at %s", reason, connection.schema_name)
            return _thanks_or_redirect(request, embed=embed)
        if form.is_valid():
            if enquiry_rate_exceeded(request):
                return render(request, "sales/enquiry/limited.html", context, status=429)
            try:
                leads.enquiry_receive(enquiry=form.enquiry(language=translation.get_language()))
            except ValidationError as error:  # the form checks what it can; the records have the last word
                form.add_error(None, error.messages)
            else:
                return _thanks_or_redirect(request, embed=embed)
    else:
        form = EnquiryForm(initial={"source_detail": request.GET.get("src", "")[:200],
                                    "rooftop": request.GET.get("rooftop", "")})
    return render(request, template, {**context, "form": form}, status=400 if form.errors else 200)


def _thanks_or_redirect(request: HttpRequest, *, embed: bool) -> HttpResponse:
    if embed:  # stays inside the frame: only the embed view may be framed
        return render(request, "sales/enquiry/thanks.html", {"embed": True})
    query = f"?lang={request.GET['lang']}" if request.GET.get("lang") in dict(settings.LANGUAGES) else ""
    return redirect(reverse("enquiry_thanks") + query)


@never_cache
@require_http_methods(["GET", "POST"])
def enquiry(request: HttpRequest) -> HttpResponse:
    """The form as a page of the dealer's host."""
    return _enquiry(request, embed=False)


@never_cache
@xframe_options_exempt
@csrf_exempt
@require_http_methods(["GET", "POST"])
def enquiry_embed(request: HttpRequest) -> HttpResponse:
    """The form for an iframe on the dealer's own website (any site may frame it).

    Exempt from CSRF on purpose: framed by another site, the CSRF cookie (SameSite=Lax) is never
    sent back, so every post would fail. Nothing here acts for a signed-in user; a forged post can do
    no more than the visitor could, and the signed token, the honeypot and the rate limit still apply.
    """
    return _enquiry(request, embed=True)


@require_GET
def enquiry_thanks(request: HttpRequest) -> HttpResponse:
    _language(request)
    return render(request, "sales/enquiry/thanks.html", {"embed": False})
