"""Outgoing webhooks: signed with HMAC and a timestamp, tried again with backoff when the receiver fails,
logged, and sent again from the log; nothing for work rolled back, nothing to another tenant's endpoints."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from crm.customers.models import Vehicle
from crm.customers.services import person_create
from crm.dealerships.models import Rooftop
from crm.integrations.models import WebhookDelivery, WebhookEndpoint
from crm.service.services import visit_close, visit_open
from tests.conftest import run_as_the_worker

pytestmark = pytest.mark.django_db


class Receiver:
    """An HTTP server on loopback that answers with the next status of ``answers`` and keeps what it got."""

    def __init__(self, answers: list[int]) -> None:
        self.answers, self.received = list(answers), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    made = []

    def make(answers):
        made.append(Receiver(answers))
        return made[-1]

    yield make
    for server in made:
        server.close()


def _visit():
    person = person_create(by=None, fields={"family_name": "Hook", "given_name": "Hanna"})
    vehicle = Vehicle.objects.create(vin="WVWZZZ1KZAW000123", make="VW", model="Golf")
    return visit_open(vehicle=vehicle, rooftop=Rooftop.objects.first(), opened_on=timezone.localdate(), by=None,
                      person=person)


def test_a_closed_visit_is_posted_signed_and_retried_after_a_failure(
        cast, receiver, django_capture_on_commit_callbacks):
    server = receiver([500, 200])
    with schema_context(cast.a.schema_name):
        endpoint = WebhookEndpoint.objects.create(url=server.url, events=["visit.closed"], secret="s3cret")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            visit = visit_close(visit=_visit(), by=None)
        run_as_the_worker(callbacks)

        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_status_code == 500
        assert timedelta(seconds=50) < delivery.next_attempt_at - timezone.now() <= timedelta(seconds=60)

        from crm.integrations.tasks import webhook_deliver
        assert webhook_deliver(delivery.pk) == "not due"  # a duplicate message before its time does nothing
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert webhook_deliver(delivery.pk) == "delivered"
        assert webhook_deliver(delivery.pk) == "not pending"  # and never twice

    assert len(server.received) == 2
    headers, body = server.received[1]
    stamp, signature = (part.split("=", 1)[1] for part in headers["Webhook-Signature"].split(","))
    expected = hmac.new(b"s3cret", f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected) and headers["Webhook-Timestamp"] == stamp
    event = json.loads(body)
    assert event["type"] == "visit.closed" and event["data"]["id"] == visit.pk and event["data"]["status"] == "closed"
    assert headers["Webhook-Id"] == event["id"] == server.received[0][0]["Webhook-Id"]  # the same event each time


def test_the_log_shows_deliveries_and_sends_one_again_to_admins_only(
        cast, receiver, django_capture_on_commit_callbacks):
    server = receiver([410])
    with schema_context(cast.a.schema_name):
        endpoint = WebhookEndpoint.objects.create(url=server.url, events=["visit.closed"], secret="s3cret")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            visit_close(visit=_visit(), by=None)
        run_as_the_worker(callbacks)
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)

    admin = cast.signed_in(cast.a, cast.a_admin)
    page = admin.get(f"/crm/settings/webhooks/{endpoint.pk}/")
    assert page.status_code == 200 and "410" in page.text and "s3cret" in page.text
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin.post(f"/crm/settings/webhooks/deliveries/{delivery.pk}/replay/")
    run_as_the_worker(callbacks)
    with schema_context(cast.a.schema_name):
        assert WebhookDelivery.objects.get(pk=delivery.pk).status == "delivered"
    assert len(server.received) == 2

    sales = cast.signed_in(cast.a, cast.a_salesperson)
    assert sales.get(f"/crm/settings/webhooks/{endpoint.pk}/").status_code == 403
    bravo = cast.signed_in(cast.b, cast.b_admin)
    assert bravo.get(f"/crm/settings/webhooks/{endpoint.pk}/").status_code == 404
    assert bravo.post(f"/crm/settings/webhooks/deliveries/{delivery.pk}/replay/").status_code == 404


def test_nothing_is_sent_for_work_rolled_back_nor_to_another_tenants_endpoint(cast, receiver):
    server = receiver([])
    with schema_context(cast.b.schema_name):
        WebhookEndpoint.objects.create(url=server.url, events=["visit.closed"], secret="b")
    with schema_context(cast.a.schema_name):
        visit = _visit()
        try:
            from django.db import transaction
            with transaction.atomic():
                visit_close(visit=visit, by=None)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert not WebhookDelivery.objects.exists()
        visit_close(visit=visit, by=None)  # A has no endpoint: B's is never used
        assert not WebhookDelivery.objects.exists()
    with schema_context(cast.b.schema_name):
        assert not WebhookDelivery.objects.exists()
    assert server.received == []


def test_a_paused_webhook_gets_nothing_more(cast, receiver, django_capture_on_commit_callbacks):
    server = receiver([])
    with schema_context(cast.a.schema_name):
        endpoint = WebhookEndpoint.objects.create(url=server.url, events=["visit.closed"], secret="p")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            visit_close(visit=_visit(), by=None)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
        run_as_the_worker(callbacks)
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        assert delivery.status == "failed" and delivery.last_error == "webhook paused"
    assert server.received == []
