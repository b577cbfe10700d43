"""Automations: "when X happens to a customer, after N days, send a template or give a colleague a task".

Hourly, by fan-out per dealer group:
1. each active rule collects its occasions due by today in one INSERT … SELECT (a car delivered, a visit
   closed, a birthday, declined work at its follow-up date, no visit for N months). An occasion is
   recorded once per rule and customer (a unique row), so reruns, overlapping runs and a rule edited
   later never act twice; occasions due before the rule was switched on do not count, and a run that
   missed a few days catches up within ``CATCH_UP``;
2. each waiting occasion is acted on: a message through ``channels.message_send`` (consent ledger, quiet
   hours, weekly cap, keyed by the occasion so it is sent once) or a task for the customer's own
   salesperson or service advisor, or for everyone in the role. An occasion that no longer applies when
   its day comes (the declined work was booked, the customer came back, the record was merged) is skipped.

This replaces the birthday, care-call and declined-work flows the service reminders had built in; the
service reminders keep what is computed from a car's dates (maintenance, tyres, inspection, insurance).
"""

from collections import Counter
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import StaffRole, User
from crm.customers.models import ConsentPurpose, Person, TimelineEntry, Vehicle, VehicleLink
from crm.service.models import DeclinedRecommendation, ServiceVisit

from .channels import Deferred, message_send, quiet_until
from .models import Automation, AutomationRun, Message, SendingRules

# A run that did not happen (workers down) is made up for this far back, no further.
CATCH_UP = timedelta(days=7)
# Roles a task may go to; the first two mean the customer's own colleague, when they have one.
TASK_ROLES = (StaffRole.SALESPERSON, StaffRole.SERVICE_ADVISOR, StaffRole.SALES_MANAGER,
              StaffRole.SERVICE_MANAGER, StaffRole.MARKETING)
OWN_COLLEAGUE = {StaffRole.SALESPERSON: "salesperson_id", StaffRole.SERVICE_ADVISOR: "service_advisor_id"}
# A customer's salesperson or advisor may be a manager who works customers too.
COLLEAGUE_ROLES = {StaffRole.SALESPERSON: (StaffRole.SALESPERSON, StaffRole.SALES_MANAGER),
                   StaffRole.SERVICE_ADVISOR: (StaffRole.SERVICE_ADVISOR, StaffRole.SERVICE_MANAGER)}
# Who sees every open task, not only their own and their role's.
TASK_MANAGERS = (StaffRole.SALES_MANAGER, StaffRole.SERVICE_MANAGER, StaffRole.DEALER_ADMIN)
MESSAGE_STATUS = {Message.Status.SENT: AutomationRun.Status.SENT, Message.Status.REFUSED: AutomationRun.Status.REFUSED,
                  Message.Status.FAILED: AutomationRun.Status.FAILED}


def _tables() -> dict[str, str]:
    return {"person": Person._meta.db_table, "vehicle": Vehicle._meta.db_table,
            "link": VehicleLink._meta.db_table, "visit": ServiceVisit._meta.db_table,
            "declined": DeclinedRecommendation._meta.db_table}


# Each trigger: its occasions as (person_id, occasion, due) with the due day within [since, today].
# %(first)s and %(last)s are the trigger days that fall due in that window (since and today less the delay).
OCCASIONS = {
    Automation.Trigger.DELIVERY: """
        SELECT link.person_id, 'delivery:' || car.id || ':' || to_char(car.purchase_date, 'YYYY-MM-DD') AS occasion,
               car.purchase_date + %(delay)s AS due
        FROM {vehicle} car JOIN {link} link ON link.vehicle_id = car.id AND link.ended_on IS NULL
             AND link.kind = 'owner' AND link.person_id IS NOT NULL
        WHERE car.purchase_date BETWEEN %(first)s AND %(last)s""",
    Automation.Trigger.VISIT_CLOSED: """
        SELECT visit.person_id, 'visit:' || visit.id AS occasion, visit.closed_on + %(delay)s AS due
        FROM {visit} visit
        WHERE visit.status = 'closed' AND visit.person_id IS NOT NULL
              AND visit.closed_on BETWEEN %(first)s AND %(last)s""",
    Automation.Trigger.DECLINED_WORK: """
        SELECT item.person_id, 'declined:' || item.id AS occasion, item.follow_up_on + %(delay)s AS due
        FROM {declined} item
        WHERE item.status = 'open' AND item.person_id IS NOT NULL
              AND item.follow_up_on BETWEEN %(first)s AND %(last)s""",
    # The birthday in each year the window touches; 29 February is kept on 28 February in other years.
    Automation.Trigger.BIRTHDAY: """
        SELECT id AS person_id, 'birthday:' || year AS occasion, due FROM (
            SELECT person.id, year.year,
                   (person.birth_date + make_interval(years => year.year - extract(year FROM person.birth_date)::int)
                   )::date + %(delay)s AS due
            FROM {person} person CROSS JOIN unnest(%(years)s::int[]) AS year (year)
            WHERE person.birth_date IS NOT NULL) AS birthdays
        WHERE due BETWEEN %(since)s AND %(today)s""",
    # Named by the last visit, so a customer who lapses again after coming back is a new occasion.
    Automation.Trigger.NO_VISIT: """
        SELECT person_id, 'no_visit:' || to_char(last, 'YYYY-MM-DD') AS occasion,
               (last + make_interval(months => %(months)s))::date + %(delay)s AS due
        FROM (SELECT person_id, max(opened_on) AS last FROM {visit} WHERE person_id IS NOT NULL
              GROUP BY person_id) AS visits
        WHERE (last + make_interval(months => %(months)s))::date + %(delay)s BETWEEN %(since)s AND %(today)s""",
}


def occasions_collect(automation: Automation, today: date) -> int:
    """Record the rule's occasions due between when it was switched on (at most ``CATCH_UP`` ago) and
    today, for active customers, in one statement. Returns how many are new."""
    since = max(automation.active_since, today - CATCH_UP)
    if since > today:
        return 0
    delay = timedelta(days=automation.delay_days)
    params = {"delay": automation.delay_days, "since": since, "today": today, "first": since - delay,
              "last": today - delay, "months": automation.months or 0,
              "years": sorted({(since - delay).year, (today - delay).year})}
    occasions = OCCASIONS[automation.trigger].format(**_tables())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {AutomationRun._meta.db_table} (automation_id, person_id, occasion, due_on, status, "  # noqa: S608
            f"outcome, role, created_at) SELECT %(automation)s, occasions.person_id, occasions.occasion, "
            f"occasions.due, %(pending)s, '', '', now() FROM ({occasions}) AS occasions "
            f"JOIN {Person._meta.db_table} person ON person.id = occasions.person_id "
            f"AND person.archived_at IS NULL AND person.merged_into_id IS NULL "
            f"ON CONFLICT DO NOTHING",
            {**params, "automation": automation.pk, "pending": AutomationRun.Status.PENDING})
        return cursor.rowcount


def _still_applies(run: AutomationRun) -> bool:
    person = run.person
    if person.archived_at is not None or person.merged_into_id is not None:
        return False
    kind, _sep, ref = run.occasion.partition(":")
    if kind == "declined":
        return DeclinedRecommendation.objects.filter(pk=int(ref), status=DeclinedRecommendation.Status.OPEN).exists()
    if kind == "no_visit":  # came back in the meantime
        return not ServiceVisit.objects.filter(person_id=run.person_id, opened_on__gt=ref).exists()
    return True


def _assignee(role: str, person: Person) -> int | None:
    """The customer's own salesperson or advisor for those roles, when they are still active in it."""
    field = OWN_COLLEAGUE.get(role)
    user_id = getattr(person, field) if field else None
    if user_id and User.objects.filter(pk=user_id, is_active=True, role__in=COLLEAGUE_ROLES[role]).exists():
        return user_id
    return None


def run_perform(run: AutomationRun, now: datetime | None = None, rules: SendingRules | None = None) -> str:
    """Act on one waiting occasion; returns what became of it ("deferred" leaves it waiting)."""
    automation = run.automation
    waiting = AutomationRun.objects.filter(pk=run.pk, status=AutomationRun.Status.PENDING)
    message = automation.action == Automation.Action.MESSAGE
    if not _still_applies(run) or (message and not automation.template.is_active):  # a template switched off
        waiting.update(status=AutomationRun.Status.SKIPPED)
        return AutomationRun.Status.SKIPPED
    if not message:
        waiting.update(status=AutomationRun.Status.TASK, role=automation.task_role,
                       assigned_to=_assignee(automation.task_role, run.person))
        return AutomationRun.Status.TASK
    # The weekly cap is for campaigns: a birthday greeting or a thank-you is not held back by them.
    outcome = message_send(person=run.person, template=automation.template, key=f"automation:{run.pk}", now=now,
                           rules=rules, capped=False)
    if isinstance(outcome, Deferred) or outcome.status == Message.Status.SENDING:
        return "deferred"
    status = MESSAGE_STATUS[outcome.status]
    waiting.update(status=status, message=outcome)
    return status


def automations_run(now: datetime | None = None) -> dict[str, int]:
    """Collect every active rule's occasions, then act on those due. Counts by outcome."""
    counts: Counter[str] = Counter()
    if getattr(connection.tenant, "status", "") == "suspended":
        return dict(counts)  # a suspended dealer group's customers hear nothing from it
    now = now or timezone.now()
    today = timezone.localdate(now)
    for automation in Automation.objects.filter(is_active=True):
        counts["new"] += occasions_collect(automation, today)
    due = (AutomationRun.objects.filter(status=AutomationRun.Status.PENDING, due_on__lte=today,
                                        automation__is_active=True)
           .select_related("automation__template", "person").order_by("due_on", "pk"))
    rules = SendingRules.current()
    if quiet_until(now, rules) is not None:
        due = due.filter(automation__action=Automation.Action.TASK)  # messages wait for the morning
    for run in due.iterator(chunk_size=500):
        counts[run_perform(run, now, rules)] += 1
    return {outcome: count for outcome, count in counts.items() if count}


# --- Editing rules, doing tasks -----------------------------------------------------------------------

# What an occasion is: changing any of these is a new rule as far as occasions go.
OCCASION_FIELDS = ("trigger", "months", "delay_days")


@transaction.atomic
def automation_save(*, automation: Automation, by: User | None) -> Automation:
    """Save a rule. Switched on (or created), or changed in what makes an occasion, it counts occasions from
    today: what waited while it was off, or under the old definition, is skipped rather than sent late."""
    today = timezone.localdate()
    before = Automation.objects.filter(pk=automation.pk).values("is_active", *OCCASION_FIELDS).first() \
        if automation.pk else None
    was_active = bool(before and before["is_active"]) and all(
        before[name] == getattr(automation, name) for name in OCCASION_FIELDS)
    if automation.is_active and not was_active:
        automation.active_since = today
        if automation.pk:
            AutomationRun.objects.filter(automation=automation, status=AutomationRun.Status.PENDING,
                                         due_on__lt=today).update(status=AutomationRun.Status.SKIPPED)
    elif automation.active_since is None:
        automation.active_since = today
    if automation.pk is None:
        automation.created_by = by
    automation.full_clean()
    automation.save()
    return automation


def tasks_for(user: User) -> QuerySet[AutomationRun]:
    """Open tasks this colleague should see: theirs, and their role's that nobody has taken; managers see all."""
    tasks = AutomationRun.objects.filter(status=AutomationRun.Status.TASK)
    if user.role not in TASK_MANAGERS:
        # Nobody's, or left with a colleague who has gone: the role's to take.
        free = Q(assigned_to__isnull=True) | Q(assigned_to__is_active=False)
        tasks = tasks.filter(Q(assigned_to=user) | (free & Q(role=user.role)))
    return tasks.select_related("automation", "person", "assigned_to").order_by("due_on", "pk")


@transaction.atomic
def task_take(*, run: AutomationRun, by: User) -> AutomationRun:
    """Take an unassigned task of one's role; refused if someone was quicker."""
    free = Q(assigned_to__isnull=True) | Q(assigned_to__is_active=False)
    if not AutomationRun.objects.filter(free, pk=run.pk, status=AutomationRun.Status.TASK).update(assigned_to=by):
        raise ValidationError(_("Someone has already taken this task."))
    run.assigned_to = by
    return run


@transaction.atomic
def task_done(*, run: AutomationRun, by: User, outcome: str) -> AutomationRun:
    """Close a task with what came of it; it goes on the customer's timeline. Done once."""
    outcome = " ".join(outcome.split())
    if not outcome:
        raise ValidationError({"outcome": _("Say how it went.")})
    now = timezone.now()
    if not AutomationRun.objects.filter(pk=run.pk, status=AutomationRun.Status.TASK).update(
            status=AutomationRun.Status.DONE, done_at=now, done_by=by, outcome=outcome[:300]):
        raise ValidationError(_("This task is already done."))
    TimelineEntry.objects.create(person_id=run.person_id, kind=TimelineEntry.Kind.CONTACT, occurred_at=now,
                                 author=by, summary=f"{task_title(run.automation)}: {outcome}"[:300])
    run.refresh_from_db()
    return run


def task_title(automation: Automation) -> str:
    return automation.task_title or automation.name


# --- The automations every dealer group starts with ----------------------------------------------------

PRESETS = {
    "birthday_greeting": (gettext_lazy("Birthday greeting"), Automation.Trigger.BIRTHDAY, 0, ""),
    "care_call": (gettext_lazy("Care call after delivery"), Automation.Trigger.DELIVERY, 2,
                  gettext_lazy("Call: how are the first days with the car?")),
    "declined_follow_up": (gettext_lazy("Declined work follow-up"), Automation.Trigger.DECLINED_WORK, 0,
                           gettext_lazy("Call: offer to book the work the customer declined")),
}
PRESET_ROLES = {"care_call": StaffRole.SALESPERSON, "declined_follow_up": StaffRole.SERVICE_ADVISOR}
BIRTHDAY_SUBJECT = gettext_lazy("Happy birthday, {{ given_name }}!")
BIRTHDAY_BODY = gettext_lazy("Dear {{ name }},\n\nall of us at {{ dealer }} wish you a happy birthday and many good "
                             "miles ahead.\n")


@transaction.atomic
def automations_defaults_create(today: date) -> list[Automation]:
    """A new dealer group's automations, in the active language, counting from the day after ``today``:
    a birthday e-mail (its text in every language), a care call two days after a delivery, a call when
    declined work is due. The group edits or switches them off like its own."""
    from django.conf import settings
    from django.utils import translation

    from .models import MessageTemplate, TemplateText

    template = MessageTemplate.objects.create(name=str(PRESETS["birthday_greeting"][0]), channel="email",
                                              purpose=ConsentPurpose.MARKETING)
    for language, _label in settings.LANGUAGES:
        with translation.override(language):
            TemplateText.objects.create(template=template, language=language, subject=str(BIRTHDAY_SUBJECT),
                                        body=str(BIRTHDAY_BODY))
    created = []
    for preset, (name, trigger, delay, title) in PRESETS.items():
        action = Automation.Action.TASK if preset in PRESET_ROLES else Automation.Action.MESSAGE
        created.append(Automation.objects.create(
            name=str(name), preset=preset, trigger=trigger, delay_days=delay, action=action, task_title=str(title),
            task_role=PRESET_ROLES.get(preset, ""), template=None if preset in PRESET_ROLES else template,
            active_since=today + timedelta(days=1)))
    return created
