"""Tasks a day of beat sends at N dealer groups: every fanned-out job to every group (before), against polling jobs
sent only where they have work (``crm.core.due``, now).

    .venv/bin/python bench/beat_tasks.py [--groups 1000] [--busy 0.05]

Counted from the beat schedule itself (``CELERY_BEAT_SCHEDULE``: each crontab's runs a day) and the jobs that
registered what "due" means. ``--busy`` is the share of groups with work for a polling job at a given run (a
campaign scheduled or sending, a webhook retry overdue): at most that many get the task. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def runs_a_day(schedule: object) -> int:
    """Runs a day of a crontab (every day of the week and month)."""
    return len(schedule.minute) * len(schedule.hour)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--busy", type=float, default=0.05)
    args = parser.parse_args()
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.conf import settings

    from crm.core.due import _due

    before = after = 0
    jobs = {}
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        runs = runs_a_day(entry["schedule"])
        if entry["task"] != "tenants.tasks.fan_out":
            before, after = before + runs, after + runs
            continue
        job = entry["args"][0]
        polled = job in _due
        sent_after = round(runs * args.groups * (args.busy if polled else 1))
        before, after = before + runs * args.groups, after + sent_after
        jobs[name] = {"runs_a_day": runs, "before": runs * args.groups, "after": sent_after, "only_where_due": polled}
    for name, job in sorted(jobs.items(), key=lambda item: -item[1]["before"]):
        print(f"{name:<26} {job['runs_a_day']:>4} runs  {job['before']:>8} → {job['after']:>8}"
              f"{'  (only where due)' if job['only_where_due'] else ''}")
    print(json.dumps({"groups": args.groups, "busy_share": args.busy, "tasks_a_day_before": before,
                      "tasks_a_day_after": after, "ratio": round(before / after, 2), "jobs": jobs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
