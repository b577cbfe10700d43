"""Every request has an id: the proxy's, when a trusted proxy sent a sane one, else a new one.

It is answered in the ``X-Request-ID`` response header, written on every log line and Sentry event of the
request, and travels with every task the request enqueues (``worker``), so an operator can follow one click
from the proxy's access log to the task that failed an hour later.
"""

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.throttle import behind_trusted_proxy

from .context import bound, request_id_var, request_var

HEADER = "X-Request-ID"
# Short and plain: it lands in log lines, headers and Sentry tags, so nothing a client could use to forge a
# log line or blow up a label (nginx's $request_id is 32 hex digits, a UUID 36 characters).
VALID = re.compile(r"[A-Za-z0-9-]{8,64}")


def request_id_for(request: HttpRequest) -> str:
    """The id a trusted proxy gave the request, when it is valid; otherwise a new random one."""
    given = request.headers.get(HEADER, "")
    if given and VALID.fullmatch(given) and behind_trusted_proxy(request):
        return given
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Outermost: everything after it, the security redirect and /health/ included, runs with the id known."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_for(request)
        with bound(request_id_var, request.request_id), bound(request_var, request):
            response = self.get_response(request)
        response[HEADER] = request.request_id
        return response
