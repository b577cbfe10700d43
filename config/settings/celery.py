"""Celery: Redis or RabbitMQ when configured, else kombu's filesystem transport (no server)."""

import contextlib
from pathlib import Path

from celery.schedules import crontab

from .env import BASE_DIR, env

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost//")  # a host: kombu warns without
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="")
CELERY_DATA_DIR = Path(env("CELERY_DATA_DIR", default=str(BASE_DIR / ".data" / "celery")))

if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = CELERY_DATA_DIR / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(CELERY_DATA_DIR / "processed"),
        "control_folder": str(CELERY_DATA_DIR / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = CELERY_RESULT_BACKEND or f"file://{CELERY_DATA_DIR / 'results'}"
    # The transport needs its folders before the first message; only the serverless set-up has them.
    # (Production refuses this transport with a clear message; a read-only image must not fail first.)
    with contextlib.suppress(OSError):
        for _folder in (_queue, CELERY_DATA_DIR / "processed", CELERY_DATA_DIR / "control",
                        CELERY_DATA_DIR / "results"):
            _folder.mkdir(parents=True, exist_ok=True)
elif not CELERY_RESULT_BACKEND:
    CELERY_RESULT_BACKEND = env("REDIS_URL", default="") or "rpc://"
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis redelivers a task not acknowledged within this time: longer than any fan-out spread
    # (tenants.tasks.FAN_OUT_WINDOW_SECONDS) and any task's run.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(CELERY_DATA_DIR / "beat-schedule")

# Three queues, so that a long import or a campaign never keeps a customer's code or a Stripe event waiting:
# "celery" (the default: what a person waits for — codes, confirmations, webhooks, sign-up), "bulk" (imports,
# campaigns, per-tenant periodic jobs) and "billing" (Stripe). Every worker names the queues it serves
# (``-Q``); WORKER_QUEUES is all of them, for a single worker (make run, the tests, the smoke run).
BULK_TASKS = (
    "crm.customers.tasks.import_run", "crm.marketing.tasks.campaign_run", "crm.analytics.tasks.segments_recompute",
    "crm.customers.tasks.duplicates_refresh", "crm.customers.tasks.customers_archive_stale",
    "tenants.kpi_snapshots.kpi_snapshot_take", "crm.loyalty.tasks.points_accrue", "crm.marketing.tasks.automations_run",
    "crm.service.tasks.reminders_run", "crm.sales.tasks.care_surveys_run", "crm.integrations.tasks.integrations_purge",
    "crm.service.tasks.slots_extend", "accounts.tasks.clear_expired_sessions", "tenants.tasks.warm_pool_refill",
    "tenants.billing.tasks.data_export_build",
)
BILLING_TASKS = (
    "tenants.billing.tasks.stripe_event_process", "tenants.billing.tasks.billing_sync",
    "tenants.billing.tasks.billing_email_send", "tenants.billing.tasks.signups_cleanup",
    "tenants.billing.tasks.suspended_groups_purge",
)
CELERY_TASK_DEFAULT_QUEUE, BULK_QUEUE, BILLING_QUEUE = "celery", "bulk", "billing"


def task_routes(bulk: str, billing: str) -> dict[str, dict[str, str]]:
    return {**{name: {"queue": bulk} for name in BULK_TASKS}, **{name: {"queue": billing} for name in BILLING_TASKS}}


CELERY_TASK_ROUTES = task_routes(BULK_QUEUE, BILLING_QUEUE)
WORKER_QUEUES = (CELERY_TASK_DEFAULT_QUEUE, BULK_QUEUE, BILLING_QUEUE)
# Time limits: a task past its soft limit gets SoftTimeLimitExceeded (imports and campaigns resume from their
# last committed chunk), past the hard one its process is replaced. Bulk work stays inside Redis's visibility
# timeout (6 h) so a task is never delivered twice while it still runs.
CELERY_TASK_SOFT_TIME_LIMIT, CELERY_TASK_TIME_LIMIT = 5 * 60, 6 * 60
CELERY_TASK_ANNOTATIONS = {
    **{name: {"soft_time_limit": 3 * 3600, "time_limit": 3 * 3600 + 600} for name in BULK_TASKS},
    **{name: {"soft_time_limit": 10 * 60, "time_limit": 11 * 60} for name in BILLING_TASKS},
    # A campaign task sends one chunk (about a minute of its rate) and queues the next.
    "crm.marketing.tasks.campaign_run": {"soft_time_limit": 10 * 60, "time_limit": 11 * 60},
}

# Which groups a fanned-out job has work in (a polling job registers what "due" means: crm.core.due).
FAN_OUT_DUE_WORK = "crm.core.due.schemas_with_work"

# One entry per job; tenant jobs fan out one task per tenant, staggered (tenants.tasks.fan_out).
# Beat sends from the public schema, so an entry naming a task directly runs there.
CELERY_BEAT_SCHEDULE = {
    "webhooks-resend-due": {
        "task": "tenants.tasks.fan_out",
        "args": ["crm.integrations.tasks.webhooks_resend_due"],
        "schedule": crontab(minute="*/30"),
    },
    "integrations-purge": {
        "task": "tenants.tasks.fan_out",
        "args": ["crm.integrations.tasks.integrations_purge"],
        "schedule": crontab(minute=50, hour=3),
    },
    "clear-expired-sessions": {
        "task": "tenants.tasks.fan_out",
        "args": ["accounts.tasks.clear_expired_sessions"],
        "schedule": crontab(minute=17, hour=3),
    },
    "duplicates-refresh": {
        "task": "tenants.tasks.fan_out",
        "args": ["crm.customers.tasks.duplicates_refresh"],
        "schedule": crontab(minute=40, hour=2),
    },
    "customers-archive-stale": {
        "task": "tenants.tasks.fan_out",
        "args": ["crm.customers.tasks.customers_archive_stale"],
        "schedule": crontab(minute=10, hour=2),
    },
    "segments-recompute": {
        "task": "tenants.tasks.fan_out",
        "args": ["crm.analytics.tasks.segments_recompute"],
        "schedule": crontab(minute=30, hour=3),
    },
    "service-reminders": {
        "task": "tenants.tasks.fan_out",
        "args": ["crm.service.tasks.reminders_run"],
        "schedule": crontab(minute=20),
    },
    "slots-extend": {
        "task": "tenants.tasks.fan_out",
        "args": ["crm.service.tasks.slots_extend"],
        "schedule": crontab(minute=25, hour=1),
    },
    "appointment-reminders": {
        "task": "tenants.tasks.fan_out",
        "args": ["crm.service.tasks.appointment_reminders_send"],
        "schedule": crontab(minute=5),
    },
    "campaigns-resume": {
        "task": "tenants.tasks.fan_out",
        "args": ["crm.marketing.tasks.campaigns_resume"],
        "schedule": crontab(minute="*/3"),
    },
    "automations": {
        "task": "tenants.tasks.fan_out",
        "args": ["crm.marketing.tasks.automations_run"],
        "schedule": crontab(minute=50),
    },
    # After midnight in most time zones a group's "yesterday" is over; a late run only rewrites the same rows.
    "kpi-snapshots": {
        "task": "tenants.tasks.fan_out",
        "args": ["tenants.kpi_snapshots.kpi_snapshot_take"],
        "schedule": crontab(minute=15, hour=4),
    },
    "club-points": {
        "task": "tenants.tasks.fan_out",
        "args": ["crm.loyalty.tasks.points_accrue"],
        "schedule": crontab(minute=35),
    },
    "delivery-surveys": {
        "task": "tenants.tasks.fan_out",
        "args": ["crm.sales.tasks.care_surveys_run"],
        "schedule": crontab(minute=40),
    },
    "clear-expired-sessions-public": {
        "task": "accounts.tasks.clear_expired_sessions",
        "schedule": crontab(minute=7, hour=3),
    },
    # Stripe is the truth: every subscribed group re-read nightly, in case a webhook was missed.
    "billing-sync": {
        "task": "tenants.billing.tasks.billing_sync",
        "schedule": crontab(minute=25, hour=1),
    },
    "suspended-groups-purge": {
        "task": "tenants.billing.tasks.suspended_groups_purge",
        "schedule": crontab(minute=55, hour=4),
    },
    "signups-cleanup": {
        "task": "tenants.billing.tasks.signups_cleanup",
        "schedule": crontab(minute=45),
    },
    # Schemas cloned ahead for sign-ups (tenants.pool); also run after every sign-up that took one.
    "warm-pool-refill": {
        "task": "tenants.tasks.warm_pool_refill",
        "schedule": crontab(),
    },
}

# Days ahead that every rooftop's reception slots are kept generated (crm.service.booking.slots_extend, nightly).
SLOT_HORIZON_DAYS = env.int("SLOT_HORIZON_DAYS", default=90)
