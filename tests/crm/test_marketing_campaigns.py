"""Campaigns: the audience frozen at send time, consent and cap per recipient, cancel, schedule, and a
send that survives its worker being killed: everyone messaged exactly once (real worker and broker)."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from crm.customers.services import consent_record, person_create
from crm.dealerships.models import Rooftop
from crm.marketing import campaigns, channels
from crm.marketing.models import Campaign, Message, MessageTemplate, Recipient, SendingRules, TemplateText
from crm.marketing.sms import FileBackend
from tests import conftest
from tests.conftest import BASE_DIR

db = pytest.mark.django_db


def _template(channel: str = "email") -> MessageTemplate:
    template = MessageTemplate.objects.create(name=f"Spring {channel}", channel=channel)
    TemplateText.objects.create(template=template, language="en", subject="Spring check",
                                body="Hello {{ given_name }}, time for the spring check.")
    return template


def _customers(rooftop: Rooftop, count: int, *, consent: bool = True, channel: str = "email", prefix: str = "Kunde"):
    people = []
    for n in range(count):
        fields = {"family_name": f"{prefix}{n}", "given_name": "Test", "rooftop": rooftop}
        person = person_create(by=None, fields=fields, phones=[f"+4915200{n:06d}"],
                               emails=[f"{prefix.lower()}{n}@example.de"])
        if consent:
            consent_record(person=person, by=None, channel=channel, purpose="marketing", granted=True, source="form")
        people.append(person)
    return people


def _quiet_hours_off() -> None:
    SendingRules.objects.update_or_create(pk=1, defaults={"quiet_from": "00:00", "quiet_until": "00:00"})


@db
def test_the_audience_is_frozen_at_send_time_and_each_recipient_is_messaged_once(cast, mailoutbox,
                                                                                django_capture_on_commit_callbacks):
    with schema_context(cast.a.schema_name):
        _quiet_hours_off()
        hamburg = Rooftop.objects.get(name="Alpha Hamburg")
        _customers(hamburg, 3)
        _customers(hamburg, 1, consent=False, prefix="Ohne")
        campaign = campaigns.campaign_create(name="Spring", template=_template(), criteria={"rooftop": hamburg},
                                             by=None)
        with django_capture_on_commit_callbacks(execute=False) as queued:
            campaigns.campaign_start(campaign=campaign, by=None)
        assert len(queued) == 1  # the run is queued once the audience is frozen
        late = _customers(hamburg, 1, prefix="Spaet")[0]  # matches, but after the freeze

        assert campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None) == "done"
        assert campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None) == "not sending"
        results = campaigns.campaign_results(campaign)
        assert (results["total"], results["sent"], results["refused"], results["reason_no_consent"]) == (4, 3, 1, 1)
        kept = Campaign.objects.get(pk=campaign.pk)  # the counters the list shows agree with the recipients
        assert (kept.recipients_total, kept.sent_count, kept.refused_count, kept.failed_count) == (4, 3, 1, 0)
        assert not Recipient.objects.filter(campaign=campaign, person=late).exists()
        assert Campaign.objects.get(pk=campaign.pk).status == "done"
    assert sorted(message.to[0] for message in mailoutbox) == ["kunde0@example.de", "kunde1@example.de",
                                                               "kunde2@example.de"]


@db
def test_a_cancelled_campaign_stops_at_once(cast, mailoutbox):
    with schema_context(cast.a.schema_name):
        _quiet_hours_off()
        hamburg = Rooftop.objects.get(name="Alpha Hamburg")
        _customers(hamburg, 5)
        campaign = campaigns.campaign_create(name="Stop", template=_template(), criteria={"rooftop": hamburg}, by=None)
        campaigns.audience_freeze(campaign)
        Campaign.objects.filter(pk=campaign.pk).update(status="sending")

        def cancel_during_the_first_batch(seconds: float) -> None:
            if Campaign.objects.get(pk=campaign.pk).status == "sending":
                campaigns.campaign_cancel(campaign=campaign, by=None)

        assert campaigns.campaign_send(campaign.pk, batch=2, sleep=cancel_during_the_first_batch) == "cancelled"
        results = campaigns.campaign_results(campaign)
        assert (results["sent"], results["pending"]) == (1, 4)  # nothing after the cancel, not even in the batch
        assert Campaign.objects.values_list("sent_count", "refused_count").get(pk=campaign.pk) == (1, 0)
    assert len(mailoutbox) == 1


@db
def test_a_scheduled_campaign_starts_when_its_time_comes_and_a_dead_run_is_restarted(cast,
                                                                                    django_capture_on_commit_callbacks):
    now = timezone.now()
    with schema_context(cast.a.schema_name):
        hamburg = Rooftop.objects.get(name="Alpha Hamburg")
        _customers(hamburg, 2)
        campaign = campaigns.campaign_create(name="Later", template=_template(), criteria={"rooftop": hamburg},
                                             by=None, scheduled_at=now + timedelta(hours=2))
        assert campaigns.campaign_start(campaign=campaign, by=None).status == "scheduled"
        assert campaigns.campaigns_due(now) == [] and Recipient.objects.filter(campaign=campaign).count() == 0
        with django_capture_on_commit_callbacks(execute=False):
            assert campaigns.campaigns_due(now + timedelta(hours=3)) == []  # started now, heartbeat fresh
        assert Recipient.objects.filter(campaign=campaign).count() == 2
        assert campaigns.campaigns_due(now + timedelta(hours=3, minutes=5)) == [campaign.pk]  # its run went quiet


def _worker(queue: str, env: dict[str, str], log: Path, *more: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-l", "info", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", *more],
        cwd=BASE_DIR, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.worker
def test_a_campaign_whose_worker_is_killed_mid_send_resumes_and_messages_everyone_exactly_once(
        scratch, django_db_blocker, tmp_path):
    from crm.marketing.tasks import campaign_run

    recipients = 40
    outbox = tmp_path / "sms"
    queue = f"campaign-kill-{os.getpid()}"
    env = {**conftest.test_process_env("test-campaign-worker"), "SMS_FILE_PATH": str(outbox),
           "MESSAGE_RESEND_AFTER_SECONDS": "1"}
    log = BASE_DIR / ".data" / "test-campaign-worker.log"
    schema = scratch.tenant.schema_name
    with django_db_blocker.unblock(), schema_context(schema):
        _quiet_hours_off()
        rooftop = Rooftop.objects.create(name="Scratch Nord", city="Kiel", timezone="Europe/Berlin")
        person_ids = [person.pk for person in _customers(rooftop, recipients, channel="sms")]
        campaign = campaigns.campaign_create(name="Kill me", template=_template("sms"), rate_per_minute=600,
                                             criteria={"rooftop": rooftop}, by=None)
        campaigns.audience_freeze(campaign)
        Campaign.objects.filter(pk=campaign.pk).update(status="sending", heartbeat_at=timezone.now())

    def sent() -> int:
        return len(list(outbox.glob("*.json"))) if outbox.exists() else 0

    first = _worker(queue, env, log)
    try:
        campaign_run.apply_async(args=[campaign.pk], queue=queue, headers={"_schema_name": schema})
        _wait(lambda: sent() >= 8, 90, "the first messages")
        os.killpg(first.pid, signal.SIGKILL)  # mid-send, no chance to tidy up
        first.wait(timeout=10)
        killed_at = sent()
        assert 8 <= killed_at < recipients

        with django_db_blocker.unblock(), schema_context(schema):
            due = campaigns.campaigns_due(timezone.now() + timedelta(minutes=5))  # its heartbeat stopped
        assert due == [campaign.pk]
        time.sleep(1.5)  # a message the killed run left half-sent is now stale: sent again with its key
        second = _worker(queue, env, log)
        try:
            campaign_run.apply_async(args=[campaign.pk], queue=queue, headers={"_schema_name": schema})

            def finished() -> bool:
                with django_db_blocker.unblock(), schema_context(schema):
                    return Campaign.objects.get(pk=campaign.pk).status == "done"

            _wait(finished, 120, "the resumed campaign to finish")
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=20)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)

    keys = {json.loads(path.read_text(encoding="utf-8"))["key"] for path in outbox.glob("*.json")}
    assert keys == {_provider_key(schema, f"campaign:{campaign.pk}:{pk}", f"+4915200{n:06d}")
                    for n, pk in enumerate(person_ids)}  # everyone, once each
    attempts = Counter((outbox / "attempts.log").read_text().split())
    # Only the message in flight when the worker died may have been handed to the backend again
    # (with its key: the provider sends it once); nobody else was even attempted twice.
    assert sum(count - 1 for count in attempts.values()) <= 1
    with django_db_blocker.unblock(), schema_context(schema):
        assert Message.objects.filter(status="sent").count() == recipients
        assert set(Recipient.objects.values_list("status", flat=True)) == {"sent"}
        # Counted once each, across the killed run and the one that finished it.
        assert Campaign.objects.values_list("recipients_total", "sent_count").get(pk=campaign.pk) == (
            recipients, recipients)


@pytest.mark.worker
def test_a_campaign_sends_in_chunks_any_worker_takes_and_other_work_runs_between_them(
        scratch, django_db_blocker, tmp_path):
    """One worker, one queue: the campaign does not hold the worker for its whole run; a task queued while
    it sends runs after the chunk in flight, before the campaign is done."""
    from crm.marketing.tasks import campaign_run
    from tests.celery_tasks import probe

    recipients = 30
    outbox, report, log = tmp_path / "sms", tmp_path / "probe.json", tmp_path / "worker.log"
    queue = f"campaign-chunks-{os.getpid()}"
    # 600 a minute and chunks of one second: ten messages a task.
    env = {**conftest.test_process_env("test-campaign-chunks"), "SMS_FILE_PATH": str(outbox),
           "CAMPAIGN_CHUNK_SECONDS": "1"}
    schema = scratch.tenant.schema_name
    with django_db_blocker.unblock(), schema_context(schema):
        _quiet_hours_off()
        rooftop = Rooftop.objects.create(name="Scratch Süd", city="Ulm", timezone="Europe/Berlin")
        _customers(rooftop, recipients, channel="sms")
        campaign = campaigns.campaign_create(name="In chunks", template=_template("sms"), rate_per_minute=600,
                                             criteria={"rooftop": rooftop}, by=None)
        campaigns.audience_freeze(campaign)
        Campaign.objects.filter(pk=campaign.pk).update(status="sending", heartbeat_at=timezone.now())

    def messages() -> list[Path]:
        return list(outbox.glob("*.json")) if outbox.exists() else []

    def finished() -> bool:
        with django_db_blocker.unblock(), schema_context(schema):
            return Campaign.objects.get(pk=campaign.pk).status == "done"

    worker = _worker(queue, env, log, "--include", "tests.celery_tasks")
    try:
        campaign_run.apply_async(args=[campaign.pk], queue=queue, headers={"_schema_name": schema})
        _wait(lambda: len(messages()) >= 3, 90, "the first messages")
        probe.apply_async(args=[str(report)], queue=queue, headers={"_schema_name": schema})
        _wait(finished, 90, "the campaign to finish")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=20)

    sent_at = sorted(path.stat().st_mtime for path in messages())
    assert len(sent_at) == recipients
    assert sent_at[0] < report.stat().st_mtime < sent_at[-1]  # the other task ran in the middle of the campaign
    runs = log.read_text().count("crm.marketing.tasks.campaign_run[")
    assert runs >= 3 * 2  # three chunks, each received and succeeded (a line each)
    assert log.read_text().count("succeeded in") >= 4  # three chunks and the probe


@db
def test_results_attribute_bookings_visits_and_prospects_within_the_window_with_a_roi(cast):
    from decimal import Decimal

    from crm.sales.models import Prospect
    from crm.service.models import ServiceVisit

    with schema_context(cast.a.schema_name):
        _quiet_hours_off()
        hamburg = Rooftop.objects.get(name="Alpha Hamburg")
        buyer, late, lead, _silent = _customers(hamburg, 4)  # the fourth is sent to and does nothing
        outsider = _customers(hamburg, 1, consent=False, prefix="Fremd")[0]
        campaign = campaigns.campaign_create(name="Spring", template=_template(), criteria={"rooftop": hamburg},
                                             by=None, attribution_days=30, cost_per_message=Decimal("0.50"))
        campaigns.audience_freeze(campaign)
        Campaign.objects.filter(pk=campaign.pk).update(status="sending")
        campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None)
        sent_at = Message.objects.get(key=f"campaign:{campaign.pk}:{buyer.pk}").sent_at
        today = timezone.localdate(sent_at)
        for person, days, amount in ((buyer, 10, "250.00"), (late, 40, "900.00"), (outsider, 5, "400.00")):
            ServiceVisit.objects.create(person=person, opened_on=today + timedelta(days=days),
                                        total_amount=Decimal(amount), vehicle=_car())
        prospect = Prospect.objects.create(person=lead, source="campaign", registered_on=today, level="B")
        Prospect.objects.filter(pk=prospect.pk).update(created_at=sent_at + timedelta(days=3))

        result = campaigns.campaign_attribution(campaign)

    assert (result["sent"], result["visits"], result["revenue"], result["prospects"]) == (4, 1, Decimal("250.00"), 1)
    assert (result["cost"], result["roi"], result["booked"]) == (Decimal("2.0000"), Decimal("12400.0"), 0)


def _car():
    from crm.customers.models import Vehicle

    return Vehicle.objects.create(make="VW", model="Golf")


@db
def test_a_second_run_of_a_campaign_leaves_while_the_first_holds_it(cast):
    import psycopg
    from django.db import connection

    with schema_context(cast.a.schema_name):
        campaign = Campaign.objects.create(name="Once", template=_template(), status="sending",
                                           criteria={"rooftop": Rooftop.objects.get(name="Alpha Hamburg").pk})
        first_run = psycopg.connect(**connection.get_connection_params())  # another worker's connection
        try:
            first_run.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))",
                              [f"campaign:{cast.a.schema_name}:{campaign.pk}"])
            assert campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None) == "running elsewhere"
        finally:
            first_run.close()  # its worker died: the lock goes with its connection (once the server notices)
        deadline, outcome = time.monotonic() + 10, "running elsewhere"
        while outcome == "running elsewhere" and time.monotonic() < deadline:
            outcome = campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None)
            time.sleep(0.05)
        assert outcome == "done"


# --- A run that dies between recording a message and handing it over -------------------------------------

class _WorkerDies(BaseException):
    """What a killed worker amounts to for the code: nothing after the provider call runs (not even
    the ``except Exception`` that records a failed message)."""


class _DyingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise _WorkerDies


BERLIN = ZoneInfo("Europe/Berlin")


def _crashed_campaign(person_count: int = 1):
    """A campaign as a worker killed mid-send leaves it: the message recorded "sending", its recipient still
    pending, the campaign "sending" with a heartbeat that will stop."""
    hamburg = Rooftop.objects.get(name="Alpha Hamburg")
    people = _customers(hamburg, person_count, prefix="Absturz")
    campaign = campaigns.campaign_create(name="Crash", template=_template(), criteria={"rooftop": hamburg}, by=None)
    campaigns.audience_freeze(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(status="sending", heartbeat_at=timezone.now())
    with override_settings(EMAIL_BACKEND=f"{__name__}._DyingBackend"), pytest.raises(_WorkerDies):
        campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None)
    message = Message.objects.get(key=f"campaign:{campaign.pk}:{people[0].pk}")
    assert (message.status, Recipient.objects.get(campaign=campaign, person=people[0]).status) == (
        "sending", "pending")
    return campaign, people[0], message


def _resume(campaign: Campaign) -> str:
    """What the beat job does once the dead run's heartbeat has stopped."""
    assert campaigns.campaigns_due(timezone.now()) == [campaign.pk]
    return campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None)


@db
def test_a_message_resumed_after_a_crash_is_not_sent_once_the_customer_withdrew_consent(cast, mailoutbox):
    with schema_context(cast.a.schema_name), time_machine.travel(datetime(2026, 3, 10, 11, 0, tzinfo=BERLIN),
                                                                 tick=False) as clock:
        _quiet_hours_off()
        campaign, person, message = _crashed_campaign()
        clock.shift(timedelta(minutes=1))
        consent_record(person=person, by=None, channel="email", purpose="marketing", granted=False,
                       source="unsubscribe link")
        clock.shift(timedelta(minutes=5))

        assert _resume(campaign) == "done"

        message.refresh_from_db()
        assert (message.status, message.reason) == ("refused", "no_consent")
        assert Recipient.objects.get(campaign=campaign, person=person).status == "refused"
    assert mailoutbox == []


@db
def test_a_message_resumed_after_a_crash_waits_for_the_end_of_quiet_hours(cast, mailoutbox):
    with schema_context(cast.a.schema_name), time_machine.travel(datetime(2026, 3, 10, 20, 57, tzinfo=BERLIN),
                                                                 tick=False) as clock:
        SendingRules.objects.update_or_create(pk=1, defaults={"quiet_from": "21:00", "quiet_until": "09:00"})
        campaign, _person, message = _crashed_campaign()  # recorded at 20:57, before the quiet hours
        clock.shift(timedelta(minutes=8))  # 21:05: the dead run is noticed in the quiet hours

        assert _resume(campaign) == "deferred"
        message.refresh_from_db()
        assert message.status == "sending" and mailoutbox == []

        clock.move_to(datetime(2026, 3, 11, 9, 1, tzinfo=BERLIN))
        assert campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None) == "done"
        message.refresh_from_db()
        assert message.status == "sent"
        assert timezone.localtime(message.sent_at, BERLIN) == datetime(2026, 3, 11, 9, 1, tzinfo=BERLIN)
    assert [email.to for email in mailoutbox] == [["absturz0@example.de"]]


@db
def test_a_message_resumed_after_a_crash_respects_the_weekly_cap_reached_meanwhile(cast, mailoutbox):
    from crm.marketing.channels import message_send

    with schema_context(cast.a.schema_name), time_machine.travel(datetime(2026, 3, 10, 11, 0, tzinfo=BERLIN),
                                                                 tick=False) as clock:
        SendingRules.objects.update_or_create(pk=1, defaults={"quiet_from": "00:00", "quiet_until": "00:00",
                                                              "weekly_cap": 2})
        campaign, person, message = _crashed_campaign()
        clock.shift(timedelta(minutes=1))
        # While the run is dead, two automations' messages go out: they pass the cap, and count towards it.
        greeting = message_send(person=person, template=_template(), key="automation:greeting", capped=False)
        thanks = message_send(person=person, template=_template(), key="automation:thanks", capped=False)
        assert (greeting.status, thanks.status) == ("sent", "sent")
        clock.shift(timedelta(minutes=5))

        assert _resume(campaign) == "done"

        message.refresh_from_db()
        assert (message.status, message.reason) == ("refused", "frequency_cap")
        assert Recipient.objects.get(campaign=campaign, person=person).status == "refused"
    assert len(mailoutbox) == 2  # the two automation messages, not the campaign's third in the week


@db
def test_a_message_whose_send_kills_the_worker_every_time_is_failed_after_three_attempts_not_sent_again(
        cast, mailoutbox):
    """Whatever kills the worker may come after the provider took the message (an SMTP server that never
    answers, a provider ignoring keys): resent every few minutes, the customer would get it again every time."""
    with schema_context(cast.a.schema_name), time_machine.travel(datetime(2026, 3, 10, 11, 0, tzinfo=BERLIN),
                                                                 tick=False) as clock:
        _quiet_hours_off()
        campaign, person, message = _crashed_campaign()  # handed over once, and the worker died
        for _resumed in range(2):  # finished by the next run twice, dying each time
            clock.shift(timedelta(minutes=5))
            with override_settings(EMAIL_BACKEND=f"{__name__}._DyingBackend"), pytest.raises(_WorkerDies):
                _resume(campaign)
        message.refresh_from_db()
        assert (message.status, message.attempts) == ("sending", 3)
        clock.shift(timedelta(minutes=5))

        assert _resume(campaign) == "done"  # the mail server works again: still not a fourth time

        message.refresh_from_db()
        assert (message.status, message.attempts, message.sent_at) == ("failed", 3, None)
        assert message.error == "Interrupted 3 times; not sent again so the customer is not messaged repeatedly."
        assert Recipient.objects.get(campaign=campaign, person=person).status == "failed"
        assert campaigns.campaign_results(campaign)["failed"] == 1
    assert mailoutbox == []


class _TakenThenWorkerDies(FileBackend):
    """The provider takes the text, then the worker dies before it can record that."""

    def send(self, sms):
        super().send(sms)
        raise _WorkerDies


@db
def test_a_text_resumed_after_the_customers_number_changed_goes_to_the_new_number(cast, tmp_path, settings):
    settings.SMS_FILE_PATH = str(tmp_path)  # keyed like a provider honouring idempotency keys
    with schema_context(cast.a.schema_name), time_machine.travel(datetime(2026, 3, 10, 11, 0, tzinfo=BERLIN),
                                                                 tick=False) as clock:
        _quiet_hours_off()
        hamburg = Rooftop.objects.get(name="Alpha Hamburg")
        person = _customers(hamburg, 1, channel="sms", prefix="Umzug")[0]
        campaign = campaigns.campaign_create(name="Crash", template=_template("sms"), criteria={"rooftop": hamburg},
                                             by=None)
        campaigns.audience_freeze(campaign)
        Campaign.objects.filter(pk=campaign.pk).update(status="sending", heartbeat_at=timezone.now())
        with override_settings(SMS_BACKEND=f"{__name__}._TakenThenWorkerDies"), pytest.raises(_WorkerDies):
            campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None)
        clock.shift(timedelta(minutes=1))
        person.phones.update(number="+4915299999999")  # the customer tells us their new number
        clock.shift(timedelta(minutes=5))

        assert _resume(campaign) == "done"

        message = Message.objects.get(key=f"campaign:{campaign.pk}:{person.pk}")
        assert (message.status, message.address, message.attempts) == ("sent", "+4915299999999", 2)
    texts = sorted((sms["to"], sms["key"]) for sms in map(_read_json, tmp_path.glob("*.json")))
    assert texts == [("+4915200000000", _provider_key(cast.a.schema_name, message.key, "+4915200000000")),
                     ("+4915299999999", _provider_key(cast.a.schema_name, message.key, "+4915299999999"))]


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _provider_key(schema: str, key: str, address: str) -> str:
    """The SMS provider's idempotency key: the group, the occasion and (hashed) the address."""
    return f"{schema}:{key}:{hashlib.sha256(address.encode()).hexdigest()[:16]}"


# --- Batches: one pass decides and records many recipients -------------------------------------------------------

def _campaign_sending(rooftop: Rooftop, template: MessageTemplate, rate_per_minute: int = 600) -> Campaign:
    campaign = campaigns.campaign_create(name="Batch", template=template, criteria={"rooftop": rooftop}, by=None,
                                         rate_per_minute=rate_per_minute)
    campaigns.audience_freeze(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(status="sending", heartbeat_at=timezone.now())
    return campaign


@db
@time_machine.travel(datetime(2027, 3, 2, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")), tick=False)  # the link's time
def test_a_batch_refuses_each_recipient_for_their_own_reason_and_merges_each_ones_own_fields(cast, mailoutbox):
    from crm.customers.models import Email, Vehicle, VehicleLink

    with schema_context(cast.a.schema_name):
        SendingRules.objects.update_or_create(pk=1, defaults={"quiet_from": "00:00", "quiet_until": "00:00",
                                                              "weekly_cap": 1})
        hamburg = Rooftop.objects.get(name="Alpha Hamburg")
        driver, capped, no_mail, withdrawn = _customers(hamburg, 4)
        never = _customers(hamburg, 1, consent=False, prefix="Nie")[0]
        car = Vehicle.objects.create(make="Skoda", model="Octavia")
        VehicleLink.objects.create(person=driver, vehicle=car, kind="owner")
        Email.objects.filter(person=no_mail).delete()
        consent_record(person=withdrawn, by=None, channel="email", purpose="marketing", granted=False, source="form")
        Message.objects.create(key="earlier", person=capped, channel="email", purpose="marketing", status="sent",
                               address="x@example.de", sent_at=timezone.now() - timedelta(days=2))
        template = MessageTemplate.objects.create(name="Car", channel="email")
        TemplateText.objects.create(template=template, language="en", subject="Your {{ car }}",
                                    body="Hello {{ family_name }}, your {{ car }}. Stop: {{ unsubscribe_url }}")
        campaign = _campaign_sending(hamburg, template)

        assert campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None) == "done"

        messages = {m.person_id: m for m in Message.objects.filter(key__startswith=f"campaign:{campaign.pk}:")}
        assert {pk: (m.status, m.reason) for pk, m in messages.items()} == {
            driver.pk: ("sent", ""), capped.pk: ("refused", "frequency_cap"), no_mail.pk: ("refused", "no_address"),
            withdrawn.pk: ("refused", "no_consent"), never.pk: ("refused", "no_consent")}
        assert dict(Recipient.objects.filter(campaign=campaign).values_list("person_id", "status")) == {
            driver.pk: "sent", capped.pk: "refused", no_mail.pk: "refused", withdrawn.pk: "refused",
            never.pk: "refused"}
        assert Recipient.objects.get(campaign=campaign, person=driver).message_id == messages[driver.pk].pk
        token = channels.unsubscribe_token(driver, "email", "marketing")
    [email] = mailoutbox
    assert (email.to, email.subject) == (["kunde0@example.de"], "Your Skoda Octavia")
    assert email.body.startswith("Hello Kunde0, your Skoda Octavia.")
    assert f"/unsubscribe/{token}/" in email.body  # the driver's own link, on the group's host
    assert cast.client(cast.a).get(f"/unsubscribe/{token}/").status_code == 200
    assert cast.client(cast.b).get(f"/unsubscribe/{token}/").status_code == 404  # worthless on another group


@db
def test_a_batch_costs_the_same_statements_for_five_recipients_as_for_forty(cast, mailoutbox):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    statements = []
    with schema_context(cast.a.schema_name):
        _quiet_hours_off()
        for size, city in ((5, "Kiel"), (40, "Luebeck")):
            rooftop = Rooftop.objects.create(name=f"Alpha {city}", city=city, timezone="Europe/Berlin")
            _customers(rooftop, size, prefix=city)
            campaign = _campaign_sending(rooftop, _template(), rate_per_minute=60_000)
            with CaptureQueriesContext(connection) as queries:
                assert campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None) == "done"
            assert Recipient.objects.filter(campaign=campaign, status="sent").count() == size
            # Whenever the run gets ahead of the rate it writes down what it handed over and asks whether the
            # campaign was cancelled (and every 0.2 s it writes the outcomes down): those come with time, not with
            # recipients. Everything else is the batch's.
            statements.append(sum(1 for query in queries.captured_queries
                                  if "'cancelled'" not in query["sql"]
                                  and not query["sql"].startswith("UPDATE marketing_message AS m SET status")))
    assert len(mailoutbox) == 45
    assert statements[0] == statements[1] < 30  # per batch, not per recipient (it was about 13 a recipient)
