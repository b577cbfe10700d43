"""Outgoing webhooks: an event is written to the delivery log in the transaction that caused it (so no
event is sent for work rolled back, and none is lost for work committed), then posted by a Celery task.

Each request carries ``Webhook-Id`` (the event's id, the same on every retry and replay, so the receiver can
drop repeats), ``Webhook-Timestamp`` and ``Webhook-Signature: t=<timestamp>,v1=<hex HMAC-SHA256 of
"<timestamp>.<body>" with the endpoint's secret>``. A 2xx answer delivers it; anything else is tried again
after 1, 5 and 30 minutes, 2, 6 and 12 hours, then marked failed (a dealer admin can send it again).
"""

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent

BACKOFF = (60, 300, 1800, 7200, 21600, 43200)  # seconds before each retry
TIMEOUT = 10


def sign(secret: str, timestamp: int, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _data(event: str, record: Model) -> dict[str, Any]:
    """The record as the API shows it, so a receiver reads webhooks and API answers alike."""
    from .api.customers import CustomerOut
    from .api.sales import ProspectOut
    from .api.service import AppointmentOut, VisitOut

    schema = {WebhookEvent.APPOINTMENT_CREATED: AppointmentOut, WebhookEvent.APPOINTMENT_CHANGED: AppointmentOut,
              WebhookEvent.PROSPECT_CREATED: ProspectOut, WebhookEvent.VISIT_CLOSED: VisitOut,
              WebhookEvent.CUSTOMER_MERGED: CustomerOut}[event]
    return schema.from_orm(record).model_dump(mode="json")


def webhook_listened(event: str) -> bool:
    """Whether any active endpoint asked for ``event``: work to prepare its body is only worth it then."""
    return WebhookEndpoint.objects.filter(is_active=True, events__contains=[event]).exists()


def webhook_emit(event: str, record: Model, **extra: Any) -> int:
    """Log the event for every active endpoint that asked for it and send it once the transaction commits.
    One query when nobody listens."""
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True, events__contains=[event]))
    if not endpoints:
        return 0
    from config.celery import enqueue_on_commit

    from .tasks import webhook_deliver

    deliveries = []
    for endpoint in endpoints:
        delivery = WebhookDelivery(endpoint=endpoint, event=event, next_attempt_at=timezone.now())
        delivery.body = json.dumps({"id": str(delivery.event_id), "type": event,
                                    "created": timezone.now().isoformat(), "data": _data(event, record), **extra},
                                   cls=DjangoJSONEncoder, ensure_ascii=False)
        deliveries.append(delivery)
    WebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        enqueue_on_commit(webhook_deliver, delivery.pk)
    return len(deliveries)


def url_check(url: str) -> None:
    """Refuse a URL the platform must not call: not HTTPS, or (unless allowed for development) a host that
    is or resolves to a private, loopback or link-local address (the cloud's metadata service, the
    platform's own network)."""
    parts = urlsplit(url)
    if settings.WEBHOOK_ALLOW_PRIVATE_HOSTS:
        if parts.scheme not in ("http", "https"):
            raise ValidationError(_("Give an http or https address."))
        return
    if parts.scheme != "https":
        raise ValidationError(_("Webhooks are sent over HTTPS only: give an https:// address."))
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname or "", parts.port or 443)}
    except (socket.gaierror, UnicodeError):
        raise ValidationError(_("This host name cannot be found.")) from None
    if any(not ipaddress.ip_address(address.split("%")[0]).is_global for address in addresses):
        raise ValidationError(_("This address is inside a private network; give a public one."))


class _PublicOnly:
    """Checks the address a connection actually reached, before a byte is sent: a host that resolved to a
    public address for ``url_check`` and to an internal one a moment later (DNS rebinding) is refused."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        peer = sock.getpeername()[0]
        if not settings.WEBHOOK_ALLOW_PRIVATE_HOSTS and not ipaddress.ip_address(peer.split("%")[0]).is_global:
            sock.close()
            raise NewConnectionError(self, f"refused: {peer} is not a public address")
        return sock


class _HTTPConnection(_PublicOnly, HTTPConnection):
    pass


class _HTTPSConnection(_PublicOnly, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def _post(url: str, body: str, headers: dict[str, str]) -> int:
    """One POST; only the status line and headers are read (the body is never needed)."""
    with requests.Session() as session:
        session.mount("http://", _Adapter())
        session.mount("https://", _Adapter())
        response = session.post(url, data=body.encode(), headers=headers, timeout=(5, TIMEOUT),
                                allow_redirects=False, stream=True)
        response.close()
        return response.status_code


def attempt(delivery: WebhookDelivery) -> bool:
    """Post the delivery once and record the outcome; True when the receiver took it. Called outside any
    transaction: a slow receiver holds no row lock. ``last_error`` is technical, as in a server log."""
    endpoint = delivery.endpoint
    now = timezone.now()
    status_code, error = None, ""
    try:
        url_check(endpoint.url)
        stamp = int(time.time())
        status_code = _post(endpoint.url, delivery.body, {
            "Content-Type": "application/json; charset=utf-8", "User-Agent": "DealerCRM-Webhooks/1",
            "Webhook-Id": str(delivery.event_id), "Webhook-Timestamp": str(stamp),
            "Webhook-Signature": sign(endpoint.secret, stamp, delivery.body)})
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except ValidationError as refused:
        error = refused.messages[0]
    except requests.RequestException as failed:
        error = type(failed).__name__
    with transaction.atomic():
        WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).first()
        delivery.attempts += 1
        delivery.last_attempt_at, delivery.last_status_code, delivery.last_error = now, status_code, error[:300]
        if not error:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                WebhookDelivery.Status.DELIVERED, now, None)
        elif delivery.attempts > len(BACKOFF):
            delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
        else:
            delivery.next_attempt_at = now + timedelta(seconds=BACKOFF[delivery.attempts - 1])
        delivery.save(update_fields=["attempts", "last_attempt_at", "last_status_code", "last_error", "status",
                                     "delivered_at", "next_attempt_at"])
    return not error


def replay(delivery: WebhookDelivery) -> None:
    """Send the same event again (same id and body), whatever happened to it before."""
    from config.celery import enqueue_on_commit

    from .tasks import webhook_deliver

    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.PENDING,
                                                          next_attempt_at=timezone.now())
    enqueue_on_commit(webhook_deliver, delivery.pk, replay=True)
