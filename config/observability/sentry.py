"""Errors to Sentry, tagged with the tenant schema and the request id, with dealers' customers' data left behind.

On only when ``SENTRY_DSN`` is set, in any environment. The SDK is told to send no personal data
(``send_default_pii=False``, which sentry-sdk 2.76 spells ``data_collection``: no cookies, user, IP, query
string), no request bodies and no local variables; ``before_send``
then drops what may still hold a customer's name, e-mail or phone — the query string, form and JSON bodies,
a task's arguments — and masks e-mail addresses and phone numbers left in messages (an IntegrityError names
the duplicate e-mail). Tags: ``tenant`` (schema), ``request_id``; release and environment from the settings.
"""

import logging
import re
from typing import Any

import sentry_sdk
from django.conf import settings
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from .context import current_tenant, request_id_var

FILTERED = "[Filtered]"
EMAIL = re.compile(r"[^\s@<>\"'(),;:]+@[^\s@<>\"'(),;:]+\.[A-Za-z]{2,}")
# A phone number as people type it: 7 or more digits with spaces, dots, dashes or brackets between them.
PHONE = re.compile(r"\+?\d(?:[\s().-]{0,3}\d){6,}")
# Parts of an event that are free text or data (a stack trace's file names and line numbers are not).
_TEXT_PARTS = ("message", "logentry", "exception", "breadcrumbs", "extra", "threads")
_HEADERS_KEPT = ("host", "user-agent", "content-type", "content-length", "x-request-id", "accept-language")


def text_scrub(text: str) -> str:
    return PHONE.sub(FILTERED, EMAIL.sub(FILTERED, text))


def _scrub(value: Any, key: str = "") -> Any:
    if key in ("vars", "data", "query_string", "cookies", "args", "kwargs"):  # may hold a customer, whole
        return FILTERED if value else value
    if isinstance(value, str):
        return text_scrub(value)
    if isinstance(value, dict):
        return {k: v if k in ("filename", "abs_path", "module", "function", "lineno", "type", "mechanism")
                else _scrub(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def _request_keep(request: dict[str, Any]) -> dict[str, Any]:
    """Method, path and a few plain headers: a query string, a body or a Referer may carry a customer's
    e-mail (percent-encoded, past any pattern)."""
    headers = {name: value for name, value in (request.get("headers") or {}).items()
               if name.lower() in _HEADERS_KEPT}
    url = str(request.get("url") or "").split("?", 1)[0]
    return {"method": request.get("method"), "url": text_scrub(url), "headers": headers}


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Tag the event with where it happened, then take out anything about a dealer's customers."""
    tags = event.setdefault("tags", {})
    tags.setdefault("tenant", current_tenant() or "none")
    if request_id_var.get():
        tags.setdefault("request_id", request_id_var.get())
    if isinstance(event.get("request"), dict):
        event["request"] = _request_keep(event["request"])
    for part in _TEXT_PARTS:
        if part in event:
            event[part] = _scrub(event[part])
    event.pop("user", None)
    return event


def sentry_init(dsn: str, *, release: str = "", environment: str = "") -> None:
    sentry_sdk.init(
        dsn=dsn,
        release=release or None,
        environment=environment or None,
        integrations=[
            DjangoIntegration(),
            CeleryIntegration(),
            # Warnings become breadcrumbs, errors logged become events (a task's logged failure included).
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        # send_default_pii=False, as sentry-sdk 2.76 spells it (the boolean is deprecated; unset, it means False):
        # no user, cookies, bodies, query strings, local variables or SQL values; only a few plain headers.
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "allowlist", "terms": list(_HEADERS_KEPT)}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "stack_frame_variables": False,
            "database_query_data": False,
        },
        max_request_body_size="never",
        include_local_variables=False,
        before_send=before_send,
        # Errors only: tracing would send every request's URL and timings to a third party, for Prometheus' job.
        traces_sample_rate=0,
    )


def sentry_init_from_settings() -> None:
    """Sentry in this process when ``SENTRY_DSN`` is set; nothing at all otherwise."""
    if settings.SENTRY_DSN:
        sentry_init(settings.SENTRY_DSN, release=settings.APP_RELEASE, environment=settings.SENTRY_ENVIRONMENT)
