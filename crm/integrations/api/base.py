"""The API's plumbing: key authentication with scopes per module, the per-key rate limit, and one error shape.

Every error is ``{"errors": [{"code": …, "message": …, "field": … | null}]}`` with a 4xx status; bad input is
never a 500.
"""

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from crm.integrations.keys import key_authenticate, rate_take
from crm.integrations.models import Access, ApiKey


class ErrorItem(Schema):
    code: str
    message: str
    field: str | None = None


class Errors(Schema):
    errors: list[ErrorItem]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.headers = status, code, message, field, headers or {}


# Error statuses every operation may answer, declared in the schema so clients (and schemathesis) know them.
ERRORS = {401: Errors, 403: Errors, 404: Errors, 409: Errors, 422: Errors, 429: Errors}


def answers(status: int, schema: Any) -> dict[int, Any]:
    return {status: schema, **ERRORS}


class KeyAuth(HttpBearer):
    """``Authorization: Bearer dk_…`` with a scope for the router's module: read for GET, write otherwise."""

    def __init__(self, module: str | None) -> None:
        super().__init__()
        self.module = module  # None: any live key (reference data such as rooftops)

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = getattr(request, "api_key", None) or key_authenticate(token)
        if key is None:
            return None
        request.api_key = key
        wait = getattr(request, "api_wait", None)
        if wait is None and not getattr(request, "api_counted", False):
            request.api_counted = True
            wait = request.api_wait = rate_take(key)
        if wait:
            raise ApiError(429, "rate_limited", _("Too many requests for this key: try again in %(seconds)d s.")
                           % {"seconds": wait}, headers={"Retry-After": str(wait)})
        access = Access.READ if request.method in ("GET", "HEAD", "OPTIONS") else Access.WRITE
        if self.module and not key.allows(self.module, access):
            raise ApiError(403, "scope_missing", _("This key may not %(access)s %(module)s.")
                           % {"access": _("read") if access == Access.READ else _("change"), "module": self.module})
        return key


def _errors(status: int, items: list[dict[str, Any]], headers: dict[str, str] | None = None) -> HttpResponse:
    response = api.create_response(None, {"errors": items}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field(location: tuple[Any, ...]) -> str | None:
    """pydantic's ("body", "payload", "phones", 0) → "phones.0"; the query or path parameter's own name."""
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header", "payload", "filters")]
    return ".".join(parts) or None


def django_errors(error: DjangoValidationError) -> list[dict[str, Any]]:
    """A service's refusal, field by field (a message for the whole record has no field)."""
    by_field = error.error_dict.items() if hasattr(error, "error_dict") else [(NON_FIELD_ERRORS, error.error_list)]
    return [{"code": item.code or "invalid", "message": " ".join(item.messages),
             "field": None if name == NON_FIELD_ERRORS else name}
            for name, items in by_field for item in items]


api = NinjaAPI(title="Dealer CRM API", version="1", urls_namespace="api-v1",
               description=("The dealer group's CRM for its other systems (DMS, website, call centre). Authenticate "
                            "with `Authorization: Bearer <key>`; a dealer admin makes keys under Settings → API keys. "
                            "POST requests take an `Idempotency-Key` header: the same key with the same body "
                            "answers the first response again for 24 hours. Errors are "
                            "`{\"errors\": [{\"code\", \"message\", \"field\"}]}`."))


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _errors(exc.status, [{"code": exc.code, "message": exc.message, "field": exc.field}], exc.headers)


@api.exception_handler(NinjaValidationError)
def _invalid_input(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return _errors(422, [{"code": error.get("type", "invalid"), "message": error.get("msg", ""),
                          "field": _field(tuple(error.get("loc", ())))} for error in exc.errors])


@api.exception_handler(DjangoValidationError)
def _refused(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return _errors(422, django_errors(exc))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _errors(401, [{"code": "unauthenticated",
                          "message": _("Send a live API key as “Authorization: Bearer <key>”."), "field": None}],
                   {"WWW-Authenticate": "Bearer"})


@api.exception_handler(Http404)
def _missing(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _errors(404, [{"code": "not_found", "message": _("No such record."), "field": None}])


api.add_exception_handler(ObjectDoesNotExist, _missing)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _errors(403, [{"code": "forbidden", "message": str(exc) or _("Not allowed."), "field": None}])


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _errors(exc.status_code, [{"code": "bad_request" if exc.status_code < 500 else "error",
                                      "message": str(exc), "field": None}])
