"""Access follows the subscription, on every tenant host, before any view runs."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from .access import Access, access_of, data_kept_until

# Always reachable: signing in and out, the billing page (the way back), health, static files.
# A customer's "stop sending me messages" works whatever the group's subscription: unsubscribe links and
# STOP replies are always taken.
OPEN_PATHS = ("/accounts/", "/billing/", "/health/", "/i18n/", "/static/", "/signup/welcome/", "/unsubscribe/",
              "/sms/inbound/", "/m/o/", "/m/c/")
# Read-only covers what staff change: the CRM and the site editor. Owners' own requests (booking)
# are refused there too, since the dealer could not act on them.
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class SubscriptionAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        group = getattr(request, "tenant", None)
        if group is None or group.schema_name == get_public_schema_name() or request.path.startswith(OPEN_PATHS):
            return self.get_response(request)
        access = access_of(group)
        if request.path.startswith("/api/") and access != Access.FULL and (
                access == Access.SUSPENDED or request.method not in SAFE_METHODS):
            return _api_refusal(access)
        if access == Access.SUSPENDED:
            return render(request, "billing/suspended.html", status=402, context={
                "data_kept_until": data_kept_until(group), "is_admin": _is_admin(request)})
        if access == Access.READ_ONLY and request.method not in SAFE_METHODS:
            return render(request, "billing/read_only.html", status=403, context={"is_admin": _is_admin(request)})
        return self.get_response(request)


def _api_refusal(access: Access) -> JsonResponse:
    """The API's own error shape: a program reads the code, a person the message."""
    if access == Access.SUSPENDED:
        error = {"code": "subscription_suspended", "message": _("This dealer group's subscription is suspended.")}
    else:
        error = {"code": "subscription_read_only",
                 "message": _("This dealer group's subscription is unpaid: the API only reads until it is paid.")}
    return JsonResponse({"errors": [{**error, "field": None}]}, status=402 if access == Access.SUSPENDED else 403)


def _is_admin(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and getattr(user, "role", "") == "dealer_admin")
