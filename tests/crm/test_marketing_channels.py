"""Sending a marketing message: consent per channel and purpose, quiet hours, the weekly cap, merge
fields in the customer's language, once per occasion, the unsubscribe link, SMS backends."""

import hashlib
import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from crm.customers.models import Consent
from crm.customers.services import consent_record, person_create
from crm.marketing.channels import Deferred, message_send, unsubscribe_token
from crm.marketing.models import Message, MessageTemplate, SendingRules, TemplateText
from tests.test_settings import PRODUCTION_ENV, run_manage

pytestmark = pytest.mark.django_db


def _at(hour: int, minute: int = 0, days: int = 1) -> datetime:
    """Tomorrow (by default) at this time in the group's time zone: after every consent the test records."""
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour, minute=minute))


def _template(channel: str = "email", purpose: str = "marketing") -> MessageTemplate:
    template = MessageTemplate.objects.create(name=f"{channel} {purpose}", channel=channel, purpose=purpose)
    TemplateText.objects.create(template=template, language="en", subject="Spring check for your {{ car }}",
                                body="Hello {{ given_name }}, come and see us. Stop: {{ unsubscribe_url }}")
    TemplateText.objects.create(template=template, language="ru", subject="Весенний осмотр: {{ car }}",
                                body="Здравствуйте, {{ given_name }}!")
    return template


@pytest.fixture
def customer(cast):
    with schema_context(cast.a.schema_name):
        person = person_create(by=None, fields={"family_name": "Mailer", "given_name": "Mia"},
                               phones=["+4915155501234"], emails=["mia@example.de"])
        consent_record(person=person, by=None, channel="email", purpose="marketing", granted=True, source="form")
        return person


def test_consent_decides_per_channel_and_purpose(cast, customer, mailoutbox):
    with schema_context(cast.a.schema_name):
        sent = message_send(person=customer, template=_template("email"), key="t:1", now=_at(12))
        sms = message_send(person=customer, template=_template("sms"), key="t:2", now=_at(12))
        reminder = message_send(person=customer, template=_template("email", "service_reminders"), key="t:3",
                                now=_at(12))
    assert (sent.status, sms.status, sms.reason) == ("sent", "refused", "no_consent")
    assert (reminder.status, reminder.reason) == ("refused", "no_consent")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["mia@example.de"]


def test_quiet_hours_in_the_groups_time_zone_defer_the_message(cast, customer, mailoutbox):
    with schema_context(cast.a.schema_name):
        template = _template("email")
        late = message_send(person=customer, template=template, key="q:1", now=_at(22))
        early = message_send(person=customer, template=template, key="q:2", now=_at(8, 59))
        morning = message_send(person=customer, template=template, key="q:3", now=_at(9))
        assert late == Deferred(_at(9, days=2)) and early == Deferred(_at(9))
        assert not Message.objects.filter(key__in=["q:1", "q:2"]).exists()
        assert morning.status == "sent" and len(mailoutbox) == 1


def test_the_weekly_cap_counts_marketing_messages_across_templates_not_service_ones(cast, customer, mailoutbox):
    with schema_context(cast.a.schema_name):
        SendingRules.objects.create(weekly_cap=2)
        consent_record(person=customer, by=None, channel="email", purpose="service_reminders", granted=True,
                       source="form")
        first, second = _template("email"), _template("email")
        outcomes = [message_send(person=customer, template=template, key=f"c:{n}", now=_at(12)).status
                    for n, template in enumerate((first, second, first))]
        reminder = message_send(person=customer, template=_template("email", "service_reminders"), key="c:9",
                                now=_at(12))
        assert outcomes == ["sent", "sent", "refused"]
        assert Message.objects.get(key="c:2").reason == "frequency_cap"
        assert reminder.status == "sent"


def test_each_occasion_is_sent_once_in_the_customers_language_with_merge_fields(cast, customer, mailoutbox):
    with schema_context(cast.a.schema_name):
        template = _template("email")
        customer.preferred_language = "ru"
        customer.save()
        first = message_send(person=customer, template=template, key="once", now=_at(12))
        again = message_send(person=customer, template=template, key="once", now=_at(12))
        assert first.pk == again.pk
        with pytest.raises(ValidationError) as unknown:
            TemplateText(template=template, language="zh-hans", body="{{ password }}").full_clean()
    assert len(mailoutbox) == 1 and mailoutbox[0].body == "Здравствуйте, Mia!"
    assert "password" in str(unknown.value)


def test_the_unsubscribe_link_withdraws_consent_and_works_only_on_its_own_group(cast, customer, mailoutbox):
    # The link is signed with the time: the same second for the e-mail's and the one compared with it.
    with schema_context(cast.a.schema_name), time_machine.travel(timezone.now(), tick=False):
        template = _template("email")
        message_send(person=customer, template=template, key="u:1", now=_at(12))
        token = unsubscribe_token(customer, "email", "marketing")
    assert f"/unsubscribe/{token}/" in mailoutbox[0].body
    assert "List-Unsubscribe" in mailoutbox[0].extra_headers

    assert cast.client(cast.b).post(f"/unsubscribe/{token}/").status_code == 404
    visitor = cast.client(cast.a)
    assert "Yes, stop these messages" in visitor.get(f"/unsubscribe/{token}/").text
    with schema_context(cast.a.schema_name):
        assert Consent.objects.filter(person=customer, granted=False).count() == 0  # a GET changes nothing
    assert visitor.post(f"/unsubscribe/{token}/").status_code == 200
    assert visitor.get(f"/unsubscribe/{token[:-3]}xyz/").status_code == 404
    with schema_context(cast.a.schema_name):
        after = message_send(person=customer, template=template, key="u:2", now=_at(12))
        assert (after.status, after.reason) == ("refused", "no_consent")


def test_text_messages_go_through_the_configured_backend_once_per_key(cast, customer, tmp_path, settings):
    settings.SMS_FILE_PATH = str(tmp_path)
    with schema_context(cast.a.schema_name):
        consent_record(person=customer, by=None, channel="sms", purpose="marketing", granted=True, source="form")
        message = message_send(person=customer, template=_template("sms"), key="s:1", now=_at(12))
    files = [json.loads(path.read_text(encoding="utf-8")) for path in tmp_path.glob("*.json")]
    assert message.status == "sent"
    assert [(sms["to"], sms["key"]) for sms in files] == [
        ("+4915155501234", f"{cast.a.schema_name}:s:1:{hashlib.sha256(b'+4915155501234').hexdigest()[:16]}")]
    assert files[0]["body"].startswith("Hello Mia")


def test_a_text_with_the_same_key_in_another_group_is_sent_too(cast, customer, tmp_path, settings):
    """Message keys ("campaign:<id>:<person>") repeat in every group: the provider's idempotency key names the
    group, or a provider honouring keys would swallow the second group's text as a repeat of the first's."""
    settings.SMS_FILE_PATH = str(tmp_path)
    with schema_context(cast.a.schema_name):
        consent_record(person=customer, by=None, channel="sms", purpose="marketing", granted=True, source="form")
        alpha = message_send(person=customer, template=_template("sms"), key="campaign:1:1", now=_at(12))
    with schema_context(cast.b.schema_name):
        boris = person_create(by=None, fields={"family_name": "Браво", "given_name": "Борис"},
                              phones=["+79161234567"])
        consent_record(person=boris, by=None, channel="sms", purpose="marketing", granted=True, source="form")
        bravo = message_send(person=boris, template=_template("sms"), key="campaign:1:1", now=_at(12))

    texts = sorted(json.loads(path.read_text(encoding="utf-8"))["to"] for path in tmp_path.glob("*.json"))
    assert (alpha.status, bravo.status) == ("sent", "sent")
    assert texts == ["+4915155501234", "+79161234567"]


class _FakeTwilio(BaseHTTPRequestHandler):
    """Twilio's Messages endpoint on loopback: records requests, refuses one number."""

    requests: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        refused = "To=%2B4915100000000" in body
        self.send_response(400 if refused else 201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"message": "The 'To' number is not a valid phone number."} if refused
                                    else {"sid": "SM123"}).encode())

    def log_message(self, *args: object) -> None:
        pass


def test_twilio_is_called_with_the_accounts_credentials_and_its_refusal_is_recorded(cast, customer):
    server = HTTPServer(("127.0.0.1", 0), _FakeTwilio)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with override_settings(SMS_BACKEND="crm.marketing.sms.TwilioBackend",
                               TWILIO_API_BASE=f"http://127.0.0.1:{server.server_port}", TWILIO_ACCOUNT_SID="AC1",
                               TWILIO_AUTH_TOKEN="secret", TWILIO_FROM="+15005550006"), \
                schema_context(cast.a.schema_name):
            consent_record(person=customer, by=None, channel="sms", purpose="marketing", granted=True, source="form")
            template = _template("sms")
            sent = message_send(person=customer, template=template, key="tw:1", now=_at(12))
            wrong = person_create(by=None, fields={"family_name": "Falsch"}, phones=["+4915100000000"])
            consent_record(person=wrong, by=None, channel="sms", purpose="marketing", granted=True, source="form")
            failed = message_send(person=wrong, template=template, key="tw:2", now=_at(12))
    finally:
        server.shutdown()
    assert sent.status == "sent" and (failed.status, failed.error) == (
        "failed", "Twilio 400: The 'To' number is not a valid phone number.")
    assert _FakeTwilio.requests[0]["path"] == "/2010-04-01/Accounts/AC1/Messages.json"
    assert _FakeTwilio.requests[0]["auth"] == "Basic QUMxOnNlY3JldA=="  # AC1:secret
    body = _FakeTwilio.requests[0]["body"]
    assert "From=%2B15005550006" in body and "To=%2B4915155501234" in body


def _twilio_signed(client, url: str, params: dict[str, str], token: str) -> object:
    import base64
    import hashlib
    import hmac

    full = f"http://{client.defaults['HTTP_HOST']}{url}"
    payload = full + "".join(f"{key}{value}" for key, value in sorted(params.items()))
    signature = base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()
    return client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_a_stop_reply_withdraws_sms_consent_and_an_unsigned_one_does_nothing(cast, customer, settings):
    settings.TWILIO_AUTH_TOKEN = "twilio-secret"
    with schema_context(cast.a.schema_name):
        consent_record(person=customer, by=None, channel="sms", purpose="marketing", granted=True, source="form")
    client = cast.client(cast.a)
    params = {"From": "+4915155501234", "Body": "Stop"}
    assert client.post("/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE="forged").status_code == 403
    assert _twilio_signed(client, "/sms/inbound/", {"From": "+4915155501234", "Body": "Thanks!"},
                          "twilio-secret").status_code == 200
    with schema_context(cast.a.schema_name):
        assert not Consent.objects.filter(person=customer, channel="sms", granted=False).exists()
    assert _twilio_signed(client, "/sms/inbound/", params, "twilio-secret").status_code == 200
    with schema_context(cast.a.schema_name):
        withdrawn = set(Consent.objects.filter(person=customer, channel="sms", granted=False)
                        .values_list("purpose", flat=True))
        assert withdrawn == {"service_reminders", "marketing", "surveys"}
        after = message_send(person=customer, template=_template("sms"), key="stop:1", now=_at(12))
        assert after.reason == "no_consent"


def test_in_production_an_smtp_server_that_stops_answering_cannot_hold_a_worker_forever():
    """Django's SMTP backend waits forever by default: a worker stuck on a silent server would hold its
    campaign, and the message would be handed over again when it is finally killed."""
    shown = "from django.core.mail import get_connection as c; print(type(c()).__name__, c().timeout)"

    default = run_manage("shell", "--no-imports", "-c", shown, env=PRODUCTION_ENV)
    chosen = run_manage("shell", "--no-imports", "-c", shown, env={**PRODUCTION_ENV, "EMAIL_TIMEOUT": "5"})

    assert default.stdout.split() == ["EmailBackend", "20"], default.stderr
    assert chosen.stdout.split() == ["EmailBackend", "5"], chosen.stderr
