"""Three queues, so that what a person waits for never waits behind an import or a campaign: every task has a
queue and a time limit, and the production workers together serve every queue."""

import re

import yaml
from celery import current_app
from django.conf import settings

from tests.conftest import BASE_DIR


def _queue(task_name: str) -> str:
    route = current_app.amqp.router.route({}, task_name)
    return route["queue"].name


def test_long_work_and_billing_have_queues_of_their_own_and_every_task_a_time_limit():
    current_app.loader.import_default_modules()
    ours = [name for name in current_app.tasks if not name.startswith("celery.")]
    assert _queue("crm.customers.tasks.import_run") == settings.BULK_QUEUE
    assert _queue("crm.marketing.tasks.campaign_run") == settings.BULK_QUEUE
    assert _queue("tenants.billing.tasks.stripe_event_process") == settings.BILLING_QUEUE
    assert _queue("portal.tasks.claim_code_sms") == settings.CELERY_TASK_DEFAULT_QUEUE  # a code someone awaits
    assert _queue("tenants.billing.tasks.signup_provision") == settings.CELERY_TASK_DEFAULT_QUEUE  # a first page
    for name in ours:
        assert _queue(name) in settings.WORKER_QUEUES, name
        task = current_app.tasks[name]
        limits = (task.soft_time_limit or current_app.conf.task_soft_time_limit,
                  task.time_limit or current_app.conf.task_time_limit)
        assert all(limits) and limits[0] < limits[1], name
    # A routed name that no task has is a typo that would send nothing anywhere.
    assert set(settings.CELERY_TASK_ROUTES) <= set(ours)


def test_the_production_workers_serve_every_queue_and_one_worker_runs_them_all_elsewhere():
    compose = yaml.safe_load((BASE_DIR / "platform" / "compose.yaml").read_text())
    served = set()
    for service in compose["services"].values():
        command = service.get("command") or []
        if "worker" in command:
            served |= set(command[command.index("-Q") + 1].split(","))
    assert served == {"celery", "bulk", "billing"}  # production's names (the suite's own are prefixed)
    for launcher in ("config/devstack.py", "config/smoke.py"):
        assert re.search(r'"-Q", "celery,bulk,billing"', (BASE_DIR / launcher).read_text()), launcher
