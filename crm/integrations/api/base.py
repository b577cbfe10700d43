"""The API's plumbing: key authentication with scopes per module, the per-key rate limit, and one error shape.

Every error is ``{"errors": [{"code": …, "message": …, "field": … | null}]}`` with a 4xx status; bad input is
never a 500.
"""

import re
from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import FilterSchema, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import LimitOffsetPagination
from ninja.schema import DjangoGetter
from ninja.security import HttpBearer
from pydantic import AfterValidator, BeforeValidator, Field, Strict, model_validator

from crm.customers.models import Person
from crm.integrations import sync
from crm.integrations.keys import key_authenticate, rate_take
from crm.integrations.models import Access, ApiKey, Module

_NUMBER = re.compile(r"[+-]?[\d.]+")


def _iso(value: Any) -> Any:
    """Dates and times as ISO 8601 text only: pydantic would also read 0 or "0.5" as a Unix time."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError(_("Give it in ISO 8601, e.g. 2026-11-23 or 2026-11-23T09:30:00+01:00."))
    return value


# Types for what clients send: exactly what the schema says (no 1 for true, no number for a date).
Date = Annotated[date, BeforeValidator(_iso)]
def _utc(value: datetime) -> datetime:
    """In UTC: PostgreSQL takes offsets up to 15:59 only, and a naive time is the dealer's."""
    try:
        return (timezone.make_aware(value) if timezone.is_naive(value) else value).astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(_("This time is out of range.")) from None


DateTime = Annotated[datetime, BeforeValidator(_iso), AfterValidator(_utc)]
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]


class Input(Schema):
    """A request body: a JSON object, whatever the fields."""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        # ninja hands its schemas the data wrapped for attribute access
        if not isinstance(data._obj if isinstance(data, DjangoGetter) else data, dict):
            raise ValueError(_("Send a JSON object."))
        return data


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
ERRORS = {400: Errors, 401: Errors, 403: Errors, 404: Errors, 409: Errors, 422: Errors, 429: Errors}


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
        _query_check(request)
        access = Access.READ if request.method in ("GET", "HEAD", "OPTIONS") else Access.WRITE
        if self.module and not key.allows(self.module, access):
            module = Module(self.module).label
            raise ApiError(403, "scope_missing", (_("This key may not read: %(module)s.") if access == Access.READ
                                                  else _("This key may not change: %(module)s.")) % {"module": module})
        return key


_ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


@cache
def _query_parameters() -> dict[tuple[str, str], frozenset[str]]:
    """(path as in the schema, method) → the query parameters the operation takes."""
    paths = api.get_openapi_schema(path_prefix="/")["paths"]
    return {(path, method.upper()): frozenset(p["name"] for p in operation.get("parameters", ()) if p["in"] == "query")
            for path, operations in paths.items() for method, operation in operations.items()}


def _query_check(request: HttpRequest) -> None:
    """A parameter the operation does not take is refused by name: a typo (``updated_after``) would otherwise
    return everything, unfiltered."""
    match = request.resolver_match
    if match is None or not request.GET:
        return
    path = "/" + _ROUTE_PARAMETER.sub(r"{\1}", match.route.removeprefix("api/v1/"))
    allowed = _query_parameters().get((path, request.method))
    unknown = sorted(set(request.GET) - allowed) if allowed is not None else []
    if unknown:
        raise ApiError(422, "unknown_parameter", _("This operation takes no parameter “%(name)s”.")
                       % {"name": unknown[0]}, unknown[0])


class Listing(FilterSchema):
    """A list's query: each field a lookup (``FilterLookup``, or a ``filter_<name>`` method), applied only when
    given; ``ordering`` orders and never filters."""

    ordering: str

    def filter_ordering(self, value: str) -> Q:
        return Q()

    def order(self) -> tuple[Any, ...]:
        return (self.ordering, "pk")

    def apply(self, queryset: QuerySet) -> QuerySet:
        return self.filter(queryset).order_by(*self.order())


def referenced(model: type[Model], pk: int | None, field: str, message: str | None = None) -> Any:
    """The record a request names by id, or a 422 naming the field (None when no id was sent)."""
    if pk is None:
        return None
    found = model._default_manager.filter(pk=pk).first()
    if found is None:
        raise ApiError(422, "invalid", message or _("No such record."), field)
    return found


def referenced_customer(pk: int | None, field: str = "customer_id") -> Person | None:
    """The customer a request names, followed to the survivor of any merge since."""
    person = referenced(Person, pk, field, _("No such customer."))
    return None if person is None else sync.survivor(person)


class Pages(LimitOffsetPagination):
    """50 records a page unless asked, at most 200, from at most the millionth."""

    class Input(Schema):
        limit: int = Field(50, ge=1, le=200)
        offset: int = Field(0, ge=0, le=1_000_000)


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
    errors = django_errors(exc)
    return _errors(409 if any(error["code"] == "conflict" for error in errors) else 422, errors)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _errors(401, [{"code": "unauthenticated",
                          "message": _("Send a live API key as “Authorization: Bearer <key>”."), "field": None}],
                   {"WWW-Authenticate": "Bearer"})


@api.exception_handler(Http404)
def _missing(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _errors(404, [{"code": "not_found", "message": _("No such record."), "field": None}])


api.add_exception_handler(ObjectDoesNotExist, _missing)


def _abandon() -> None:
    """The statement failed inside a transaction (the Idempotency-Key's): nothing of it may commit."""
    if connection.in_atomic_block:
        transaction.set_rollback(True)


@api.exception_handler(DataError)
def _unstorable(request: HttpRequest, exc: DataError) -> HttpResponse:
    _abandon()
    return _errors(422, [{"code": "invalid", "field": None,
                          "message": _("A value is out of range or holds characters that cannot be stored.")}])


@api.exception_handler(IntegrityError)
def _conflict(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    _abandon()
    return _errors(409, [{"code": "conflict", "field": None,
                          "message": _("This conflicts with a record the CRM already has.")}])


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _errors(403, [{"code": "forbidden", "message": str(exc) or _("Not allowed."), "field": None}])


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _errors(exc.status_code, [{"code": "bad_request" if exc.status_code < 500 else "error",
                                      "message": str(exc), "field": None}])


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any other address under /api/: the API's error shape, not the site's page."""
    return _errors(404, [{"code": "not_found", "message": _("No such address in the API; see /api/v1/docs."),
                          "field": None}])
