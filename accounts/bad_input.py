"""Input no page can use is refused at the door with a page that says so, never a 500."""

from collections.abc import Callable, Iterable

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from .middleware import TenantLocaleMiddleware

NUL = "\x00"
# The integration API reads JSON bodies and refuses what it cannot store by itself (422, per field).
API_PREFIX = "/api/"


def _carries_nul(texts: Iterable[str]) -> bool:
    return any(NUL in text for text in texts)


def _pairs(data: object) -> Iterable[str]:
    for key, values in data.lists():  # type: ignore[attr-defined]
        yield key
        yield from (value for value in values if isinstance(value, str))


class NulCharacterMiddleware:
    """A NUL character (``%00``) in the path answers 404 (no page has such an address); in the query, a
    cookie or a posted form, 400.

    PostgreSQL cannot store or compare text containing NUL ("A string literal cannot contain NUL"), so
    any lookup by such a value fails inside the view: a code from the path, a search term, a filter, a
    session key. No person types one; it only comes from scanners and broken links. One gate here
    instead of a check in every view that reads ``request.GET`` or a path argument. Placed before the
    session: a session key from a crafted cookie is looked up in the database too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path:
            return refusal(request, status=404)
        if self._nul_in_data(request):
            return refusal(request, status=400)
        return self.get_response(request)

    @staticmethod
    def _nul_in_data(request: HttpRequest) -> bool:
        if _carries_nul(_pairs(request.GET)) or _carries_nul((*request.COOKIES.keys(), *request.COOKIES.values())):
            return True
        if request.method != "POST" or request.path.startswith(API_PREFIX):
            return False
        uploads = (upload.name or "" for _field, files in request.FILES.lists() for upload in files)
        return _carries_nul(_pairs(request.POST)) or _carries_nul((*request.FILES.keys(), *uploads))


def refusal(request: HttpRequest, *, status: int) -> HttpResponse:
    """The site's 404 or 400 page in the visitor's language, or the API's error shape under /api/. Rendered
    for an anonymous visitor: the request never reached the session."""
    request.user = AnonymousUser()
    TenantLocaleMiddleware(lambda _request: HttpResponse()).process_request(request)
    if status == 404:
        code, template, message = "not_found", "404.html", _("No such address in the API; see /api/v1/docs.")
    else:
        code, template = "bad_request", "400.html"
        message = _("The address or the form contains a character that cannot be read (a NUL character).")
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"errors": [{"code": code, "message": message, "field": None}]}, status=status)
    return render(request, template, {"message": message} if status == 400 else {}, status=status)
