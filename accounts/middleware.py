import zoneinfo
from collections.abc import Callable

from allauth.account.authentication import get_authentication_records
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django_tenants.utils import get_public_schema_name


class TenantLocaleMiddleware(LocaleMiddleware):
    """Picks the language: the person's own choice first, then the dealer group's language.

    Order: the language cookie (set by the switcher); the signed-in user's preferred language;
    on a dealer's host the dealer group's default language, on the public site the browser's
    Accept-Language; then ``LANGUAGE_CODE``. On a dealer's host the dealer's language wins over
    the browser: its customers expect the dealer's site in the dealer's language until they
    choose otherwise. Must come after AuthenticationMiddleware.
    """

    def process_request(self, request: HttpRequest) -> None:
        supported = dict(settings.LANGUAGES)
        cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        preferred = getattr(request.user, "preferred_language", "") if request.user.is_authenticated else ""
        tenant = getattr(request, "tenant", None)
        is_dealer_host = tenant is not None and tenant.schema_name != get_public_schema_name()

        if cookie and cookie in supported:
            language = cookie
        elif preferred in supported:
            language = preferred
        elif is_dealer_host and tenant.default_language in supported:
            language = tenant.default_language
        else:
            language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


def tenant_timezone_activate(tenant: object) -> None:
    """Make the dealer group's time zone the current one (public schema, or none known: UTC)."""
    name = getattr(tenant, "timezone", "") if getattr(tenant, "schema_name", "") != get_public_schema_name() else ""
    try:
        timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()


class TenantTimezoneMiddleware:
    """On a dealer's host, "today", a month's end and a time typed into a form are the dealer group's:
    a salesperson in Shanghai starts their day at midnight in Shanghai, not in UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant_timezone_activate(getattr(request, "tenant", None))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


# Paths where staff must have passed a second factor once STAFF_MFA_REQUIRED is on: the CRM, the CMS, billing and
# the platform's operator console (which suspends groups).
MFA_PROTECTED_PREFIXES = ("/crm/", "/cms/", "/billing/", "/operator/")


def needs_second_factor(user: object) -> bool:
    """Dealer staff and anyone with Django staff or superuser rights."""
    return bool(getattr(user, "is_dealer_staff", False) or getattr(user, "is_staff", False)
                or getattr(user, "is_superuser", False))


class StaffMFAMiddleware:
    """With ``STAFF_MFA_REQUIRED``, staff reach the CRM and the CMS only in a session that passed
    a second factor: those without an authenticator are sent to enrol one, those with one but a
    session signed in by password alone are asked for their code.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.STAFF_MFA_REQUIRED and request.path.startswith(MFA_PROTECTED_PREFIXES):
            user = request.user
            if user.is_authenticated and needs_second_factor(user):
                records = get_authentication_records(request, user)
                if not any(record.get("method") == "mfa" for record in records):
                    from allauth.mfa.models import Authenticator

                    if Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                        query = urlencode({"next": request.get_full_path()})
                        return redirect(f"{reverse('mfa_reauthenticate')}?{query}")
                    return redirect("mfa_activate_totp")
        return self.get_response(request)
