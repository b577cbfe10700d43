"""Benchmark: a 100,000-recipient campaign through the file backends, against the backend alone.

    .venv/bin/python bench/campaign.py [--recipients 100000] [--channel sms|email] [--explain] [--profile]
                                       [--tracemalloc]

Own database (``dealercrm_bench``, created fresh and dropped at the end, as bench/provisioning.py).
One tenant gets a rooftop and ``--recipients`` customers on it, generated in SQL: each with a car, a
phone (E.164, unique) and an e-mail address, and a consent ledger granting marketing by SMS and
e-mail, except for the refusals the run must count: 2% have no address on the channel (no phone, or
no e-mail), 2.5% never consented and 2.5% consented and withdrew it a day later. Quiet hours are
off and the weekly cap is at its maximum, so every refusal is one of those two reasons. SMS go to
``crm.marketing.sms.FileBackend`` and e-mails to Django's file-based backend, both in a temporary
folder. Then, in the same run:

- ``freeze_s``: ``audience_freeze(campaign)`` (criteria: the rooftop), against ``freeze_baseline_s``,
  a plain ``INSERT … SELECT`` of the same person ids into an unindexed temporary table; interleaved,
  median of three rounds;
- ``send_s``: ``campaign_send(campaign_id, sleep=…)`` at 60,000 messages a minute with the sleep
  skipped, the body of the Celery task, to the end; ``messages_per_s`` counts every recipient
  handled (sent or refused, each is a ``Message`` row). Its baseline ``backend_only_per_s``: the same
  backend writing the same sent messages (address, merged text, key) into another folder, nothing else;
- the process's memory: ``peak_rss_mb`` is ``ru_maxrss`` after the send, its high-water mark reset at
  the start of the send (``/proc/self/clear_refs``), so it is the send's peak and not the set-up's
  (``setup_peak_rss_mb``); the resident size before the send, and sampled every half second during
  it (``rss_mb_at``: at 10%, 50% and 100% of the send), shows whether it grows with the recipients;
- how many SQL statements the send ran per recipient, and how long the calls took (``db_s``), by kind.

The run **fails** unless every consented recipient with an address got exactly one message (one
file and one attempt per key for SMS; one message per address for e-mail), nothing stayed pending,
and the refusals are exactly the generated ones, by reason. Timings are not checked. The last line
is one JSON object. ``--explain`` prints ``EXPLAIN (ANALYZE, BUFFERS, WAL)`` of the freeze (its deferred
foreign keys checked at once, so their triggers show) and ``EXPLAIN ANALYZE`` of one message's
statements; ``--profile`` runs the send under cProfile and ``--tracemalloc`` traces its allocations
(``traced_peak_mb``); both slow it down, so use them on a smaller run.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

ROUNDS = 3
RATE_PER_MINUTE = 60_000  # the highest the campaign allows: 1 ms a message
EMAIL_SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # what Django's file backend writes after each message

# Customer n (1…N): no phone when n % 50 = 0, no e-mail when n % 50 = 25; no consent entry at all when
# n % 40 = 7, granted then withdrawn when n % 40 = 27 (the latest entry decides). The four sets are
# disjoint, so each refusal has one reason.
GENERATE = [
    """INSERT INTO customers_person (family_name, given_name, middle_name, family_name_latin, given_name_latin,
           name_order, name_key, search_text, gender, address, residential_area, occupation, income_band,
           preferred_language, channel, notes, rooftop_id, created_at, updated_at)
       SELECT 'Kunde' || n, g, '', 'kunde' || n, lower(g), 'given_first', 'kunde' || n || ' ' || lower(g),
              'kunde' || n || ' ' || lower(g), '', '', '', '', '', '', 'import', '', %(rooftop)s, now(), now()
       FROM generate_series(1, %(customers)s) AS n
       CROSS JOIN LATERAL (SELECT (ARRAY['Anna', 'Jonas', 'Mia', 'Lukas', 'Lea', 'Finn', 'Emma', 'Paul'])[
           1 + n %% 8] AS g) AS given""",
    """CREATE TEMP TABLE bench_people AS
       SELECT id AS person_id, row_number() OVER (ORDER BY id) AS n FROM customers_person""",
    "CREATE INDEX ON bench_people (n)",
    """INSERT INTO customers_phone (person_id, number, kind, is_primary, verified_at, created_at)
       SELECT person_id, '+49151' || lpad(n::text, 8, '0'), 'mobile', true, NULL, now()
       FROM bench_people WHERE n %% 50 <> 0""",
    """INSERT INTO customers_email (person_id, address, is_primary, verified_at, created_at)
       SELECT person_id, 'kunde' || n || '@bench.example.com', true, NULL, now()
       FROM bench_people WHERE n %% 50 <> 25""",
    """INSERT INTO customers_consent (person_id, channel, purpose, granted, source, proof, recorded_at, expires_at,
           recorded_by_id)
       SELECT b.person_id, c.channel, 'marketing', true, 'bench', '', now() - interval '1 day'
              - CASE WHEN b.n %% 40 = 27 THEN interval '1 day' ELSE interval '0' END, NULL, NULL
       FROM bench_people b CROSS JOIN (VALUES ('sms'), ('email')) AS c (channel)
       WHERE b.n %% 40 <> 7""",
    """INSERT INTO customers_consent (person_id, channel, purpose, granted, source, proof, recorded_at, expires_at,
           recorded_by_id)
       SELECT b.person_id, c.channel, 'marketing', false, 'bench', '', now() - interval '1 day', NULL, NULL
       FROM bench_people b CROSS JOIN (VALUES ('sms'), ('email')) AS c (channel)
       WHERE b.n %% 40 = 27""",
    """INSERT INTO customers_vehicle (vin, make, model, year, plate, plate_key, colour, created_at, updated_at)
       SELECT '', 'VW', (ARRAY['Golf', 'Passat', 'Tiguan', 'ID.4'])[1 + n %% 4], 2011 + n %% 15, 'B-K ' || n,
              'BK' || n, '', now(), now()
       FROM generate_series(1, %(customers)s) AS n""",
    """INSERT INTO customers_vehiclelink (vehicle_id, person_id, company_id, kind, started_on, ended_on)
       SELECT v.id, p.person_id, NULL, 'owner', current_date - 400, NULL
       FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM customers_vehicle) v
       JOIN bench_people p USING (n)""",
    "ANALYZE",
]

# Who must get what, from the generation rule: the expected outcome per person id.
EXPECTED = """
SELECT person_id, CASE WHEN n %% 50 = %(no_address)s THEN 'no_address'
                       WHEN n %% 40 IN (7, 27) THEN 'no_consent' ELSE 'sent' END
FROM bench_people
"""

BASELINE = """
INSERT INTO bench_audience (campaign_id, person_id, status)
SELECT %s, id, 'pending' FROM customers_person WHERE rooftop_id = %s AND archived_at IS NULL AND merged_into_id IS NULL
"""

SMS_TEXT = ("Hi {{ given_name }}, your {{ car }} is due for its spring check at {{ rooftop }}. "
            "Book now: 030 1234567. {{ dealer }}. Stop: {{ unsubscribe_url }}")
EMAIL_SUBJECT = "Spring check for your {{ car }}"
EMAIL_TEXT = ("Dear {{ name }},\n\nyour {{ car }} is due for its spring check. Book it at {{ rooftop }} this "
              "month and the wheel change is on us.\n\n{{ dealer }}\n\n"
              "No more e-mails like this: {{ unsubscribe_url }}")


class Statements:
    """A connection execute wrapper: how many statements, how long inside them, and optionally their SQL."""

    def __init__(self, keep: bool = False) -> None:
        self.count, self.seconds, self.keep, self.sql = 0, 0.0, keep, []
        self.by_kind: dict[str, list] = {}  # SELECT / INSERT / UPDATE / …: [statements, seconds]

    def __call__(self, execute: Callable, sql: str, params: object, many: bool, context: dict) -> object:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seconds = time.perf_counter() - started
            self.seconds += seconds
            self.count += 1
            kind = self.by_kind.setdefault(sql.lstrip().split(None, 1)[0].upper(), [0, 0.0])
            kind[0] += 1
            kind[1] += seconds
            if self.keep:
                self.sql.append((sql, params))


    def copies(self) -> object:
        """Count ``COPY`` streams too (the batch inserts go by ``COPY``, which no execute wrapper sees): psycopg's
        ``Cursor.copy`` wrapped for the duration of the ``with``."""
        import contextlib

        import psycopg

        original, outer = psycopg.Cursor.copy, self

        @contextlib.contextmanager
        def counted(cursor: object, statement: object, *args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            with original(cursor, statement, *args, **kwargs) as copy:
                yield copy
            seconds = time.perf_counter() - started
            outer.count += 1
            outer.seconds += seconds
            kind = outer.by_kind.setdefault("COPY", [0, 0.0])
            kind[0] += 1
            kind[1] += seconds

        @contextlib.contextmanager
        def patched() -> object:
            psycopg.Cursor.copy = counted
            try:
                yield
            finally:
                psycopg.Cursor.copy = original

        return patched()


class RssSampler(threading.Thread):
    """The resident set size every ``interval`` seconds (from /proc/self/statm), with the time it was taken."""

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.interval, self.samples, self.stopped = interval, [], threading.Event()
        self.page = os.sysconf("SC_PAGE_SIZE")

    def rss_mb(self) -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self.page / 2**20

    def run(self) -> None:
        started = time.perf_counter()
        while not self.stopped.wait(self.interval):
            self.samples.append((time.perf_counter() - started, self.rss_mb()))

    def at(self, fraction: float) -> float:
        """The sample closest to this fraction of the run."""
        end = self.samples[-1][0]
        return min(self.samples, key=lambda sample: abs(sample[0] - fraction * end))[1]


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def maxrss_reset() -> bool:
    """Start the process's peak RSS (``ru_maxrss``, VmHWM) afresh from its current RSS (Linux 4.0+), so that
    the peak after the send is the send's own, not the set-up's; False if the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def setup(channel: str) -> tuple[object, object]:
    from crm.dealerships.models import Rooftop
    from crm.marketing.models import MessageTemplate, SendingRules, TemplateText

    rooftop = Rooftop.objects.create(name="Bench Mitte", city="Berlin", timezone="Europe/Berlin")
    rules = SendingRules.current()
    rules.quiet_from = rules.quiet_until = dt.time(0, 0)  # an empty window: quiet hours off
    rules.weekly_cap = 50
    rules.full_clean()
    rules.save()
    template = MessageTemplate.objects.create(name="Spring check", channel=channel, purpose="marketing")
    text = TemplateText(template=template, language="en", subject=EMAIL_SUBJECT if channel == "email" else "",
                        body=SMS_TEXT if channel == "sms" else EMAIL_TEXT)
    text.full_clean()
    text.save()
    return rooftop, template


def generate(customers: int, rooftop_id: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in GENERATE:
            cursor.execute(statement, {"customers": customers, "rooftop": rooftop_id})


def freeze_rounds(campaigns: list, rooftop_id: int) -> tuple[list[float], list[float], int, tuple[str, list]]:
    """Interleaved: the plain INSERT … SELECT into a temporary table, then ``audience_freeze`` of a campaign."""
    from django.db import connection

    from crm.marketing.campaigns import audience_freeze

    freeze_s, baseline_s, frozen = [], [], 0
    freeze_sql: tuple[str, list] = ("", [])
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_audience (campaign_id bigint, person_id bigint, status varchar(8))")
        cursor.execute("SELECT count(*) FROM customers_person WHERE rooftop_id = %s", [rooftop_id])  # warm the cache
        for campaign in campaigns:
            cursor.execute("TRUNCATE bench_audience")
            started = time.perf_counter()
            cursor.execute(BASELINE, [campaign.pk, rooftop_id])
            baseline_s.append(time.perf_counter() - started)
            copied = cursor.rowcount
            statements = Statements(keep=True)
            with connection.execute_wrapper(statements):
                started = time.perf_counter()
                frozen = audience_freeze(campaign)
                freeze_s.append(time.perf_counter() - started)
            freeze_sql = statements.sql[-1]
            if frozen != copied:
                raise SystemExit(f"FAILED: audience_freeze froze {frozen} recipients, the plain INSERT copied {copied}")
            print(f"freeze {freeze_s[-1]:6.2f} s   plain INSERT … SELECT {baseline_s[-1]:6.2f} s   ({frozen} rows)",
                  flush=True)
    return freeze_s, baseline_s, frozen, freeze_sql


def send(campaign_id: int, profile: bool, trace: bool) -> dict[str, object]:
    """``campaign_send`` to the end, as the Celery task runs it, with the sleep skipped."""
    from django.db import connection

    from crm.marketing.campaigns import campaign_send

    statements, sampler = Statements(), RssSampler()
    profiler = cProfile.Profile() if profile else None
    rss_before, maxrss_before = sampler.rss_mb(), maxrss_mb()
    peak_reset = maxrss_reset()
    if trace:
        tracemalloc.start()
    sampler.start()
    with connection.execute_wrapper(statements), statements.copies():
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        outcome = campaign_send(campaign_id, sleep=lambda seconds: None)
        if profiler:
            profiler.disable()
        send_s = time.perf_counter() - started
    sampler.stopped.set()
    sampler.join()
    traced_peak = None
    if trace:
        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        for order in ("tottime", "cumulative"):
            stats.sort_stats(order).print_stats(25)
        # Where one message's time goes, step by step.
        stats.sort_stats("cumulative").print_callees(r"campaigns.py:\d+\((campaign_send|_send)\)|channels.py:\d+\(")
        print(out.getvalue(), flush=True)
    return {"outcome": outcome, "send_s": send_s, "statements": statements.count, "db_s": statements.seconds,
            "db_by_kind": {kind: [n, round(seconds, 2)] for kind, (n, seconds) in statements.by_kind.items()},
            "rss_before_mb": rss_before, "maxrss_before_mb": maxrss_before, "maxrss_after_mb": maxrss_mb(),
            "peak_reset": peak_reset,
            "rss_mb_at": {f"{int(f * 100)}%": round(sampler.at(f), 1) for f in (0.1, 0.5, 1.0)},
            "traced_peak_mb": traced_peak}


def backend_only(channel: str, messages: list[tuple[str, str, str, str]], folder: Path) -> float:
    """The same messages written by the same backend into another folder, and nothing else."""
    from django.conf import settings
    from django.core.mail import EmailMessage

    from crm.marketing import sms

    if channel == "sms":
        settings.SMS_FILE_PATH = str(folder)
        started = time.perf_counter()
        for address, _subject, body, key in messages:
            sms.backend().send(sms.Sms(to=address, body=body, key=key))
    else:
        settings.EMAIL_FILE_PATH = str(folder)
        started = time.perf_counter()
        for address, subject, body, _key in messages:
            EmailMessage(subject, body, to=[address], headers={"List-Unsubscribe": "<https://x.example/u/>"}).send()
    return time.perf_counter() - started


def delivered(channel: str, folder: Path) -> tuple[Counter, int, int]:
    """What the backend wrote: messages per key (SMS) or per address (e-mail), files, attempts logged."""
    from email import message_from_bytes

    per_target: Counter = Counter()
    files = attempts = 0
    for path in folder.iterdir():
        if path.name == "attempts.log":
            attempts = sum(1 for _line in path.open(encoding="utf-8"))
            continue
        files += 1
        if channel == "sms":
            per_target[json.loads(path.read_text(encoding="utf-8"))["key"]] += 1
        else:
            for raw in path.read_bytes().split(EMAIL_SEPARATOR):
                if raw.strip():
                    per_target[message_from_bytes(raw)["To"]] += 1
    return per_target, files, attempts


def check(channel: str, campaign: object, folder: Path, outcome: str) -> tuple[int, dict[str, int]]:
    """Fail loudly unless each consented recipient with an address got exactly one message and the
    refusals are the generated ones."""
    from django.db import connection
    from django.db.models import Count

    from crm.marketing.campaigns import campaign_results
    from crm.marketing.channels import provider_key
    from crm.marketing.models import Message, Recipient

    no_address = 0 if channel == "sms" else 25
    with connection.cursor() as cursor:
        cursor.execute(EXPECTED, {"no_address": no_address})
        expected = dict(cursor.fetchall())
    want = Counter(expected.values())
    errors = []
    if outcome != "done":
        errors.append(f"campaign_send returned {outcome!r}, not 'done'")
    statuses = dict(Recipient.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("pk")))
    if statuses.get("pending") or statuses.get("failed"):
        errors.append(f"recipients left pending or failed: {statuses}")
    results = campaign_results(campaign)
    refused = {key.removeprefix("reason_"): n for key, n in results.items() if key.startswith("reason_")}
    if refused != {reason: want[reason] for reason in ("no_address", "no_consent") if want[reason]}:
        errors.append(f"refusals {refused}, generated {dict(want)}")
    sent = list(Message.objects.filter(key__startswith=f"campaign:{campaign.pk}:", status="sent")
                .values_list("person_id", "address", "key"))
    if sorted(person for person, _address, _key in sent) != sorted(p for p, reason in expected.items()
                                                                   if reason == "sent"):
        errors.append(f"{len(sent)} messages sent, to other people than the {want['sent']} expected")
    per_target, files, attempts = delivered(channel, folder)
    # An SMS carries the provider's idempotency key (the group's schema, the message key, the address's hash).
    targets = ({provider_key(Message(key=key, address=address)) for _person, address, key in sent} if channel == "sms"
               else {address for _person, address, _key in sent})
    if set(per_target) != targets or any(n != 1 for n in per_target.values()):
        doubles = sum(1 for n in per_target.values() if n > 1)
        errors.append(f"the backend wrote {sum(per_target.values())} messages for {len(per_target)} "
                      f"{'keys' if channel == 'sms' else 'addresses'} ({doubles} more than once), "
                      f"expected one each for {len(targets)}")
    if channel == "sms" and (files != len(targets) or attempts != len(targets)):
        errors.append(f"{files} files and {attempts} attempts logged for {len(targets)} messages")
    if errors:
        raise SystemExit("FAILED:\n  " + "\n  ".join(errors))
    print(f"checked: {len(sent)} sent, one each ({files} files); refused {refused}", flush=True)
    return len(sent), refused


def explain(freeze_sql: tuple[str, list], template: object, rooftop: object, folder: Path) -> None:
    """EXPLAIN ANALYZE the freeze into a new campaign, and the statements of one more message; rolled back."""
    from django.conf import settings
    from django.db import connection, transaction

    from crm.customers.models import Person
    from crm.marketing.campaigns import campaign_create
    from crm.marketing.channels import message_send

    sql, params = freeze_sql
    with transaction.atomic():
        campaign = campaign_create(name="Explain", template=template, criteria={"rooftop": rooftop.pk}, by=None)
        with connection.cursor() as cursor:
            # The foreign keys are deferred to the commit, which this rolled-back transaction never reaches:
            # checked at once instead, their triggers' time is in the plan.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, WAL) " + sql, [campaign.pk, *params[1:]])
            print("--- audience_freeze\n" + "\n".join(row[0] for row in cursor.fetchall()) + "\n", flush=True)
        person = Person.objects.select_related("rooftop").order_by("pk").first()
        statements = Statements(keep=True)
        settings.SMS_FILE_PATH = settings.EMAIL_FILE_PATH = str(folder)
        with connection.execute_wrapper(statements):
            message_send(person=person, template=template, key="bench:explain")
        print(f"--- message_send: {statements.count} statements for one message", flush=True)
        with connection.cursor() as cursor:
            for n, (statement, args) in enumerate(statements.sql, 1):
                if not statement.lstrip().upper().startswith("SELECT"):  # writes: their plan is trivial
                    print(f"{n}. {statement}\n", flush=True)
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, args)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                print(f"{n}. {statement}\n{plan}\n", flush=True)
        transaction.set_rollback(True)


def run(customers: int, channel: str, options: argparse.Namespace, folder: Path) -> dict[str, object]:
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from crm.marketing.campaigns import campaign_create
    from crm.marketing.models import Campaign, Message, Recipient
    from tenants.services import dealer_group_create

    settings.SMS_BACKEND = "crm.marketing.sms.FileBackend"
    settings.SMS_FILE_PATH = str(folder / "sms")
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(folder / "email")
    sink = folder / channel

    call_command("migrate_all", verbosity=0)
    group = dealer_group_create(name="Bench Autohaus", slug="bench-campaign", country="DE",
                                admin_email="admin@bench.example.com", admin_password=None).dealer_group
    # As the Celery task runs: in the tenant (its name is a merge field), not only in its schema.
    with tenant_context(group):
        rooftop, template = setup(channel)
        started = time.perf_counter()
        generate(customers, rooftop.pk)
        generate_s = time.perf_counter() - started
        print(f"generated {customers} customers with phones, e-mails, consents and cars in {generate_s:.1f} s",
              flush=True)

        campaigns = [campaign_create(name=f"Spring check {i}", template=template, criteria={"rooftop": rooftop.pk},
                                     by=None, rate_per_minute=RATE_PER_MINUTE) for i in range(ROUNDS)]
        freeze_s, baseline_s, frozen, freeze_sql = freeze_rounds(campaigns, rooftop.pk)
        # Send the last campaign; the others were only frozen. Their recipients go, and the table's statistics
        # are what a worker would see (autovacuum analyses a table this size soon after the freeze).
        campaign, others = campaigns[-1], campaigns[:-1]
        with connection.cursor() as cursor:  # in SQL: the ORM's cascade would load their recipients
            ids = [c.pk for c in others]
            cursor.execute(f"DELETE FROM {Recipient._meta.db_table} WHERE campaign_id = ANY(%s)", [ids])
            cursor.execute(f"DELETE FROM {Campaign._meta.db_table} WHERE id = ANY(%s)", [ids])
            cursor.execute(f"VACUUM ANALYZE {Recipient._meta.db_table}")
        now = timezone.now()
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING, frozen_at=now, heartbeat_at=now)

        measured = send(campaign.pk, options.profile, options.tracemalloc)
        print(f"sent {frozen} recipients in {measured['send_s']:.1f} s: {frozen / measured['send_s']:.0f} a second, "
              f"{measured['statements']} statements ({measured['statements'] / frozen:.1f} a recipient, "
              f"{measured['db_s']:.1f} s inside them); RSS {measured['rss_before_mb']:.0f} MB before the send, "
              f"peak {measured['maxrss_after_mb']:.0f} MB during it, {measured['rss_mb_at']} of the way through",
              flush=True)
        print(f"statements [count, seconds] by kind: {measured['db_by_kind']}", flush=True)
        sent, refused = check(channel, campaign, sink, measured["outcome"])

        messages = list(Message.objects.filter(key__startswith=f"campaign:{campaign.pk}:", status="sent")
                        .order_by("pk").values_list("address", "subject", "body", "key"))
        backend_s = backend_only(channel, messages, folder / "backend-only")
        per_target, _files, _attempts = delivered(channel, folder / "backend-only")
        if sum(per_target.values()) != sent:
            raise SystemExit(f"FAILED: the backend alone wrote {sum(per_target.values())} messages, not {sent}")
        print(f"backend alone: {sent} messages in {backend_s:.1f} s: {sent / backend_s:.0f} a second", flush=True)

        if options.explain:
            explain(freeze_sql, template, rooftop, folder / "explain")
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
            cursor.execute("SHOW synchronous_commit")
            synchronous_commit = cursor.fetchone()[0]

    freeze, baseline = statistics.median(freeze_s), statistics.median(baseline_s)
    send_s = measured["send_s"]
    return {
        "recipients": frozen, "channel": channel,
        "freeze_s": round(freeze, 3), "freeze_baseline_s": round(baseline, 3),
        "freeze_ratio": round(freeze / baseline, 2),
        "send_s": round(send_s, 1), "messages_per_s": round(frozen / send_s, 1),
        "sent_per_s": round(sent / send_s, 1), "backend_only_s": round(backend_s, 2),
        "backend_only_per_s": round(sent / backend_s, 1), "send_ratio": round(send_s / backend_s, 1),
        "peak_rss_mb": round(measured["maxrss_after_mb"], 1), "rss_before_send_mb": round(measured["rss_before_mb"], 1),
        "rss_mb_at": measured["rss_mb_at"], "peak_rss_is_the_send_s": measured["peak_reset"],
        "setup_peak_rss_mb": round(measured["maxrss_before_mb"], 1),
        "sent": sent, "refused": refused,
        "statements_per_recipient": round(measured["statements"] / frozen, 2), "db_s": round(measured["db_s"], 1),
        "db_by_kind": measured["db_by_kind"], "traced_peak_mb": measured["traced_peak_mb"] and round(
            measured["traced_peak_mb"], 1),
        "freeze_s_rounds": [round(s, 3) for s in freeze_s],
        "freeze_baseline_s_rounds": [round(s, 3) for s in baseline_s],
        "generate_s": round(generate_s, 1), "profiled": options.profile, "debug": settings.DEBUG,
        "cpu_count": os.cpu_count(), "postgres": version,
        "synchronous_commit": synchronous_commit,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000, help="customers on the rooftop (default 100000)")
    parser.add_argument("--channel", choices=("sms", "email"), default="sms")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the freeze and one message's statements")
    parser.add_argument("--profile", action="store_true", help="run the send under cProfile (slower)")
    parser.add_argument("--tracemalloc", action="store_true", help="trace the send's allocations (slower)")
    args = parser.parse_args()
    if args.recipients < 100:
        parser.error("--recipients must be at least 100")
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # A worker runs without DEBUG; with it, Django keeps the last 9,000 statements' SQL in memory.
    os.environ.setdefault("DJANGO_DEBUG", "false")
    # Tasks the run queues stay in memory: never in the demo's queue.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    folder = Path(tempfile.mkdtemp(prefix="bench-campaign-"))
    os.environ["SMS_BACKEND"] = "crm.marketing.sms.FileBackend"
    os.environ["SMS_FILE_PATH"] = str(folder / "sms")
    os.environ["EMAIL_URL"] = f"filemail://{folder / 'email'}"
    from provisioning import in_bench_database

    try:
        return in_bench_database(lambda: run(args.recipients, args.channel, args, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
