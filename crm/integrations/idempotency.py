"""``Idempotency-Key`` on the API's POST requests: the same key with the same body answers the first
response again (for 24 hours); the same key with another body is refused. Requests with one key run one
at a time: the second waits on the first's row and then replays its answer.

A middleware, so the first answer is stored exactly as sent, and so the request and its record commit or
roll back together (a 5xx stores nothing, and the key can be used again).
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from .keys import key_authenticate
from .models import IdempotentRequest

KEPT_FOR = timedelta(hours=24)
# Answers that say nothing about the request's effect are not kept: the client may simply try again.
NOT_KEPT = (401, 403, 429)


def _error(status: int, code: str, message: str) -> HttpResponse:
    body = {"errors": [{"code": code, "message": message, "field": "Idempotency-Key"}]}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def _replay(record: IdempotentRequest) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status_code,
                            content_type="application/json; charset=utf-8")
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        if (request.method != "POST" or not key or not request.path.startswith("/api/")
                or connection.schema_name == get_public_schema_name()):
            return self.get_response(request)
        if len(key) > 255:
            return _error(422, "invalid", _("An Idempotency-Key has at most 255 characters."))
        auth = request.headers.get("Authorization", "")
        api_key = key_authenticate(auth[7:]) if auth.lower().startswith("bearer ") else None
        if api_key is None:
            return self.get_response(request)  # the API answers 401 itself
        request.api_key = api_key
        fingerprint = hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n"
                                     + request.body).hexdigest()
        IdempotentRequest.objects.filter(api_key=api_key, key=key,
                                         created_at__lt=timezone.now() - KEPT_FOR).delete()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotentRequest.objects.create(api_key=api_key, key=key, fingerprint=fingerprint)
            except IntegrityError:  # made before, or by a request still running: wait for it, then answer as it did
                record = IdempotentRequest.objects.select_for_update().get(api_key=api_key, key=key)
                if record.fingerprint != fingerprint:
                    return _error(422, "idempotency_key_reused",
                                  _("This Idempotency-Key was used for another request."))
                return _replay(record)
            response = self.get_response(request)
            if transaction.get_rollback():  # a statement failed: the whole request is undone, the key free again
                return response
            if response.status_code >= 500 or response.status_code in NOT_KEPT:
                transaction.set_rollback(True)
                return response
            record.status_code, record.body = response.status_code, response.content
            record.save(update_fields=["status_code", "body"])
            return response
