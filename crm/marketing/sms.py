"""SMS backends, chosen by ``settings.SMS_BACKEND`` like Django's e-mail backends.

- ``ConsoleBackend`` prints (development), ``FileBackend`` writes one file per message under ``SMS_FILE_PATH``
  (tests, benchmarks, a demo without a provider);
- ``TwilioBackend`` sends through Twilio's REST API (``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``,
  ``TWILIO_FROM``). Its Messages API takes no idempotency key: a message re-sent after a worker died
  mid-send can reach the phone twice (the file backend, keyed, cannot).
"""

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Sms:
    to: str  # E.164
    body: str
    key: str  # the message's idempotency key


class SmsError(Exception):
    """The provider refused or could not be reached; the message is marked failed with this text."""


class ConsoleBackend:
    def send(self, sms: Sms) -> str:
        sys.stdout.write(f"SMS to {sms.to} [{sms.key}]: {sms.body}\n")
        return ""


class FileBackend:
    """One JSON file per message under ``SMS_FILE_PATH`` (a folder), named by the message's key, and a
    line per delivery attempt in ``attempts.log``. Like a provider honouring the key, a second attempt
    with the same key sends nothing new."""

    @staticmethod
    def path_for(key: str) -> Path:
        """The file of the message sent with ``key``."""
        return Path(settings.SMS_FILE_PATH) / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def send(self, sms: Sms) -> str:
        message = self.path_for(sms.key)
        message.parent.mkdir(parents=True, exist_ok=True)
        with (message.parent / "attempts.log").open("a", encoding="utf-8") as attempts:
            attempts.write(sms.key + "\n")
        if not message.exists():
            message.write_text(json.dumps({"to": sms.to, "body": sms.body, "key": sms.key}, ensure_ascii=False),
                               encoding="utf-8")
        return message.stem


class TwilioBackend:
    """Twilio's Messages API (https://www.twilio.com/docs/messaging/api/message-resource)."""

    timeout = 10

    def send(self, sms: Sms) -> str:
        sid = settings.TWILIO_ACCOUNT_SID
        url = f"{settings.TWILIO_API_BASE.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
        try:
            response = requests.post(
                url, auth=(sid, settings.TWILIO_AUTH_TOKEN), timeout=self.timeout,
                data={"To": sms.to, "From": settings.TWILIO_FROM, "Body": sms.body})
        except requests.RequestException as error:
            raise SmsError(f"Twilio not reached: {error}") from error
        if response.status_code >= 400:
            try:
                detail = response.json().get("message", "")
            except ValueError:
                detail = response.text[:200]
            raise SmsError(f"Twilio {response.status_code}: {detail}")
        return response.json().get("sid", "")


def backend() -> ConsoleBackend | FileBackend | TwilioBackend:
    return import_string(settings.SMS_BACKEND)()
